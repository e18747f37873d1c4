//! The harness as a user installs it (`cargo install`, the image, the GitHub Action): a binary in
//! no cargo target directory. It names its version, and it keeps its own files (runs, journals,
//! logs) in the per-user cache `$XDG_CACHE_HOME/first-apply/harness`, never beside the binary.
//!
//! The installed copy runs the moto this checkout's harness installed (HARNESS_MOTO_SERVER), so
//! the test does not install moto a second time.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const HARNESS: &str = env!("CARGO_BIN_EXE_harness");

#[test]
fn version_names_the_package_version() {
    let out = Command::new(HARNESS)
        // A `harness up` the developer keeps running is not this test's: its runs start their own emulator.
        .env("HARNESS_ATTACH", "off")
        .arg("--version")
        .output()
        .expect("run harness");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("harness {}\n", env!("CARGO_PKG_VERSION"))
    );
}

/// The moto_server of the venv the built harness installed into its target dir (installed now
/// if no test did yet).
fn pinned_moto_server() -> PathBuf {
    let out = Command::new(HARNESS)
        .env("HARNESS_ATTACH", "off")
        .args(["run", "--", "true"])
        .env("HARNESS_BACKEND", "moto")
        .env_remove("HARNESS_MOTO_SERVER")
        .stdin(Stdio::null())
        .output()
        .expect("run harness");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let target = Path::new(HARNESS).ancestors().nth(2).expect("target dir");
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| target.to_path_buf())
        .join("harness");
    std::fs::read_dir(&dir)
        .expect("the harness dir")
        .filter_map(Result::ok)
        .map(|e| e.path().join("bin").join("moto_server"))
        .find(|p| {
            p.is_file()
                && p.parent()
                    .and_then(Path::parent)
                    .and_then(Path::file_name)
                    .is_some_and(|n| n.to_string_lossy().starts_with("moto-venv-"))
        })
        .unwrap_or_else(|| panic!("no moto-venv-*/bin/moto_server under {}", dir.display()))
}

#[test]
fn an_installed_binary_keeps_its_files_in_the_per_user_cache() {
    let moto = pinned_moto_server();
    let tmp = tempfile::tempdir().expect("temp dir");
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let installed = bin.join("harness");
    std::fs::copy(HARNESS, &installed).expect("copy the binary");
    let cache = tmp.path().join("cache");

    let out = Command::new(&installed)
        .args(["run", "--", "true"])
        .env("HARNESS_BACKEND", "moto")
        .env("HARNESS_MOTO_SERVER", &moto)
        .env("XDG_CACHE_HOME", &cache)
        .env_remove("CARGO_TARGET_DIR")
        .stdin(Stdio::null())
        .output()
        .expect("run the installed harness");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let home = cache.join("first-apply").join("harness");
    let journal = stderr
        .lines()
        .find_map(|l| l.strip_prefix("harness: journal: "))
        .unwrap_or_else(|| panic!("no journal line:\n{stderr}"));
    assert!(
        Path::new(journal).starts_with(home.join("runs")),
        "journal {journal} not under {}",
        home.display()
    );
    assert!(Path::new(journal).is_file(), "{journal}");
    assert!(
        home.join("logs").read_dir().unwrap().next().is_some(),
        "no emulator log under {}",
        home.display()
    );
    let beside: Vec<_> = bin.read_dir().unwrap().filter_map(Result::ok).collect();
    assert_eq!(beside.len(), 1, "files beside the binary: {beside:?}");
}
