//! Why this file exists: the `harness` command's exit code for a failure, decided in one place
//! with the provisioner's codes (`provisioner::user_error`): 3 when the user's input or
//! configuration is wrong (a flag, a preset, `HARNESS_*` variables, a `--replay` file), 1 for everything else (the
//! emulator would not start, a port is taken, the network is down).

use provisioner::user_error::{self, EXIT_BAD_INPUT};

use crate::emulator::EmulatorError;

/// 3 for bad input or configuration anywhere in `err`'s chain, else 1.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    let bad_input = err.chain().any(|e| {
        matches!(
            e.downcast_ref::<EmulatorError>(),
            Some(EmulatorError::Config(_))
        ) || matches!(
            e.downcast_ref::<faultproxy::Error>(),
            Some(
                faultproxy::Error::InvalidUpstream { .. }
                    | faultproxy::Error::Preset(_)
                    | faultproxy::Error::Rules(_)
                    | faultproxy::Error::Route(_)
            )
        ) || e.is::<faultproxy::replay::ReplayError>()
    });
    if bad_input {
        EXIT_BAD_INPUT
    } else {
        user_error::exit_code(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_errors_are_bad_input() {
        let e = anyhow::Error::from(EmulatorError::Config("HARNESS_BACKEND=x".into()));
        assert_eq!(exit_code(&e), EXIT_BAD_INPUT);
        let route = "iam".parse::<faultproxy::Route>().unwrap_err();
        let e = anyhow::Error::from(faultproxy::Error::from(route));
        assert_eq!(exit_code(&e), EXIT_BAD_INPUT);
        let e = anyhow::Error::from(EmulatorError::Unreachable {
            url: "http://x".into(),
            waited: std::time::Duration::from_secs(1),
            last_error: "refused".into(),
        });
        assert_eq!(exit_code(&e), user_error::EXIT_ERROR);
    }
}
