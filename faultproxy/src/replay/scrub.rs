//! What a trail says about who called never leaves the reader: CloudTrail records name the
//! caller (`userIdentity`: ARNs, principal ids, access key ids, account ids, session names), its
//! address (`sourceIPAddress`) and its tools (`userAgent`), and AWS error messages often repeat
//! them ("User: arn:aws:sts::123456789012:assumed-role/ci/run-7 is not authorized ..."). The
//! reader never keeps those fields; this file removes their values from the text it does keep
//! (messages, resource names) before anything can print, journal or answer it.
//!
//! Account ids and access key ids become [`ACCOUNT_MARK`], which the rules fill in with the
//! replaying account (the harness's access key id is its account id, so the client sees what it
//! would have seen); the caller's ARN becomes that account's root (the principal the proxy
//! stands in for); other identity values and the caller's address and agent become
//! `[redacted]`.

use serde_json::Value;

/// Stands for the replaying account in kept text until the rules are made.
pub const ACCOUNT_MARK: &str = "\u{1}ACCOUNT\u{1}";

/// What one trail says about its callers, longest first (so a value inside another goes last).
#[derive(Default)]
pub struct Scrubber {
    values: Vec<(String, &'static str)>,
}

/// Identity values shorter than this are left alone: two-letter user names are words too.
const MIN_VALUE_LEN: usize = 4;

impl Scrubber {
    /// Learns the identifying values of one record.
    pub fn learn(&mut self, record: &Value) {
        let mut found = Vec::new();
        for field in [
            "userIdentity",
            "sourceIPAddress",
            "userAgent",
            "recipientAccountId",
        ] {
            if let Some(v) = record.get(field) {
                strings(v, &mut found);
            }
        }
        for s in found {
            if s.len() < MIN_VALUE_LEN || self.values.iter().any(|(v, _)| *v == s) {
                continue;
            }
            let with = if s.starts_with("arn:") {
                "arn:aws:iam::\u{1}ACCOUNT\u{1}:root"
            } else if is_account_id(&s) || is_access_key_id(&s) {
                ACCOUNT_MARK
            } else {
                "[redacted]"
            };
            self.values.push((s, with));
        }
        self.values.sort_by_key(|v| std::cmp::Reverse(v.0.len()));
    }

    /// `text` without any learnt value, account id or access key id.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (v, with) in &self.values {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), with);
            }
        }
        generic(&out)
    }
}

/// `userIdentity` members that say what kind of caller it was, not who: `type` (`AssumedRole`),
/// the session's `attributes` (`creationDate`, `mfaAuthenticated`: `false`) and `invokedBy` (an
/// AWS service such as `ecs.amazonaws.com`). Their values are words a message may use.
const NOT_IDENTIFYING: &[&str] = &["type", "attributes", "invokedBy"];

fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(m) => m
            .iter()
            .filter(|(k, _)| !NOT_IDENTIFYING.contains(&k.as_str()))
            .for_each(|(_, x)| strings(x, out)),
        _ => {}
    }
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `AKIA...`/`ASIA...` and the other IAM unique-id prefixes an access key id starts with,
/// 20 upper-case letters and digits (docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids).
fn is_access_key_id(s: &str) -> bool {
    s.len() == 20
        && (s.starts_with("AKIA") || s.starts_with("ASIA"))
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Replaces every run of exactly 12 digits and every access key id in `text`.
fn generic(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        let word_start = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        if b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_digit()) {
            let end = i + b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            if end - i == 12 {
                out.push_str(&text[copied..i]);
                out.push_str(ACCOUNT_MARK);
                copied = end;
            }
            i = end;
            continue;
        }
        if word_start
            && i + 20 <= b.len()
            && is_access_key_id(&text[i..i + 20])
            && b.get(i + 20).is_none_or(|c| !c.is_ascii_alphanumeric())
        {
            out.push_str(&text[copied..i]);
            out.push_str(ACCOUNT_MARK);
            i += 20;
            copied = i;
            continue;
        }
        i += text[i..].chars().next().map_or(1, char::len_utf8);
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identity_values_accounts_and_keys_go() {
        let mut s = Scrubber::default();
        s.learn(&json!({
            "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLEID:ci-run-7",
                "arn": "arn:aws:sts::111122223333:assumed-role/ci/ci-run-7",
                "accountId": "111122223333", "accessKeyId": "ASIAEXAMPLEKEY123456"},
            "sourceIPAddress": "203.0.113.9", "userAgent": "aws-cli/2.15 md/ci"
        }));
        let text = "User: arn:aws:sts::111122223333:assumed-role/ci/ci-run-7 (AROAEXAMPLEID:ci-run-7, key ASIAEXAMPLEKEY123456) from 203.0.113.9 via aws-cli/2.15 md/ci on 444455556666";
        let out = s.scrub(text);
        for secret in [
            "111122223333",
            "ci-run-7",
            "ASIAEXAMPLE",
            "203.0.113.9",
            "aws-cli",
            "444455556666",
            "AROA",
        ] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        assert!(
            out.starts_with("User: arn:aws:iam::\u{1}ACCOUNT\u{1}:root"),
            "{out}"
        );
        // Numbers of other lengths and words stay, the kind of caller too.
        assert_eq!(
            s.scrub("port 8080, id 1234567890123"),
            "port 8080, id 1234567890123"
        );
        s.learn(
            &json!({"userIdentity": {"type": "AssumedRole", "invokedBy": "ecs.amazonaws.com",
            "sessionContext": {"attributes": {"mfaAuthenticated": "false"}}}}),
        );
        let said = "AssumedRole via ecs.amazonaws.com: flag is false";
        assert_eq!(s.scrub(said), said);
    }
}
