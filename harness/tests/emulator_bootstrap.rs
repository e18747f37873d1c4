//! Installing the pinned moto: exactly once even when many callers race, interrupted installs
//! are replaced, missing Python is a clear error, and the real install is reused.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use harness::emulator::moto_bootstrap::{
    python_package_version, Bootstrap, BootstrapOutcome, MARKER_FILE, MOTO_VERSION,
};
use harness::emulator::moto_process::{MotoCommand, MotoOptions, MotoProcess};
use harness::emulator::{readiness, Emulator, EmulatorError};

/// A fake `python3`: `-m venv DIR` copies itself to DIR/bin/python, `-m pip` records one line
/// in `counter` (slowly, to widen races), `-c` prints the pinned version.
fn fake_python(dir: &Path, counter: &Path) -> PathBuf {
    let path = dir.join("python3");
    let body = format!(
        r#"#!/bin/sh
case "$1" in
  -c) case "$2" in *importlib.metadata*) echo {MOTO_VERSION};; esac; exit 0;;
  -m) case "$2" in
        venv) mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && printf '#!%s/bin/python\n' "$3" > "$3/bin/moto_server" && exit 0;;
        pip) echo "pip $*" >> {counter}; sleep 0.5; exit 0;;
      esac;;
esac
exit 2
"#,
        counter = counter.display()
    );
    std::fs::write(&path, body).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    wait_executable(&path);
    path
}

/// Waits until `path` can be run. A test thread that forks while this one still has the new
/// script open for writing hands the child that descriptor until it execs, and running the
/// script meanwhile fails with ETXTBSY ("Text file busy"; seen in CI with the tests in parallel).
fn wait_executable(path: &Path) {
    for _ in 0..500 {
        match std::process::Command::new(path).output() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                std::thread::sleep(Duration::from_millis(10))
            }
            _ => return,
        }
    }
    panic!("{} stayed busy (ETXTBSY) for 5 s", path.display());
}

fn installs(counter: &Path) -> usize {
    std::fs::read_to_string(counter)
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

#[test]
fn racing_callers_install_exactly_once_then_reuse() {
    let dir = tempfile::tempdir().unwrap();
    let counter = dir.path().join("pip-calls");
    let python = fake_python(dir.path(), &counter);
    let root = dir.path().join("harness");
    let outcomes: Vec<BootstrapOutcome> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| Bootstrap::new(&root, &python).ensure().expect("bootstrap")))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(installs(&counter), 1, "pip must run once");
    let installed = outcomes
        .iter()
        .filter(|o| matches!(o, BootstrapOutcome::Installed { .. }))
        .count();
    assert_eq!(installed, 1, "{outcomes:?}");
    let bootstrap = Bootstrap::new(&root, &python);
    for outcome in &outcomes {
        assert_eq!(outcome.venv(), bootstrap.venv_dir());
    }
    assert!(bootstrap.is_installed());
    let marker = std::fs::read_to_string(bootstrap.venv_dir().join(MARKER_FILE)).unwrap();
    assert!(
        marker.starts_with(&format!("moto[server]=={MOTO_VERSION}\n")),
        "{marker}"
    );
    let script =
        std::fs::read_to_string(bootstrap.venv_dir().join("bin").join("moto_server")).unwrap();
    assert_eq!(
        script.lines().next().unwrap(),
        format!("#!{}", bootstrap.venv_python().display()),
        "scripts must point at the final venv, not the temporary install dir"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary install dirs left: {leftovers:?}"
    );

    // A later run (new Bootstrap value, as in a new process) does not reinstall.
    let again = Bootstrap::new(&root, &python).ensure().unwrap();
    assert!(
        matches!(again, BootstrapOutcome::Cached { .. }),
        "{again:?}"
    );
    assert_eq!(installs(&counter), 1);
}

#[test]
fn interrupted_install_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let counter = dir.path().join("pip-calls");
    let python = fake_python(dir.path(), &counter);
    let root = dir.path().join("harness");
    let bootstrap = Bootstrap::new(&root, &python);
    // What a killed install could leave: a temp dir, and a final dir without marker.
    let stale_tmp = root.join(format!("moto-venv-{MOTO_VERSION}.tmp-1-2"));
    std::fs::create_dir_all(stale_tmp.join("bin")).unwrap();
    std::fs::create_dir_all(bootstrap.venv_dir().join("bin")).unwrap();
    std::fs::write(bootstrap.venv_dir().join("bin").join("python"), "").unwrap();
    assert!(!bootstrap.is_installed(), "no marker, not installed");

    let outcome = bootstrap.ensure().unwrap();
    assert!(
        matches!(outcome, BootstrapOutcome::Installed { .. }),
        "{outcome:?}"
    );
    assert_eq!(installs(&counter), 1);
    assert!(bootstrap.is_installed());
    assert!(!stale_tmp.exists(), "stale temp dir removed");
}

/// A venv moved with its directory (a copied or renamed target dir) still runs through
/// `<venv>/bin/python`, but its console scripts' `#!` named the old place: `ensure` points them
/// at the new one without reinstalling.
#[test]
fn moved_venv_gets_its_scripts_repointed_without_reinstall() {
    let dir = tempfile::tempdir().unwrap();
    let counter = dir.path().join("pip-calls");
    let python = fake_python(dir.path(), &counter);
    let before = dir.path().join("target-a").join("harness");
    Bootstrap::new(&before, &python).ensure().unwrap();
    let after = dir.path().join("target-b").join("harness");
    std::fs::create_dir_all(after.parent().unwrap()).unwrap();
    std::fs::rename(&before, &after).unwrap();

    let moved = Bootstrap::new(&after, &python);
    assert!(!moved.is_installed(), "its scripts still name target-a");
    let outcome = moved.ensure().unwrap();
    assert!(
        matches!(outcome, BootstrapOutcome::Cached { .. }),
        "{outcome:?}"
    );
    assert_eq!(installs(&counter), 1, "repointed, not reinstalled");
    assert!(moved.is_installed());
    let script = std::fs::read_to_string(moved.venv_dir().join("bin").join("moto_server")).unwrap();
    assert_eq!(
        script.lines().next().unwrap(),
        format!("#!{}", moved.venv_python().display())
    );
}

#[test]
fn missing_python_names_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let err = Bootstrap::new(dir.path(), "/nonexistent/python3")
        .ensure()
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, EmulatorError::Bootstrap { .. }), "{text}");
    assert!(
        text.contains("/nonexistent/python3 was not found"),
        "{text}"
    );
    assert!(
        text.contains("apt-get install python3 python3-venv"),
        "{text}"
    );
    assert!(text.contains("HARNESS_MOTO_SERVER"), "{text}");
}

#[test]
fn python_without_venv_names_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let python = dir.path().join("python3");
    std::fs::write(
        &python,
        "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'ensurepip'\" >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
    wait_executable(&python);
    let err = Bootstrap::new(dir.path().join("h"), &python)
        .ensure()
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("no usable venv/ensurepip module"), "{text}");
    assert!(text.contains("No module named 'ensurepip'"), "{text}");
    assert!(text.contains("apt-get install python3-venv"), "{text}");
    assert!(text.contains("HARNESS_MOTO_SERVER"), "{text}");
}

/// The real thing, under `<target>/harness`: installs `moto[server]==5.2.5` the first time
/// (about a minute, needs PyPI), and reuses it afterwards; the installed moto serves requests.
#[tokio::test]
async fn real_bootstrap_installs_pinned_moto_once_and_serves() {
    let bootstrap = Bootstrap::from_env();
    let started = Instant::now();
    let first = tokio::task::spawn_blocking({
        let b = bootstrap.clone();
        move || b.ensure()
    })
    .await
    .unwrap()
    .expect("bootstrap");
    eprintln!("first ensure: {first:?} in {:?}", started.elapsed());

    let second = bootstrap.ensure().expect("second ensure");
    assert!(
        matches!(second, BootstrapOutcome::Cached { .. }),
        "{second:?}"
    );

    let python = bootstrap.venv_python();
    // The console script works too (its shebang was rewritten before the rename).
    let script = bootstrap.venv_dir().join("bin").join("moto_server");
    assert_eq!(
        harness::emulator::moto_process::probe_version(&script)
            .unwrap()
            .as_deref(),
        Some(MOTO_VERSION)
    );
    assert_eq!(
        python_package_version(&python, "moto").unwrap(),
        MOTO_VERSION
    );
    let moto = MotoProcess::start(&MotoOptions::new(MotoCommand::python_module(
        &python,
        Some(MOTO_VERSION.into()),
    )))
    .await
    .expect("moto from the venv starts");
    assert!(
        moto.describe().contains(&format!("moto {MOTO_VERSION}")),
        "{}",
        moto.describe()
    );
    let (status, _) = readiness::get_text_within(
        &format!("{}/moto-api/config", moto.endpoint().base_url()),
        std::time::Duration::from_secs(60),
    )
    .await
    .unwrap();
    assert!((200..300).contains(&status), "{status}");
}
