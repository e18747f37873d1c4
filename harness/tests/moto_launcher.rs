//! The moto launcher (`moto_launch.py`) changes no answer where it acts. The pinned
//! moto is started twice by the harness, through the launcher and plainly
//! (`python -m moto.server`), and both are asked the same questions in fresh accounts: AWS's
//! managed policies (count, ARNs, a policy and its document), AMIs and their snapshots, and,
//! after `/moto-api/seed`, the random ids themselves. AttachmentCount stays per account: an
//! attachment in one account shows in no other, not even in one created after it. Raw HTTP
//! straight to moto with `x-moto-account-id`, as the proxy sends it. And the launcher's one fix:
//! what a request asks to include in its answer (ECS `include=TAGS`) stays its own, where plain
//! moto shares it between the requests it serves at once.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use harness::accounts::fresh_account_id;
use harness::emulator::moto_bootstrap::Bootstrap;
use harness::emulator::moto_launch::{
    ensure_launcher, launcher_enabled, APPLIED_LINE, EC2_APPLIED_LINE,
};
use harness::emulator::moto_process::{MotoCommand, MotoOptions, MotoProcess, MotoSource};
use harness::emulator::Emulator;

const REGION: &str = "us-east-1";
const EXECUTION_POLICY: &str =
    "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// The pinned moto, through the launcher (`launched`) or plainly.
async fn start_moto(launched: bool) -> MotoProcess {
    let bootstrap = Bootstrap::from_env();
    let command = {
        let installing = bootstrap.clone();
        tokio::task::spawn_blocking(move || installing.ensure())
            .await
            .unwrap()
            .expect("the pinned moto installs");
        let version = Some(bootstrap.version.clone());
        if launched {
            let launcher = ensure_launcher(&bootstrap.root).expect("the launcher is written");
            MotoCommand::launched(bootstrap.venv_python(), &launcher, version)
        } else {
            MotoCommand::python_module(bootstrap.venv_python(), version)
        }
    };
    let moto = MotoProcess::start(&MotoOptions::new(command))
        .await
        .expect("the pinned moto starts");
    if launched {
        let log = std::fs::read_to_string(moto.log_path().unwrap()).unwrap();
        assert!(log.contains(APPLIED_LINE), "no speed-ups in the log: {log}");
    }
    moto
}

/// One moto of each kind for the tests that do not seed (seeding is process-wide). They live as
/// long as the test binary (killed with it, PR_SET_PDEATHSIG).
async fn pair() -> &'static (MotoProcess, MotoProcess) {
    static PAIR: tokio::sync::OnceCell<(MotoProcess, MotoProcess)> =
        tokio::sync::OnceCell::const_new();
    PAIR.get_or_init(|| async { (start_moto(true).await, start_moto(false).await) })
        .await
}

/// A query-protocol call in `account`: (status, body).
async fn call(
    moto: &MotoProcess,
    service: &str,
    account: &str,
    params: &[(&str, &str)],
) -> (u16, String) {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        form.append_pair(k, v);
    }
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={account}/20260101/{REGION}/{service}/aws4_request, SignedHeaders=host, Signature=0"
    );
    let request = http::Request::post(moto.endpoint().base_url().to_string())
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", auth)
        .header("x-moto-account-id", account)
        .body(Full::new(Bytes::from(form.finish())))
        .unwrap();
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let response = client.request(request).await.expect("moto answers");
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

async fn iam(moto: &MotoProcess, account: &str, action: &str, params: &[(&str, &str)]) -> String {
    let mut all = vec![("Action", action), ("Version", "2010-05-08")];
    all.extend_from_slice(params);
    let (status, body) = call(moto, "iam", account, &all).await;
    assert_eq!(status, 200, "{action}: {body}");
    body
}

async fn ec2(moto: &MotoProcess, account: &str, action: &str, params: &[(&str, &str)]) -> String {
    let mut all = vec![("Action", action), ("Version", "2016-11-15")];
    all.extend_from_slice(params);
    let (status, body) = call(moto, "ec2", account, &all).await;
    assert_eq!(status, 200, "{action}: {body}");
    body
}

/// Every text between `open` and `close`, in order.
fn all_between(text: &str, open: &str, close: &str) -> Vec<String> {
    text.split(open)
        .skip(1)
        .filter_map(|rest| rest.split_once(close).map(|(v, _)| v.to_owned()))
        .collect()
}

fn one_between(text: &str, open: &str, close: &str) -> String {
    let found = all_between(text, open, close);
    assert_eq!(found.len(), 1, "{open} in {text}");
    found[0].clone()
}

/// `text` without the elements named (ids that are random, request ids).
fn without(text: &str, names: &[&str]) -> String {
    let mut out = text.to_owned();
    for name in names {
        let (open, close) = (format!("<{name}>"), format!("</{name}>"));
        while let Some(start) = out.find(&open) {
            let end = out[start..].find(&close).expect("closed element") + start + close.len();
            out.replace_range(start..end, "");
        }
    }
    out
}

/// ListPolicies(Scope=AWS) in `account`, every page: (arn, policy id) in moto's order.
async fn aws_policies(moto: &MotoProcess, account: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let mut params = vec![("Scope", "AWS"), ("MaxItems", "1000")];
        if let Some(m) = &marker {
            params.push(("Marker", m.as_str()));
        }
        let body = iam(moto, account, "ListPolicies", &params).await;
        let arns = all_between(&body, "<Arn>", "</Arn>");
        let ids = all_between(&body, "<PolicyId>", "</PolicyId>");
        assert_eq!(arns.len(), ids.len(), "{body:.300}");
        found.extend(arns.into_iter().zip(ids));
        if one_between(&body, "<IsTruncated>", "</IsTruncated>") != "true" {
            return found;
        }
        marker = Some(one_between(&body, "<Marker>", "</Marker>"));
    }
}

fn arns(policies: &[(String, String)]) -> Vec<&str> {
    policies.iter().map(|(arn, _)| arn.as_str()).collect()
}

#[tokio::test]
async fn the_pinned_install_runs_through_the_launcher_and_a_users_moto_does_not() {
    let command = tokio::task::spawn_blocking(MotoCommand::locate)
        .await
        .unwrap()
        .expect("moto is found");
    let launcher_args = command.args.iter().filter(|a| {
        a.to_string_lossy().contains("moto-launch-") && a.to_string_lossy().ends_with(".py")
    });
    if command.source == MotoSource::Bootstrap && launcher_enabled() {
        assert_eq!(launcher_args.count(), 1, "{}", command.describe());
        assert_eq!(command.args.len(), 1, "{}", command.describe());
    } else if command.source == MotoSource::Bootstrap {
        // HARNESS_MOTO_LAUNCHER=0: the pinned moto, plainly.
        assert_eq!(
            command.args,
            ["-m", "moto.server"],
            "{}",
            command.describe()
        );
    } else {
        // HARNESS_MOTO_SERVER or a pinned moto_server on PATH: the user's moto, as it is.
        assert!(command.args.is_empty(), "{}", command.describe());
    }
}

/// Two ECS response objects, as two requests served at once create them: one asks for the tags
/// (`include=TAGS`), the other does not. Prints `shared` when the second one's choice reaches the
/// first's answer, `own` when it does not. Argument: the launcher to apply first, or `-`.
const TWO_REQUESTS: &str = r#"
import sys, importlib.util
if sys.argv[1] != "-":
    spec = importlib.util.spec_from_file_location("moto_launch", sys.argv[1])
    launcher = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(launcher)
    launcher.apply()
from moto.core.responses import never_return
from moto.ecs.responses import DESCRIBE_CLUSTERS_TAGS, EC2ContainerServiceResponse
asks, other = EC2ContainerServiceResponse(), EC2ContainerServiceResponse()
asks._include_in_response(DESCRIBE_CLUSTERS_TAGS)
other._exclude_from_response(DESCRIBE_CLUSTERS_TAGS)
stripped = asks.RESPONSE_KEY_PATH_TO_TRANSFORMER.get(DESCRIBE_CLUSTERS_TAGS) is never_return
print("shared" if stripped else "own")
"#;

#[tokio::test]
async fn what_a_request_includes_in_its_answer_stays_its_own_through_the_launcher() {
    let bootstrap = Bootstrap::from_env();
    let installing = bootstrap.clone();
    tokio::task::spawn_blocking(move || installing.ensure())
        .await
        .unwrap()
        .expect("the pinned moto installs");
    let launcher = ensure_launcher(&bootstrap.root).expect("the launcher is written");
    for (through, arg, expected) in [
        ("the launcher", launcher.as_os_str(), "own"),
        ("plain moto", std::ffi::OsStr::new("-"), "shared"),
    ] {
        let out = std::process::Command::new(bootstrap.venv_python())
            .args([
                std::ffi::OsStr::new("-c"),
                std::ffi::OsStr::new(TWO_REQUESTS),
                arg,
            ])
            .output()
            .expect("the pinned moto's python runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{through}: {}\n{stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(stdout.trim(), expected, "{through}");
    }
}

#[tokio::test]
async fn managed_policies_are_the_same_with_and_without_the_launcher() {
    let (launched, plain) = pair().await;
    // Two accounts on the launcher's side: the second is built from the templates for sure.
    let first = aws_policies(launched, &fresh_account_id()).await;
    let account = fresh_account_id();
    let second = aws_policies(launched, &account).await;
    let reference = aws_policies(plain, &account).await;
    assert!(!reference.is_empty());
    assert_eq!(arns(&first), arns(&reference));
    assert_eq!(arns(&second), arns(&reference));
    assert!(arns(&reference).contains(&EXECUTION_POLICY));
    // Policy ids are per account, as moto draws them.
    assert_ne!(first[0].1, second[0].1);

    let get = |moto, account| async move {
        let policy = iam(
            moto,
            account,
            "GetPolicy",
            &[("PolicyArn", EXECUTION_POLICY)],
        )
        .await;
        let version_id = one_between(&policy, "<DefaultVersionId>", "</DefaultVersionId>");
        let version = iam(
            moto,
            account,
            "GetPolicyVersion",
            &[("PolicyArn", EXECUTION_POLICY), ("VersionId", &version_id)],
        )
        .await;
        (policy, version)
    };
    let (policy, version) = get(launched, &account).await;
    let (reference_policy, reference_version) = get(plain, &account).await;
    assert!(version.contains("ecr:GetAuthorizationToken"), "{version}");
    assert_eq!(
        without(&policy, &["PolicyId", "RequestId"]),
        without(&reference_policy, &["PolicyId", "RequestId"])
    );
    assert_eq!(
        without(&version, &["RequestId"]),
        without(&reference_version, &["RequestId"])
    );
}

#[tokio::test]
async fn an_attachment_in_one_account_shows_in_no_other() {
    let (launched, _) = pair().await;
    let (a, b) = (fresh_account_id(), fresh_account_id());
    let count = |account: String| async move {
        let body = iam(
            launched,
            &account,
            "GetPolicy",
            &[("PolicyArn", EXECUTION_POLICY)],
        )
        .await;
        one_between(&body, "<AttachmentCount>", "</AttachmentCount>")
    };
    assert_eq!(count(b.clone()).await, "0");
    for account in [&a, &b] {
        iam(
            launched,
            account,
            "CreateRole",
            &[("RoleName", "exec"), ("AssumeRolePolicyDocument", TRUST)],
        )
        .await;
    }
    iam(
        launched,
        &a,
        "AttachRolePolicy",
        &[("RoleName", "exec"), ("PolicyArn", EXECUTION_POLICY)],
    )
    .await;
    assert_eq!(count(a.clone()).await, "1");
    assert_eq!(count(b.clone()).await, "0");
    // An account created after the attachment starts from clean templates.
    assert_eq!(count(fresh_account_id()).await, "0");
    let entities = iam(
        launched,
        &b,
        "ListEntitiesForPolicy",
        &[("PolicyArn", EXECUTION_POLICY)],
    )
    .await;
    assert!(
        all_between(&entities, "<RoleName>", "</RoleName>").is_empty(),
        "{entities}"
    );
}

#[tokio::test]
async fn amis_and_their_snapshots_are_the_same_with_and_without_the_launcher() {
    let (launched, plain) = pair().await;
    let images = |moto, account: String| async move {
        let body = ec2(moto, &account, "DescribeImages", &[("Owner.1", "amazon")]).await;
        let mut ids = all_between(&body, "<imageId>", "</imageId>");
        ids.sort();
        let snapshots = ec2(moto, &account, "DescribeSnapshots", &[]).await;
        (
            ids,
            all_between(&snapshots, "<snapshotId>", "</snapshotId>").len(),
        )
    };
    // Twice on the launcher's side: the second account reads the AMI files from memory.
    let first = images(launched, fresh_account_id()).await;
    let second = images(launched, fresh_account_id()).await;
    let reference = images(plain, fresh_account_id()).await;
    assert!(!reference.0.is_empty() && reference.1 > 0, "{reference:?}");
    assert_eq!(first, reference);
    assert_eq!(second, reference);
    // EC2's speed-ups are applied when EC2 loads (the launcher does not load it at start-up).
    let log = std::fs::read_to_string(launched.log_path().unwrap()).unwrap();
    assert!(log.contains(EC2_APPLIED_LINE), "{log}");
}

#[tokio::test]
async fn seeded_ids_are_the_same_with_and_without_the_launcher() {
    let launched = start_moto(true).await;
    let plain = start_moto(false).await;
    let mut answers = Vec::new();
    for moto in [&launched, &plain] {
        let (status, _) = harness::emulator::readiness::get_text_within(
            &format!("{}/moto-api/seed?a=42", moto.endpoint().base_url()),
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap();
        assert!((200..300).contains(&status), "seed: {status}");
        let account = "210987654321";
        let snapshots = ec2(moto, account, "DescribeSnapshots", &[]).await;
        let snapshot_ids = all_between(&snapshots, "<snapshotId>", "</snapshotId>");
        let policy_ids: Vec<String> = aws_policies(moto, account)
            .await
            .into_iter()
            .map(|(_, id)| id)
            .collect();
        answers.push((snapshot_ids, policy_ids));
    }
    assert!(!answers[1].0.is_empty() && !answers[1].1.is_empty());
    assert_eq!(answers[0], answers[1]);
}
