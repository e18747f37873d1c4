//! `harness up --profile/--time-scale/--model`: bad values are rejected by the binary itself (exit 3, bad input),
//! before any emulator starts, with an error that names the allowed values. The
//! accepted forms are covered by the unit tests in `harness/src/up.rs`.

use std::process::Command;
use std::time::{Duration, Instant};

use faultproxy::models::specs;

/// Runs `harness up ARGS` and returns (exit code, stderr); it must exit at once.
fn up(args: &[&str]) -> (Option<i32>, String) {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_harness"))
        .arg("up")
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .output()
        .expect("run harness");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "harness up {args:?} took {:?}: did it start an emulator?",
        started.elapsed()
    );
    assert!(
        out.stdout.is_empty(),
        "nothing may be printed on stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn time_scale_must_be_a_positive_finite_number() {
    for bad in ["0", "-1", "-0.5", "NaN", "inf"] {
        let (code, err) = up(&["--profile", "fresh-account", "--time-scale", bad]);
        assert_eq!(code, Some(3), "{bad}: {err}");
        assert!(
            err.contains(&format!("invalid value '{bad}' for '--time-scale <F>'"))
                && err
                    .contains("time-scale must be a finite number greater than 0 (e.g. 0.05 or 2)"),
            "{bad}: {err}"
        );
    }
    let (code, err) = up(&["--time-scale", "fast"]);
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains("time-scale takes a number greater than 0 (e.g. 0.05 or 2), got \"fast\""),
        "{err}"
    );
}

#[test]
fn unknown_model_names_the_registry() {
    let (code, err) = up(&["--model", "chaos-monkey=on"]);
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains("unknown model \"chaos-monkey\"; models: "),
        "{err}"
    );
    for spec in specs() {
        assert!(err.contains(spec.name), "{} not named: {err}", spec.name);
    }
    let (code, err) = up(&["--model", "ecs-service-draining=whenever"]);
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains("model ecs-service-draining takes on, off, a window (5s) or a range MIN..MAX"),
        "{err}"
    );
}

#[test]
fn unknown_profile_names_the_profiles() {
    let (code, err) = up(&["--profile", "old-account"]);
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains("invalid value 'old-account' for '--profile <PROFILE>'")
            && err.contains("[possible values: default, fresh-account]"),
        "{err}"
    );
}
