//! Reading a trail: a CloudTrail log file (`{"Records": [...]}`), the output of
//! `aws cloudtrail lookup-events` (`{"Events": [{"CloudTrailEvent": "<record as a JSON
//! string>"}]}`, newest first) or a harness journal (`GET /_harness/journal`'s array, or the
//! `{..., "entries": [...]}` file `harness run`/`harness up --journal` write) becomes the calls
//! it shows, oldest first: when, which operation of which service, on which resource, and the
//! answer when it failed.
//!
//! A CloudTrail record is read for `eventTime`, `eventSource`, `eventName`, `eventType`,
//! `requestParameters`, `errorCode` and `errorMessage` only (record format:
//! https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html);
//! its identity fields are read only to remove their values from what is kept (`scrub.rs`).

use serde_json::Value;

use super::scrub::Scrubber;
use super::ReplayError;
use crate::aws::{Operation, Service};
use crate::journal::{FaultKind, JournalEntry};
use crate::rules::resource;

/// What a failed call answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// An AWS error. `modelled` is false when the service's error shapes do not name the code
    /// (then it is sent as written, with status 400).
    Error {
        status: u16,
        code: String,
        message: Option<String>,
        modelled: bool,
    },
    /// No answer: the connection closed (journals only).
    Drop,
}

/// One call of the trail.
#[derive(Clone, Debug)]
pub struct Call {
    /// Milliseconds on the trail's own clock (epoch for CloudTrail, journal start for journals).
    pub at_ms: i64,
    pub operation: Operation,
    pub resource: Option<String>,
    /// `None` when the call succeeded.
    pub failure: Option<Answer>,
}

/// The calls of a trail, oldest first, and what kind of file it was.
pub struct Trail {
    pub kind: &'static str,
    pub calls: Vec<Call>,
    /// Records that are not API calls (console sign-ins, service events), left out.
    pub skipped: usize,
}

/// Reads `text` as one of the three formats.
pub fn read(text: &str) -> Result<Trail, ReplayError> {
    let v: Value = serde_json::from_str(text).map_err(|e| {
        ReplayError(format!(
            "not JSON (line {}, column {}: {e}); expected a CloudTrail log file, `aws cloudtrail lookup-events` output or a harness journal",
            e.line(),
            e.column()
        ))
    })?;
    if let Some(records) = v.get("Records").and_then(Value::as_array) {
        return cloudtrail("CloudTrail log file", records.iter().collect());
    }
    if let Some(events) = v.get("Events").and_then(Value::as_array) {
        let mut records = Vec::with_capacity(events.len());
        for (i, e) in events.iter().enumerate() {
            let raw = e
                .get("CloudTrailEvent")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    ReplayError(format!(
                        "lookup-events output: event {} has no CloudTrailEvent string",
                        i + 1
                    ))
                })?;
            let record: Value = serde_json::from_str(raw).map_err(|err| {
                ReplayError(format!(
                    "lookup-events output: event {}'s CloudTrailEvent is not JSON: {err}",
                    i + 1
                ))
            })?;
            records.push(record);
        }
        // lookup-events lists the newest first.
        records.reverse();
        return cloudtrail("lookup-events output", records.iter().collect());
    }
    let entries = match &v {
        Value::Object(m) => m.get("entries"),
        Value::Array(_) => Some(&v),
        _ => None,
    };
    if let Some(Value::Array(items)) = entries {
        if items
            .first()
            .is_some_and(|r| r.get("eventSource").is_some())
        {
            return cloudtrail("CloudTrail records", items.iter().collect());
        }
        return journal(items);
    }
    Err(ReplayError(
        "neither a CloudTrail log file ({\"Records\": [...]}), `aws cloudtrail lookup-events` output ({\"Events\": [...]}) nor a harness journal ([...] or {\"entries\": [...]})".into(),
    ))
}

fn cloudtrail(kind: &'static str, records: Vec<&Value>) -> Result<Trail, ReplayError> {
    let mut scrub = Scrubber::default();
    records.iter().for_each(|r| scrub.learn(r));
    let mut calls = Vec::new();
    let mut skipped = 0;
    for (i, r) in records.iter().enumerate() {
        let at = |what: &str| ReplayError(format!("{kind}: record {}: {what}", i + 1));
        let event_type = r
            .get("eventType")
            .and_then(Value::as_str)
            .unwrap_or("AwsApiCall");
        if event_type != "AwsApiCall" {
            skipped += 1;
            continue;
        }
        let field = |name: &str| {
            r.get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| at(&format!("no {name}")))
        };
        let source = field("eventSource")?;
        let name = field("eventName")?;
        let time = field("eventTime")?;
        let at_ms = humantime::parse_rfc3339_weak(time.trim_end_matches('Z'))
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_millis() as i64)
            .ok_or_else(|| {
                at(&format!(
                    "eventTime {time:?} is not a time like 2026-01-02T03:04:05Z"
                ))
            })?;
        let operation = operation_of(source, name).map_err(|e| at(&e))?;
        let service = operation.service();
        let failure = match r.get("errorCode").and_then(Value::as_str) {
            None => None,
            Some(code) => {
                let message = r
                    .get("errorMessage")
                    .and_then(Value::as_str)
                    .map(|m| scrub.scrub(m));
                Some(error_answer(service, code, None, message))
            }
        };
        let resource = r
            .get("requestParameters")
            .and_then(resource::from_parameters)
            .map(|n| scrub.scrub(&n));
        calls.push(Call {
            at_ms,
            operation,
            resource,
            failure,
        });
    }
    // Files are roughly in order; a stable sort keeps equal seconds as written.
    calls.sort_by_key(|c| c.at_ms);
    Ok(Trail {
        kind,
        calls,
        skipped,
    })
}

/// The operation of a record: `eventSource` (`ecs.amazonaws.com`) names the service by its
/// endpoint prefix, `eventName` the operation (Lambda's carry its API version, as in
/// `CreateFunction20150331`).
fn operation_of(source: &str, name: &str) -> Result<Operation, String> {
    let prefix = source.strip_suffix(".amazonaws.com").unwrap_or(source);
    let services: Vec<Service> = Service::all()
        .filter(|s| {
            s.endpoint_prefix() == prefix || s.signing_name() == prefix || s.name() == prefix
        })
        .collect();
    if services.is_empty() {
        return Err(format!(
            "eventSource {source:?} names no service of the operation table (botocore {})",
            Service::table_version()
        ));
    }
    let unversioned = strip_version(name);
    services
        .iter()
        .find_map(|s| s.operation(name).or_else(|| s.operation(unversioned)))
        .ok_or_else(|| {
            format!(
                "{} has no operation {name:?} (botocore {})",
                services[0].name(),
                Service::table_version()
            )
        })
}

/// `CreateFunction20150331` → `CreateFunction`, `GetFunction20150331v2` → `GetFunction`.
fn strip_version(name: &str) -> &str {
    // An optional `v<digits>` suffix, then exactly eight digits (the API version's date).
    let no_minor = match name
        .trim_end_matches(|c: char| c.is_ascii_digit())
        .strip_suffix('v')
    {
        Some(rest) if rest.len() + 1 < name.len() => rest,
        _ => name,
    };
    let stem = no_minor.trim_end_matches(|c: char| c.is_ascii_digit());
    if no_minor.len() - stem.len() == 8 && !stem.is_empty() {
        stem
    } else {
        name
    }
}

/// The answer to send for `code` as CloudTrail or a journal wrote it: the wire code and status
/// from the service's error shapes (CloudTrail writes IAM's `NoSuchEntityException`, whose
/// wire code is `NoSuchEntity`, 404; EC2's `Client.` prefix goes).
fn error_answer(
    service: Service,
    code: &str,
    status: Option<u16>,
    message: Option<String>,
) -> Answer {
    let bare = code
        .strip_prefix("Client.")
        .or_else(|| code.strip_prefix("Server."))
        .unwrap_or(code);
    match service.error(bare) {
        Some(shape) => Answer::Error {
            status: status.unwrap_or(shape.status),
            code: shape.code.to_string(),
            message,
            modelled: true,
        },
        None => Answer::Error {
            status: status.unwrap_or(400),
            code: bare.to_string(),
            message,
            modelled: false,
        },
    }
}

fn journal(items: &[Value]) -> Result<Trail, ReplayError> {
    let mut calls = Vec::new();
    let mut skipped = 0;
    for (i, item) in items.iter().enumerate() {
        let at = |what: String| ReplayError(format!("harness journal: entry {}: {what}", i + 1));
        let e: JournalEntry = serde_json::from_value(item.clone())
            .map_err(|err| at(format!("not a journal entry ({err})")))?;
        let (Some(svc), Some(op)) = (&e.service, &e.operation) else {
            // Health checks and requests the proxy could not classify.
            skipped += 1;
            continue;
        };
        let service = Service::from_name(svc).ok_or_else(|| {
            at(format!(
                "service {svc:?} is not in the operation table (botocore {})",
                Service::table_version()
            ))
        })?;
        let operation = service
            .operation(op)
            .ok_or_else(|| at(format!("{svc} has no operation {op:?}")))?;
        let failure = e.fault.as_ref().and_then(|f| match (f.kind, &f.code) {
            (FaultKind::Drop, _) => Some(Answer::Drop),
            (FaultKind::Latency, _) | (_, None) => None,
            (_, Some(code)) => Some(error_answer(service, code, e.status, f.message.clone())),
        });
        calls.push(Call {
            at_ms: e.at_ms as i64,
            operation,
            resource: e.resource.clone(),
            failure,
        });
    }
    calls.sort_by_key(|c| c.at_ms);
    Ok(Trail {
        kind: "harness journal",
        calls,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versioned_event_names() {
        assert_eq!(strip_version("CreateFunction20150331"), "CreateFunction");
        assert_eq!(strip_version("GetFunction20150331v2"), "GetFunction");
        assert_eq!(strip_version("CreateService"), "CreateService");
        assert_eq!(strip_version("GetObject2"), "GetObject2");
    }

    #[test]
    fn cloudtrail_codes_become_wire_codes() {
        let iam = Service::from_name("iam").unwrap();
        assert_eq!(
            error_answer(iam, "NoSuchEntityException", None, None),
            Answer::Error {
                status: 404,
                code: "NoSuchEntity".into(),
                message: None,
                modelled: true
            }
        );
        let ec2 = Service::from_name("ec2").unwrap();
        assert!(matches!(
            error_answer(ec2, "Client.InvalidParameterValue", None, None),
            Answer::Error { ref code, .. } if code == "InvalidParameterValue"
        ));
    }

    #[test]
    fn bad_files_are_one_line_errors() {
        for (text, says) in [
            ("{", "not JSON"),
            ("{\"x\": 1}", "neither a CloudTrail"),
            (
                r#"{"Records":[{"eventSource":"nope.amazonaws.com","eventName":"X","eventTime":"2026-01-01T00:00:00Z"}]}"#,
                "names no service",
            ),
            (
                r#"{"Records":[{"eventSource":"ecs.amazonaws.com","eventName":"Fly","eventTime":"2026-01-01T00:00:00Z"}]}"#,
                "ecs has no operation \"Fly\"",
            ),
            (r#"{"Events":[{"EventName":"X"}]}"#, "no CloudTrailEvent"),
        ] {
            let e = read(text).err().expect(text).0;
            assert!(e.contains(says) && !e.contains('\n'), "{text}: {e}");
        }
    }
}
