//! The emulator behind the proxy: a pooled HTTP/1.1 client plus the few signed-looking calls the
//! behaviour models make themselves (IAM CreateRole, ECS ListClusters, ...).
//!
//! Calls made by the proxy carry the account both ways emulators understand: the moto header
//! `x-moto-account-id`, and an `Authorization` header whose credential scope uses the account as
//! access key id (LocalStack's convention). The signature is fake; emulators do not verify it.

use std::time::{Duration, SystemTime};

use anyhow::{bail, Context};
use bytes::Bytes;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderValue, Request, Response, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};

/// Which emulator the upstream is; decides how the account is passed on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpstreamFlavor {
    /// moto: the proxy adds `x-moto-account-id` from the 12-digit access key id.
    #[default]
    Moto,
    /// LocalStack: the access key id already selects the account.
    LocalStack,
    /// Anything else (real AWS behind another proxy, a stub): headers passed through unchanged.
    Other,
}

impl std::str::FromStr for UpstreamFlavor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "moto" => Ok(UpstreamFlavor::Moto),
            "localstack" => Ok(UpstreamFlavor::LocalStack),
            "other" => Ok(UpstreamFlavor::Other),
            _ => Err(format!(
                "unknown upstream flavor {s:?}: expected moto, localstack or other"
            )),
        }
    }
}

impl std::fmt::Display for UpstreamFlavor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UpstreamFlavor::Moto => "moto",
            UpstreamFlavor::LocalStack => "localstack",
            UpstreamFlavor::Other => "other",
        })
    }
}

/// Timeout of the calls the models make themselves.
const MODEL_CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Keep idle upstream connections this long (the emulator is local; reuse saves a handshake).
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) struct Upstream {
    client: Client<HttpConnector, Full<Bytes>>,
    scheme: Scheme,
    authority: Authority,
    /// Path prefix of the upstream URL without trailing slash ("" for the root).
    base_path: String,
    pub host_header: HeaderValue,
    pub flavor: UpstreamFlavor,
}

impl Upstream {
    pub fn new(url: &url::Url, flavor: UpstreamFlavor) -> anyhow::Result<Upstream> {
        if url.scheme() != "http" {
            bail!("upstream {url} is not supported: only http:// upstreams (local emulators) are");
        }
        let host = url.host_str().context("upstream URL has no host")?;
        let authority: Authority = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        }
        .parse()
        .with_context(|| format!("upstream URL {url} has an invalid host"))?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build(connector);
        Ok(Upstream {
            client,
            scheme: Scheme::HTTP,
            host_header: HeaderValue::from_str(authority.as_str())?,
            authority,
            base_path: url.path().trim_end_matches('/').to_string(),
            flavor,
        })
    }

    /// The upstream URI for a client request's path and query.
    pub fn uri_for(&self, pq: Option<&PathAndQuery>) -> Result<Uri, http::Error> {
        let pq = pq.map(PathAndQuery::as_str).unwrap_or("/");
        let builder = Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone());
        if self.base_path.is_empty() {
            builder.path_and_query(pq).build()
        } else {
            builder
                .path_and_query(format!("{}{pq}", self.base_path))
                .build()
        }
    }

    pub async fn send(
        &self,
        req: Request<Full<Bytes>>,
    ) -> Result<Response<Incoming>, hyper_util::client::legacy::Error> {
        self.client.request(req).await
    }

    /// An IAM query call on behalf of `account`; returns status and body.
    pub async fn iam(
        &self,
        account: Option<&str>,
        params: &[(&str, &str)],
    ) -> anyhow::Result<(u16, String)> {
        let body = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for (k, v) in params {
                form.append_pair(k, v);
            }
            form.append_pair("Version", "2010-05-08");
            form.finish()
        };
        let action = params
            .iter()
            .find(|(k, _)| *k == "Action")
            .map(|(_, v)| *v)
            .unwrap_or("?");
        self.call(
            account,
            "us-east-1",
            "iam",
            None,
            "application/x-www-form-urlencoded; charset=utf-8",
            body,
        )
        .await
        .with_context(|| format!("upstream IAM {action}"))
    }

    /// An ECS (awsJson1_1) call on behalf of `account`; returns status and body.
    pub async fn ecs(
        &self,
        account: Option<&str>,
        region: &str,
        operation: &str,
        body: serde_json::Value,
    ) -> anyhow::Result<(u16, String)> {
        let target = format!("AmazonEC2ContainerServiceV20141113.{operation}");
        self.call(
            account,
            region,
            "ecs",
            Some(&target),
            "application/x-amz-json-1.1",
            body.to_string(),
        )
        .await
        .with_context(|| format!("upstream ECS {operation} in {region}"))
    }

    async fn call(
        &self,
        account: Option<&str>,
        region: &str,
        service: &str,
        target: Option<&str>,
        content_type: &str,
        body: String,
    ) -> anyhow::Result<(u16, String)> {
        let stamp = amz_date(SystemTime::now());
        let access_key = account.unwrap_or("test");
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={access_key}/{}/{region}/{service}/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature={}",
            &stamp[..8],
            "0".repeat(64)
        );
        let mut req = Request::post(self.uri_for(Some(&PathAndQuery::from_static("/")))?)
            .header(http::header::HOST, self.host_header.clone())
            .header(http::header::CONTENT_TYPE, content_type)
            .header("x-amz-date", &stamp)
            .header(http::header::AUTHORIZATION, auth)
            .body(Full::new(Bytes::from(body)))?;
        if let Some(t) = target {
            req.headers_mut()
                .insert("x-amz-target", HeaderValue::from_str(t)?);
        }
        if let (UpstreamFlavor::Moto, Some(acct)) = (self.flavor, account) {
            req.headers_mut()
                .insert("x-moto-account-id", HeaderValue::from_str(acct)?);
        }
        let fut = async {
            let resp = self.send(req).await?;
            let status = resp.status().as_u16();
            let bytes = resp.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
        };
        tokio::time::timeout(MODEL_CALL_TIMEOUT, fut)
            .await
            .context("timed out")?
    }
}

/// `YYYYMMDDTHHMMSSZ`.
fn amz_date(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t)
        .to_string()
        .replace(['-', ':'], "")
}

/// Guesses the flavor of an upstream: moto answers `/moto-api/config`, LocalStack
/// `/_localstack/health`. Unreachable or neither → `Other`.
pub async fn detect_flavor(url: &url::Url) -> UpstreamFlavor {
    let Ok(up) = Upstream::new(url, UpstreamFlavor::Other) else {
        return UpstreamFlavor::Other;
    };
    for (path, flavor) in [
        ("/moto-api/config", UpstreamFlavor::Moto),
        ("/_localstack/health", UpstreamFlavor::LocalStack),
    ] {
        let Ok(uri) = up.uri_for(Some(&PathAndQuery::from_static(path))) else {
            continue;
        };
        let Ok(req) = Request::get(uri)
            .header(http::header::HOST, up.host_header.clone())
            .body(Full::new(Bytes::new()))
        else {
            continue;
        };
        if let Ok(Ok(resp)) = tokio::time::timeout(Duration::from_secs(3), up.send(req)).await {
            if resp.status().is_success() {
                return flavor;
            }
        }
    }
    UpstreamFlavor::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_building_keeps_base_path() {
        let up = Upstream::new(
            &"http://127.0.0.1:5000".parse().unwrap(),
            UpstreamFlavor::Moto,
        )
        .unwrap();
        let pq = PathAndQuery::from_static("/a?b=c");
        assert_eq!(
            up.uri_for(Some(&pq)).unwrap().to_string(),
            "http://127.0.0.1:5000/a?b=c"
        );
        let up = Upstream::new(&"http://h/base/".parse().unwrap(), UpstreamFlavor::Other).unwrap();
        assert_eq!(
            up.uri_for(Some(&pq)).unwrap().to_string(),
            "http://h/base/a?b=c"
        );
        assert!(Upstream::new(&"https://h".parse().unwrap(), UpstreamFlavor::Other).is_err());
    }

    #[test]
    fn amz_date_format() {
        let d = amz_date(SystemTime::UNIX_EPOCH + Duration::from_secs(86_400 + 3_661));
        assert_eq!(d, "19700102T010101Z");
    }

    #[test]
    fn flavor_parsing() {
        assert_eq!(
            "LocalStack".parse::<UpstreamFlavor>().unwrap(),
            UpstreamFlavor::LocalStack
        );
        assert!("x"
            .parse::<UpstreamFlavor>()
            .unwrap_err()
            .contains("moto, localstack or other"));
    }
}
