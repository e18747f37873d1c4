//! The AWS wire protocols, as botocore's service models name them. A request's protocol decides how
//! the proxy reads its operation and how it encodes an injected error.

/// The wire protocol of a request (or a service's first protocol).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// awsJson1_0 / awsJson1_1 (`X-Amz-Target`): ECS, ECR, CloudWatch Logs, DynamoDB, ...
    AwsJson,
    /// restJson1 (method + URI + JSON body): Lambda, API Gateway, EKS, ...
    RestJson,
    /// restXml (method + URI + XML body): S3, Route 53, CloudFront.
    RestXml,
    /// awsQuery with the `ErrorResponse` XML document: IAM, STS, SNS, ...
    Query,
    /// EC2 query protocol with the `Response/Errors` XML document.
    Ec2Query,
    /// Smithy RPC v2 CBOR (`/service/{target}/operation/{op}`): CloudWatch, ...
    RpcV2Cbor,
    /// Anything else (health checks, unsigned garbage, services the table does not know).
    #[default]
    Unknown,
}

impl Protocol {
    /// The protocol botocore's model calls `name` (`json`, `rest-xml`, ...).
    pub fn from_botocore(name: &str) -> Option<Protocol> {
        Some(match name {
            "json" => Protocol::AwsJson,
            "rest-json" => Protocol::RestJson,
            "rest-xml" => Protocol::RestXml,
            "query" => Protocol::Query,
            "ec2" => Protocol::Ec2Query,
            "smithy-rpc-v2-cbor" => Protocol::RpcV2Cbor,
            _ => return None,
        })
    }

    /// The botocore name of the protocol (`unknown` for [`Protocol::Unknown`]).
    pub fn botocore_name(self) -> &'static str {
        match self {
            Protocol::AwsJson => "json",
            Protocol::RestJson => "rest-json",
            Protocol::RestXml => "rest-xml",
            Protocol::Query => "query",
            Protocol::Ec2Query => "ec2",
            Protocol::RpcV2Cbor => "smithy-rpc-v2-cbor",
            Protocol::Unknown => "unknown",
        }
    }

    /// REST protocols carry the operation in (method, URI); the others in a header or field.
    pub fn is_rest(self) -> bool {
        matches!(self, Protocol::RestJson | Protocol::RestXml)
    }
}
