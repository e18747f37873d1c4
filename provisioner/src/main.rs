//! Why this file exists: the `provisioner` binary; the command itself is `provisioner::cli`.

fn main() -> std::process::ExitCode {
    provisioner::cli::main()
}
