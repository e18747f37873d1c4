//! Classification tests: one request per protocol, scopes, malformed input.

use super::*;
use http::HeaderValue;

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(
            http::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

const AUTH_ECS: &str = "AWS4-HMAC-SHA256 Credential=123456789012/20240101/ap-northeast-1/ecs/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcdef";

#[test]
fn awsjson_ecs_request() {
    let h = headers(&[
        ("authorization", AUTH_ECS),
        (
            "x-amz-target",
            "AmazonEC2ContainerServiceV20141113.CreateCluster",
        ),
    ]);
    let info = classify(&Method::POST, &"/".parse().unwrap(), &h, b"{}");
    assert_eq!(info.account.as_deref(), Some("123456789012"));
    assert_eq!(info.region.as_deref(), Some("ap-northeast-1"));
    assert_eq!(info.service_name(), Some("ecs"));
    assert_eq!(info.operation_name(), Some("CreateCluster"));
    assert_eq!(info.protocol, Protocol::AwsJson);
}

#[test]
fn ecr_and_logs_targets_map_to_services_without_scope() {
    let h = headers(&[(
        "x-amz-target",
        "AmazonEC2ContainerRegistry_V20150921.SetRepositoryPolicy",
    )]);
    let info = classify(&Method::POST, &"/".parse().unwrap(), &h, b"");
    assert_eq!(info.service_name(), Some("ecr"));
    assert_eq!(info.operation_name(), Some("SetRepositoryPolicy"));
    assert_eq!(info.account, None);
    let h = headers(&[("x-amz-target", "Logs_20140328.CreateLogGroup")]);
    let info = classify(&Method::POST, &"/".parse().unwrap(), &h, b"");
    assert_eq!(info.service_name(), Some("logs"));
}

#[test]
fn query_protocols() {
    let h = headers(&[
        ("content-type", "application/x-www-form-urlencoded; charset=utf-8"),
        (
            "authorization",
            "AWS4-HMAC-SHA256 Credential=210987654321/20240101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00",
        ),
    ]);
    let info = classify(
        &Method::POST,
        &"/".parse().unwrap(),
        &h,
        b"Action=GetRole&Version=2010-05-08&RoleName=x",
    );
    assert_eq!(info.service_name(), Some("iam"));
    assert_eq!(info.operation_name(), Some("GetRole"));
    assert_eq!(info.protocol, Protocol::Query);
    assert_eq!(info.account.as_deref(), Some("210987654321"));

    let h = headers(&[("content-type", "application/x-www-form-urlencoded")]);
    let info = classify(
        &Method::POST,
        &"/".parse().unwrap(),
        &h,
        b"Action=DescribeVpcs&Version=2016-11-15",
    );
    assert_eq!(info.service_name(), Some("ec2"));
    assert_eq!(info.protocol, Protocol::Ec2Query);
}

#[test]
fn non_numeric_access_key_is_not_an_account() {
    let h = headers(&[(
        "authorization",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/sts/aws4_request, Signature=1",
    )]);
    let info = classify(&Method::POST, &"/".parse().unwrap(), &h, b"");
    assert_eq!(info.account, None);
    assert_eq!(info.service_name(), Some("sts"));
    assert_eq!(info.operation, None);
}

#[test]
fn malformed_inputs_do_not_panic() {
    for auth in [
        "",
        "Credential=",
        "Credential=a/b",
        "Credential=////",
        "Credential=1/2/3/4/aws4_request/extra",
        "AWS4-HMAC-SHA256 Credential=\u{7f}",
    ] {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(auth) {
            h.insert("authorization", v);
        }
        h.insert("x-amz-target", HeaderValue::from_static("..."));
        let _ = classify(
            &Method::POST,
            &"/".parse().unwrap(),
            &h,
            &[0xff, 0xfe, b'=', b'&'],
        );
    }
    let mut h = HeaderMap::new();
    h.insert(
        "content-type",
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    let info = classify(
        &Method::POST,
        &"/".parse().unwrap(),
        &h,
        &[0xff, b'%', b'=', 0x00],
    );
    assert_eq!(info.operation, None);
    let info = classify(
        &Method::POST,
        &"/".parse().unwrap(),
        &h,
        b"Action=Drop%20Table&Version=x",
    );
    assert_eq!(info.operation, None, "operation names are alphanumeric");
}

#[test]
fn scope_parsing() {
    assert_eq!(
        scope_from_authorization(AUTH_ECS.as_bytes()),
        Some(CredentialScope {
            access_key: "123456789012",
            region: "ap-northeast-1",
            service: "ecs"
        })
    );
    let q = "X-Amz-Credential=123456789012%2F20240101%2Fus-east-1%2Fec2%2Faws4_request&Action=DescribeVpcs";
    let info = classify(
        &Method::GET,
        &format!("/?{q}").parse().unwrap(),
        &HeaderMap::new(),
        b"",
    );
    assert_eq!(info.service_name(), Some("ec2"));
    assert_eq!(info.operation_name(), Some("DescribeVpcs"));
    assert_eq!(info.account.as_deref(), Some("123456789012"));
}

fn signed(service: &str) -> String {
    format!("AWS4-HMAC-SHA256 Credential=123456789012/20240101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0")
}

fn rest(method: Method, uri: &str, pairs: &[(&str, &str)]) -> RequestInfo {
    classify(&method, &uri.parse().unwrap(), &headers(pairs), b"")
}

#[test]
fn s3_path_style_virtual_hosted_and_sub_resources() {
    let auth = signed("s3");
    let h = [("authorization", auth.as_str()), ("host", "127.0.0.1:4566")];
    let info = rest(Method::PUT, "/bucket/dir/key.txt?x-id=PutObject", &h);
    assert_eq!(info.service, Some(Service::S3));
    assert_eq!(info.operation_name(), Some("PutObject"));
    assert_eq!(info.protocol, Protocol::RestXml);
    assert_eq!(info.label("Bucket"), Some("bucket"));
    assert_eq!(info.label("Key"), Some("dir/key.txt"));
    let info = rest(Method::GET, "/bucket?policy", &h);
    assert_eq!(info.operation_name(), Some("GetBucketPolicy"));
    let info = rest(Method::GET, "/", &h);
    assert_eq!(info.operation_name(), Some("ListBuckets"));

    for host in [
        "bucket.localhost:4566",
        "bucket.s3.us-east-1.amazonaws.com",
        "bucket.s3.localhost.localstack.cloud:4566",
    ] {
        let h = [("authorization", auth.as_str()), ("host", host)];
        let info = rest(Method::GET, "/dir/key.txt", &h);
        assert_eq!(info.operation_name(), Some("GetObject"), "{host}");
        assert_eq!(info.label("Bucket"), Some("bucket"), "{host}");
        assert_eq!(info.label("Key"), Some("dir/key.txt"), "{host}");
        let info = rest(Method::GET, "/?list-type=2", &h);
        assert_eq!(info.operation_name(), Some("ListObjectsV2"), "{host}");
    }
    // s3control shares the signing name; its literal path segments win.
    let h = [
        ("authorization", auth.as_str()),
        ("host", "123456789012.localhost:4566"),
        ("x-amz-account-id", "123456789012"),
    ];
    let info = rest(
        Method::GET,
        "/v20180820/configuration/publicAccessBlock",
        &h,
    );
    assert_eq!(info.service, Some(Service::S3CONTROL));
    assert_eq!(info.operation_name(), Some("GetPublicAccessBlock"));
}

#[test]
fn rest_json_services() {
    let auth = signed("lambda");
    let h = [("authorization", auth.as_str())];
    let info = rest(Method::GET, "/2015-03-31/functions/", &h);
    assert_eq!(info.operation_name(), Some("ListFunctions"));
    assert_eq!(info.protocol, Protocol::RestJson);
    let info = rest(Method::GET, "/2015-03-31/functions/my-fn", &h);
    assert_eq!(info.operation_name(), Some("GetFunction"));
    assert_eq!(info.label("FunctionName"), Some("my-fn"));
    let auth = signed("apigateway");
    let h = [("authorization", auth.as_str())];
    assert_eq!(
        rest(Method::GET, "/restapis", &h).operation,
        Service::APIGATEWAY.operation("GetRestApis")
    );
    assert_eq!(
        rest(Method::GET, "/v2/apis", &h).operation,
        Service::APIGATEWAYV2.operation("GetApis")
    );
    // An unknown path of a known service: the service, its protocol, no operation.
    let info = rest(Method::GET, "/nowhere/at/all", &h);
    assert_eq!(info.service, Some(Service::APIGATEWAY));
    assert_eq!(info.operation, None);
    assert_eq!(info.protocol, Protocol::RestJson);
}

#[test]
fn rpc_v2_cbor_and_shared_target_prefixes() {
    let auth = signed("monitoring");
    let h = [
        ("authorization", auth.as_str()),
        ("smithy-protocol", "rpc-v2-cbor"),
    ];
    let info = rest(
        Method::POST,
        "/service/GraniteServiceVersion20100801/operation/PutMetricData",
        &h,
    );
    assert_eq!(info.service, Some(Service::CLOUDWATCH));
    assert_eq!(info.operation_name(), Some("PutMetricData"));
    assert_eq!(info.protocol, Protocol::RpcV2Cbor);
    // timestream-query and timestream-write share a target prefix and a signing name.
    let auth = signed("timestream");
    for (op, svc) in [
        ("WriteRecords", Service::TIMESTREAM_WRITE),
        ("Query", Service::TIMESTREAM_QUERY),
    ] {
        let target = format!("Timestream_20181101.{op}");
        let h = headers(&[("authorization", &auth), ("x-amz-target", &target)]);
        let info = classify(&Method::POST, &"/".parse().unwrap(), &h, b"{}");
        assert_eq!(info.service, Some(svc), "{op}");
        assert_eq!(info.operation_name(), Some(op));
    }
}

#[test]
fn query_services_sharing_a_signing_name() {
    let auth = signed("elasticloadbalancing");
    let h = headers(&[
        ("authorization", &auth),
        ("content-type", "application/x-www-form-urlencoded"),
    ]);
    let body = b"Action=DescribeLoadBalancers&Version=2015-12-01";
    let info = classify(&Method::POST, &"/".parse().unwrap(), &h, body);
    assert_eq!(info.service, Some(Service::ELBV2));
    let body = b"Action=DescribeLoadBalancers&Version=2012-06-01";
    let info = classify(&Method::POST, &"/".parse().unwrap(), &h, body);
    assert_eq!(info.service, Some(Service::ELB));
    assert_eq!(info.operation_name(), Some("DescribeLoadBalancers"));
}

#[test]
fn sigv4a_scope_names_the_service_but_no_region() {
    let h = headers(&[(
        "authorization",
        "AWS4-ECDSA-P256-SHA256 Credential=123456789012/20240101/cloudfront-keyvaluestore/aws4_request, SignedHeaders=host;x-amz-region-set, Signature=00",
    )]);
    let info = classify(
        &Method::GET,
        &"/key-value-stores/arn%3Aaws%3Acloudfront%3A%3A123456789012%3Akey-value-store%2Fk/keys"
            .parse()
            .unwrap(),
        &h,
        b"",
    );
    assert_eq!(info.service, Some(Service::CLOUDFRONT_KEYVALUESTORE));
    assert_eq!(info.operation_name(), Some("ListKeys"));
    assert_eq!(info.region, None);
    assert_eq!(info.account.as_deref(), Some("123456789012"));
}
