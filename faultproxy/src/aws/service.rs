//! Per-service facts the botocore models do not carry, next to their sources: the throttling
//! error of services whose model names none (EC2, S3, IAM, STS answer codes no model lists), and
//! the name users type for a service. Everything else about a service is in the generated
//! operation table ([`super::table`]).

use super::error::AwsError;
use super::protocol::Protocol;
pub use super::table::{ErrorShape, Operation, Service};

/// The JSON services' throttling code, HTTP 400.
/// Source: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/CommonErrors.html
pub const THROTTLING_EXCEPTION: &str = "ThrottlingException";
/// The query services' throttling code (IAM, STS), HTTP 400.
/// Source: https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html
pub const THROTTLING: &str = "Throttling";
/// EC2 throttling code, HTTP 503.
/// Source: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
pub const REQUEST_LIMIT_EXCEEDED: &str = "RequestLimitExceeded";
/// S3 throttling code, HTTP 503.
/// Source: https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList
pub const SLOW_DOWN: &str = "SlowDown";
/// The message S3 sends with `SlowDown` (same source).
pub const SLOW_DOWN_MESSAGE: &str = "Please reduce your request rate.";
/// The message AWS sends with `ThrottlingException` and `Throttling`.
/// Source: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/CommonErrors.html
pub const RATE_EXCEEDED: &str = "Rate exceeded";
/// The message EC2 sends with `RequestLimitExceeded`.
/// Source: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/throttling.html
pub const REQUEST_LIMIT_EXCEEDED_MESSAGE: &str = "Request limit exceeded.";

/// The throttling error `service` answers: the documented one where the model has none (EC2
/// `RequestLimitExceeded` 503, S3 `SlowDown` 503, IAM/STS `Throttling` 400), else the model's
/// throttling shape (Lambda `TooManyRequestsException` 429), else the protocol's common code
/// (query `Throttling`, the others `ThrottlingException`, both 400).
pub fn throttling_error(service: Option<Service>) -> AwsError {
    let Some(s) = service else {
        return AwsError::new(400, THROTTLING_EXCEPTION, RATE_EXCEEDED);
    };
    match s {
        Service::EC2 => {
            return AwsError::new(503, REQUEST_LIMIT_EXCEEDED, REQUEST_LIMIT_EXCEEDED_MESSAGE)
        }
        Service::S3 => return AwsError::new(503, SLOW_DOWN, SLOW_DOWN_MESSAGE),
        Service::IAM | Service::STS => return AwsError::new(400, THROTTLING, RATE_EXCEEDED),
        _ => {}
    }
    if let Some(shape) = s.modelled_throttling() {
        return AwsError::new(shape.status, shape.code, RATE_EXCEEDED);
    }
    match s.protocol() {
        Protocol::Query => AwsError::new(400, THROTTLING, RATE_EXCEEDED),
        _ => AwsError::new(400, THROTTLING_EXCEPTION, RATE_EXCEEDED),
    }
}

/// The canonical name of a service users typed (`CloudWatch-Logs` → `logs`); names the table
/// does not know are lower-cased.
pub fn normalize_service(name: &str) -> String {
    match Service::from_name(name) {
        Some(s) => s.name().to_string(),
        None => name.to_ascii_lowercase(),
    }
}

/// Up to three operations of `service` whose names are closest to `name`, for "did you mean".
pub fn closest_operations(service: Service, name: &str) -> Vec<&'static str> {
    let want = name.to_ascii_lowercase();
    let mut scored: Vec<(usize, &'static str)> = service
        .operations()
        .map(|op| {
            (
                edit_distance(&want, &op.name().to_ascii_lowercase()),
                op.name(),
            )
        })
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, n)| n).collect()
}

/// Up to three service names closest to `name`.
pub fn closest_services(name: &str) -> Vec<&'static str> {
    let want = name.to_ascii_lowercase();
    let mut scored: Vec<(usize, &'static str)> = Service::all()
        .map(|s| (edit_distance(&want, s.name()), s.name()))
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, n)| n).collect()
}

/// Levenshtein distance over bytes (names are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (diag + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_aliases() {
        for s in Service::all() {
            assert_eq!(Service::from_name(s.name()), Some(s), "{s}");
        }
        assert_eq!(normalize_service("CloudWatch-Logs"), "logs");
        assert_eq!(normalize_service("cloudwatch_logs"), "logs");
        assert_eq!(normalize_service("ECS"), "ecs");
        assert_eq!(normalize_service("S3"), "s3");
        assert_eq!(normalize_service("no-such-service"), "no-such-service");
        assert_eq!(Service::from_name("monitoring"), Some(Service::CLOUDWATCH));
    }

    #[test]
    fn throttling_per_service() {
        assert_eq!(
            throttling_error(Some(Service::ECS)).code,
            "ThrottlingException"
        );
        assert_eq!(throttling_error(Some(Service::LOGS)).status, 400);
        assert_eq!(throttling_error(Some(Service::IAM)).code, "Throttling");
        assert_eq!(throttling_error(Some(Service::EC2)).status, 503);
        assert_eq!(throttling_error(Some(Service::S3)).code, "SlowDown");
        let lambda = throttling_error(Some(Service::LAMBDA));
        assert_eq!(
            (lambda.status, lambda.code.as_str()),
            (429, "TooManyRequestsException")
        );
        assert_eq!(throttling_error(None).code, "ThrottlingException");
    }

    #[test]
    fn did_you_mean() {
        assert_eq!(closest_operations(Service::S3, "PutObjet")[0], "PutObject");
        assert_eq!(
            closest_operations(Service::LAMBDA, "listfunctions")[0],
            "ListFunctions"
        );
        assert_eq!(closest_services("lamda")[0], "lambda");
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
