//! Why this file exists: before planning, the CLI asks the endpoint who we are (STS
//! `GetCallerIdentity`, which needs no IAM permission) under short deadlines, so a wrong
//! `--endpoint-url`, a harness that is not running, an endpoint that accepts TCP but never
//! answers, a web page instead of an AWS API, or rejected credentials each fail in one line naming
//! the endpoint and the likely fix, within [`ANSWER_DEADLINE`] (connecting: [`CONNECT_DEADLINE`]) — instead of
//! the SDK's retries running for minutes. `aws-sdk-sts` would cost every cold build a crate, so
//! this is one SigV4-signed awsQuery POST (`Action=GetCallerIdentity&Version=2011-06-15`) sent
//! through the SDK's own connector, like the EC2 client.
//! Source: https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
//! ("No permissions are required to perform this operation.").

use std::fmt;
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::ProvideCredentials;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_http_client::Connector;
use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorSettings};
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use aws_types::SdkConfig;

use crate::ec2::{parse_error, texts_at};

/// Deadline for the TCP (and TLS) connection to the endpoint.
pub const CONNECT_DEADLINE: Duration = Duration::from_secs(3);
/// Deadline for the whole exchange, connection included (STS answers in well under a second).
pub const ANSWER_DEADLINE: Duration = Duration::from_secs(10);
/// Deadline for the credential chain (the instance-metadata provider alone may take seconds).
pub const CREDENTIALS_DEADLINE: Duration = Duration::from_secs(10);
/// STS's awsQuery API version.
pub const STS_API_VERSION: &str = "2011-06-15";
/// The fix named when the endpoint cannot be reached or is not an AWS API.
pub const ENDPOINT_HINT: &str =
    "is `harness up` running? check --endpoint-url / AWS_ENDPOINT_URL (unset it for real AWS)";
/// The fix named when the endpoint rejects the credentials.
pub const CREDENTIALS_HINT: &str =
    "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE (against `harness up`: use the credentials it printed)";
/// The fix named when there are no credentials at all.
pub const NO_CREDENTIALS_HINT: &str = "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (against `harness up`: the lines it printed)";

/// Who the endpoint says we are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    pub account: String,
    pub arn: String,
}

/// Why the endpoint check failed; its Display is the one line the user sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreflightError {
    /// No credentials provider, or the chain found none (or took too long).
    NoCredentials { detail: String },
    /// Nothing to talk to: the URL cannot be turned into a request.
    BadEndpoint { endpoint: String, detail: String },
    /// The TCP/TLS connection failed (refused, unresolvable host, TLS error).
    Unreachable { endpoint: String, detail: String },
    /// No connection within [`CONNECT_DEADLINE`].
    ConnectTimeout { endpoint: String },
    /// Connected, but no complete answer within [`ANSWER_DEADLINE`].
    NoAnswer { endpoint: String },
    /// An answer that is not an AWS API's (an HTML page, a bare 404, ...).
    NotAws {
        endpoint: String,
        status: u16,
        content_type: String,
    },
    /// AWS's own error: the credentials are rejected (`InvalidClientTokenId`,
    /// `SignatureDoesNotMatch`, `ExpiredToken`, ...) or another STS error.
    Rejected {
        endpoint: String,
        status: u16,
        code: String,
        message: String,
        request_id: Option<String>,
    },
}

impl fmt::Display for PreflightError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PreflightError::NoCredentials { detail } => {
                write!(f, "no AWS credentials found ({detail}); {NO_CREDENTIALS_HINT}")
            }
            PreflightError::BadEndpoint { endpoint, detail } => write!(
                f,
                "the AWS endpoint {endpoint} is not usable ({detail}); {ENDPOINT_HINT}"
            ),
            PreflightError::Unreachable { endpoint, detail } => write!(
                f,
                "cannot reach the AWS endpoint {endpoint}: {detail}; {ENDPOINT_HINT}"
            ),
            PreflightError::ConnectTimeout { endpoint } => write!(
                f,
                "the AWS endpoint {endpoint} did not accept a connection within {}s; {ENDPOINT_HINT}",
                CONNECT_DEADLINE.as_secs()
            ),
            PreflightError::NoAnswer { endpoint } => write!(
                f,
                "the AWS endpoint {endpoint} accepted the connection but sent no answer within {}s; {ENDPOINT_HINT}",
                ANSWER_DEADLINE.as_secs()
            ),
            PreflightError::NotAws {
                endpoint,
                status,
                content_type,
            } => write!(
                f,
                "the endpoint {endpoint} answered HTTP {status} ({content_type}), not an AWS API answer; {ENDPOINT_HINT}"
            ),
            PreflightError::Rejected {
                endpoint,
                status,
                code,
                message,
                request_id,
            } => {
                write!(
                    f,
                    "the AWS endpoint {endpoint} rejected GetCallerIdentity: sts GetCallerIdentity: {code}: {message} (HTTP {status}"
                )?;
                if let Some(id) = request_id {
                    write!(f, ", request id {id}")?;
                }
                write!(f, "); {CREDENTIALS_HINT}")
            }
        }
    }
}

impl std::error::Error for PreflightError {}

/// The endpoint `cfg`'s STS calls go to: its override, else the regional AWS endpoint.
pub fn sts_endpoint(cfg: &SdkConfig) -> String {
    if let Some(url) = cfg.endpoint_url() {
        return url.trim_end_matches('/').to_owned();
    }
    match cfg.region().map(|r| r.as_ref()) {
        Some(r) if r.starts_with("cn-") => format!("https://sts.{r}.amazonaws.com.cn"),
        Some(r) => format!("https://sts.{r}.amazonaws.com"),
        None => "https://sts.amazonaws.com".to_owned(),
    }
}

/// Calls STS `GetCallerIdentity` at `cfg`'s endpoint within the deadlines above.
pub async fn check_endpoint(cfg: &SdkConfig) -> Result<CallerIdentity, PreflightError> {
    let endpoint = sts_endpoint(cfg);
    let region = cfg
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "us-east-1".into());
    let identity = credentials(cfg).await?;
    let url = format!("{endpoint}/");
    let body = format!("Action=GetCallerIdentity&Version={STS_API_VERSION}");
    let req = signed_request(&url, body, &region, &identity).map_err(|detail| {
        PreflightError::BadEndpoint {
            endpoint: endpoint.clone(),
            detail,
        }
    })?;
    let connector = Connector::builder()
        .connector_settings(
            HttpConnectorSettings::builder()
                .connect_timeout(CONNECT_DEADLINE)
                .build(),
        )
        .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
        .build();
    let exchange = async {
        let resp = connector.call(req).await.map_err(|e| {
            if e.is_timeout() {
                PreflightError::ConnectTimeout {
                    endpoint: endpoint.clone(),
                }
            } else {
                PreflightError::Unreachable {
                    endpoint: endpoint.clone(),
                    detail: root_cause(&e),
                }
            }
        })?;
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .unwrap_or("no content type")
            .to_owned();
        let bytes = ByteStream::new(resp.into_body())
            .collect()
            .await
            .map_err(|e| PreflightError::Unreachable {
                endpoint: endpoint.clone(),
                detail: format!("reading the answer: {e}"),
            })?
            .into_bytes();
        Ok::<_, PreflightError>((status, content_type, bytes))
    };
    let (status, content_type, bytes) = tokio::time::timeout(ANSWER_DEADLINE, exchange)
        .await
        .map_err(|_| PreflightError::NoAnswer {
            endpoint: endpoint.clone(),
        })??;
    read_answer(
        &endpoint,
        status,
        &content_type,
        &String::from_utf8_lossy(&bytes),
    )
}

/// The credentials to sign with, bounded by [`CREDENTIALS_DEADLINE`].
async fn credentials(cfg: &SdkConfig) -> Result<Identity, PreflightError> {
    let provider = cfg
        .credentials_provider()
        .ok_or_else(|| PreflightError::NoCredentials {
            detail: "no credentials provider configured".into(),
        })?;
    match tokio::time::timeout(CREDENTIALS_DEADLINE, provider.provide_credentials()).await {
        Err(_) => Err(PreflightError::NoCredentials {
            detail: format!(
                "the credential chain found none within {}s",
                CREDENTIALS_DEADLINE.as_secs()
            ),
        }),
        Ok(Err(CredentialsError::CredentialsNotLoaded(_))) => Err(PreflightError::NoCredentials {
            detail: "the standard chain has none: environment, profile files, web identity, \
                     container, instance metadata"
                .into(),
        }),
        Ok(Err(e)) => Err(PreflightError::NoCredentials {
            detail: root_cause(&e),
        }),
        Ok(Ok(c)) => Ok(c.into()),
    }
}

/// The innermost error's Display (the one that says what happened), never a `Debug`.
pub fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}

/// Classifies STS's answer: the identity, AWS's error, or "not an AWS API".
pub fn read_answer(
    endpoint: &str,
    status: u16,
    content_type: &str,
    text: &str,
) -> Result<CallerIdentity, PreflightError> {
    if (200..300).contains(&status) {
        let at = |leaf: &str| {
            texts_at(text, &["GetCallerIdentityResult", leaf])
                .into_iter()
                .next()
        };
        if let Some(account) = at("Account") {
            return Ok(CallerIdentity {
                account,
                arn: at("Arn").unwrap_or_default(),
            });
        }
    } else if let Some(err) = parse_error("GetCallerIdentity", text) {
        return Err(PreflightError::Rejected {
            endpoint: endpoint.to_owned(),
            status,
            code: err.code,
            message: err.message,
            request_id: texts_at(text, &["RequestId"]).into_iter().next(),
        });
    }
    Err(PreflightError::NotAws {
        endpoint: endpoint.to_owned(),
        status,
        content_type: content_type.to_owned(),
    })
}

/// Content type of an awsQuery request.
const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// The POST of `body` to `url`, SigV4-signed for `sts` in `region`.
fn signed_request(
    url: &str,
    body: String,
    region: &str,
    identity: &Identity,
) -> Result<aws_smithy_runtime_api::http::Request, String> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings};
    let uri: http::Uri = url.parse().map_err(|e| format!("{e}"))?;
    let host = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .ok_or_else(|| "no host in the URL".to_owned())?;
    let mut req = http::Request::builder()
        .method("POST")
        .uri(uri)
        .header("host", &host)
        .header("content-type", CONTENT_TYPE)
        .header("content-length", body.len().to_string())
        .body(body.clone())
        .map_err(|e| e.to_string())?;
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(identity)
        .region(region)
        .name("sts")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| format!("signing: {e}"))?
        .into();
    let signable = SignableRequest::new(
        "POST",
        url,
        [("host", host.as_str()), ("content-type", CONTENT_TYPE)].into_iter(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .map_err(|e| format!("signing: {e}"))?;
    let (instructions, _) = aws_sigv4::http_request::sign(signable, &params)
        .map_err(|e| format!("signing: {e}"))?
        .into_parts();
    instructions.apply_to_request_http1x(&mut req);
    aws_smithy_runtime_api::http::Request::try_from(req.map(SdkBody::from))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>arn:aws:sts::123456789012:user/moto</Arn>
    <UserId>AKIAIOSFODNN7EXAMPLE</UserId>
    <Account>123456789012</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>"#;

    #[test]
    fn identity_is_read_from_the_answer() {
        let id = read_answer("http://e", 200, "text/xml", OK).unwrap();
        assert_eq!(id.account, "123456789012");
        assert_eq!(id.arn, "arn:aws:sts::123456789012:user/moto");
    }

    #[test]
    fn aws_errors_keep_code_message_and_request_id() {
        // The ErrorResponse document STS sends (awsQuery protocol).
        let xml = "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error><RequestId>abc-1</RequestId></ErrorResponse>";
        let e = read_answer("http://e", 403, "text/xml", xml).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("the AWS endpoint http://e rejected GetCallerIdentity: sts GetCallerIdentity: InvalidClientTokenId: The security token included in the request is invalid. (HTTP 403, request id abc-1); {CREDENTIALS_HINT}")
        );
    }

    #[test]
    fn html_is_not_aws() {
        let e =
            read_answer("http://e", 200, "text/html", "<html><body>hi</body></html>").unwrap_err();
        assert!(
            matches!(e, PreflightError::NotAws { status: 200, .. }),
            "{e}"
        );
    }

    #[test]
    fn endpoint_is_the_override_else_regional() {
        let cfg = SdkConfig::builder()
            .region(aws_types::region::Region::new("eu-west-1"))
            .build();
        assert_eq!(sts_endpoint(&cfg), "https://sts.eu-west-1.amazonaws.com");
        let cfg = cfg
            .to_builder()
            .endpoint_url("http://127.0.0.1:4566/")
            .build();
        assert_eq!(sts_endpoint(&cfg), "http://127.0.0.1:4566");
    }
}
