//! Why this file exists: the stack needs exactly three read-only EC2 calls (the default VPC, its
//! subnets, its default security group). `aws-sdk-ec2` would add ~5 minutes to every cold build,
//! so this is a minimal EC2 Query-protocol client instead: a form-encoded POST
//! `Action=...&Version=2016-11-15`, SigV4-signed with `aws-sigv4` using the SdkConfig's
//! credentials, sent through the SDK's own hyper/rustls connector (already in the dependency
//! tree), the XML answer read with quick-xml. EC2 errors (`<Response><Errors><Error>`) surface as
//! [`AwsError`]s with AWS's code and message. Works over https against real AWS
//! (`https://ec2.{region}.amazonaws.com`) and over plain http against an endpoint override.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_http_client::Connector;
use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use aws_types::SdkConfig;

use crate::error::AwsError;

pub const EC2_API_VERSION: &str = "2016-11-15";
/// Per-request timeout (connect + response).
pub const EC2_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts for transient failures (IO, 5xx, throttling; see `retry::EC2_TRANSIENT_CODES`),
/// like the SDK's standard mode.
pub const EC2_MAX_ATTEMPTS: u32 = 5;

/// A tiny EC2 client: signs and sends Query-protocol requests.
#[derive(Clone)]
pub struct Ec2Client {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: Option<String>,
    region: Option<String>,
    credentials: Option<SharedCredentialsProvider>,
    connector: OnceLock<Connector>,
}

impl std::fmt::Debug for Ec2Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ec2Client")
            .field("endpoint", &self.endpoint())
            .field("region", &self.inner.region)
            .finish()
    }
}

impl Ec2Client {
    /// Endpoint: `AWS_ENDPOINT_URL_EC2`, else the SdkConfig's endpoint override, else the regional
    /// AWS endpoint.
    pub fn from_sdk_config(cfg: &SdkConfig) -> Ec2Client {
        let endpoint = std::env::var("AWS_ENDPOINT_URL_EC2")
            .ok()
            .filter(|s| !s.is_empty())
            .or_else(|| cfg.endpoint_url().map(str::to_owned));
        Ec2Client {
            inner: Arc::new(Inner {
                endpoint,
                region: cfg.region().map(|r| r.to_string()),
                credentials: cfg.credentials_provider(),
                connector: OnceLock::new(),
            }),
        }
    }

    pub fn endpoint(&self) -> String {
        match (&self.inner.endpoint, &self.inner.region) {
            (Some(e), _) => e.trim_end_matches('/').to_owned(),
            (None, Some(r)) if r.starts_with("cn-") => format!("https://ec2.{r}.amazonaws.com.cn"),
            (None, Some(r)) => format!("https://ec2.{r}.amazonaws.com"),
            (None, None) => "https://ec2.us-east-1.amazonaws.com".to_owned(),
        }
    }

    fn connector(&self) -> &Connector {
        self.inner.connector.get_or_init(|| {
            Connector::builder()
                .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
                .build()
        })
    }

    /// Sends `Action=action` with `params`; returns the XML body of a 2xx answer. Transient
    /// failures are retried (bounded); anything else surfaces as AWS's code + message.
    pub async fn call(
        &self,
        action: &str,
        params: &[(String, String)],
    ) -> Result<String, AwsError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.call_once(action, params).await {
                Ok(body) => return Ok(body),
                Err(e) if attempt < EC2_MAX_ATTEMPTS && is_transient(&e) => {
                    let pause = Duration::from_millis(200 * 2u64.pow(attempt - 1));
                    tracing::debug!(operation = action, code = %e.code, attempt, "EC2 transient error, retrying: {}", e.message);
                    tokio::time::sleep(pause).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn call_once(
        &self,
        action: &str,
        params: &[(String, String)],
    ) -> Result<String, AwsError> {
        let fail = |code: &str, msg: String| AwsError {
            operation: action.to_owned(),
            code: code.to_owned(),
            message: msg,
            status: None,
        };
        let region = self
            .inner
            .region
            .clone()
            .ok_or_else(|| fail("ConstructionFailure", "no region configured".into()))?;
        let provider = self.inner.credentials.as_ref().ok_or_else(|| {
            fail(
                "ConstructionFailure",
                "no credentials provider configured".into(),
            )
        })?;
        let creds = provider.provide_credentials().await.map_err(|e| {
            fail(
                "CredentialsError",
                format!("could not load AWS credentials: {e}"),
            )
        })?;
        let identity: Identity = creds.into();

        let body = {
            let mut s = form_urlencoded::Serializer::new(String::new());
            s.append_pair("Action", action)
                .append_pair("Version", EC2_API_VERSION);
            for (k, v) in params {
                s.append_pair(k, v);
            }
            s.finish()
        };
        let url = format!("{}/", self.endpoint());
        let uri: http::Uri = url.parse().map_err(|e| {
            fail(
                "ConstructionFailure",
                format!("bad EC2 endpoint {url}: {e}"),
            )
        })?;
        let host = uri
            .authority()
            .map(|a| a.as_str().to_owned())
            .unwrap_or_default();
        let content_type = "application/x-www-form-urlencoded; charset=utf-8";

        let mut req = http::Request::builder()
            .method("POST")
            .uri(uri)
            .header("host", &host)
            .header("content-type", content_type)
            .header("content-length", body.len().to_string())
            .body(body.clone())
            .map_err(|e| fail("ConstructionFailure", e.to_string()))?;

        let settings = aws_sigv4::http_request::SigningSettings::default();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&region)
            .name("ec2")
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|e| fail("ConstructionFailure", format!("signing: {e}")))?
            .into();
        let signable = aws_sigv4::http_request::SignableRequest::new(
            "POST",
            url.as_str(),
            [("host", host.as_str()), ("content-type", content_type)].into_iter(),
            aws_sigv4::http_request::SignableBody::Bytes(body.as_bytes()),
        )
        .map_err(|e| fail("ConstructionFailure", format!("signing: {e}")))?;
        let (instructions, _) = aws_sigv4::http_request::sign(signable, &params)
            .map_err(|e| fail("ConstructionFailure", format!("signing: {e}")))?
            .into_parts();
        instructions.apply_to_request_http1x(&mut req);

        let req = req.map(SdkBody::from);
        let req = aws_smithy_runtime_api::http::Request::try_from(req)
            .map_err(|e| fail("ConstructionFailure", e.to_string()))?;
        let exchange = async {
            let resp = self.connector().call(req).await.map_err(|e| {
                fail(
                    "DispatchFailure",
                    format!(
                        "EC2 {url}: {}",
                        aws_smithy_types::error::display::DisplayErrorContext(&e)
                    ),
                )
            })?;
            let status = resp.status().as_u16();
            let bytes = ByteStream::new(resp.into_body())
                .collect()
                .await
                .map_err(|e| fail("ResponseError", format!("reading EC2 response: {e}")))?
                .into_bytes();
            Ok::<_, AwsError>((status, String::from_utf8_lossy(&bytes).into_owned()))
        };
        let (status, text) = tokio::time::timeout(EC2_REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| {
                fail(
                    "TimeoutError",
                    format!("no answer from {url} within {EC2_REQUEST_TIMEOUT:?}"),
                )
            })??;
        if (200..300).contains(&status) {
            return Ok(text);
        }
        let mut err = parse_error(action, &text).unwrap_or_else(|| {
            let snippet: String = text.chars().take(300).collect();
            fail(&format!("HTTP{status}"), snippet)
        });
        err.status = Some(status);
        if err.code.starts_with("HTTP") && status >= 500 {
            err.code = "InternalError".into();
        }
        Err(err)
    }

    /// The default VPC's id, if the region has one.
    pub async fn default_vpc_id(&self) -> Result<Option<String>, AwsError> {
        let xml = self
            .call("DescribeVpcs", &filters(&[("isDefault", "true")]))
            .await?;
        Ok(texts_at(&xml, &["vpcSet", "item", "vpcId"])
            .into_iter()
            .next())
    }

    /// All subnet ids of `vpc_id`, sorted.
    pub async fn subnet_ids(&self, vpc_id: &str) -> Result<Vec<String>, AwsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut p = filters(&[("vpc-id", vpc_id)]);
            if let Some(t) = &token {
                p.push(("NextToken".into(), t.clone()));
            }
            let xml = self.call("DescribeSubnets", &p).await?;
            out.extend(texts_at(&xml, &["subnetSet", "item", "subnetId"]));
            token = texts_at(&xml, &["nextToken"])
                .into_iter()
                .find(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The id of `vpc_id`'s security group named `default`.
    pub async fn default_security_group(&self, vpc_id: &str) -> Result<Option<String>, AwsError> {
        let xml = self
            .call(
                "DescribeSecurityGroups",
                &filters(&[("vpc-id", vpc_id), ("group-name", "default")]),
            )
            .await?;
        Ok(texts_at(&xml, &["securityGroupInfo", "item", "groupId"])
            .into_iter()
            .next())
    }
}

fn is_transient(e: &AwsError) -> bool {
    crate::retry::EC2_TRANSIENT_CODES.contains(&e.code.as_str())
        || e.status.is_some_and(|s| s >= 500)
}

/// `Filter.N.Name` / `Filter.N.Value.1` parameters.
pub fn filters(f: &[(&str, &str)]) -> Vec<(String, String)> {
    f.iter()
        .enumerate()
        .flat_map(|(i, (name, value))| {
            [
                (format!("Filter.{}.Name", i + 1), (*name).to_owned()),
                (format!("Filter.{}.Value.1", i + 1), (*value).to_owned()),
            ]
        })
        .collect()
}

/// Texts of the elements at exactly `path` below the root element (namespaces ignored).
pub fn texts_at(xml: &str, path: &[&str]) -> Vec<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                stack.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
                if stack.len() > 1 && stack[1..] == *path {
                    current = Some(String::new());
                }
            }
            Ok(Event::Empty(e)) => {
                stack.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
                if stack.len() > 1 && stack[1..] == *path {
                    out.push(String::new());
                }
                stack.pop();
            }
            Ok(Event::Text(t)) => {
                if let Some(c) = current.as_mut() {
                    if let Ok(s) = t.unescape() {
                        c.push_str(&s);
                    }
                }
            }
            Ok(Event::CData(t)) => {
                if let Some(c) = current.as_mut() {
                    c.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Ok(Event::End(_)) => {
                if stack.len() > 1 && stack[1..] == *path {
                    if let Some(c) = current.take() {
                        out.push(c.trim().to_owned());
                    }
                }
                stack.pop();
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    out
}

/// EC2's `<Response><Errors><Error><Code/><Message/>` (or the `<ErrorResponse><Error>` form).
pub fn parse_error(operation: &str, xml: &str) -> Option<AwsError> {
    for base in [&["Errors", "Error"][..], &["Error"][..]] {
        let code_path: Vec<&str> = base.iter().copied().chain(["Code"]).collect();
        let msg_path: Vec<&str> = base.iter().copied().chain(["Message"]).collect();
        if let Some(code) = texts_at(xml, &code_path).into_iter().next() {
            let message = texts_at(xml, &msg_path)
                .into_iter()
                .next()
                .unwrap_or_default();
            return Some(AwsError {
                operation: operation.to_owned(),
                code,
                message,
                status: None,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_security_group_ids_at_the_right_depth() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeSecurityGroupsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>r</requestId>
  <securityGroupInfo>
    <item>
      <ownerId>123456789012</ownerId>
      <groupId>sg-0default</groupId>
      <groupName>default</groupName>
      <ipPermissions><item><groups><item><groupId>sg-other</groupId></item></groups></item></ipPermissions>
    </item>
  </securityGroupInfo>
</DescribeSecurityGroupsResponse>"#;
        assert_eq!(
            texts_at(xml, &["securityGroupInfo", "item", "groupId"]),
            vec!["sg-0default"]
        );
    }

    #[test]
    fn reads_ec2_errors() {
        let xml = "<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized &amp; denied.</Message></Error></Errors><RequestID>x</RequestID></Response>";
        let e = parse_error("DescribeVpcs", xml).unwrap();
        assert_eq!(
            e.to_string(),
            "DescribeVpcs: UnauthorizedOperation: You are not authorized & denied."
        );
    }

    #[test]
    fn filter_params() {
        let f = filters(&[("vpc-id", "vpc-1"), ("group-name", "default")]);
        assert_eq!(f[0], ("Filter.1.Name".to_owned(), "vpc-id".to_owned()));
        assert_eq!(f[3], ("Filter.2.Value.1".to_owned(), "default".to_owned()));
    }
}
