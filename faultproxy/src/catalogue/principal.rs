//! The principal-propagation engine: runs every [`PrincipalRow`]. A successful IAM write opens,
//! per row that lists it, a window for the principal it names (per account, drawn per seed from
//! the row's range); a request of a row's operation that names a principal inside its window
//! gets the row's error in the service's protocol.
//!
//! Which rows a request concerns is one array lookup by the operation's index, so a request no
//! row names costs one bounds-checked load and a branch.

use std::sync::LazyLock;
use std::time::Instant;

use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::Value;

use super::{Kind, Names, PrincipalRow, Trigger, PRINCIPAL_ROWS};
use crate::aws::{Operation, Protocol, Service};
use crate::classify::{form_param, RequestInfo};
use crate::journal::FaultKind;
use crate::models::window::Windows;
use crate::models::{Model, ModelAnswer, ModelCx, ModelSettings, ResourceKey};
use crate::wire::AwsError;

/// Per operation (by index): the rows naming it and the IAM write it is, if any.
struct Index {
    rows: Vec<Box<[u16]>>,
    triggers: Vec<Option<Trigger>>,
    /// Per trigger (by position in [`Trigger::ALL`]): the rows it opens windows for.
    opens: Vec<Vec<u16>>,
}

static INDEX: LazyLock<Index> = LazyLock::new(|| {
    let n = Operation::count();
    let mut rows: Vec<Vec<u16>> = vec![Vec::new(); n];
    for (i, r) in PRINCIPAL_ROWS.iter().enumerate() {
        let op = r.service.operation(r.operation).unwrap_or_else(|| {
            panic!(
                "row {}: {} has no operation {}",
                r.spec.name, r.service, r.operation
            )
        });
        rows[op.index()].push(i as u16);
    }
    let mut triggers = vec![None; n];
    let mut opens = vec![Vec::new(); Trigger::ALL.len()];
    for (t, trigger) in Trigger::ALL.iter().enumerate() {
        if let Some(op) = Service::IAM.operation(trigger.operation()) {
            triggers[op.index()] = Some(*trigger);
        }
        for (i, r) in PRINCIPAL_ROWS.iter().enumerate() {
            if r.triggers.contains(trigger) {
                opens[t].push(i as u16);
            }
        }
    }
    Index {
        rows: rows.into_iter().map(Vec::into_boxed_slice).collect(),
        triggers,
        opens,
    }
});

/// Runs the principal-propagation rows; `first` is the settings index of the first row.
pub(crate) struct PrincipalEngine {
    first: usize,
    windows: Vec<Windows>,
}

impl PrincipalEngine {
    pub fn new(first: usize) -> PrincipalEngine {
        PrincipalEngine {
            first,
            windows: PRINCIPAL_ROWS.iter().map(|_| Windows::default()).collect(),
        }
    }

    fn on(&self, settings: &ModelSettings, row: u16) -> bool {
        settings.is_enabled_at(self.first + usize::from(row))
    }
}

/// A principal as the window keys it: account, kind, name.
fn key(account: &str, kind: Kind, name: &str) -> ResourceKey {
    ResourceKey::new(account, "", &format!("{}/{name}", kind.arn_type()))
}

/// `(account, kind, name)` of an IAM ARN (`arn:aws:iam::123:role/path/name`).
fn parse_arn(arn: &str) -> Option<(&str, Kind, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (_, _, service, _, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if service != "iam" {
        return None;
    }
    let (ty, rest) = resource.split_once('/')?;
    let name = rest.rsplit('/').next()?;
    Some((account, Kind::from_arn_type(ty)?, name))
}

/// The values at a dotted JSON path (`*` matches every key of an object).
fn json_values<'v>(v: &'v Value, path: &str, out: &mut Vec<&'v str>) {
    let (head, rest) = match path.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (path, None),
    };
    let children: Vec<&Value> = match (head, v) {
        ("*", Value::Object(m)) => m.values().collect(),
        (k, Value::Object(m)) => m.get(k).into_iter().collect(),
        _ => Vec::new(),
    };
    for c in children {
        match rest {
            Some(r) => json_values(c, r, out),
            None => out.extend(c.as_str()),
        }
    }
}

/// The values of member `path` of the request body in the request's protocol.
fn members(protocol: Protocol, body: &[u8], path: &str) -> Vec<String> {
    match protocol {
        Protocol::Query | Protocol::Ec2Query => form_param(body, path).into_iter().collect(),
        _ if path.is_empty() => std::str::from_utf8(body)
            .map(|s| vec![s.to_string()])
            .unwrap_or_default(),
        _ => {
            let Ok(v) = serde_json::from_slice::<Value>(body) else {
                return Vec::new();
            };
            let mut out = Vec::new();
            json_values(&v, path, &mut out);
            out.into_iter().map(str::to_string).collect()
        }
    }
}

/// The `Principal.AWS` values of a policy document (string or list, in one statement or many).
fn policy_principals(doc: &str) -> Vec<String> {
    let Ok(v) = serde_json::from_str::<Value>(doc) else {
        return Vec::new();
    };
    let statements: Vec<&Value> = match v.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(s) => vec![s],
        None => Vec::new(),
    };
    let mut out = Vec::new();
    for s in statements {
        match s.get("Principal").and_then(|p| p.get("AWS")) {
            Some(Value::String(a)) => out.push(a.clone()),
            Some(Value::Array(a)) => {
                out.extend(a.iter().filter_map(|x| x.as_str().map(String::from)))
            }
            _ => {}
        }
    }
    out
}

/// A principal the request names: as given, and its account, kind and name.
struct Named {
    value: String,
    account: String,
    kind: Kind,
    name: String,
}

fn named(row: &PrincipalRow, info: &RequestInfo, body: &[u8]) -> Vec<Named> {
    let own = info.account.as_deref().unwrap_or("");
    let resolve = |value: String, bare: Option<Kind>| -> Option<Named> {
        if let Some((account, kind, name)) = parse_arn(&value) {
            let (account, name) = (account.to_string(), name.to_string());
            return Some(Named {
                value,
                account,
                kind,
                name,
            });
        }
        let kind = bare?;
        Some(Named {
            name: value.clone(),
            value,
            account: own.to_string(),
            kind,
        })
    };
    match row.names {
        Names::Field(path, kind) => members(info.protocol, body, path)
            .into_iter()
            .filter_map(|v| resolve(v, Some(kind)))
            .collect(),
        Names::Policy(path) => members(info.protocol, body, path)
            .iter()
            .flat_map(|doc| policy_principals(doc))
            .filter_map(|v| resolve(v, None))
            .collect(),
    }
}

/// The row's message with the principal filled in.
fn message(row: &PrincipalRow, n: &Named) -> String {
    let arn = if n.value.starts_with("arn:") {
        n.value.clone()
    } else {
        format!(
            "arn:aws:iam::{}:{}/{}",
            n.account,
            n.kind.arn_type(),
            n.name
        )
    };
    // The caller's identity is not in the request the proxy sees (only its access key), so the
    // account's root stands for it.
    let caller = format!("arn:aws:iam::{}:root", n.account);
    row.message
        .replace("{value}", &n.value)
        .replace("{name}", &n.name)
        .replace("{arn}", &arn)
        .replace("{caller}", &caller)
}

impl Model for PrincipalEngine {
    fn wants(&self, info: &RequestInfo, settings: &ModelSettings) -> bool {
        let Some(op) = info.operation else {
            return false;
        };
        let index = &*INDEX;
        let i = op.index();
        index.rows[i].iter().any(|&r| self.on(settings, r))
            || index.triggers[i].is_some_and(|t| {
                index.opens[t as usize]
                    .iter()
                    .any(|&r| self.on(settings, r))
            })
    }

    fn before<'a>(&'a self, cx: &'a ModelCx<'a>) -> BoxFuture<'a, Option<ModelAnswer>> {
        async move {
            let op = cx.info.operation?;
            let now = Instant::now();
            for &r in INDEX.rows[op.index()].iter() {
                if !self.on(&cx.settings, r) {
                    continue;
                }
                let row = &PRINCIPAL_ROWS[usize::from(r)];
                let windows = &self.windows[usize::from(r)];
                for n in named(row, cx.info, cx.body) {
                    if windows.is_open(&key(&n.account, n.kind, &n.name), now) {
                        let err = AwsError::new(row.status, row.code, message(row, &n));
                        let rule = row.spec.rule;
                        return Some(ModelAnswer::injected(
                            cx.info,
                            rule,
                            rule,
                            FaultKind::Error,
                            err,
                        ));
                    }
                }
            }
            None
        }
        .boxed()
    }

    fn after<'a>(&'a self, cx: &'a ModelCx<'a>, status: u16) -> BoxFuture<'a, ()> {
        async move {
            let Some(op) = cx.info.operation else {
                return;
            };
            let Some(trigger) = INDEX.triggers[op.index()] else {
                return;
            };
            if status != 200 {
                return;
            }
            let (kind, param) = trigger.principal();
            let Some(name) = form_param(cx.body, param) else {
                return;
            };
            let account = cx.info.account.clone().unwrap_or_default();
            let k = key(&account, kind, &name);
            let now = Instant::now();
            for &r in &INDEX.opens[trigger as usize] {
                if !self.on(&cx.settings, r) {
                    continue;
                }
                let spec = &PRINCIPAL_ROWS[usize::from(r)].spec;
                let range = cx.settings.range(spec);
                self.windows[usize::from(r)].open(k.clone(), now, |key, counter| {
                    cx.settings.draw(spec, range, key, counter)
                });
            }
        }
        .boxed()
    }

    fn reset(&self) {
        for w in &self.windows {
            w.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;
    use crate::models::test_support::{upstream, ACCOUNT, REGION};
    use crate::models::{all_specs, WindowRange};

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
        PrincipalEngine::new(all_specs().count() - PRINCIPAL_ROWS.len())
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
            body.contains(
                "<Code>MalformedPolicy</Code><Message>Invalid principal in policy</Message>"
            ),
            "{body}"
        );
        let kms = info("kms", "CreateKey");
        let req = serde_json::json!({"Policy": policy}).to_string();
        let (_, _, body) = call(&e, s, &kms, &req, 200).await.expect("kms");
        assert!(body.contains("MalformedPolicyDocumentException"), "{body}");
        let sqs = info("sqs", "SetQueueAttributes");
        let req =
            serde_json::json!({"QueueUrl": "q", "Attributes": {"Policy": policy}}).to_string();
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
}
