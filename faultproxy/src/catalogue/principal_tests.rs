//! Tests of the principal-propagation engine: windows opened by IAM writes, the rows' errors in
//! each protocol, rows off and requests no row names.

use http_body_util::BodyExt;

use super::*;
use crate::models::test_support::{upstream, ACCOUNT, REGION};
use crate::models::WindowRange;

fn info(service: &str, op: &str) -> RequestInfo {
    RequestInfo {
        account: Some(ACCOUNT.into()),
        region: Some(REGION.into()),
        ..RequestInfo::call(service, op)
    }
}

/// Every row on with a window of an hour (nothing here depends on timing).
fn settings() -> ModelSettings {
    let mut s = ModelSettings::fresh_account();
    for r in PRINCIPAL_ROWS {
        s.set_range(r.spec.name, WindowRange::secs(3600, 3600))
            .expect("a row");
    }
    s
}

fn engine() -> PrincipalEngine {
    PrincipalEngine::new(ModelId::FIRST_ROW)
}

async fn call(
    e: &PrincipalEngine,
    s: ModelSettings,
    i: &RequestInfo,
    body: &str,
    status: u16,
) -> Option<(u16, String, String)> {
    let up = upstream();
    let cx = ModelCx {
        info: i,
        body: body.as_bytes(),
        upstreams: &up,
        settings: s,
    };
    if !e.wants(i, &s) {
        return None;
    }
    if let Some(a) = e.before(&cx).await {
        let st = a.response.status().as_u16();
        let rule = a.fault.expect("journaled").rule;
        let b = a
            .response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        return Some((st, rule, String::from_utf8_lossy(&b).into_owned()));
    }
    e.after(&cx, status).await;
    None
}

#[tokio::test]
async fn a_new_role_fails_lambda_and_sts_then_an_unrelated_one_passes() {
    let e = engine();
    let s = settings();
    let iam = info("iam", "CreateRole");
    assert!(call(
        &e,
        s,
        &iam,
        "Action=CreateRole&RoleName=fn-role&Path=%2F",
        200
    )
    .await
    .is_none());
    let arn = format!("arn:aws:iam::{ACCOUNT}:role/fn-role");
    let lambda = info("lambda", "CreateFunction");
    let (status, rule, body) = call(&e, s, &lambda, &format!(r#"{{"Role":"{arn}"}}"#), 200)
        .await
        .expect("answered");
    assert_eq!(
        (status, rule.as_str()),
        (400, "model:lambda-create-function-role")
    );
    assert!(
        body.contains("The role defined for the function cannot be assumed by Lambda."),
        "{body}"
    );
    let other = format!(r#"{{"Role":"arn:aws:iam::{ACCOUNT}:role/fn-role-2"}}"#);
    assert!(call(&e, s, &lambda, &other, 200).await.is_none());
    let sts = info("sts", "AssumeRole");
    let (status, _, body) = call(
        &e,
        s,
        &sts,
        &format!("Action=AssumeRole&RoleArn={arn}&RoleSessionName=x"),
        200,
    )
    .await
    .expect("answered");
    assert_eq!(status, 403);
    assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
    assert!(
        body.contains(&format!(
            "is not authorized to perform: sts:AssumeRole on resource: {arn}"
        )),
        "{body}"
    );
    // Another account's role of the same name is another principal.
    let mut foreign = lambda.clone();
    foreign.account = Some("210987654321".into());
    let theirs = r#"{"Role":"arn:aws:iam::210987654321:role/fn-role"}"#;
    assert!(call(&e, s, &foreign, theirs, 200).await.is_none());
}

#[tokio::test]
async fn the_instance_profile_sequence_of_ec2() {
    let e = engine();
    let s = settings();
    call(&e, s, &info("iam", "CreateRole"), "RoleName=r", 200).await;
    let add = info("iam", "AddRoleToInstanceProfile");
    let (status, rule, body) = call(&e, s, &add, "InstanceProfileName=p&RoleName=r", 200)
        .await
        .expect("role not visible to IAM yet");
    assert_eq!(
        (status, rule.as_str()),
        (404, "model:iam-add-role-to-instance-profile")
    );
    assert!(
        body.contains("The role with name r cannot be found."),
        "{body}"
    );
    call(
        &e,
        s,
        &info("iam", "CreateInstanceProfile"),
        "InstanceProfileName=p",
        200,
    )
    .await;
    let run = info("ec2", "RunInstances");
    let (status, rule, body) = call(
        &e,
        s,
        &run,
        "Action=RunInstances&IamInstanceProfile.Name=p",
        200,
    )
    .await
    .expect("profile not visible to EC2 yet");
    assert_eq!(
        (status, rule.as_str()),
        (400, "model:ec2-run-instances-profile-name")
    );
    assert!(body.contains("Value (p) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name"), "{body}");
    let by_arn = format!("IamInstanceProfile.Arn=arn:aws:iam::{ACCOUNT}:instance-profile/p");
    let (_, rule, _) = call(&e, s, &run, &by_arn, 200).await.expect("by ARN too");
    assert_eq!(rule, "model:ec2-run-instances-profile-arn");
    // Only the role-not-added row on: the profile is visible, its role is not.
    let mut only = ModelSettings::default();
    only.set_enabled("ec2-run-instances-profile-without-role", true)
        .expect("a row");
    only.set_range(
        "ec2-run-instances-profile-without-role",
        WindowRange::secs(3600, 3600),
    )
    .expect("a row");
    let e = engine();
    call(&e, only, &add, "InstanceProfileName=p&RoleName=r", 200).await;
    let (_, _, body) = call(&e, only, &run, "IamInstanceProfile.Name=p", 200)
        .await
        .expect("no role yet");
    let want = format!("IAM Instance Profile &quot;arn:aws:iam::{ACCOUNT}:instance-profile/p&quot; has no associated IAM Roles");
    assert!(body.contains(&want), "{body}");
}

#[tokio::test]
async fn policy_principals_in_every_protocol() {
    let e = engine();
    let s = settings();
    call(&e, s, &info("iam", "CreateUser"), "UserName=alice", 200).await;
    let alice = format!("arn:aws:iam::{ACCOUNT}:user/alice");
    let policy = serde_json::json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": [alice]}, "Action": "*"}]}).to_string();
    let s3 = info("s3", "PutBucketPolicy");
    let (status, _, body) = call(&e, s, &s3, &policy, 200).await.expect("s3");
    assert_eq!(status, 400);
    assert!(
        body.contains("<Code>MalformedPolicy</Code><Message>Invalid principal in policy</Message>"),
        "{body}"
    );
    let kms = info("kms", "CreateKey");
    let req = serde_json::json!({"Policy": policy}).to_string();
    let (_, _, body) = call(&e, s, &kms, &req, 200).await.expect("kms");
    assert!(body.contains("MalformedPolicyDocumentException"), "{body}");
    let sqs = info("sqs", "SetQueueAttributes");
    let req = serde_json::json!({"QueueUrl": "q", "Attributes": {"Policy": policy}}).to_string();
    let (_, rule, _) = call(&e, s, &sqs, &req, 200).await.expect("sqs");
    assert_eq!(rule, "model:sqs-set-queue-attributes-policy-principal");
    let sns = info("sns", "SetTopicAttributes");
    let form: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("AttributeName", "Policy")
        .append_pair("AttributeValue", &policy)
        .finish();
    let (_, _, body) = call(&e, s, &sns, &form, 200).await.expect("sns");
    assert!(
        body.contains("Invalid parameter: Policy Error: PrincipalNotFound"),
        "{body}"
    );
    let topic = info("sns", "CreateTopic");
    let form: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("Name", "t")
        .append_pair("Attributes.entry.1.key", "Policy")
        .append_pair("Attributes.entry.1.value", &policy)
        .finish();
    let (_, rule, _) = call(&e, s, &topic, &form, 200).await.expect("sns create");
    assert_eq!(rule, "model:sns-create-topic-policy-principal");
    let iam = info("iam", "CreateRole");
    let form: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("RoleName", "trusting")
        .append_pair("AssumeRolePolicyDocument", &policy)
        .finish();
    let (_, _, body) = call(&e, s, &iam, &form, 200).await.expect("iam");
    let want = format!("Invalid principal in policy: &quot;AWS&quot;:&quot;{alice}&quot;");
    assert!(body.contains(&want), "{body}");
}

#[tokio::test]
async fn failed_writes_and_rows_off_open_nothing() {
    let e = engine();
    let s = settings();
    call(&e, s, &info("iam", "CreateRole"), "RoleName=r", 409).await;
    let req = format!(r#"{{"roleArn":"arn:aws:iam::{ACCOUNT}:role/r"}}"#);
    let sfn = info("stepfunctions", "CreateStateMachine");
    assert!(call(&e, s, &sfn, &req, 200).await.is_none());
    let off = ModelSettings::default();
    assert!(!e.wants(&info("iam", "CreateRole"), &off));
    assert!(!e.wants(&sfn, &off));
    assert!(
        !e.wants(&info("ecs", "ListClusters"), &s),
        "no row names ListClusters"
    );
}

#[test]
fn every_row_names_a_real_operation_and_a_unique_name() {
    let mut names = std::collections::HashSet::new();
    for r in PRINCIPAL_ROWS {
        assert!(names.insert(r.spec.name), "duplicate row {}", r.spec.name);
        assert!(
            r.service.operation(r.operation).is_some(),
            "{}",
            r.spec.name
        );
        assert!(!r.triggers.is_empty(), "{}", r.spec.name);
        assert!(
            !r.evidence.is_empty() && !r.window_source.is_empty(),
            "{}",
            r.spec.name
        );
        if let Some(class) = r.exception {
            assert!(
                r.service.error(r.code).is_some_and(|e| e.name == class)
                    || r.service.errors().iter().any(|e| e.name == class),
                "{}: botocore models no {class}",
                r.spec.name
            );
        }
    }
    let _ = &*INDEX;
    assert!(crate::models::spec("sts-assume-role").is_some());
}

#[test]
fn form_wildcards_match_one_segment() {
    assert!(segments_match(
        "Attributes.entry.*.value",
        "Attributes.entry.2.value"
    ));
    assert!(!segments_match(
        "Attributes.entry.*.value",
        "Attributes.entry.2.key"
    ));
    assert!(!segments_match(
        "Attributes.entry.*.value",
        "Attributes.entry.2.value.x"
    ));
}

#[test]
fn arns_parse() {
    assert_eq!(
        parse_arn("arn:aws:iam::1:role/a/b/name"),
        Some(("1", Kind::Role, "name"))
    );
    assert_eq!(
        parse_arn("arn:aws:iam::1:instance-profile/p").map(|x| x.1),
        Some(Kind::InstanceProfile)
    );
    assert!(parse_arn("arn:aws:s3:::bucket").is_none());
    assert!(parse_arn("*").is_none());
}
