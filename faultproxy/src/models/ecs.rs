//! What the ECS models share: reading cluster and service names out of awsJson requests (names
//! or ARNs, with ECS's `default` cluster), building ARNs as AWS does, the resource keys of their
//! windows and their error answers.
//!
//! ARN formats: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-account-settings.html#ecs-resource-ids
//! (`arn:aws:ecs:region:account:cluster/NAME`, `...:service/CLUSTER/NAME`, old `...:service/NAME`).

use serde_json::Value;

use super::window::ResourceKey;
use super::{ModelAnswer, ModelSpec};
use crate::classify::RequestInfo;
use crate::journal::FaultKind;
use crate::wire::AwsError;

/// The cluster ECS uses when a request names none.
pub const DEFAULT_CLUSTER: &str = "default";
/// Region assumed when the request's credential scope names none.
const DEFAULT_REGION: &str = "us-east-1";

/// The request body as JSON (`Null` when it is not JSON).
pub fn request_json(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

/// `NAME` of a cluster given by name or ARN.
pub fn cluster_name(id: &str) -> &str {
    match id.split_once(":cluster/") {
        Some((prefix, name)) if prefix.starts_with("arn:") => name,
        _ => id,
    }
}

/// `NAME` of a service given by name or ARN (both ARN formats).
pub fn service_name(id: &str) -> &str {
    if id.starts_with("arn:") && id.contains(":service/") {
        id.rsplit('/').next().unwrap_or(id)
    } else {
        id
    }
}

/// The cluster a request names in `field`, or `default`.
pub fn cluster_of<'a>(req: &'a Value, field: &str) -> &'a str {
    match req.get(field).and_then(Value::as_str) {
        Some(id) if !id.is_empty() => cluster_name(id),
        _ => DEFAULT_CLUSTER,
    }
}

pub fn region(info: &RequestInfo) -> &str {
    info.region.as_deref().unwrap_or(DEFAULT_REGION)
}

/// `arn:aws:ecs:REGION:ACCOUNT:cluster/NAME`, as DescribeClusters' failures name it.
pub fn cluster_arn(info: &RequestInfo, name: &str) -> String {
    format!(
        "arn:aws:ecs:{}:{}:cluster/{name}",
        region(info),
        info.account.as_deref().unwrap_or("")
    )
}

/// The window key of cluster `name` (or `cluster/service`) in the request's account and region.
pub fn key(info: &RequestInfo, name: &str) -> ResourceKey {
    ResourceKey::new(info.account.as_deref().unwrap_or(""), region(info), name)
}

/// An ECS error (awsJson, HTTP 400) answered by model `spec`, journaled as its `error`.
pub(crate) fn error(
    info: &RequestInfo,
    spec: &ModelSpec,
    code: &str,
    message: &str,
) -> ModelAnswer {
    ModelAnswer::injected(
        info,
        spec.rule,
        spec.rule,
        FaultKind::Error,
        AwsError::new(400, code, message),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_names_and_arns() {
        assert_eq!(cluster_name("app"), "app");
        assert_eq!(
            cluster_name("arn:aws:ecs:us-east-1:123456789012:cluster/app"),
            "app"
        );
        assert_eq!(cluster_name("not-an-arn:cluster/x"), "not-an-arn:cluster/x");
        assert_eq!(service_name("web"), "web");
        assert_eq!(
            service_name("arn:aws:ecs:us-east-1:123456789012:service/app/web"),
            "web"
        );
        assert_eq!(
            service_name("arn:aws:ecs:us-east-1:123456789012:service/web"),
            "web"
        );
    }

    #[test]
    fn default_cluster_and_arn() {
        let req = request_json(br#"{"cluster":""}"#);
        assert_eq!(cluster_of(&req, "cluster"), "default");
        assert_eq!(cluster_of(&request_json(b"garbage"), "cluster"), "default");
        let req = request_json(br#"{"cluster":"arn:aws:ecs:eu-west-1:1:cluster/c"}"#);
        assert_eq!(cluster_of(&req, "cluster"), "c");
        let info = RequestInfo {
            account: Some("123456789012".into()),
            region: Some("eu-west-1".into()),
            ..RequestInfo::default()
        };
        assert_eq!(
            cluster_arn(&info, "c"),
            "arn:aws:ecs:eu-west-1:123456789012:cluster/c"
        );
        assert_eq!(key(&info, "c").region, "eu-west-1");
        assert_eq!(key(&RequestInfo::default(), "c").region, "us-east-1");
    }
}
