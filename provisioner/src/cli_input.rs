//! Why this file exists: the values a user types or exports (`--endpoint-url` /
//! `AWS_ENDPOINT_URL`, `--region` / `AWS_REGION`) are checked before any AWS client is built, so
//! a typo is one [`BadInput`] line naming the flag, the value and the expected form, instead of an
//! SDK endpoint-resolution error after a connection attempt.

use crate::user_error::BadInput;

/// `url` is an absolute `http://` or `https://` URL with a host (and optionally a port and path).
pub fn check_endpoint_url(flag: &str, url: &str) -> Result<(), BadInput> {
    let bad = |why: &str| {
        BadInput(format!(
            "{flag}: `{url}` is not an endpoint URL ({why}); expected http(s)://HOST[:PORT], e.g. http://127.0.0.1:4566"
        ))
    };
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| bad("it must start with http:// or https://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return Err(bad("no host"));
    }
    let uri: http::Uri = url.parse().map_err(|_| bad("not a valid URL"))?;
    let host = uri.host().unwrap_or_default();
    if host.is_empty() {
        return Err(bad("no host"));
    }
    if authority.ends_with(':') || uri.port().is_some_and(|p| p.as_u16() == 0) {
        return Err(bad("no valid port"));
    }
    Ok(())
}

/// Partition prefixes of AWS region names (`us`, `eu`, `ap`, ...), from AWS's region list.
/// Source: https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-regions.html
const REGION_AREAS: &[&str] = &["af", "ap", "ca", "cn", "eu", "il", "me", "mx", "sa", "us"];

/// Direction words of AWS region names (`ap-northeast-1`, `us-gov-west-1`, `eu-central-2`).
/// Source: https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-regions.html
const REGION_DIRECTIONS: &[&str] = &[
    "central",
    "north",
    "northeast",
    "northwest",
    "south",
    "southeast",
    "southwest",
    "east",
    "west",
];

/// `region` has the shape of an AWS region name: AREA[-gov|-iso|-isob|-isof|-isoe]-DIRECTION-N,
/// e.g. `ap-northeast-1`, `us-gov-west-1`. A real region unknown to this list is accepted as
/// long as it has that shape.
pub fn check_region(flag: &str, region: &str) -> Result<(), BadInput> {
    if region_shaped(region) {
        return Ok(());
    }
    Err(BadInput(format!(
        "{flag}: `{region}` is not an AWS region name; expected e.g. ap-northeast-1, us-east-1, eu-west-1 (see https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-regions.html)"
    )))
}

fn region_shaped(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let (area, middle, number) = match parts.as_slice() {
        [area, direction, n] => (*area, vec![*direction], *n),
        [area, scope, direction, n] => (*area, vec![*scope, *direction], *n),
        _ => return false,
    };
    let scope_ok = match middle.as_slice() {
        [_] => true,
        [scope, _] => ["gov", "iso", "isob", "isoe", "isof"].contains(scope),
        _ => false,
    };
    REGION_AREAS.contains(&area)
        && scope_ok
        && middle.last().is_some_and(|d| REGION_DIRECTIONS.contains(d))
        && !number.is_empty()
        && number.len() <= 2
        && number.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_urls() {
        for ok in [
            "http://127.0.0.1:4566",
            "https://sts.eu-west-1.amazonaws.com",
            "http://localhost:4566/",
            "http://[::1]:5000",
        ] {
            assert!(check_endpoint_url("--endpoint-url", ok).is_ok(), "{ok}");
        }
        let e = check_endpoint_url("--endpoint-url", "notaurl").unwrap_err();
        assert_eq!(
            e.0,
            "--endpoint-url: `notaurl` is not an endpoint URL (it must start with http:// or https://); expected http(s)://HOST[:PORT], e.g. http://127.0.0.1:4566"
        );
        for bad in [
            "ftp://x",
            "http://",
            "http://:80",
            "http://h:",
            "http://h:0",
            "127.0.0.1:4566",
        ] {
            assert!(check_endpoint_url("--endpoint-url", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn regions() {
        for ok in [
            "ap-northeast-1",
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "cn-north-1",
            "il-central-1",
            "mx-central-1",
            "us-isob-east-1",
        ] {
            assert!(check_region("--region", ok).is_ok(), "{ok}");
        }
        for bad in [
            "tokyo",
            "ap-northeast",
            "AP-NORTHEAST-1",
            "ap-north-east-1",
            "xx-east-1",
            "us-east-1a",
            "",
        ] {
            assert!(check_region("--region", bad).is_err(), "{bad}");
        }
    }
}
