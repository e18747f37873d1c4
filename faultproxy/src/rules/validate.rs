//! Rule validation: parsing the JSON form and checking each rule is meaningful, with errors
//! that name the rule and say what to change.

use std::time::Duration;

use super::schema::{Rule, Window};
use crate::aws::service::{closest_operations, closest_services, normalize_service};
use crate::aws::Service;

impl Window {
    pub(crate) fn parsed(&self) -> Result<(String, String, Duration), String> {
        let (svc, op) = self
            .after
            .split_once(':')
            .filter(|(s, o)| !s.is_empty() && !o.is_empty())
            .ok_or_else(|| {
                format!(
                    "window.after must be \"service:Operation\" (e.g. \"ecs:CreateCluster\"), got {:?}",
                    self.after
                )
            })?;
        let duration = match (&self.duration, self.duration_ms) {
            (Some(d), None) => humantime::parse_duration(d).map_err(|e| {
                format!("window.duration {d:?} is not a duration like \"20s\" or \"500ms\": {e}")
            })?,
            (None, Some(ms)) => Duration::from_millis(ms),
            _ => return Err("window needs exactly one of \"duration\" or \"duration_ms\"".into()),
        };
        check_operation(svc, Some(op)).map_err(|e| format!("window.after: {e}"))?;
        Ok((normalize_service(svc), op.to_string(), duration))
    }
}

/// The service must be in the operation table, and the operation (unless it ends in the `*`
/// wildcard) one of its operations; the error names the closest ones.
pub(crate) fn check_operation(service: &str, operation: Option<&str>) -> Result<(), String> {
    let Some(svc) = Service::from_name(service) else {
        return Err(format!(
            "unknown service {service:?}; did you mean {}? (botocore names, as in `aws <service>`)",
            or_list(&closest_services(service))
        ));
    };
    match operation {
        Some(op) if !op.ends_with('*') && svc.operation(op).is_none() => Err(format!(
            "service {} has no operation {op:?}; did you mean {}?",
            svc.name(),
            or_list(&closest_operations(svc, op))
        )),
        _ => Ok(()),
    }
}

fn or_list(names: &[&str]) -> String {
    match names {
        [] => "a name from `faultproxy --help`".into(),
        [one] => format!("{one:?}"),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(|n| format!("{n:?}")).collect();
            format!("{} or {last:?}", init.join(", "))
        }
    }
}

/// Why a rule set was rejected.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("invalid fault rules JSON at line {line} column {column}: {message} (expected a JSON array of rules, or one rule object)")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("invalid fault rule #{index}{}: {reason}", name.as_ref().map(|n| format!(" ({n})")).unwrap_or_default())]
    Invalid {
        index: usize,
        name: Option<String>,
        reason: String,
    },
}

/// Parses a JSON array of rules (or a single rule object) and validates every rule.
pub fn parse_rules(text: &str) -> Result<Vec<Rule>, RuleError> {
    let trimmed = text.trim_start();
    // Parse with the shape the text announces (an untagged enum would hide the real error).
    let rules = if trimmed.starts_with('{') {
        serde_json::from_str::<Rule>(text).map(|r| vec![r])
    } else {
        serde_json::from_str::<Vec<Rule>>(text)
    };
    let rules = rules.map_err(|e| RuleError::Json {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    validate_all(&rules)?;
    Ok(rules)
}

/// Validates every rule; the error names the rule's index (1-based) and name.
pub fn validate_all(rules: &[Rule]) -> Result<(), RuleError> {
    for (i, r) in rules.iter().enumerate() {
        r.validate().map_err(|reason| RuleError::Invalid {
            index: i + 1,
            name: r.name.clone(),
            reason,
        })?;
    }
    Ok(())
}

impl Rule {
    /// Checks the rule is meaningful; the error says what to change.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(p) = self.probability {
            if !(0.0..=1.0).contains(&p) || p.is_nan() {
                return Err(format!("probability must be between 0.0 and 1.0, got {p}"));
            }
        }
        let terminal = [self.error.is_some(), self.throttle, self.drop]
            .iter()
            .filter(|b| **b)
            .count();
        if terminal > 1 {
            return Err("at most one of \"error\", \"throttle\", \"drop\" per rule".into());
        }
        if terminal == 0 && self.latency.is_none() {
            return Err(
                "a rule needs an effect: \"error\": {\"statusCode\", \"code\"}, \"throttle\": true, \"drop\": true or \"latency\": {\"ms\"}"
                    .into(),
            );
        }
        if let Some(e) = &self.error {
            if !(100..=599).contains(&e.status_code) {
                return Err(format!(
                    "error.statusCode must be an HTTP status (100-599), got {}",
                    e.status_code
                ));
            }
            if e.code.trim().is_empty() {
                return Err("error.code must not be empty".into());
            }
        }
        if let Some(svc) = &self.service {
            check_operation(svc, self.operation.as_deref())?;
        }
        if let Some(w) = &self.window {
            w.parsed()?;
        }
        if let Some(a) = &self.account {
            if !crate::aws::classify::is_account_id(a) {
                return Err(format!("account must be a 12-digit account id, got {a:?}"));
            }
        }
        if let Some(n) = &self.name {
            if n.is_empty() {
                return Err("name must not be empty".into());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localstack_chaos_form_parses() {
        let rules = parse_rules(
            r#"[{"service": "ecs", "operation": "CreateService", "region": "ap-northeast-1",
                 "probability": 0.5, "error": {"statusCode": 503, "code": "ServiceUnavailable"}}]"#,
        )
        .unwrap();
        assert_eq!(rules[0].error.as_ref().unwrap().status_code, 503);
        assert_eq!(rules[0].probability, Some(0.5));
        // A single object is accepted too.
        let one = parse_rules(r#"{"name": "x", "throttle": true}"#).unwrap();
        assert_eq!(one.len(), 1);
    }

    #[test]
    fn bad_json_and_bad_rules_have_clear_errors() {
        let e = parse_rules("[{\"service\": ").unwrap_err().to_string();
        assert!(e.contains("line 1"), "{e}");
        let e = parse_rules(r#"[{"servce": "ecs", "drop": true}]"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `servce`"), "{e}");
        let e = parse_rules(r#"[{"name": "n", "service": "ecs"}]"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("rule #1 (n)") && e.contains("needs an effect"),
            "{e}"
        );
        let e = parse_rules(r#"[{"drop": true, "throttle": true}]"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("at most one"), "{e}");
        let e = parse_rules(r#"[{"drop": true, "probability": 2}]"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("probability"), "{e}");
        let e = parse_rules(
            r#"[{"drop": true, "window": {"after": "CreateCluster", "duration": "1s"}}]"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("service:Operation"), "{e}");
        let e =
            parse_rules(r#"[{"drop": true, "window": {"after": "ecs:X", "duration": "soon"}}]"#)
                .unwrap_err()
                .to_string();
        assert!(e.contains("not a duration"), "{e}");
    }

    #[test]
    fn unknown_operations_and_services_name_the_closest() {
        let e = parse_rules(r#"[{"service": "s3", "operation": "PutObjet", "drop": true}]"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("service s3 has no operation \"PutObjet\"; did you mean \"PutObject\""),
            "{e}"
        );
        assert!(!e.contains('\n'), "one line: {e}");
        let e = parse_rules(r#"[{"service": "lamda", "drop": true}]"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown service \"lamda\"; did you mean \"lambda\""),
            "{e}"
        );
        let e = parse_rules(
            r#"[{"drop": true, "window": {"after": "ecs:CreateClustr", "duration": "1s"}}]"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("\"CreateCluster\""), "{e}");
        for ok in [
            r#"[{"service": "s3", "operation": "GetBucketPolicy", "drop": true}]"#,
            r#"[{"service": "apigateway", "operation": "Get*", "drop": true}]"#,
            r#"[{"service": "CloudWatch-Logs", "operation": "CreateLogGroup", "drop": true}]"#,
        ] {
            parse_rules(ok).unwrap();
        }
    }

    #[test]
    fn json_round_trip() {
        let r = Rule::named("w")
            .for_service("ecs")
            .for_operation("CreateService")
            .with_window("ecs:CreateCluster", Duration::from_secs(20))
            .with_error(400, "InvalidParameterException", "m");
        let text = serde_json::to_string(&vec![r.clone()]).unwrap();
        assert_eq!(parse_rules(&text).unwrap(), vec![r]);
    }
}
