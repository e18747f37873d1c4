//! The `provisioner` command itself under chaos: what a user runs, not the library. Over many
//! seeds (20 by default, 100 with `SCENARIOS_EXHAUSTIVE=1`), each in a fresh account with 20 %
//! throttling and 20 % flaky answers (500, 503, dropped connections) on every service, STS
//! included, the binary runs `apply`, then `plan --detailed-exitcode` (must exit 0: nothing to
//! change), then `destroy`; every command must converge, the endpoint check before planning
//! included. Then, chaos off, the account is read through the AWS SDK by the stack's names and
//! by listing everything it holds: nothing may be left (the destroy's own report is not trusted
//! for that).
//!
//! The binary is `scenario-provisioner` (scenarios/src/bin), the provisioner's CLI entry point
//! built in this package. It runs with `--transient-backoff 10ms`, the backoff a local emulator needs; the
//! transient policy's codes and attempts stay the production ones.

use std::path::Path;

use faultproxy::Preset;
use harness::env::{test_env_or_skip, TestEnv, TEST_SECRET_KEY};
use provisioner::Names;
use rstest::rstest;

use crate::common::sweep::{sweep, SeedRun, CHAOS_SEEDS, CHAOS_SEEDS_EXHAUSTIVE};
use crate::common::*;

const CHAOS: [&str; 2] = ["throttle=20", "flaky=20"];
/// The stack every seed builds; the network is left to the provisioner's own EC2 lookups.
const SPEC: &str = r#"project = "clichaos"
environment = "dev"
region = "{region}"
service_linked_role = "ensure"

[cluster]
capacity_providers = ["FARGATE", "FARGATE_SPOT"]

[task_definition]
cpu = 256
memory = 512
container_name = "app"
container_port = 80

[service]
desired_count = 1
"#;

/// The provisioner's CLI as a binary of this package (the same code as `provisioner`).
const PROVISIONER: &str = env!("CARGO_BIN_EXE_scenario-provisioner");

/// One CLI run against `env`'s account: its exit code and its output.
async fn provisioner(env: &TestEnv, config: &Path, args: &[&str]) -> Result<(i32, String), String> {
    let out = tokio::process::Command::new(PROVISIONER)
        .args(args)
        .arg("--config")
        .arg(config)
        .args(["--transient-backoff", "10ms"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", config.parent().expect("a temp dir"))
        .env("AWS_ENDPOINT_URL", env.endpoint_url())
        .env("AWS_REGION", &env.region)
        .env("AWS_ACCESS_KEY_ID", &env.account_id)
        .env("AWS_SECRET_ACCESS_KEY", TEST_SECRET_KEY)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("provisioner {args:?} could not start: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    match out.status.code() {
        Some(code) => Ok((code, text)),
        None => Err(format!(
            "provisioner {args:?} was killed: {}\n{text}",
            out.status
        )),
    }
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// One seed in a fresh account: apply, empty plan, destroy through the binary, chaos on
/// throughout; then nothing of the stack may be left.
async fn cli_seed(seed: u64) -> Result<SeedRun, String> {
    let env = TestEnv::new()
        .await
        .map_err(|e| format!("seed {seed}: no env on the shared emulator: {e:#}"))?;
    let dir = tempfile::tempdir().map_err(|e| format!("seed {seed}: temp dir: {e}"))?;
    let config = dir.path().join("stack.toml");
    std::fs::write(&config, SPEC.replace("{region}", &env.region))
        .map_err(|e| format!("seed {seed}: writing {}: {e}", config.display()))?;
    let spec = provisioner::StackSpec::load(&config)
        .map_err(|e| format!("seed {seed}: the test's own spec: {e}"))?;
    let names = Names::new(&spec, &env.region);
    env.proxy.apply_preset(&Preset::seed(seed));
    for p in CHAOS {
        env.proxy.apply_preset(&Preset::parse(p).expect("preset"));
    }
    env.proxy.clear_journal();

    for (args, want) in [
        (&["apply"][..], 0),
        (&["plan", "--detailed-exitcode"][..], 0),
        (&["destroy"][..], 0),
    ] {
        let (code, text) = provisioner(&env, &config, args)
            .await
            .map_err(|e| format!("seed {seed}: {e}"))?;
        if code != want {
            return Err(format!(
                "seed {seed}: `provisioner {}` exited {code}, expected {want} (account {}); its last lines:\n{}",
                args.join(" "),
                env.account_id,
                tail(&text, 25)
            ));
        }
    }
    let entries = journal(&env);
    env.proxy.set_rules(vec![]).expect("valid rules");
    let aws = Aws::new(&env);
    let mut left = aws.leftovers(&names).await;
    left.extend(aws.listed().await);
    if !left.is_empty() {
        return Err(format!(
            "seed {seed}: left after destroy (account {}): {left:?}",
            env.account_id
        ));
    }
    Ok(SeedRun {
        requests: entries.len(),
        injected: injected(&entries, None).len(),
    })
}

#[rstest]
#[tokio::test]
async fn the_cli_converges_under_chaos_in_fresh_accounts(
    #[future(awt)] test_env_or_skip: Option<TestEnv>,
) {
    fixture_env!(_probe, test_env_or_skip, "cli chaos");
    sweep(
        "cli chaos",
        &CHAOS,
        CHAOS_SEEDS,
        CHAOS_SEEDS_EXHAUSTIVE,
        cli_seed,
    )
    .await;
}
