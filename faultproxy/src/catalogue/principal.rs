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
use crate::models::{Model, ModelAnswer, ModelCx, ModelId, ModelSettings, ResourceKey};
use crate::wire::AwsError;

/// Per operation (by index): the rows naming it and the IAM write it is, if any.
struct Index {
    rows: Vec<Box<[u16]>>,
    triggers: Vec<Option<Trigger>>,
    /// Per trigger (by position in [`Trigger::ALL`]): the rows it opens windows for.
    opens: Vec<Vec<u16>>,
    /// Every operation a row names or a trigger is.
    watched: Vec<Operation>,
}

static INDEX: LazyLock<Index> = LazyLock::new(|| {
    let n = Operation::count();
    let mut rows: Vec<Vec<u16>> = vec![Vec::new(); n];
    let mut watched = Vec::new();
    for (i, r) in PRINCIPAL_ROWS.iter().enumerate() {
        let op = r.service.operation(r.operation).unwrap_or_else(|| {
            panic!(
                "row {}: {} has no operation {}",
                r.spec.name, r.service, r.operation
            )
        });
        rows[op.index()].push(i as u16);
        watched.push(op);
    }
    let mut triggers = vec![None; n];
    let mut opens = vec![Vec::new(); Trigger::ALL.len()];
    for (t, trigger) in Trigger::ALL.iter().enumerate() {
        let op = Service::IAM
            .operation(trigger.operation())
            .unwrap_or_else(|| panic!("IAM has no operation {}", trigger.operation()));
        triggers[op.index()] = Some(*trigger);
        watched.push(op);
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
        watched,
    }
});

/// Runs the principal-propagation rows; `first` is the id of the first row.
pub(crate) struct PrincipalEngine {
    first: ModelId,
    windows: Vec<Windows>,
}

impl PrincipalEngine {
    pub fn new(first: ModelId) -> PrincipalEngine {
        PrincipalEngine {
            first,
            windows: PRINCIPAL_ROWS.iter().map(|_| Windows::default()).collect(),
        }
    }

    fn id(&self, row: u16) -> ModelId {
        self.first.nth(usize::from(row))
    }

    fn on(&self, settings: &ModelSettings, row: u16) -> bool {
        settings.on(self.id(row))
    }
}

/// A principal as the window keys it, and as the seeded draw reads it: account, and
/// `:TYPE/NAME` as its ARN ends under the default path.
fn key(account: &str, kind: Kind, name: &str) -> ResourceKey {
    ResourceKey::new(account, "", &format!(":{}/{name}", kind.arn_type()))
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

/// `Attributes.entry.*.value` matches `Attributes.entry.3.value`: `*` is one dotted segment.
fn segments_match(pattern: &str, key: &str) -> bool {
    let (mut p, mut k) = (pattern.split('.'), key.split('.'));
    loop {
        match (p.next(), k.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a == "*" || a == b => {}
            _ => return false,
        }
    }
}

/// The values of member `path` of the request body in the request's protocol.
fn members(protocol: Protocol, body: &[u8], path: &str) -> Vec<String> {
    match protocol {
        Protocol::Query | Protocol::Ec2Query if path.contains('*') => form_urlencoded::parse(body)
            .filter(|(k, _)| segments_match(path, k))
            .map(|(_, v)| v.into_owned())
            .collect(),
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
    fn operations(&self) -> Vec<Operation> {
        INDEX.watched.clone()
    }

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
                let length = cx.settings.lengths(self.id(r), &row.spec);
                for n in named(row, cx.info, cx.body) {
                    if windows.is_open(&key(&n.account, n.kind, &n.name), now, &length) {
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
                if self.on(&cx.settings, r) {
                    self.windows[usize::from(r)].open(k.clone(), now);
                }
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
#[path = "principal_tests.rs"]
mod tests;
