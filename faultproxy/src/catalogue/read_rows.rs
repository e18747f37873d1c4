//! The read-after-create rows: a resource created a moment ago that a read does not find yet,
//! with the not-found error the service answers and where each fact comes from.

use super::{row_spec, Id, ReadRow};
use crate::aws::Service;

/// EC2's API is eventually consistent: "a resource that you just created might not be
/// immediately visible to subsequent API calls ... you might get a NotFound error code"; the EC2
/// docs give no number, terraform-provider-aws waits for each create (`internal/service/ec2/wait.go`,
/// `RetryWhenNotFound`, 2 min). Observed lags are around a second: 1-5 s.
const EC2_EC: &str = "https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html";
const EC2_WINDOW: &str =
    "EC2 developer guide, eventual consistency (no number); terraform-provider-aws internal/service/ec2/wait.go (2 min budget)";
const EC2_EVIDENCE: &str = "EC2 API error codes (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html); terraform-provider-aws internal/service/ec2 find/wait functions retry the *.NotFound codes after create";

/// Every read-after-create row.
pub const READ_ROWS: &[ReadRow] = &[
    ReadRow {
        spec: row_spec!("ec2-describe-subnets-after-create", 1..5, EC2_EC),
        service: Service::EC2,
        create: "CreateSubnet",
        created: Id::AnswerXml("subnetId"),
        read: "DescribeSubnets",
        named: Id::FormList("SubnetId."),
        status: 400,
        code: "InvalidSubnetID.NotFound",
        message: "The subnet ID '{id}' does not exist",
        exception: None,
        evidence: EC2_EVIDENCE,
        window_source: EC2_WINDOW,
    },
    ReadRow {
        spec: row_spec!("ec2-describe-security-groups-after-create", 1..5, EC2_EC),
        service: Service::EC2,
        create: "CreateSecurityGroup",
        created: Id::AnswerXml("groupId"),
        read: "DescribeSecurityGroups",
        named: Id::FormList("GroupId."),
        status: 400,
        code: "InvalidGroup.NotFound",
        message: "The security group '{id}' does not exist",
        exception: None,
        evidence: EC2_EVIDENCE,
        window_source: EC2_WINDOW,
    },
    ReadRow {
        spec: row_spec!("ec2-describe-route-tables-after-create", 1..5, EC2_EC),
        service: Service::EC2,
        create: "CreateRouteTable",
        created: Id::AnswerXml("routeTableId"),
        read: "DescribeRouteTables",
        named: Id::FormList("RouteTableId."),
        status: 400,
        code: "InvalidRouteTableID.NotFound",
        message: "The routeTable ID '{id}' does not exist",
        exception: None,
        evidence: EC2_EVIDENCE,
        window_source: EC2_WINDOW,
    },
    ReadRow {
        spec: row_spec!("ec2-describe-vpcs-after-create", 1..5, EC2_EC),
        service: Service::EC2,
        create: "CreateVpc",
        created: Id::AnswerXml("vpcId"),
        read: "DescribeVpcs",
        named: Id::FormList("VpcId."),
        status: 400,
        code: "InvalidVpcID.NotFound",
        message: "The vpc ID '{id}' does not exist",
        exception: None,
        evidence: EC2_EVIDENCE,
        window_source: EC2_WINDOW,
    },
    ReadRow {
        // terraform-provider-aws internal/service/s3/bucket.go: after CreateBucket it waits
        // `bucketPropagationTimeout` (2 min) for the bucket to be found (NoSuchBucket retried).
        spec: row_spec!(
            "s3-get-bucket-location-after-create",
            1..5,
            "https://github.com/hashicorp/terraform-provider-aws/blob/main/internal/service/s3/bucket.go"
        ),
        service: Service::S3,
        create: "CreateBucket",
        created: Id::Label("Bucket"),
        read: "GetBucketLocation",
        named: Id::Label("Bucket"),
        status: 404,
        code: "NoSuchBucket",
        message: "The specified bucket does not exist",
        exception: Some("NoSuchBucket"),
        evidence: "S3 error codes (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList: NoSuchBucket, 404, \"The specified bucket does not exist\"); terraform-provider-aws internal/service/s3/bucket.go (bucketPropagationTimeout)",
        window_source: "terraform-provider-aws internal/service/s3/bucket.go (2 min budget); S3 is strongly consistent for objects, bucket listing is eventually consistent (S3 UG consistency model)",
    },
];
