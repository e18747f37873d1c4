//! Which resource a call names, one way for every reader: a rule's `resource` matcher, the
//! journal's `resource` field and the replay of a CloudTrail trail all use [`IDENTIFIERS`], so a
//! name taken from a trail's `requestParameters` is the name the proxy reads from the request.
//!
//! A call's resource is the value of the first identifier member it carries, in the order of
//! [`IDENTIFIERS`] (most specific first: an ECS `CreateService` names its service, not its
//! cluster). ARNs are reduced to the name they end with ([`resource_name`]), so an ARN from
//! another account (the trail's) and a bare name (the client's) compare equal.

use serde_json::Value;

use crate::aws::classify::{form_param, RequestInfo};
use crate::aws::Protocol;

/// Request members that name the resource a call acts on, most specific first, as CloudTrail's
/// `requestParameters` spells them (the API's member names with a lower-case first letter; S3's
/// `bucketName` is CloudTrail's name for the `Bucket` label). The request's own spelling is the
/// same with an upper-case first letter (awsQuery forms, REST labels) or as is (awsJson bodies).
/// Member names: botocore 1.43.11's service models (ecs, iam, lambda, logs, ecr, s3, sts).
pub const IDENTIFIERS: &[&str] = &[
    "serviceName",
    "service",
    "functionName",
    "roleName",
    "userName",
    "instanceProfileName",
    "policyName",
    "logGroupName",
    "repositoryName",
    "bucketName",
    "family",
    "taskDefinition",
    "capacityProviderName",
    "clusterName",
    "cluster",
];

/// The REST label a CloudTrail identifier stands for when it is not the member's own name.
fn label_name(id: &str) -> String {
    match id {
        "bucketName" => "Bucket".to_string(),
        _ => upper_first(id),
    }
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// The name an ARN ends with (`arn:aws:ecs:r:123:service/cluster/web` → `web`,
/// `arn:aws:lambda:r:123:function:f:live` → `f`, `arn:aws:s3:::bucket` → `bucket`); any other
/// value as it is.
pub fn resource_name(value: &str) -> &str {
    let Some(rest) = value.strip_prefix("arn:") else {
        return value;
    };
    let resource = rest.splitn(5, ':').nth(4).unwrap_or(rest);
    match resource.find(['/', ':']) {
        // `type/path/name`: the last path segment.
        Some(i) if resource.as_bytes()[i] == b'/' => {
            resource.rsplit('/').next().unwrap_or(resource)
        }
        // `type:name[:qualifier]`.
        Some(i) => resource[i + 1..].split(':').next().unwrap_or(resource),
        None => resource,
    }
}

/// The resource of a CloudTrail record's `requestParameters` (a JSON object).
pub fn from_parameters(params: &Value) -> Option<String> {
    let obj = params.as_object()?;
    IDENTIFIERS.iter().find_map(|id| {
        let v = obj.get(*id).or_else(|| obj.get(&upper_first(id)))?;
        v.as_str()
            .filter(|s| !s.is_empty())
            .map(|s| resource_name(s).to_string())
    })
}

/// The resource a request names, read from its URI labels, its form or its JSON body.
pub fn from_request(info: &RequestInfo, body: &[u8]) -> Option<String> {
    let json = match info.protocol {
        Protocol::AwsJson | Protocol::RestJson => serde_json::from_slice::<Value>(body).ok(),
        _ => None,
    };
    let form = matches!(info.protocol, Protocol::Query | Protocol::Ec2Query);
    IDENTIFIERS.iter().find_map(|id| {
        let label = label_name(id);
        let value = info
            .label(&label)
            .map(str::to_string)
            .or_else(|| form.then(|| form_param(body, &label)).flatten())
            .or_else(|| {
                let obj = json.as_ref()?.as_object()?;
                let v = obj.get(*id).or_else(|| obj.get(&label))?;
                v.as_str().map(str::to_string)
            })?;
        (!value.is_empty()).then(|| resource_name(&value).to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arns_reduce_to_their_name() {
        for (arn, name) in [
            (
                "arn:aws:ecs:us-east-1:123456789012:cluster/first-apply",
                "first-apply",
            ),
            (
                "arn:aws:ecs:us-east-1:123456789012:service/first-apply/web",
                "web",
            ),
            (
                "arn:aws:iam::123456789012:role/path/to/app-role",
                "app-role",
            ),
            ("arn:aws:lambda:us-east-1:123456789012:function:f:live", "f"),
            (
                "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/app:*",
                "/ecs/app",
            ),
            ("arn:aws:s3:::my-bucket", "my-bucket"),
            ("plain-name", "plain-name"),
        ] {
            assert_eq!(resource_name(arn), name, "{arn}");
        }
    }

    #[test]
    fn the_most_specific_identifier_wins() {
        let p = json!({"cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/c", "serviceName": "web"});
        assert_eq!(from_parameters(&p).as_deref(), Some("web"));
        assert_eq!(
            from_parameters(&json!({"clusterName": "c"})).as_deref(),
            Some("c")
        );
        assert_eq!(
            from_parameters(&json!({"bucketName": "b", "Host": "h"})).as_deref(),
            Some("b")
        );
        assert_eq!(from_parameters(&json!({"maxResults": 5})), None);
    }

    #[test]
    fn requests_name_resources_in_their_protocol() {
        let ecs = RequestInfo::call("ecs", "CreateService");
        let body = br#"{"cluster":"c","serviceName":"web"}"#;
        assert_eq!(from_request(&ecs, body).as_deref(), Some("web"));
        let iam = RequestInfo::call("iam", "GetRole");
        assert_eq!(
            from_request(&iam, b"Action=GetRole&Version=2010-05-08&RoleName=app").as_deref(),
            Some("app")
        );
        let logs = RequestInfo::call("logs", "CreateLogGroup");
        assert_eq!(
            from_request(&logs, br#"{"logGroupName":"/ecs/app"}"#).as_deref(),
            Some("/ecs/app")
        );
        assert_eq!(from_request(&logs, b"not json"), None);
    }
}
