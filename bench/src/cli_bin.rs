//! The provisioner CLI binary the user-facing figures run (and the `faultproxy` binary the soak
//! runs, built the same way). `cargo run -p bench` builds the
//! provisioner library, not its binary, so the bench asks cargo for it: same profile and target
//! directory as the bench's own executable (`target/<profile>/bench` → `target/<profile>/provisioner`),
//! which costs only its link on top of what the bench already compiled and is a no-op when fresh.
//! `--provisioner-bin PATH` skips the build.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

/// The cargo `--profile` name for a profile output directory (`debug` is the `dev` profile).
pub fn profile_for_dir(dir_name: &str) -> &str {
    match dir_name {
        "debug" => "dev",
        other => other,
    }
}

/// Builds (when needed) and returns the provisioner binary next to the running bench executable.
pub fn ensure_built() -> anyhow::Result<PathBuf> {
    ensure_built_bin("provisioner", "provisioner", "--provisioner-bin")
}

/// Builds (when needed) and returns binary `bin` of `package` next to the running bench
/// executable; `flag` is the option that names a prebuilt one instead.
pub fn ensure_built_bin(package: &str, bin: &str, flag: &str) -> anyhow::Result<PathBuf> {
    ensure_built_bin_in(package, bin, flag, None)
}

/// [`ensure_built_bin`] in the `dev` profile (`target/debug/`), whatever the bench's own.
pub fn ensure_built_debug(package: &str, bin: &str, flag: &str) -> anyhow::Result<PathBuf> {
    ensure_built_bin_in(package, bin, flag, Some(("dev", "debug")))
}

/// Builds binary `bin` of `package` in `profile` (its name and output directory), else in the
/// bench's own profile.
fn ensure_built_bin_in(
    package: &str,
    bin: &str,
    flag: &str,
    profile: Option<(&str, &str)>,
) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the bench executable")?;
    let profile_dir = exe
        .parent()
        .context("the bench executable has no parent directory")?;
    let target_dir = profile_dir
        .parent()
        .context("the bench executable is not inside a cargo target directory")?;
    let dir_name = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .context("the bench executable's directory has no UTF-8 name")?;
    let (profile, profile_dir) = match profile {
        Some((name, dir)) => (name, target_dir.join(dir)),
        None => (profile_for_dir(dir_name), profile_dir.to_path_buf()),
    };
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("bench's manifest directory has no parent")?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("bench: building the {bin} binary (profile {profile})");
    let status = Command::new(&cargo)
        .current_dir(workspace)
        .args(["build", "--quiet", "-p", package, "--bin", bin])
        .args(["--profile", profile])
        .arg("--target-dir")
        .arg(target_dir)
        .status()
        .with_context(|| format!("running {:?} build -p {package}", cargo))?;
    if !status.success() {
        bail!(
            "`cargo build -p {package} --profile {profile}` failed ({status}); build it by hand \
             and pass {flag} PATH"
        );
    }
    let path = profile_dir.join(format!("{bin}{}", std::env::consts::EXE_SUFFIX));
    if !path.is_file() {
        bail!(
            "cargo built {bin} but {} does not exist; pass {flag} PATH",
            path.display()
        );
    }
    Ok(path)
}

/// `--provisioner-bin PATH` as given, checked to exist.
pub fn given(path: &Path) -> anyhow::Result<PathBuf> {
    if !path.is_file() {
        bail!(
            "--provisioner-bin {}: no such file (build it with `cargo build --release -p provisioner`)",
            path.display()
        );
    }
    Ok(path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_dir_is_the_dev_profile_and_others_keep_their_name() {
        assert_eq!(profile_for_dir("debug"), "dev");
        assert_eq!(profile_for_dir("release"), "release");
        assert_eq!(profile_for_dir("bench-fast"), "bench-fast");
    }
}
