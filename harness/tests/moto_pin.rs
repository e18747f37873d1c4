//! The moto pin: a `moto_server` found on PATH is used only when its moto is the pinned version
//! (`MOTO_VERSION`); another version, or one whose version cannot be read, is named in one line
//! (with how to use it anyway) and the pinned install is used instead. `HARNESS_MOTO_SERVER` is
//! always used as given. The PATH candidates here are fake `moto_server` scripts next to a fake
//! `python3` that reports a version, so the test does not depend on what this machine has
//! installed (this machine's pyenv has moto 5.2.1 on PATH: exactly the case being guarded).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use harness::emulator::moto_bootstrap::MOTO_VERSION;
use harness::emulator::moto_process::{path_candidate, probe_version, MotoSource};

/// `dir/moto_server` (a shell script) and `dir/python3` printing `version` for any question.
fn fake_moto(dir: &Path, version: Option<&str>) -> PathBuf {
    let write = |name: &str, text: String| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    };
    let server = write("moto_server", "#!/bin/sh\nexit 0\n".into());
    if let Some(v) = version {
        write("python3", format!("#!/bin/sh\necho {v}\n"));
    }
    server
}

#[test]
fn the_pinned_version_on_path_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let server = fake_moto(dir.path(), Some(MOTO_VERSION));
    let version = probe_version(&server);
    assert_eq!(version, Ok(Some(MOTO_VERSION.to_owned())));
    let command = path_candidate(&server, version).expect("the pinned version is used");
    assert_eq!(command.source, MotoSource::Path);
    assert_eq!(command.program, server);
    assert_eq!(
        command.describe(),
        format!(
            "moto {MOTO_VERSION} from {} (found on PATH)",
            server.display()
        )
    );
}

#[test]
fn another_version_on_path_is_named_and_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let server = fake_moto(dir.path(), Some("5.2.1"));
    let why = path_candidate(&server, probe_version(&server)).unwrap_err();
    assert_eq!(
        why,
        format!(
            "ignoring moto_server on PATH at {0}: it is moto 5.2.1, not the pinned {MOTO_VERSION}; \
             using the pinned install instead (HARNESS_MOTO_SERVER={0} uses it anyway)",
            server.display()
        )
    );
}

#[test]
fn an_unreadable_version_on_path_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let server = fake_moto(dir.path(), None);
    let why = path_candidate(&server, probe_version(&server)).unwrap_err();
    assert!(
        why.starts_with(&format!(
            "ignoring moto_server on PATH at {}: its moto version cannot be read;",
            server.display()
        )),
        "{why}"
    );
}

#[test]
fn the_images_pin_the_same_moto() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let read = |f: &str| std::fs::read_to_string(root.join(f)).unwrap();
    for (file, pin) in [
        ("Dockerfile", format!("ARG MOTO_VERSION={MOTO_VERSION}\n")),
        (
            "scripts/build-images.sh",
            format!("MOTO_VERSION=${{HARNESS_MOTO_VERSION:-{MOTO_VERSION}}}\n"),
        ),
        (
            "images/harness/Dockerfile.local",
            format!("ARG BASE=harness-moto:{MOTO_VERSION}\n"),
        ),
    ] {
        assert!(
            read(file).contains(&pin),
            "{file} does not pin moto {MOTO_VERSION} ({pin:?})"
        );
    }
}
