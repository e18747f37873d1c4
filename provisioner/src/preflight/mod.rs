//! Why this file exists: before planning, the CLI asks the endpoint who we are (STS
//! `GetCallerIdentity`, which needs no IAM permission), so a wrong `--endpoint-url`, a harness
//! that is not running, an endpoint that accepts TCP but never answers, a web page instead of an
//! AWS API, or rejected credentials each fail in one line naming the endpoint and the likely fix,
//! within [`ANSWER_DEADLINE`] (connecting: [`CONNECT_DEADLINE`]) — instead of the SDK's retries
//! running for minutes.
//!
//! AWS throttles and fails STS like any other service, so the check runs under the one
//! transient-retry policy of every call ([`TransientRetry`], bounded by [`IDENTITY_DEADLINE`]):
//! throttling, 5xx answers (AWS's or a load balancer's page) and a connection closed before a
//! complete answer are tried again. What a retry does not change within a CLI's patience fails
//! at once: nothing listening (connection refused), an unresolvable host, no connection within
//! [`CONNECT_DEADLINE`] or no answer within [`ANSWER_DEADLINE`], a non-AWS answer. Only an error
//! code in [`CREDENTIAL_ERROR_CODES`] is reported as a credentials problem; an endpoint that
//! keeps failing is reported with its last answer. `aws-sdk-sts` would cost every cold build a crate, so
//! this is one SigV4-signed awsQuery POST (`Action=GetCallerIdentity&Version=2011-06-15`) sent
//! through the SDK's own connector, like the EC2 client.
//! Source: https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
//! ("No permissions are required to perform this operation.").

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

use crate::clients::SDK_OPERATION_TIMEOUT;
use crate::ec2::{parse_error, texts_at};

use crate::retry::{Stopped, TransientRetry};

mod connection;
mod error;
use connection::{connection_error, resolve};
pub use error::*;

/// Deadline for the whole check, every attempt and pause included: the same as every other
/// call's operation deadline ([`SDK_OPERATION_TIMEOUT`]).
pub const IDENTITY_DEADLINE: Duration = SDK_OPERATION_TIMEOUT;
/// Deadline for the credential chain (the instance-metadata provider alone may take seconds).
pub const CREDENTIALS_DEADLINE: Duration = Duration::from_secs(10);
/// STS's awsQuery API version.
pub const STS_API_VERSION: &str = "2011-06-15";

/// Who the endpoint says we are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    pub account: String,
    pub arn: String,
}

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

/// Calls STS `GetCallerIdentity` at `cfg`'s endpoint within the deadlines above, under the
/// production transient-retry policy.
pub async fn check_endpoint(cfg: &SdkConfig) -> Result<CallerIdentity, PreflightError> {
    check_endpoint_with(cfg, &TransientRetry::default(), IDENTITY_DEADLINE).await
}

/// [`check_endpoint`] with another retry policy and deadline (tests: a millisecond backoff).
pub async fn check_endpoint_with(
    cfg: &SdkConfig,
    policy: &TransientRetry,
    deadline: Duration,
) -> Result<CallerIdentity, PreflightError> {
    let endpoint = sts_endpoint(cfg);
    let region = cfg
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "us-east-1".into());
    let identity = credentials(cfg).await?;
    resolve(&endpoint).await?;
    let connector = Connector::builder()
        .connector_settings(
            HttpConnectorSettings::builder()
                .connect_timeout(CONNECT_DEADLINE)
                .build(),
        )
        .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
        .build();
    let attempt = || ask(&connector, &endpoint, &region, &identity);
    let cut_off = || PreflightError::NoAnswer {
        endpoint: endpoint.clone(),
    };
    match policy
        .retry(
            "GetCallerIdentity",
            deadline,
            attempt,
            PreflightError::is_transient,
            cut_off,
        )
        .await
    {
        Ok(who) => Ok(who),
        Err(Stopped::Final(e)) => Err(e),
        Err(Stopped::GaveUp(g)) => Err(PreflightError::KeptFailing {
            endpoint: endpoint.clone(),
            summary: g.summary(),
            last: Box::new(g.last),
        }),
    }
}

/// One signed `GetCallerIdentity` exchange, bounded by [`ANSWER_DEADLINE`].
async fn ask(
    connector: &Connector,
    endpoint: &str,
    region: &str,
    identity: &Identity,
) -> Result<CallerIdentity, PreflightError> {
    let url = format!("{endpoint}/");
    let body = format!("Action=GetCallerIdentity&Version={STS_API_VERSION}");
    // Signed per attempt: a retried request carries a fresh X-Amz-Date.
    let req = signed_request(&url, body, region, identity).map_err(|detail| {
        PreflightError::BadEndpoint {
            endpoint: endpoint.to_owned(),
            detail,
        }
    })?;
    let exchange = async {
        let resp = connector
            .call(req)
            .await
            .map_err(|e| connection_error(endpoint, &e))?;
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .unwrap_or("no content type")
            .to_owned();
        let bytes = ByteStream::new(resp.into_body())
            .collect()
            .await
            .map_err(|e| PreflightError::Lost {
                endpoint: endpoint.to_owned(),
                detail: format!("reading the answer: {e}"),
            })?
            .into_bytes();
        Ok::<_, PreflightError>((status, content_type, bytes))
    };
    let (status, content_type, bytes) = tokio::time::timeout(ANSWER_DEADLINE, exchange)
        .await
        .map_err(|_| PreflightError::NoAnswer {
            endpoint: endpoint.to_owned(),
        })??;
    read_answer(
        endpoint,
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
        let answer = AwsAnswer {
            endpoint: endpoint.to_owned(),
            status,
            code: err.code,
            message: err.message,
            request_id: texts_at(text, &["RequestId"]).into_iter().next(),
        };
        return Err(if CREDENTIAL_ERROR_CODES.contains(&answer.code.as_str()) {
            PreflightError::Rejected(answer)
        } else {
            PreflightError::Failed(answer)
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
