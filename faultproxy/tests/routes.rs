//! Per-service routing end to end, without an emulator: two recording stub upstreams stand in for
//! LocalStack (IAM, STS, Logs) and moto (everything else). Client calls and the behaviour models'
//! own calls land on the upstream of their service, moto's `x-moto-account-id` is sent to the
//! moto-flavored one only, and every journal entry names its upstream.

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use faultproxy::{ProxyConfig, Route, Service, UpstreamFlavor};
use http_body_util::{BodyExt, Full};
use support::*;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "ap-northeast-1";
const SLR: &str = "AWSServiceRoleForECS";

/// One request a stub received: its operation and how the account reached it.
#[derive(Clone, Debug, PartialEq)]
struct Seen {
    /// `Action` of a query call, the operation of an `X-Amz-Target`, else the path.
    op: String,
    /// `x-moto-account-id`, if sent.
    moto_account: Option<String>,
    /// The access key id of the `Authorization` credential scope (LocalStack's account).
    access_key: Option<String>,
}

#[derive(Default)]
struct StubState {
    seen: Vec<Seen>,
    role_exists: bool,
    addr: Option<SocketAddr>,
}

/// A stub emulator that records every request and answers just enough of IAM, ECS and Logs
/// for the models (GetRole 404 until CreateRole, ListClusters empty).
#[derive(Clone, Default)]
struct Stub(Arc<Mutex<StubState>>);

impl Stub {
    async fn start(&self) -> SocketAddr {
        let stub = self.clone();
        let addr = serve(move |req| {
            let stub = stub.clone();
            async move { stub.answer(req).await }
        })
        .await;
        self.0.lock().unwrap().addr = Some(addr);
        addr
    }

    async fn answer(
        &self,
        req: http::Request<hyper::body::Incoming>,
    ) -> http::Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let op = match header("x-amz-target") {
            Some(t) => t.rsplit('.').next().unwrap_or_default().to_string(),
            None => form_urlencoded::parse(&body)
                .find(|(k, _)| k == "Action")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_else(|| parts.uri.path().to_string()),
        };
        let access_key = header("authorization").and_then(|a| {
            let scope = a.split("Credential=").nth(1)?;
            Some(scope.split('/').next()?.to_string())
        });
        let mut st = self.0.lock().unwrap();
        st.seen.push(Seen {
            op: op.clone(),
            moto_account: header("x-moto-account-id"),
            access_key,
        });
        let (status, body) = match op.as_str() {
            "GetRole" if !st.role_exists => (
                404,
                "<ErrorResponse><Error><Code>NoSuchEntity</Code></Error></ErrorResponse>".into(),
            ),
            "GetRole" | "CreateRole" => {
                st.role_exists = true;
                (
                    200,
                    format!("<{op}Response><{op}Result><Role><RoleName>{SLR}</RoleName></Role></{op}Result></{op}Response>"),
                )
            }
            "DeleteRole" => {
                st.role_exists = false;
                (200, "<DeleteRoleResponse/>".into())
            }
            "ListClusters" => (200, r#"{"clusterArns":[]}"#.into()),
            "CreateCluster" => (
                200,
                r#"{"cluster":{"clusterName":"app","status":"ACTIVE"}}"#.into(),
            ),
            _ if parts.headers.contains_key("x-amz-target") => (200, "{}".into()),
            _ => (200, format!("<{op}Response/>")),
        };
        let mut resp = http::Response::new(Full::new(Bytes::from(body)));
        *resp.status_mut() = http::StatusCode::from_u16(status).unwrap();
        resp
    }

    fn addr(&self) -> SocketAddr {
        self.0.lock().unwrap().addr.expect("started")
    }

    fn seen(&self) -> Vec<Seen> {
        self.0.lock().unwrap().seen.clone()
    }

    fn ops(&self) -> Vec<String> {
        self.seen().into_iter().map(|s| s.op).collect()
    }

    fn clear(&self) {
        self.0.lock().unwrap().seen.clear();
    }
}

fn json_call(service: &str, target: &str) -> Vec<(&'static str, String)> {
    vec![
        ("Content-Type", "application/x-amz-json-1.1".into()),
        ("X-Amz-Target", target.into()),
        ("Authorization", authorization(ACCOUNT, REGION, service)),
    ]
}

fn query_call(service: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "Content-Type",
            "application/x-www-form-urlencoded; charset=utf-8".into(),
        ),
        (
            "Authorization",
            authorization(ACCOUNT, "us-east-1", service),
        ),
    ]
}

/// A proxy in front of `moto` (main upstream) with IAM, STS and Logs routed to `localstack`.
async fn split_proxy(localstack: SocketAddr, moto: SocketAddr) -> faultproxy::ProxyHandle {
    let route: Route = format!("iam,sts,logs=http://{localstack}@localstack")
        .parse()
        .expect("route");
    assert_eq!(route.services, [Service::IAM, Service::STS, Service::LOGS]);
    let cfg = ProxyConfig::new(
        format!("http://{moto}").parse().unwrap(),
        UpstreamFlavor::Moto,
    )
    .with_route(route);
    faultproxy::start(cfg).await.expect("proxy starts")
}

#[tokio::test]
async fn each_service_goes_to_its_upstream_with_its_account_convention() {
    let (ls, moto) = (Stub::default(), Stub::default());
    let proxy = split_proxy(ls.start().await, moto.start().await).await;
    let addr = proxy.addr();
    let iam = query_call("iam");
    let body = b"Action=ListRoles&Version=2010-05-08";
    assert_eq!(call(addr, "POST", "/", &iam, body).await.0, 200);
    let logs = json_call("logs", "Logs_20140328.DescribeLogGroups");
    assert_eq!(call(addr, "POST", "/", &logs, b"{}").await.0, 200);
    let ecs = json_call("ecs", "AmazonEC2ContainerServiceV20141113.ListClusters");
    let (status, body) = call(addr, "POST", "/", &ecs, b"{}").await;
    assert_eq!((status, body.as_str()), (200, r#"{"clusterArns":[]}"#));
    // An unclassifiable request goes to the main upstream.
    assert_eq!(call(addr, "GET", "/health", &[], b"").await.0, 200);

    assert_eq!(ls.ops(), ["ListRoles", "DescribeLogGroups"]);
    assert_eq!(moto.ops(), ["ListClusters", "/health"]);
    for s in ls.seen() {
        assert_eq!(s.moto_account, None, "no moto header to LocalStack: {s:?}");
        assert_eq!(s.access_key.as_deref(), Some(ACCOUNT), "{s:?}");
    }
    assert_eq!(moto.seen()[0].moto_account.as_deref(), Some(ACCOUNT));

    let journal = proxy.journal();
    let routed: Vec<(Option<&str>, &str)> = journal
        .iter()
        .map(|e| (e.operation.as_deref(), e.upstream.as_str()))
        .collect();
    assert_eq!(
        routed,
        [
            (Some("ListRoles"), "localstack"),
            (Some("DescribeLogGroups"), "localstack"),
            (Some("ListClusters"), "moto"),
            (None, "moto"),
        ]
    );
    let (status, view) = call(addr, "GET", "/_harness/presets", &[], b"").await;
    assert_eq!(status, 200, "{view}");
    let view: serde_json::Value = serde_json::from_str(&view).unwrap();
    assert_eq!(view["flavor"], "moto");
    assert_eq!(
        view["routes"],
        serde_json::json!([format!("iam,sts,logs=http://{}/@localstack", ls.addr())])
    );
}

#[tokio::test]
async fn a_fault_answer_is_journaled_with_the_upstream_it_would_have_gone_to() {
    let (ls, moto) = (Stub::default(), Stub::default());
    let proxy = split_proxy(ls.start().await, moto.start().await).await;
    proxy.apply_presets("throttle=100").expect("preset");
    let iam = query_call("iam");
    let (status, _) = call(proxy.addr(), "POST", "/", &iam, b"Action=ListRoles").await;
    assert_eq!(status, 400, "throttled");
    assert!(ls.seen().is_empty() && moto.seen().is_empty());
    let e = &proxy.journal()[0];
    assert!(e.fault.is_some(), "{e:?}");
    assert_eq!(e.upstream, "localstack");
}

#[tokio::test]
async fn the_service_linked_role_models_call_iam_and_ecs_on_their_own_upstreams() {
    let (ls, moto) = (Stub::default(), Stub::default());
    let proxy = split_proxy(ls.start().await, moto.start().await).await;
    let addr = proxy.addr();
    // CreateCluster on moto; the model then creates the role in the IAM upstream (LocalStack).
    let ecs = json_call("ecs", "AmazonEC2ContainerServiceV20141113.CreateCluster");
    let (status, _) = call(addr, "POST", "/", &ecs, br#"{"clusterName":"app"}"#).await;
    assert_eq!(status, 200);
    assert_eq!(moto.ops(), ["CreateCluster"]);
    assert_eq!(ls.ops(), ["GetRole", "CreateRole", "AttachRolePolicy"]);
    for s in ls.seen() {
        assert_eq!(s.moto_account, None, "{s:?}");
        assert_eq!(s.access_key.as_deref(), Some(ACCOUNT), "{s:?}");
    }
    ls.clear();
    moto.clear();

    // Deleting the role: the deletion task reads clusters from moto, deletes in LocalStack.
    let iam = query_call("iam");
    let body = format!("Action=DeleteServiceLinkedRole&RoleName={SLR}&Version=2010-05-08");
    let (status, answer) = call(addr, "POST", "/", &iam, body.as_bytes()).await;
    assert_eq!(status, 200, "{answer}");
    let task = answer
        .split("<DeletionTaskId>")
        .nth(1)
        .and_then(|t| t.split('<').next())
        .expect("a deletion task id")
        .to_string();
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("Action", "GetServiceLinkedRoleDeletionStatus")
        .append_pair("DeletionTaskId", &task)
        .finish();
    let (status, answer) = call(addr, "POST", "/", &iam, body.as_bytes()).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("SUCCEEDED"), "{answer}");
    assert_eq!(moto.ops(), ["ListClusters"]);
    assert_eq!(moto.seen()[0].moto_account.as_deref(), Some(ACCOUNT));
    assert_eq!(
        ls.ops(),
        ["GetRole", "DetachRolePolicy", "DeleteRole"],
        "the role lives in the IAM upstream"
    );

    let journal = proxy.journal();
    let upstreams: Vec<&str> = journal.iter().map(|e| e.upstream.as_str()).collect();
    assert_eq!(upstreams, ["moto", "localstack", "localstack"]);
    assert!(journal[1].handled_by.is_some(), "the model answered");
}

#[tokio::test]
async fn a_service_routed_twice_is_refused_at_start() {
    let cfg = ProxyConfig::new("http://127.0.0.1:9".parse().unwrap(), UpstreamFlavor::Moto)
        .with_route("iam,logs=http://127.0.0.1:4566@localstack".parse().unwrap())
        .with_route("logs=http://127.0.0.1:4567@other".parse().unwrap());
    let err = faultproxy::start(cfg).await.expect_err("refused");
    let msg = err.to_string();
    assert!(msg.contains("logs is already routed"), "{msg}");
}
