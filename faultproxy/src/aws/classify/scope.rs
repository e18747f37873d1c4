//! The SigV4 credential scope (`AKID/date/region/service/aws4_request`) of a request, from its
//! `Authorization` header or a presigned URL's `X-Amz-Credential`, borrowed, never logged.

/// The parts of a SigV4 credential scope the proxy uses, borrowed from the request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct CredentialScope<'a> {
    pub access_key: &'a str,
    pub region: &'a str,
    pub service: &'a str,
}

/// Parses `AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/ecs/aws4_request, ...` (the
/// header's bytes: only the credential itself has to be text).
pub(crate) fn scope_from_authorization(value: &[u8]) -> Option<CredentialScope<'_>> {
    const KEY: &[u8] = b"Credential=";
    // The SDKs put the credential right after the algorithm; anything else is searched for.
    let rest = match value.strip_prefix(b"AWS4-HMAC-SHA256 Credential=".as_slice()) {
        Some(rest) => rest,
        None => {
            let at = value.windows(KEY.len()).position(|w| w == KEY)?;
            &value[at + KEY.len()..]
        }
    };
    let end = rest
        .iter()
        .position(|&b| b == b',' || b.is_ascii_whitespace())
        .unwrap_or(rest.len());
    let credential = &rest[..end];
    if !credential.iter().all(u8::is_ascii_graphic) {
        return None;
    }
    parse_scope(std::str::from_utf8(credential).ok()?)
}

/// The decoded `X-Amz-Credential` of a presigned URL's query.
pub(super) fn presigned_credential(query: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "X-Amz-Credential")
        .map(|(_, v)| v.into_owned())
}

/// `AKID/date/region/service/aws4_request` (SigV4), or `AKID/date/service/aws4_request` (SigV4a,
/// `AWS4-ECDSA-P256-SHA256`, whose scope names no region: the region set is a header). One byte
/// scan, no searcher per part.
pub(super) fn parse_scope(credential: &str) -> Option<CredentialScope<'_>> {
    let mut cuts = [0usize; 4];
    let mut n = 0;
    for (i, &b) in credential.as_bytes().iter().enumerate() {
        if b == b'/' {
            *cuts.get_mut(n)? = i;
            n += 1;
        }
    }
    if n < 3 || &credential[cuts[n - 1] + 1..] != "aws4_request" {
        return None;
    }
    let region = if n == 4 {
        &credential[cuts[1] + 1..cuts[2]]
    } else {
        ""
    };
    Some(CredentialScope {
        access_key: &credential[..cuts[0]],
        region,
        service: &credential[cuts[n - 2] + 1..cuts[n - 1]],
    })
}

/// A 12-digit account number.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}
