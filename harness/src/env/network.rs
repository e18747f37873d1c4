//! Why this file exists: an ECS Fargate service needs subnets and a security group, and moto
//! insists on both (no security group: HTTP 500). Every account on moto has a default VPC with
//! a subnet per availability zone and a `default` security group, so the harness looks those
//! up and hands them to tests.
//!
//! The lookups are three EC2 Query calls sent through the test's proxy as plain form POSTs
//! (the SDK for EC2 would add minutes to a cold build). They carry a SigV4-shaped
//! `Authorization` header whose access key id is the account and whose signature is a
//! placeholder: the proxy reads account, region and service from it, and neither it nor moto
//! verifies signatures. Do not point this at real AWS.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, bail, Context};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use quick_xml::events::Event;

/// EC2 Query API version.
const EC2_VERSION: &str = "2016-11-15";

/// Attempts per call: the proxy may inject throttling or 5xx faults into EC2 calls too.
const ATTEMPTS: u32 = 5;

/// The default VPC of one account and region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    pub vpc_id: String,
    /// Subnet ids of the default VPC, sorted by availability zone.
    pub subnets: Vec<String>,
    /// The default VPC's `default` security group (one id).
    pub security_groups: Vec<String>,
}

/// Looks up the default VPC, its subnets and its default security group.
pub async fn default_network(
    endpoint_url: &str,
    account_id: &str,
    region: &str,
) -> anyhow::Result<Network> {
    let ec2 = QueryClient::new(endpoint_url, account_id, region);
    let vpcs = ec2
        .call(
            "DescribeVpcs",
            &[("isDefault", "true")],
            "vpcSet",
            &["vpcId"],
        )
        .await?;
    let vpc_id = vpcs
        .first()
        .and_then(|v| v.get("vpcId").cloned())
        .ok_or_else(|| anyhow!("account {account_id} has no default VPC in {region}"))?;
    let mut subnets = ec2
        .call(
            "DescribeSubnets",
            &[("vpc-id", vpc_id.as_str())],
            "subnetSet",
            &["subnetId", "availabilityZone"],
        )
        .await?;
    subnets.sort_by(|a, b| a.get("availabilityZone").cmp(&b.get("availabilityZone")));
    let subnets: Vec<String> = subnets
        .into_iter()
        .filter_map(|mut s| s.remove("subnetId"))
        .collect();
    if subnets.is_empty() {
        bail!("default VPC {vpc_id} of account {account_id} has no subnets in {region}");
    }
    let groups = ec2
        .call(
            "DescribeSecurityGroups",
            &[("group-name", "default"), ("vpc-id", vpc_id.as_str())],
            "securityGroupInfo",
            &["groupId"],
        )
        .await?;
    let security_groups: Vec<String> = groups
        .into_iter()
        .filter_map(|mut g| g.remove("groupId"))
        .collect();
    if security_groups.is_empty() {
        bail!("default VPC {vpc_id} of account {account_id} has no default security group");
    }
    Ok(Network {
        vpc_id,
        subnets,
        security_groups,
    })
}

struct QueryClient {
    url: String,
    account_id: String,
    region: String,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

impl QueryClient {
    fn new(endpoint_url: &str, account_id: &str, region: &str) -> QueryClient {
        QueryClient {
            url: format!("{}/", endpoint_url.trim_end_matches('/')),
            account_id: account_id.to_string(),
            region: region.to_string(),
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// Calls `action` with `filters` and returns, for each `<item>` of `<set>`, the text of the
    /// requested child elements.
    async fn call(
        &self,
        action: &str,
        filters: &[(&str, &str)],
        set: &str,
        fields: &[&str],
    ) -> anyhow::Result<Vec<HashMap<String, String>>> {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("Action", action)
            .append_pair("Version", EC2_VERSION);
        for (i, (name, value)) in filters.iter().enumerate() {
            form.append_pair(&format!("Filter.{}.Name", i + 1), name)
                .append_pair(&format!("Filter.{}.Value.1", i + 1), value);
        }
        let body = form.finish();
        let mut last = String::new();
        for attempt in 1..=ATTEMPTS {
            let (status, text) = self
                .post(&body)
                .await
                .with_context(|| format!("EC2 {action} via {}", self.url))?;
            if status == 200 {
                return items(&text, set, fields)
                    .with_context(|| format!("parsing EC2 {action} response"));
            }
            let (code, message) =
                ec2_error(&text).unwrap_or_else(|| (format!("HTTP {status}"), text.clone()));
            last = format!("{action}: {code}: {message}");
            let retryable =
                status >= 500 || code.contains("Throttl") || code == "RequestLimitExceeded";
            if !retryable {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
        }
        Err(anyhow!(last))
    }

    async fn post(&self, body: &str) -> anyhow::Result<(u16, String)> {
        let now = amz_date(SystemTime::now());
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential={}/{}/{}/ec2/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature={}",
            self.account_id,
            &now[..8],
            self.region,
            "0".repeat(64)
        );
        let request = http::Request::post(self.url.as_str())
            .header(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )
            .header("x-amz-date", &now)
            .header("authorization", authorization)
            .body(Full::new(Bytes::from(body.to_string())))?;
        let response = tokio::time::timeout(Duration::from_secs(30), self.client.request(request))
            .await
            .map_err(|_| anyhow!("no answer within 30 s"))??;
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await?.to_bytes();
        Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
    }
}

/// `20260102T030405Z`.
fn amz_date(now: SystemTime) -> String {
    let rfc = humantime::format_rfc3339_seconds(now).to_string(); // 2026-01-02T03:04:05Z
    rfc.chars().filter(|c| *c != '-' && *c != ':').collect()
}

/// For each `<item>` directly inside an element named `set`, the text of its direct children
/// named in `fields` (nested items of other sets are ignored).
fn items(xml: &str, set: &str, fields: &[&str]) -> anyhow::Result<Vec<HashMap<String, String>>> {
    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<String> = Vec::new();
    let mut current: Option<HashMap<String, String>> = None;
    let mut out = Vec::new();
    loop {
        match reader.read_event()? {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                stack.push(name);
                if ends_with(&stack, &[set, "item"]) {
                    current = Some(HashMap::new());
                }
            }
            Event::Text(t) => {
                let n = stack.len();
                if n >= 3
                    && stack[n - 3] == set
                    && stack[n - 2] == "item"
                    && fields.contains(&stack[n - 1].as_str())
                {
                    if let Some(item) = current.as_mut() {
                        item.insert(stack[n - 1].clone(), t.unescape()?.into_owned());
                    }
                }
            }
            Event::End(_) => {
                if ends_with(&stack, &[set, "item"]) {
                    if let Some(item) = current.take() {
                        out.push(item);
                    }
                }
                stack.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

fn ends_with(stack: &[String], tail: &[&str]) -> bool {
    stack.len() >= tail.len()
        && stack[stack.len() - tail.len()..]
            .iter()
            .zip(tail)
            .all(|(a, b)| a == b)
}

/// `(Code, Message)` of an EC2 error document (`<Response><Errors><Error>...`).
fn ec2_error(xml: &str) -> Option<(String, String)> {
    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<String> = Vec::new();
    let (mut code, mut message) = (None, String::new());
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) => {
                stack.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned())
            }
            Event::End(_) => {
                stack.pop();
            }
            Event::Text(t) => {
                let text = t.unescape().ok()?.into_owned();
                if ends_with(&stack, &["Error", "Code"]) {
                    code = Some(text);
                } else if ends_with(&stack, &["Error", "Message"]) {
                    message = text;
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    code.map(|c| (c, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_direct_items_only() {
        let xml = r#"<?xml version="1.0"?><DescribeSecurityGroupsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15"><securityGroupInfo><item><groupId>sg-1</groupId><ipPermissionsEgress><item><groups><item><groupId>sg-nested</groupId></item></groups></item></ipPermissionsEgress><groupName>default</groupName></item></securityGroupInfo></DescribeSecurityGroupsResponse>"#;
        let got = items(xml, "securityGroupInfo", &["groupId", "groupName"]).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0]["groupId"], "sg-1");
        assert_eq!(got[0]["groupName"], "default");
    }

    #[test]
    fn parses_errors() {
        let xml = "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>slow down</Message></Error></Errors><RequestID>x</RequestID></Response>";
        assert_eq!(
            ec2_error(xml),
            Some(("RequestLimitExceeded".into(), "slow down".into()))
        );
        assert_eq!(ec2_error("<ok/>"), None);
    }

    #[test]
    fn amz_date_format() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_323_045); // 2026-01-02T03:04:05Z
        assert_eq!(amz_date(t), "20260102T030405Z");
    }
}
