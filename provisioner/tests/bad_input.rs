//! The `provisioner` CLI's bad-input table: each row runs the real binary the way a user would
//! get it wrong (a missing or broken spec, a bad flag, an endpoint that refuses, black-holes,
//! answers HTML or rejects the credentials, no credentials at all) and asserts the exact first
//! `error:` line and the exit code (3 bad input or configuration, 1 everything else). The same
//! rows are the book's troubleshooting table (docs/src/troubleshooting.md, checked here;
//! `BAD_INPUT_BLESS=1` rewrites it).
//! Each row's time is printed (`--nocapture`): the black-holed endpoint is the slow one (its
//! deadline, `preflight::ANSWER_DEADLINE`).

mod bad_input_support;

use std::process::Command;

use bad_input_support::{check_docs_block, markdown, run_table, Row, Run, Server};

const SPEC: &str = "project = \"p\"\nenvironment = \"dev\"\nregion = \"ap-northeast-1\"\n";

/// STS's awsQuery error document, as AWS sends it for a bad access key id.
/// Source: https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html
const INVALID_TOKEN: &str = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error><RequestId>4e9c7b7e-0000-4000-8000-000000000001</RequestId></ErrorResponse>";
/// ... and for a wrong secret access key.
const BAD_SIGNATURE: &str = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.</Message></Error><RequestId>4e9c7b7e-0000-4000-8000-000000000002</RequestId></ErrorResponse>";

const fn row(
    situation: &'static str,
    args: &'static [&'static str],
    config: Option<&'static str>,
    first_line: &'static str,
    exit: i32,
) -> Row {
    Row {
        situation,
        args,
        env: &[],
        config,
        server: Server::None,
        first_line,
        exit,
    }
}

const fn at(
    situation: &'static str,
    server: Server,
    env: &'static [(&'static str, &'static str)],
    first_line: &'static str,
    exit: i32,
) -> Row {
    Row {
        situation,
        args: &[
            "plan",
            "--config",
            "{config}",
            "--endpoint-url",
            "{endpoint}",
        ],
        env,
        config: Some(SPEC),
        server,
        first_line,
        exit,
    }
}

const ROWS: &[Row] = &[
    row(
        "the stack spec does not exist",
        &["plan", "--config", "{dir}/nope.toml"],
        None,
        "error: {dir}/nope.toml: cannot read the stack spec: No such file or directory (os error 2). Pass --config PATH, or start from the example: cp examples/stack.toml stack.toml",
        3,
    ),
    row(
        "TOML syntax error",
        &["plan", "--config", "{config}"],
        Some("project = \"p\"\nenvironment = \"dev\"\nregion = \"ap-northeast-1\"\n[logs\n"),
        "error: {config}, line 4, column 6: invalid table header expected `.`, `]`",
        3,
    ),
    row(
        "unknown key",
        &["plan", "--config", "{config}"],
        Some("project = \"p\"\nenvironment = \"dev\"\nregion = \"ap-northeast-1\"\n[logs]\nretention = 7\n"),
        "error: {config}, line 5: `logs.retention`: unknown key `retention` in [logs]; allowed keys: retention_in_days",
        3,
    ),
    row(
        "a value CloudWatch Logs does not accept",
        &["plan", "--config", "{config}"],
        Some("project = \"p\"\nenvironment = \"dev\"\nregion = \"ap-northeast-1\"\n[logs]\nretention_in_days = 31\n"),
        "error: {config}, line 5: `logs.retention_in_days`: 31 is not a retention CloudWatch Logs accepts; allowed values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653",
        3,
    ),
    row(
        "a value outside a closed set (with `output --json`)",
        &["output", "--config", "{config}", "--json"],
        Some("project = \"p\"\nenvironment = \"dev\"\nregion = \"ap-northeast-1\"\n\n[ecr]\nimage_tag_mutability = \"SOMETIMES\"\n"),
        "error: {config}, line 6, column 24: `ecr.image_tag_mutability`: invalid value \"SOMETIMES\"; allowed values: MUTABLE, IMMUTABLE",
        3,
    ),
    row(
        "an out-of-range number",
        &["plan", "--config", "{config}"],
        Some("project = \"p\"\nenvironment = \"dev\"\nregion = \"ap-northeast-1\"\n[service]\ndesired_count = -1\n"),
        "error: {config}, line 5, column 17: `service.desired_count`: invalid value: integer `-1`, expected u32",
        3,
    ),
    row(
        "a name over AWS's limits",
        &["plan", "--config", "{config}"],
        Some("project = \"a-project-name-that-is-far-too-long-for-iam-role-names\"\nenvironment = \"dev\"\nregion = \"ap-northeast-1\"\n"),
        "error: {config}, line 2: `environment`: project + environment are too long: \"a-project-name-that-is-far-too-long-for-iam-role-names-dev-ecs-execution-role\" would be 77 characters, IAM allows 64",
        3,
    ),
    row(
        "a region that does not exist in the spec",
        &["plan", "--config", "{config}"],
        Some("project = \"p\"\nenvironment = \"dev\"\nregion = \"tokyo\"\n"),
        "error: {config}, line 3: `region`: \"tokyo\" is not an AWS region name (like \"ap-northeast-1\")",
        3,
    ),
    row(
        "Fargate cpu/memory that do not fit",
        &["plan", "--config", "{config}"],
        Some("project = \"p\"\nenvironment = \"dev\"\nregion = \"ap-northeast-1\"\n[task_definition]\ncpu = 256\nmemory = 4096\n"),
        "error: {config}, line 6: `task_definition.memory`: 4096 MiB is not valid with cpu = 256 on Fargate; allowed values: 512, 1024, 2048",
        3,
    ),
    row(
        "`--region` that is not a region",
        &["plan", "--config", "{config}", "--region", "tokyo"],
        Some(SPEC),
        "error: --region / AWS_REGION: `tokyo` is not an AWS region name; expected e.g. ap-northeast-1, us-east-1, eu-west-1 (see https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-regions.html)",
        3,
    ),
    row(
        "`--endpoint-url` that is not a URL",
        &["plan", "--config", "{config}", "--endpoint-url", "notaurl"],
        Some(SPEC),
        "error: --endpoint-url / AWS_ENDPOINT_URL: `notaurl` is not an endpoint URL (it must start with http:// or https://); expected http(s)://HOST[:PORT], e.g. http://127.0.0.1:4566",
        3,
    ),
    Row {
        situation: "`AWS_ENDPOINT_URL` without a host",
        args: &["plan", "--config", "{config}"],
        env: &[("AWS_ENDPOINT_URL", "http://:4566")],
        config: Some(SPEC),
        server: Server::None,
        first_line: "error: --endpoint-url / AWS_ENDPOINT_URL: `http://:4566` is not an endpoint URL (no host); expected http(s)://HOST[:PORT], e.g. http://127.0.0.1:4566",
        exit: 3,
    },
    row(
        "an unknown flag",
        &["plan", "--bogus"],
        None,
        "error: unexpected argument '--bogus' found",
        3,
    ),
    row(
        "flags that exclude each other",
        &["apply", "--no-retry", "--retry-timeout", "5s"],
        None,
        "error: the argument '--no-retry' cannot be used with '--retry-timeout <RETRY_TIMEOUT>'",
        3,
    ),
    row(
        "a duration that is not one",
        &["apply", "--retry-timeout", "soon"],
        None,
        "error: invalid value 'soon' for '--retry-timeout <RETRY_TIMEOUT>': expected number at 0",
        3,
    ),
    at(
        "nothing listens at the endpoint (`harness up` not running)",
        Server::Refused,
        &[],
        "error: cannot reach the AWS endpoint {endpoint}: Connection refused (os error 111); is `harness up` running? check --endpoint-url / AWS_ENDPOINT_URL (unset it for real AWS)",
        1,
    ),
    at(
        "the endpoint accepts TCP but never answers",
        Server::BlackHole,
        &[],
        "error: the AWS endpoint {endpoint} kept failing GetCallerIdentity (gave up after {*} attempts in {*} s, at the policy's bound of {*}); last answer: no answer within 20s; the endpoint is overloaded or restarting: try again later, or check --endpoint-url / AWS_ENDPOINT_URL",
        1,
    ),
    at(
        "the endpoint is a web page",
        Server::Answer(200, "text/html", "<html><body>Welcome to nginx!</body></html>"),
        &[],
        "error: the endpoint {endpoint} answered HTTP 200 (text/html), not an AWS API answer; is `harness up` running? check --endpoint-url / AWS_ENDPOINT_URL (unset it for real AWS)",
        1,
    ),
    at(
        "the access key is unknown to AWS",
        Server::Answer(403, "text/xml", INVALID_TOKEN),
        &[],
        "error: the AWS endpoint {endpoint} rejected GetCallerIdentity: sts GetCallerIdentity: InvalidClientTokenId: The security token included in the request is invalid. (HTTP 403, request id 4e9c7b7e-0000-4000-8000-000000000001); check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE (against `harness up`: use the credentials it printed)",
        1,
    ),
    at(
        "the secret key is wrong",
        Server::Answer(403, "text/xml", BAD_SIGNATURE),
        &[],
        "error: the AWS endpoint {endpoint} rejected GetCallerIdentity: sts GetCallerIdentity: SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details. (HTTP 403, request id 4e9c7b7e-0000-4000-8000-000000000002); check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE (against `harness up`: use the credentials it printed)",
        1,
    ),
    at(
        "no credentials at all",
        Server::Answer(200, "text/xml", "<unused/>"),
        &[("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", "")],
        "error: no AWS credentials found (the standard chain has none: environment, profile files, web identity, container, instance metadata); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (against `harness up`: the lines it printed)",
        3,
    ),
];

/// The binary with a clean AWS environment (no profile files, no instance metadata) plus the
/// row's variables.
fn command(row: &Row, run: &Run) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_provisioner"));
    cmd.args(row.args.iter().map(|a| run.fill(a)));
    for var in [
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    let dir = run.fill("{dir}");
    cmd.env("HOME", &dir)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "123456789012")
        .env("AWS_SECRET_ACCESS_KEY", "test");
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
    check_docs_block("provisioner", &markdown("provisioner", ROWS));
}
