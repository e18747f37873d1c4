//! The `harness` CLI's bad-input table (`harness up`, and `harness proxy`, which is the
//! `faultproxy` command's CLI): each row runs the real binary the way a user would get it wrong
//! (a bad flag or preset, a taken port, an unreachable upstream or external endpoint, moto or
//! Python missing, a venv install without network) and asserts the exact first `error:` line and
//! the exit code (3 bad input or configuration, 1 everything else). The rows are the book's
//! troubleshooting table (docs/src/troubleshooting.md, checked here; `BAD_INPUT_BLESS=1`
//! rewrites it). Row and runner
//! shapes are shared with the provisioner's table.

#[path = "../../provisioner/tests/bad_input_support/mod.rs"]
mod bad_input_support;

use std::process::Command;

use bad_input_support::{check_docs_block, markdown, run_table, Row, Server};

const fn row(
    situation: &'static str,
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    server: Server,
    first_line: &'static str,
    exit: i32,
) -> Row {
    Row {
        situation,
        args,
        env,
        config: None,
        server,
        first_line,
        exit,
    }
}

const ROWS: &[Row] = &[
    row(
        "`--time-scale` that is not > 0",
        &["up", "--time-scale", "0"],
        &[],
        Server::None,
        "error: invalid value '0' for '--time-scale <F>': time-scale must be a finite number greater than 0 (e.g. 0.05 or 2), got 0",
        3,
    ),
    row(
        "an unknown behaviour model",
        &["up", "--model", "slr-dealy"],
        &[],
        Server::None,
        "error: invalid value 'slr-dealy' for '--model <NAME[=on|off|WINDOW]>': unknown model \"slr-dealy\"; models: {*}",
        3,
    ),
    row(
        "an unknown profile",
        &["up", "--profile", "fresh"],
        &[],
        Server::None,
        "error: invalid value 'fresh' for '--profile <PROFILE>'",
        3,
    ),
    row(
        "an unknown backend",
        &["up"],
        &[("HARNESS_BACKEND", "motto")],
        Server::None,
        "error: invalid value 'motto' for '--backend <BACKEND>': configuration error: HARNESS_BACKEND=\"motto\" is not a backend; expected one of: moto, moto-container, localstack, localstack+moto, external",
        3,
    ),
    row(
        "a malformed preset",
        &["up", "--preset", "slr-delay=soon"],
        &[],
        Server::None,
        "error: invalid value 'slr-delay=soon' for '--preset <NAME[=VALUE]>': invalid preset \"slr-delay=soon\": slr-delay takes a duration like 20s, 1500ms or 1m, got \"soon\" (expected number at 0). Accepted presets: {*}",
        3,
    ),
    row(
        "an unknown preset",
        &["proxy", "--upstream", "{endpoint}", "--preset", "chaos"],
        &[],
        Server::Refused,
        "error: invalid value 'chaos' for '--preset <NAME[=VALUE]>': invalid preset \"chaos\": unknown preset \"chaos\". Accepted presets: {*}",
        3,
    ),
    row(
        "`--upstream` that is not a URL",
        &["proxy", "--upstream", "notaurl"],
        &[],
        Server::None,
        "error: invalid value 'notaurl' for '--upstream <UPSTREAM>': relative URL without a base",
        3,
    ),
    row(
        "a `--route` without its `@FLAVOR`",
        &["proxy", "--upstream", "http://127.0.0.1:9", "--route", "iam,sts=http://127.0.0.1:4566"],
        &[],
        Server::None,
        "error: invalid value 'iam,sts=http://127.0.0.1:4566' for '--route <SERVICES=URL@FLAVOR>': route target \"http://127.0.0.1:4566\": no \"@FLAVOR\" after the URL; expected SERVICES=URL@FLAVOR, e.g. iam,sts,logs=http://127.0.0.1:4566@localstack (FLAVOR: moto, localstack or other)",
        3,
    ),
    row(
        "a service named in two `--route`s",
        &[
            "proxy",
            "--upstream",
            "http://127.0.0.1:9",
            "--route",
            "iam,logs=http://127.0.0.1:4566@localstack",
            "--route",
            "logs=http://127.0.0.1:5000@moto",
        ],
        &[],
        Server::None,
        "error: route logs=http://127.0.0.1:5000/@moto: logs is already routed by iam,logs=http://127.0.0.1:4566/@localstack; name each service in one route only",
        3,
    ),
    row(
        "`harness up --listen` on a port already taken",
        &["up", "--listen", "127.0.0.1:{port}"],
        &[],
        Server::Taken,
        "error: proxy cannot listen on 127.0.0.1:{port}: Address already in use (os error 98)",
        1,
    ),
    row(
        "`harness proxy --listen` on a port already taken",
        &["proxy", "--upstream", "http://127.0.0.1:9", "--listen", "127.0.0.1:{port}"],
        &[],
        Server::Taken,
        "error: proxy cannot listen on 127.0.0.1:{port}: Address already in use (os error 98)",
        1,
    ),
    row(
        "`HARNESS_MOTO_SERVER` names nothing",
        &["up", "--listen", "127.0.0.1:0"],
        &[("HARNESS_MOTO_SERVER", "/nonexistent/moto_server")],
        Server::None,
        "error: configuration error: HARNESS_MOTO_SERVER=/nonexistent/moto_server is not an executable file",
        3,
    ),
    row(
        "`HARNESS_MOTO_SHARDS` of zero",
        &["up", "--listen", "127.0.0.1:0"],
        &[("HARNESS_MOTO_SHARDS", "0")],
        Server::None,
        "error: configuration error: HARNESS_MOTO_SHARDS=\"0\" is zero; expected a number of moto processes from 1 to 16 (unset: one per core, at most 8)",
        3,
    ),
    row(
        "`HARNESS_MOTO_SHARDS` that is not a number",
        &["up", "--listen", "127.0.0.1:0"],
        &[("HARNESS_MOTO_SHARDS", "x")],
        Server::None,
        "error: configuration error: HARNESS_MOTO_SHARDS=\"x\" is not a whole number; expected a number of moto processes from 1 to 16 (unset: one per core, at most 8)",
        3,
    ),
    row(
        "`HARNESS_MOTO_SHARDS` over 16",
        &["up", "--listen", "127.0.0.1:0"],
        &[("HARNESS_MOTO_SHARDS", "99")],
        Server::None,
        "error: configuration error: HARNESS_MOTO_SHARDS=\"99\" is too many; expected a number of moto processes from 1 to 16 (unset: one per core, at most 8)",
        3,
    ),
    row(
        "the external endpoint does not answer",
        &["up", "--listen", "127.0.0.1:0"],
        &[("HARNESS_BACKEND", "external"), ("HARNESS_ENDPOINT_URL", "{endpoint}")],
        Server::Refused,
        "error: endpoint {endpoint} is unreachable after {*}s: client error (Connect): tcp connect error: Connection refused (os error 111)",
        1,
    ),
    row(
        "`harness down` or `harness status` with no `harness up` running",
        &["down"],
        &[("HARNESS_UP_STATE", "{dir}/up.json")],
        Server::None,
        "error: no harness up is running (no state file at {dir}/up.json); `harness up` starts one",
        1,
    ),
    row(
        "`harness run --attach URL` where no harness answers",
        &["run", "--attach", "{endpoint}", "--", "true"],
        &[],
        Server::Refused,
        "error: --attach {endpoint}: no harness answers at {endpoint} (Connection refused (os error 111))",
        125,
    ),
    row(
        "no Python to install moto with",
        &["up", "--listen", "127.0.0.1:0"],
        &[
            ("PATH", "/usr/bin:/bin"),
            ("HARNESS_PYTHON", "/nonexistent/python3"),
            ("CARGO_TARGET_DIR", "{dir}"),
        ],
        Server::None,
        "error: could not install moto[server]==5.2.5 into {dir}/harness/moto-venv-5.2.5: /nonexistent/python3 was not found. Fix: install Python 3 with its venv module (Debian/Ubuntu: apt-get install python3 python3-venv), or set HARNESS_PYTHON to an interpreter, or set HARNESS_MOTO_SERVER to a moto_server executable (log: {dir}/harness/logs/moto-bootstrap-{*}.log)",
        1,
    ),
    row(
        "installing moto without network (PyPI unreachable)",
        &["up", "--listen", "127.0.0.1:0"],
        &[
            ("CARGO_TARGET_DIR", "{dir}"),
            ("PIP_INDEX_URL", "{endpoint}/simple"),
            ("PIP_RETRIES", "0"),
            ("PIP_TIMEOUT", "3"),
            ("PIP_CONFIG_FILE", "/dev/null"),
            ("PIP_FIND_LINKS", ""),
        ],
        Server::Refused,
        "error: could not install moto[server]==5.2.5 into {dir}/harness/moto-venv-5.2.5: pip install failed (exit status: 1): {*} | ERROR: No matching distribution found for moto[server]==5.2.5. Fix: check that PyPI (or your PIP_INDEX_URL) is reachable and re-run; or set HARNESS_MOTO_SERVER to an existing moto_server (log: {dir}/harness/logs/moto-bootstrap-{*}.log)",
        1,
    ),
];

fn command(row: &Row, run: &bad_input_support::Run) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_harness"));
    cmd.args(row.args.iter().map(|a| run.fill(a)));
    for var in [
        "HARNESS_BACKEND",
        "HARNESS_MOTO_SERVER",
        "HARNESS_MOTO_SHARDS",
        "HARNESS_SHARDS",
        "HARNESS_ENDPOINT_URL",
        "HARNESS_LISTEN",
        "HARNESS_PROFILE",
        "HARNESS_TIME_SCALE",
        "HARNESS_SEED",
        "HARNESS_UPSTREAM",
        "HARNESS_ROUTES",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in row.env {
        if v.is_empty() {
            cmd.env_remove(k);
        } else {
            cmd.env(k, run.fill(v));
        }
    }
    cmd
}

#[test]
fn every_row_gives_its_first_line_and_exit_code() {
    run_table(ROWS, command);
}

#[test]
fn readme_troubleshooting_table_matches_the_rows() {
    check_docs_block("harness", &markdown("harness", ROWS));
}
