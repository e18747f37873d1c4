//! Why this file exists: the `provisioner` command (`provisioner::cli`, the same code as the
//! `provisioner` binary), built as a target of this package so the scenario suite can run it
//! as a process (`CARGO_BIN_EXE_scenario-provisioner`) without a second build of the workspace
//! with other features.

fn main() -> std::process::ExitCode {
    provisioner::cli::main()
}
