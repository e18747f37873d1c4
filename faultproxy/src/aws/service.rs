//! The AWS services the proxy understands, and everything it knows per service in one place:
//! name and aliases, `X-Amz-Target` prefix (awsJson), query API version and XML namespace
//! (awsQuery / EC2 query), wire protocol and throttling error. Classification, error encoding,
//! rule matching and the upstream's own calls all ask [`Service`] instead of matching on names.

use super::error::AwsError;

/// ECS/ECR/CloudWatch Logs throttling code, HTTP 400.
/// Source: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/CommonErrors.html
pub const THROTTLING_EXCEPTION: &str = "ThrottlingException";
/// IAM/STS throttling code, HTTP 400.
/// Source: https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html
pub const THROTTLING: &str = "Throttling";
/// EC2 throttling code, HTTP 503.
/// Source: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
pub const REQUEST_LIMIT_EXCEEDED: &str = "RequestLimitExceeded";
/// The message AWS sends with `ThrottlingException` and `Throttling`.
/// Source: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/CommonErrors.html
pub const RATE_EXCEEDED: &str = "Rate exceeded";
/// The message EC2 sends with `RequestLimitExceeded`.
/// Source: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/throttling.html
pub const REQUEST_LIMIT_EXCEEDED_MESSAGE: &str = "Request limit exceeded.";

/// The wire protocol of a request, which decides how an injected error is encoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Protocol {
    /// awsJson1_0 / awsJson1_1 (`X-Amz-Target`): ECS, ECR, CloudWatch Logs, ...
    AwsJson,
    /// awsQuery with the `ErrorResponse` XML document: IAM, STS.
    Query,
    /// EC2 query protocol with the `Response/Errors` XML document.
    Ec2Query,
    /// Anything else (REST protocols, health checks, garbage).
    #[default]
    Unknown,
}

/// IAM's awsQuery XML namespace (its API version 2010-05-08).
const IAM_NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
/// STS's awsQuery XML namespace (its API version 2011-06-15).
const STS_NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// A service the proxy knows by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    Ecs,
    Ecr,
    Logs,
    Iam,
    Sts,
    Ec2,
}

/// Per-service facts: one row per service.
struct Def {
    service: Service,
    /// Canonical lower-case name (the SigV4 signing name).
    name: &'static str,
    /// Other names users type in rules.
    aliases: &'static [&'static str],
    protocol: Protocol,
    /// `X-Amz-Target` prefix (awsJson services).
    target_prefix: Option<&'static str>,
    /// `Version` form parameter (query services).
    query_version: Option<&'static str>,
    /// XML namespace of awsQuery documents.
    query_namespace: Option<&'static str>,
    throttling: (u16, &'static str, &'static str),
}

const JSON_THROTTLING: (u16, &str, &str) = (400, THROTTLING_EXCEPTION, RATE_EXCEEDED);
const QUERY_THROTTLING: (u16, &str, &str) = (400, THROTTLING, RATE_EXCEEDED);

const DEFS: &[Def] = &[
    Def {
        service: Service::Ecs,
        name: "ecs",
        aliases: &[],
        protocol: Protocol::AwsJson,
        target_prefix: Some("AmazonEC2ContainerServiceV20141113"),
        query_version: None,
        query_namespace: None,
        throttling: JSON_THROTTLING,
    },
    Def {
        service: Service::Ecr,
        name: "ecr",
        aliases: &[],
        protocol: Protocol::AwsJson,
        target_prefix: Some("AmazonEC2ContainerRegistry_V20150921"),
        query_version: None,
        query_namespace: None,
        throttling: JSON_THROTTLING,
    },
    Def {
        service: Service::Logs,
        name: "logs",
        aliases: &["cloudwatchlogs", "cloudwatch-logs", "cloudwatch_logs"],
        protocol: Protocol::AwsJson,
        target_prefix: Some("Logs_20140328"),
        query_version: None,
        query_namespace: None,
        throttling: JSON_THROTTLING,
    },
    Def {
        service: Service::Iam,
        name: "iam",
        aliases: &[],
        protocol: Protocol::Query,
        target_prefix: None,
        query_version: Some("2010-05-08"),
        query_namespace: Some(IAM_NS),
        throttling: QUERY_THROTTLING,
    },
    Def {
        service: Service::Sts,
        name: "sts",
        aliases: &[],
        protocol: Protocol::Query,
        target_prefix: None,
        query_version: Some("2011-06-15"),
        query_namespace: Some(STS_NS),
        throttling: QUERY_THROTTLING,
    },
    Def {
        service: Service::Ec2,
        name: "ec2",
        aliases: &[],
        protocol: Protocol::Ec2Query,
        target_prefix: None,
        query_version: Some("2016-11-15"),
        query_namespace: None,
        throttling: (503, REQUEST_LIMIT_EXCEEDED, REQUEST_LIMIT_EXCEEDED_MESSAGE),
    },
];

const _: () = assert!(DEFS.len() == Service::Ec2 as usize + 1);

impl Service {
    /// Every known service.
    pub fn all() -> impl Iterator<Item = Service> {
        DEFS.iter().map(|d| d.service)
    }

    fn def(self) -> &'static Def {
        // `DEFS` lists the variants in declaration order (checked below and by a test).
        &DEFS[self as usize]
    }

    /// The service called `name` (canonical or alias, case-insensitive).
    pub fn from_name(name: &str) -> Option<Service> {
        DEFS.iter()
            .find(|d| {
                d.name.eq_ignore_ascii_case(name)
                    || d.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
            })
            .map(|d| d.service)
    }

    /// The awsJson service whose `X-Amz-Target` prefix this is.
    pub fn from_target_prefix(prefix: &str) -> Option<Service> {
        DEFS.iter()
            .find(|d| d.target_prefix == Some(prefix))
            .map(|d| d.service)
    }

    /// The query service whose API version this is.
    pub fn from_query_version(version: &str) -> Option<Service> {
        DEFS.iter()
            .find(|d| d.query_version == Some(version))
            .map(|d| d.service)
    }

    /// Canonical lower-case name, as journaled: `ecs`, `logs`, ...
    pub fn name(self) -> &'static str {
        self.def().name
    }

    pub fn protocol(self) -> Protocol {
        self.def().protocol
    }

    /// `X-Amz-Target` prefix of an awsJson service.
    pub fn target_prefix(self) -> Option<&'static str> {
        self.def().target_prefix
    }

    /// `Version` parameter of a query service.
    pub fn query_version(self) -> Option<&'static str> {
        self.def().query_version
    }

    /// XML namespace of the service's awsQuery documents.
    pub fn query_namespace(self) -> Option<&'static str> {
        self.def().query_namespace
    }

    /// The service's own throttling error.
    pub fn throttling_error(self) -> AwsError {
        let (status, code, message) = self.def().throttling;
        AwsError::new(status, code, message)
    }
}

/// The canonical name of a service users typed (`CloudWatchLogs` → `logs`); unknown names are
/// lower-cased.
pub fn normalize_service(name: &str) -> String {
    match Service::from_name(name) {
        Some(s) => s.name().to_string(),
        None => name.to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_has_its_row_and_round_trips() {
        for s in Service::all() {
            assert_eq!(s.def().service, s);
            assert_eq!(Service::from_name(s.name()), Some(s));
        }
        assert_eq!(DEFS.len(), 6);
    }

    #[test]
    fn names_prefixes_and_versions() {
        assert_eq!(normalize_service("CloudWatch-Logs"), "logs");
        assert_eq!(normalize_service("ECS"), "ecs");
        assert_eq!(normalize_service("S3"), "s3");
        assert_eq!(
            Service::from_target_prefix("Logs_20140328"),
            Some(Service::Logs)
        );
        assert_eq!(
            Service::from_query_version("2016-11-15"),
            Some(Service::Ec2)
        );
        assert_eq!(Service::Sts.query_namespace(), Some(STS_NS));
        assert_eq!(Service::Ec2.protocol(), Protocol::Ec2Query);
    }
}
