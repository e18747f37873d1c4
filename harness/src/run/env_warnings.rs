//! Why this file exists: some settings in the user's environment quietly undo what `harness run`
//! is for. `TF_AWS_ASSUME_NO_PROPAGATION_DELAY` tells the Terraform AWS provider that the endpoint
//! has no propagation delay, so it collapses the waits that absorb eventual consistency (its SQS
//! waiters' consecutive confirmations first; "an assertion about the environment that the
//! provider cannot detect", hashicorp/terraform-provider-aws pull request #50080). Under the
//! fresh-account profile those waits are exactly what is being tested, so the harness says so in
//! one line on stderr before CMD starts. It passes the variable on unchanged: the user may mean it.

use std::ffi::OsStr;

/// The provider's switch.
pub const NO_PROPAGATION_DELAY: &str = "TF_AWS_ASSUME_NO_PROPAGATION_DELAY";

/// The warning's text (without the `harness: ` prefix).
pub const NO_PROPAGATION_DELAY_WARNING: &str = "warning: TF_AWS_ASSUME_NO_PROPAGATION_DELAY is set: it turns off the Terraform AWS provider's propagation waits, which the fresh-account profile exercises; unset it to see what a fresh account does to CMD";

/// Whether a value of the variable switches the provider's shortcut on: the provider takes a
/// "truthy value"; only empty and Go's `strconv.ParseBool` false spellings are taken as off, so
/// any other spelling warns rather than slipping through.
pub fn switches_waits_off(value: &OsStr) -> bool {
    let v = value.to_string_lossy();
    !matches!(v.trim(), "" | "0" | "f" | "F" | "false" | "FALSE" | "False")
}

/// The warnings the environment `get` describes deserves.
pub fn warnings(get: impl Fn(&str) -> Option<std::ffi::OsString>) -> Vec<&'static str> {
    let mut out = Vec::new();
    if get(NO_PROPAGATION_DELAY).is_some_and(|v| switches_waits_off(&v)) {
        out.push(NO_PROPAGATION_DELAY_WARNING);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    #[test]
    fn set_to_a_true_value_warns_unset_or_false_does_not() {
        let env = |value: Option<&str>| {
            let value = value.map(OsString::from);
            warnings(move |k| (k == NO_PROPAGATION_DELAY).then(|| value.clone()).flatten())
        };
        assert_eq!(env(Some("true")), [NO_PROPAGATION_DELAY_WARNING]);
        assert_eq!(env(Some("1")), [NO_PROPAGATION_DELAY_WARNING]);
        assert_eq!(env(Some("yes")), [NO_PROPAGATION_DELAY_WARNING]);
        assert!(env(Some("false")).is_empty());
        assert!(env(Some("")).is_empty());
        assert!(env(None).is_empty());
        assert!(!NO_PROPAGATION_DELAY_WARNING.contains('\n'));
    }
}
