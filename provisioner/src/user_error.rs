//! Why this file exists: every command-line tool of the workspace (`provisioner`, `harness`,
//! `bench`) shows a failure the same way, so a user learns one shape: `error: <what>` on one
//! line, then one `caused by: <why>` line per underlying cause, each from `Display` (never
//! `Debug`), and for an AWS failure one `aws: <service> <operation>, code, HTTP status, request
//! id` line. The exit codes are stated here once ([`EXIT_ERROR`], [`EXIT_CHANGES`],
//! [`EXIT_BAD_INPUT`]) and colour is decided here once ([`stderr_colour`]).

use std::io::IsTerminal;

use crate::error::{AwsError, Error};
use crate::preflight::PreflightError;
use crate::spec::SpecError;

/// Exit code of a failure that is not the user's input (AWS, network, a bug).
pub const EXIT_ERROR: u8 = 1;
/// `plan --detailed-exitcode`: the plan has changes.
pub const EXIT_CHANGES: u8 = 2;
/// Bad input or configuration: a flag, an environment variable, the stack spec.
pub const EXIT_BAD_INPUT: u8 = 3;

/// A mistake in what the user gave us (a flag's value, an environment variable): exit code
/// [`EXIT_BAD_INPUT`]. Its message says what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// The exit code for `err`: [`EXIT_BAD_INPUT`] when any cause is a [`BadInput`], a
/// [`SpecError`] or missing credentials (configuration), else [`EXIT_ERROR`].
pub fn exit_code(err: &anyhow::Error) -> u8 {
    let bad = err.chain().any(|e| {
        e.is::<BadInput>()
            || e.is::<SpecError>()
            || matches!(
                e.downcast_ref::<PreflightError>(),
                Some(PreflightError::NoCredentials { .. } | PreflightError::BadEndpoint { .. })
            )
            || matches!(e.downcast_ref::<Error>(), Some(Error::Spec(_)))
    });
    if bad {
        EXIT_BAD_INPUT
    } else {
        EXIT_ERROR
    }
}

/// Parses the command line of a binary of this workspace. Usage errors exit
/// [`EXIT_BAD_INPUT`] (not clap's 2, which `plan --detailed-exitcode` uses for "changes");
/// `--help` and `--version` print and exit 0.
pub fn parse_cli<C: clap::Parser>() -> Result<C, std::process::ExitCode> {
    C::try_parse().map_err(|e| {
        let _ = e.print();
        if e.use_stderr() {
            std::process::ExitCode::from(EXIT_BAD_INPUT)
        } else {
            std::process::ExitCode::SUCCESS
        }
    })
}

/// `error: <what>`, then `caused by: <why>` per distinct cause, then an `aws:` line for the
/// first AWS failure in the chain. Multi-line messages are folded into their line.
pub fn render(err: &anyhow::Error) -> String {
    let one_line = |s: String| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut lines: Vec<String> = Vec::new();
    let mut shown: Vec<String> = Vec::new();
    let mut aws: Option<&AwsError> = None;
    for cause in err.chain() {
        if aws.is_none() {
            aws = cause
                .downcast_ref::<AwsError>()
                .or_else(|| cause.downcast_ref::<Error>().and_then(Error::aws_error));
        }
        let text = one_line(cause.to_string());
        // A wrapper that prints its source (thiserror `transparent`, `{0}`) adds nothing.
        if text.is_empty() || shown.iter().any(|s| s.contains(&text)) {
            continue;
        }
        lines.push(if lines.is_empty() {
            format!("error: {text}")
        } else {
            format!("caused by: {text}")
        });
        shown.push(text);
    }
    if let Some(a) = aws {
        lines.push(format!("aws: {}", a.details()));
    }
    lines.join("\n")
}

/// Whether logs on stderr may carry ANSI colour: only on a terminal, and never with `NO_COLOR`
/// set to a non-empty value (https://no-color.org/).
pub fn stderr_colour() -> bool {
    colour_allowed(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    )
}

/// [`stderr_colour`]'s rule, pure.
pub fn colour_allowed(is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    is_terminal && no_color.is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_are_lines_and_repeats_are_dropped() {
        let inner = anyhow::anyhow!("connection refused");
        let err = inner.context("cannot reach http://x").context("planning");
        assert_eq!(
            render(&err),
            "error: planning\ncaused by: cannot reach http://x\ncaused by: connection refused"
        );
        assert_eq!(exit_code(&err), EXIT_ERROR);
    }

    #[test]
    fn aws_errors_get_their_details_line() {
        let mut aws = AwsError::new("CreateService", "InvalidParameterException", "nope");
        aws.status = Some(400);
        aws.call = crate::error::CallInfo::boxed(Some("ecs".into()), Some("r-1".into()));
        let err = anyhow::Error::from(Error::Aws(aws));
        assert_eq!(
            render(&err),
            "error: CreateService: InvalidParameterException: nope\naws: ecs CreateService, code InvalidParameterException, HTTP 400, request id r-1"
        );
    }

    #[test]
    fn bad_input_and_spec_errors_exit_3() {
        let err = anyhow::Error::from(BadInput("--region: bad".into())).context("flags");
        assert_eq!(exit_code(&err), EXIT_BAD_INPUT);
        let spec = crate::StackSpec::from_toml_str("x = 1", "s.toml").unwrap_err();
        assert_eq!(exit_code(&anyhow::Error::from(spec)), EXIT_BAD_INPUT);
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour_allowed(true, None));
        assert!(colour_allowed(true, Some("".as_ref())));
        assert!(!colour_allowed(true, Some("1".as_ref())));
        assert!(!colour_allowed(false, None));
    }
}
