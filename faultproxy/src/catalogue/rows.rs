//! The principal-propagation rows: which request a just-created (or just-changed) IAM principal
//! fails, with what, for how long, and where each fact comes from. Codes, messages and statuses
//! are verbatim from the sources named beside them (compiled in
//! `/work/shared/design/IAM-PROPAGATION.md`, sections 1-3); a new row is one entry here.

use super::{row_spec, Kind, Names, PrincipalRow, Trigger};
use crate::aws::{facts, Service};

/// Role created or its trust policy changed: another service cannot assume it yet.
const ROLE_TRUST: &[Trigger] = &[Trigger::CreateRole, Trigger::UpdateAssumeRolePolicy];
/// Role created or given a permission policy: the service sees neither the role nor its rights.
const ROLE_ANY: &[Trigger] = &[
    Trigger::CreateRole,
    Trigger::UpdateAssumeRolePolicy,
    Trigger::PutRolePolicy,
    Trigger::AttachRolePolicy,
];
/// A role or user created: not yet a valid principal in a policy.
const PRINCIPAL: &[Trigger] = &[Trigger::CreateRole, Trigger::CreateUser];

/// IAM's window: "the change must be replicated across IAM, which can take some time" (IAM UG,
/// no number); observed single-digit seconds to ~30 s (terraform-provider-aws #6566 "10-30
/// seconds", PR #12436 "~30 seconds"): 2-30 s.
const IAM_UG: &str = "https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency";
const IAM_WINDOW: &str = "IAM UG eventual consistency (no number); terraform-provider-aws #6566 (10-30 s), PR #12436 (~30 s)";
/// EC2 UG: "it may take several seconds for the permissions to propagate"; terraform-provider-aws
/// `internal/service/ec2` comment "~10 seconds": 2-15 s.
pub(super) const EC2_UG: &str = "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/iam-roles-for-amazon-ec2.html#launch-instance-with-role";
const EC2_WINDOW: &str =
    "EC2 UG (several seconds); terraform-provider-aws internal/service/ec2 comment (~10 s)";

// Lambda: terraform-provider-aws internal/service/lambda/function.go retryFunctionOp matches
// "The role defined for the function cannot be assumed by Lambda"; hashicorp/terraform-provider-aws#3116,
// #1507, #8248.
const LAMBDA_ROLE: &str = "The role defined for the function cannot be assumed by Lambda.";
const LAMBDA_EVIDENCE: &str = "terraform-provider-aws internal/service/lambda/function.go retryFunctionOp; #3116, #1507, #8248, #29828";
const LAMBDA_SRC: &str = "https://github.com/hashicorp/terraform-provider-aws/blob/main/internal/service/lambda/function.go";

// EC2: terraform-provider-aws internal/service/ec2/ec2_instance.go retries InvalidParameterValue
// "Invalid IAM Instance Profile" and " has no associated IAM Roles"; #2012, #24281, #27516.
const EC2_EVIDENCE: &str = "terraform-provider-aws internal/service/ec2/ec2_instance.go (RunInstances retry); #2012, #24281, #27516, terraform#1885";
pub(super) const EC2_PROFILE_NAME: &str =
    "Value ({value}) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name";
pub(super) const EC2_PROFILE_ARN: &str =
    "Value ({value}) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN";

// IAM: terraform-provider-aws internal/service/iam/role.go retryCreateRole and the
// UpdateAssumeRolePolicy path ("Invalid principal in policy"); #1388, #8905, #16820, PR #12436.
const IAM_PRINCIPAL: &str = facts::IAM_INVALID_PRINCIPAL_MESSAGE;
const IAM_EVIDENCE: &str = "terraform-provider-aws internal/service/iam/role.go retryCreateRole; #1388, #8905, #16820, PR #12436";

// KMS API reference, CreateKey `Policy`: "The principals in the key policy must exist and be
// visible to KMS"; terraform-provider-aws internal/service/kms/key.go waitIAMPropagation.
const KMS_PRINCIPAL: &str = "Policy contains a statement with one or more invalid principals.";
const KMS_EVIDENCE: &str =
    "KMS API CreateKey Policy; terraform-provider-aws internal/service/kms/key.go; terraform#6576, #24696";
const KMS_SRC: &str = "https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html";

// CodeBuild UG troubleshooting quotes "Code:InvalidInputException, Message:CodeBuild is not
// authorized to perform: sts:AssumeRole on arn:aws:iam::account-ID:role/service-role-name".
const CODEBUILD_ROLE: &str = "CodeBuild is not authorized to perform: sts:AssumeRole on {arn}";
const CODEBUILD_EVIDENCE: &str =
    "CodeBuild UG troubleshooting; terraform-provider-aws internal/service/codebuild/project.go; #4233";
const CODEBUILD_SRC: &str =
    "https://docs.aws.amazon.com/codebuild/latest/userguide/troubleshooting.html";

// Step Functions: terraform-provider-aws internal/service/sfn/state_machine.go retries
// AccessDeniedException; #7893 quotes this text with 400; AWS's CFN handler Constants.java.
const SFN_ROLE: &str = "Neither the global service principal states.amazonaws.com, nor the regional one is authorized to assume the provided role.";
const SFN_EVIDENCE: &str = "terraform-provider-aws internal/service/sfn/state_machine.go; #7893, #14008; aws-cloudformation-resource-providers-stepfunctions Constants.java";
const SFN_SRC: &str = "https://github.com/hashicorp/terraform-provider-aws/issues/7893";

// Glue: terraform-provider-aws internal/service/glue/crawler.go resourceCrawlerCreate matches
// "Service is unable to assume provided role"; #30371 / PR #30370 (period unconfirmed there).
const GLUE_ROLE: &str =
    "Service is unable to assume provided role. Please verify role's TrustPolicy";
const GLUE_EVIDENCE: &str =
    "terraform-provider-aws internal/service/glue/crawler.go resourceCrawlerCreate; #30371, PR #30370";
const GLUE_SRC: &str = "https://github.com/hashicorp/terraform-provider-aws/issues/30371";

// SNS: AWS's own CloudFormation handler matches this message exactly (BaseHandlerStd.java
// PRINCIPAL_NOT_FOUND_PATTERN) and retries it.
const SNS_PRINCIPAL: &str = "Invalid parameter: Policy Error: PrincipalNotFound";
const SNS_EVIDENCE: &str = "aws-cloudformation-resource-providers-sns BaseHandlerStd.java PRINCIPAL_NOT_FOUND_PATTERN; terraform-provider-aws internal/service/sns/topic.go putTopicAttribute; terraform#14179, #26041";
const SNS_SRC: &str = "https://github.com/aws-cloudformation/aws-cloudformation-resource-providers-sns/blob/master/aws-sns-topicpolicy/src/main/java/software/amazon/sns/topicpolicy/BaseHandlerStd.java";
/// go-to-k/cdkd #839: a new role accepted ~8 s after creation; the CFN handler waits 5 s a try.
const SNS_WINDOW: &str = "go-to-k/cdkd #839 (accepted ~8 s after creation); AWS CFN SNS handler EVENTUAL_CONSISTENCY_DELAY_SECONDS = 5";

// Secrets Manager: terraform-provider-aws internal/service/secretsmanager/secret_policy.go;
// #14449 / PR #14459.
const SECRETS_PRINCIPAL: &str = "This resource policy contains an unsupported principal.";

/// ECR's answer to a repository policy naming a role it cannot see yet (facts.rs has its source).
pub const ECR_PRINCIPAL_NOT_FOUND: &str = facts::ECR_PRINCIPAL_NOT_FOUND_MESSAGE;

/// Every principal-propagation row, in the order the engine asks them (the first open window
/// answers): on RunInstances the profile not yet visible comes before its role not yet added.
pub const PRINCIPAL_ROWS: &[PrincipalRow] = &[
    PrincipalRow {
        spec: row_spec!("lambda-create-function-role", 2..30, LAMBDA_SRC),
        service: Service::LAMBDA,
        operation: "CreateFunction",
        names: Names::Field("Role", Kind::Role),
        triggers: ROLE_TRUST,
        status: 400,
        code: "InvalidParameterValueException",
        message: LAMBDA_ROLE,
        exception: Some("InvalidParameterValueException"),
        evidence: LAMBDA_EVIDENCE,
        window_source: IAM_WINDOW,
    },
    PrincipalRow {
        spec: row_spec!("lambda-update-function-configuration-role", 2..30, LAMBDA_SRC),
        service: Service::LAMBDA,
        operation: "UpdateFunctionConfiguration",
        names: Names::Field("Role", Kind::Role),
        triggers: ROLE_TRUST,
        status: 400,
        code: "InvalidParameterValueException",
        message: LAMBDA_ROLE,
        exception: Some("InvalidParameterValueException"),
        evidence: LAMBDA_EVIDENCE,
        window_source: IAM_WINDOW,
    },
    PrincipalRow {
        spec: row_spec!("ec2-run-instances-profile-name", 2..15, EC2_UG),
        service: Service::EC2,
        operation: "RunInstances",
        names: Names::Field("IamInstanceProfile.Name", Kind::InstanceProfile),
        triggers: &[Trigger::CreateInstanceProfile],
        status: 400,
        code: "InvalidParameterValue",
        message: EC2_PROFILE_NAME,
        exception: None,
        evidence: EC2_EVIDENCE,
        window_source: EC2_WINDOW,
    },
    PrincipalRow {
        spec: row_spec!("ec2-run-instances-profile-arn", 2..15, EC2_UG),
        service: Service::EC2,
        operation: "RunInstances",
        names: Names::Field("IamInstanceProfile.Arn", Kind::InstanceProfile),
        triggers: &[Trigger::CreateInstanceProfile],
        status: 400,
        code: "InvalidParameterValue",
        message: EC2_PROFILE_ARN,
        exception: None,
        evidence: EC2_EVIDENCE,
        window_source: EC2_WINDOW,
    },
    PrincipalRow {
        spec: row_spec!("ec2-run-instances-profile-without-role", 2..15, EC2_UG),
        service: Service::EC2,
        operation: "RunInstances",
        names: Names::Field("IamInstanceProfile.Name", Kind::InstanceProfile),
        triggers: &[Trigger::AddRoleToInstanceProfile],
        status: 400,
        code: "InvalidParameterValue",
        message: "IAM Instance Profile \"{arn}\" has no associated IAM Roles",
        exception: None,
        evidence: EC2_EVIDENCE,
        window_source: EC2_WINDOW,
    },
    PrincipalRow {
        spec: row_spec!("ec2-associate-iam-instance-profile-name", 2..15, EC2_UG),
        service: Service::EC2,
        operation: "AssociateIamInstanceProfile",
        names: Names::Field("IamInstanceProfile.Name", Kind::InstanceProfile),
        triggers: &[Trigger::CreateInstanceProfile],
        status: 400,
        code: "InvalidParameterValue",
        message: EC2_PROFILE_NAME,
        exception: None,
        evidence: EC2_EVIDENCE,
        window_source: EC2_WINDOW,
    },
    PrincipalRow {
        spec: row_spec!("ec2-replace-iam-instance-profile-association-name", 2..15, EC2_UG),
        service: Service::EC2,
        operation: "ReplaceIamInstanceProfileAssociation",
        names: Names::Field("IamInstanceProfile.Name", Kind::InstanceProfile),
        triggers: &[Trigger::CreateInstanceProfile],
        status: 400,
        code: "InvalidParameterValue",
        message: EC2_PROFILE_NAME,
        exception: None,
        evidence: "terraform-provider-aws internal/service/ec2/ec2_instance.go resourceInstanceUpdate (ReplaceIamInstanceProfileAssociation retried on \"Invalid IAM Instance Profile\")",
        window_source: EC2_WINDOW,
    },
    PrincipalRow {
        spec: row_spec!("ec2-request-spot-instances-profile-name", 2..15, EC2_UG),
        service: Service::EC2,
        operation: "RequestSpotInstances",
        names: Names::Field("LaunchSpecification.IamInstanceProfile.Name", Kind::InstanceProfile),
        triggers: &[Trigger::CreateInstanceProfile],
        status: 400,
        code: "InvalidParameterValue",
        message: EC2_PROFILE_NAME,
        exception: None,
        evidence: "terraform-provider-aws internal/service/ec2/ec2_spot_instance_request.go (same checks as RunInstances)",
        window_source: EC2_WINDOW,
    },
    PrincipalRow {
        spec: row_spec!("iam-create-role-trust-principal", 2..30, IAM_UG),
        service: Service::IAM,
        operation: "CreateRole",
        names: Names::Policy("AssumeRolePolicyDocument"),
        triggers: PRINCIPAL,
        status: 400,
        code: facts::MALFORMED_POLICY_DOCUMENT,
        message: IAM_PRINCIPAL,
        exception: Some("MalformedPolicyDocumentException"),
        evidence: IAM_EVIDENCE,
        window_source: IAM_WINDOW,
    },
    PrincipalRow {
        spec: row_spec!("iam-update-assume-role-policy-principal", 2..30, IAM_UG),
        service: Service::IAM,
        operation: "UpdateAssumeRolePolicy",
        names: Names::Policy("PolicyDocument"),
        triggers: PRINCIPAL,
        status: 400,
        code: facts::MALFORMED_POLICY_DOCUMENT,
        message: IAM_PRINCIPAL,
        exception: Some("MalformedPolicyDocumentException"),
        evidence: IAM_EVIDENCE,
        window_source: IAM_WINDOW,
    },
    PrincipalRow {
        spec: row_spec!("iam-add-role-to-instance-profile", 2..30, IAM_UG),
        service: Service::IAM,
        operation: "AddRoleToInstanceProfile",
        names: Names::Field("RoleName", Kind::Role),
        triggers: &[Trigger::CreateRole],
        status: 404,
        code: facts::NO_SUCH_ENTITY,
        message: facts::NO_SUCH_ROLE_MESSAGE,
        exception: Some("NoSuchEntityException"),
        evidence: "terraform-provider-aws internal/service/iam/instance_profile.go instanceProfileAddRole (NoSuchEntity \"The role with name\")",
        window_source: IAM_WINDOW,
    },
    PrincipalRow {
        spec: row_spec!("iam-create-access-key-user", 2..30, IAM_UG),
        service: Service::IAM,
        operation: "CreateAccessKey",
        names: Names::Field("UserName", Kind::User),
        triggers: &[Trigger::CreateUser],
        status: 404,
        code: "NoSuchEntity",
        message: "The user with name {name} cannot be found.",
        exception: Some("NoSuchEntityException"),
        evidence: "go-to-k/cdkd #1323 (CreateAccessKey right after CreateUser)",
        window_source: IAM_WINDOW,
    },
    PrincipalRow {
        spec: row_spec!("sts-assume-role", 2..30, IAM_UG),
        service: Service::STS,
        operation: "AssumeRole",
        names: Names::Field("RoleArn", Kind::Role),
        triggers: ROLE_TRUST,
        status: 403,
        code: "AccessDenied",
        message: "User: {caller} is not authorized to perform: sts:AssumeRole on resource: {arn}",
        exception: None,
        evidence: "IAM UG eventual consistency; terraform-provider-aws #6566 (a new role cannot be assumed for 10-30 s); STS AssumeRole API errors (AccessDenied, 403)",
        window_source: IAM_WINDOW,
    },
    PrincipalRow {
        spec: row_spec!("kms-create-key-policy-principal", 2..30, KMS_SRC),
        service: Service::KMS,
        operation: "CreateKey",
        names: Names::Policy("Policy"),
        triggers: PRINCIPAL,
        status: 400,
        code: "MalformedPolicyDocumentException",
        message: KMS_PRINCIPAL,
        exception: Some("MalformedPolicyDocumentException"),
        evidence: KMS_EVIDENCE,
        window_source: IAM_WINDOW,
    },
    PrincipalRow {
        spec: row_spec!("kms-put-key-policy-principal", 2..30, KMS_SRC),
        service: Service::KMS,
        operation: "PutKeyPolicy",
        names: Names::Policy("Policy"),
        triggers: PRINCIPAL,
        status: 400,
        code: "MalformedPolicyDocumentException",
        message: KMS_PRINCIPAL,
        exception: Some("MalformedPolicyDocumentException"),
        evidence: KMS_EVIDENCE,
        window_source: IAM_WINDOW,
    },
    PrincipalRow {
        spec: row_spec!("firehose-create-delivery-stream-role", 2..30, "https://github.com/hashicorp/terraform-provider-aws/blob/main/internal/service/firehose/delivery_stream.go"),
        service: Service::FIREHOSE,
        operation: "CreateDeliveryStream",
        names: Names::Field("*.RoleARN", Kind::Role),
        triggers: ROLE_ANY,
        status: 400,
        code: "InvalidArgumentException",
        message: "Firehose is unable to assume role {arn}. Please check the role provided.",
        exception: Some("InvalidArgumentException"),
        evidence: "terraform-provider-aws internal/service/firehose/delivery_stream.go retryDeliveryStreamOp; terraform PR #4407 (verbatim); #3380, #7727",
        window_source: IAM_WINDOW,
    },
    PrincipalRow {
        spec: row_spec!("codebuild-create-project-role", 2..30, CODEBUILD_SRC),
        service: Service::CODEBUILD,
        operation: "CreateProject",
        names: Names::Field("serviceRole", Kind::Role),
        triggers: ROLE_TRUST,
        status: 400,
        code: "InvalidInputException",
        message: CODEBUILD_ROLE,
        exception: Some("InvalidInputException"),
        evidence: CODEBUILD_EVIDENCE,
        window_source: IAM_WINDOW,
    },
    PrincipalRow {
        spec: row_spec!("sfn-create-state-machine-role", 2..30, SFN_SRC),
        service: Service::STEPFUNCTIONS,
        operation: "CreateStateMachine",
        names: Names::Field("roleArn", Kind::Role),
        triggers: ROLE_TRUST,
        status: 400,
        code: "AccessDeniedException",
        message: SFN_ROLE,
        exception: None,
        evidence: SFN_EVIDENCE,
        window_source: IAM_WINDOW,
    },
    PrincipalRow {
        spec: row_spec!("sfn-update-state-machine-role", 2..30, SFN_SRC),
        service: Service::STEPFUNCTIONS,
        operation: "UpdateStateMachine",
        names: Names::Field("roleArn", Kind::Role),
        triggers: ROLE_TRUST,
        status: 400,
        code: "AccessDeniedException",
        message: SFN_ROLE,
        exception: None,
        evidence: SFN_EVIDENCE,
        window_source: IAM_WINDOW,
    },
    PrincipalRow {
        spec: row_spec!("sns-set-topic-attributes-policy-principal", 2..10, SNS_SRC),
        service: Service::SNS,
        operation: "SetTopicAttributes",
        names: Names::Policy("AttributeValue"),
        triggers: PRINCIPAL,
        status: 400,
        code: "InvalidParameter",
        message: SNS_PRINCIPAL,
        exception: Some("InvalidParameterException"),
        evidence: SNS_EVIDENCE,
        window_source: SNS_WINDOW,
    },
    PrincipalRow {
        spec: row_spec!("sns-create-topic-policy-principal", 2..10, SNS_SRC),
        service: Service::SNS,
        operation: "CreateTopic",
        names: Names::Policy("Attributes.entry.*.value"),
        triggers: PRINCIPAL,
        status: 400,
        code: "InvalidParameter",
        message: SNS_PRINCIPAL,
        exception: Some("InvalidParameterException"),
        evidence: SNS_EVIDENCE,
        window_source: SNS_WINDOW,
    },
    PrincipalRow {
        spec: row_spec!("s3-put-bucket-policy-principal", 2..30, "https://repost.aws/knowledge-center/s3-invalid-principal-in-policy-error"),
        service: Service::S3,
        operation: "PutBucketPolicy",
        names: Names::Policy(""),
        triggers: PRINCIPAL,
        status: 400,
        code: "MalformedPolicy",
        message: "Invalid principal in policy",
        exception: None,
        evidence: "AWS re:Post KC s3-invalid-principal-in-policy-error; terraform-provider-aws internal/service/s3/bucket_policy.go; terraform PR #4315",
        window_source: IAM_WINDOW,
    },
    PrincipalRow {
        spec: row_spec!("sqs-set-queue-attributes-policy-principal", 2..12, "https://github.com/hashicorp/terraform-provider-aws/blob/main/internal/service/sqs/attribute_funcs.go"),
        service: Service::SQS,
        operation: "SetQueueAttributes",
        names: Names::Policy("Attributes.Policy"),
        triggers: PRINCIPAL,
        status: 400,
        code: "InvalidAttributeValue",
        message: "Invalid value for the parameter Policy.",
        exception: Some("InvalidAttributeValue"),
        evidence: "terraform-provider-aws internal/service/sqs/attribute_funcs.go queueAttributeHandler.Upsert; go-to-k/cdkd #839",
        window_source: "go-to-k/cdkd #839 (needed roughly 10 s)",
    },
    PrincipalRow {
        spec: row_spec!("sqs-create-queue-policy-principal", 2..12, "https://github.com/hashicorp/terraform-provider-aws/blob/main/internal/service/sqs/attribute_funcs.go"),
        service: Service::SQS,
        operation: "CreateQueue",
        names: Names::Policy("Attributes.Policy"),
        triggers: PRINCIPAL,
        status: 400,
        code: "InvalidAttributeValue",
        message: "Invalid value for the parameter Policy.",
        exception: Some("InvalidAttributeValue"),
        evidence: "terraform-provider-aws internal/service/sqs/attribute_funcs.go queueAttributeHandler.Upsert; go-to-k/cdkd #839",
        window_source: "go-to-k/cdkd #839 (needed roughly 10 s)",
    },
    PrincipalRow {
        spec: row_spec!("glue-create-crawler-role", 2..30, GLUE_SRC),
        service: Service::GLUE,
        operation: "CreateCrawler",
        names: Names::Field("Role", Kind::Role),
        triggers: ROLE_TRUST,
        status: 400,
        code: "InvalidInputException",
        message: GLUE_ROLE,
        exception: Some("InvalidInputException"),
        evidence: GLUE_EVIDENCE,
        window_source: IAM_WINDOW,
    },
    PrincipalRow {
        spec: row_spec!("events-put-rule-role", 2..30, "https://github.com/hashicorp/terraform-provider-aws/blob/main/internal/service/events/rule.go"),
        service: Service::EVENTS,
        operation: "PutRule",
        names: Names::Field("RoleArn", Kind::Role),
        triggers: ROLE_TRUST,
        status: 400,
        code: "ValidationException",
        message: "Provided role '{arn}' cannot be assumed by principal 'events.amazonaws.com'.",
        exception: None,
        evidence: "terraform-provider-aws internal/service/events/rule.go retryPutRule; Zappa README",
        window_source: IAM_WINDOW,
    },
    PrincipalRow {
        spec: row_spec!("rds-create-db-instance-monitoring-role", 2..30, "https://github.com/hashicorp/terraform-provider-aws/blob/main/internal/service/rds/instance.go"),
        service: Service::RDS,
        operation: "CreateDBInstance",
        names: Names::Field("MonitoringRoleArn", Kind::Role),
        triggers: ROLE_ANY,
        status: 400,
        code: "InvalidParameterValue",
        message: "IAM role ARN value is invalid or does not include the required permissions for: ENHANCED_MONITORING",
        exception: None,
        evidence: "terraform-provider-aws internal/service/rds/instance.go (ENHANCED_MONITORING retry); go-to-k/cdkd #794",
        window_source: IAM_WINDOW,
    },
    PrincipalRow {
        spec: row_spec!("secretsmanager-put-resource-policy-principal", 2..30, "https://github.com/hashicorp/terraform-provider-aws/issues/14449"),
        service: Service::SECRETSMANAGER,
        operation: "PutResourcePolicy",
        names: Names::Policy("ResourcePolicy"),
        triggers: PRINCIPAL,
        status: 400,
        code: "MalformedPolicyDocumentException",
        message: SECRETS_PRINCIPAL,
        exception: Some("MalformedPolicyDocumentException"),
        evidence: "terraform-provider-aws internal/service/secretsmanager/secret_policy.go; #14449, PR #14459",
        window_source: IAM_WINDOW,
    },
    PrincipalRow {
        spec: row_spec!("iam-propagation", 2..30, IAM_UG),
        service: Service::ECR,
        operation: "SetRepositoryPolicy",
        names: Names::Policy("policyText"),
        triggers: &[Trigger::CreateRole],
        status: 400,
        code: facts::INVALID_PARAMETER_EXCEPTION,
        message: ECR_PRINCIPAL_NOT_FOUND,
        exception: Some("InvalidParameterException"),
        evidence: "hashicorp/terraform-provider-aws#39064; terraform-provider-aws internal/service/ecr/repository_policy.go (retried for propagationTimeout)",
        window_source: IAM_WINDOW,
    },
];
