//! The table parses, its generated constants name the right services, and the REST router
//! follows botocore's precedence.

use super::*;

fn route(s: Service, method: &str, path: &str, query: &str) -> Option<(&'static str, Labels)> {
    s.route(method, path, query, &|_| false)
        .map(|(op, labels, _)| (op.name(), labels))
}

#[test]
fn parses_and_constants_match_names() {
    assert!(Service::count() > 400, "{}", Service::count());
    assert!(Operation::count() > 18_000);
    assert!(Service::table_version().starts_with("1."));
    for (s, name) in [
        (Service::ECS, "ecs"),
        (Service::ECR, "ecr"),
        (Service::LOGS, "logs"),
        (Service::IAM, "iam"),
        (Service::STS, "sts"),
        (Service::EC2, "ec2"),
        (Service::S3, "s3"),
        (Service::LAMBDA, "lambda"),
        (Service::APIGATEWAY, "apigateway"),
    ] {
        assert_eq!(s.name(), name);
    }
    for s in Service::all() {
        for op in s.operations() {
            assert_eq!(op.service(), s);
            assert_eq!(s.operation(op.name()), Some(op));
        }
    }
}

#[test]
fn the_pin_is_the_foreign_clients_one() {
    // The table is generated from the botocore of the foreign-client pins; a bumped pin needs
    // `just gen-operations` (the harness corpus test checks the content itself).
    let req = include_str!("../../../../harness/tests/foreign_clients/requirements.txt");
    let pin = req
        .lines()
        .find_map(|l| l.strip_prefix("botocore=="))
        .expect("a botocore pin");
    assert_eq!(Service::table_version(), pin.trim());
}

#[test]
fn service_facts() {
    assert_eq!(
        Service::ECS.target_prefix(),
        Some("AmazonEC2ContainerServiceV20141113")
    );
    assert_eq!(Service::ECS.json_version(), Some("1.1"));
    assert_eq!(Service::IAM.query_version(), Some("2010-05-08"));
    assert_eq!(
        Service::STS.query_namespace(),
        Some("https://sts.amazonaws.com/doc/2011-06-15/")
    );
    assert_eq!(Service::EC2.protocol(), Protocol::Ec2Query);
    assert_eq!(Service::S3.protocol(), Protocol::RestXml);
    assert_eq!(Service::CLOUDWATCH.protocol(), Protocol::RpcV2Cbor);
    assert!(Service::SQS.query_compatible());
    assert_eq!(Service::for_scope("monitoring"), [Service::CLOUDWATCH]);
    assert_eq!(Service::for_scope("s3")[0], Service::S3);
    let e = Service::S3.error("NoSuchBucket").unwrap();
    assert_eq!((e.code, e.status), ("NoSuchBucket", 404));
}

#[test]
fn s3_precedence() {
    let s3 = Service::S3;
    assert_eq!(route(s3, "GET", "/", "").unwrap().0, "ListBuckets");
    assert_eq!(
        route(s3, "GET", "/b", "policy").unwrap().0,
        "GetBucketPolicy"
    );
    assert_eq!(
        route(s3, "GET", "/b", "list-type=2").unwrap().0,
        "ListObjectsV2"
    );
    assert_eq!(route(s3, "GET", "/b", "").unwrap().0, "ListObjects");
    let (op, labels) = route(s3, "GET", "/b/a/b%20c.txt", "x-id=GetObject").unwrap();
    assert_eq!(op, "GetObject");
    assert_eq!(labels.get("Bucket"), Some("b"));
    assert_eq!(labels.get("Key"), Some("a/b c.txt"));
    assert_eq!(route(s3, "GET", "/b/k", "").unwrap().0, "GetObject");
    assert_eq!(route(s3, "GET", "/b/k", "acl").unwrap().0, "GetObjectAcl");
    assert_eq!(
        route(s3, "GET", "/b/k", "uploadId=1").unwrap().0,
        "ListParts"
    );
    assert_eq!(route(s3, "PUT", "/b/k", "").unwrap().0, "PutObject");
    assert_eq!(
        route(s3, "PUT", "/b/k", "x-id=PutObject").unwrap().0,
        "PutObject"
    );
    assert_eq!(
        route(s3, "PUT", "/b/k", "partNumber=1&uploadId=2")
            .unwrap()
            .0,
        "UploadPart"
    );
    let copy = s3.route("PUT", "/b/k", "", &|h| h == "x-amz-copy-source");
    assert_eq!(copy.unwrap().0.name(), "CopyObject");
    assert_eq!(route(s3, "PATCH", "/b", ""), None);
}

#[test]
fn greedy_label_mid_path_and_literals_first() {
    let (op, labels) = route(
        Service::S3CONTROL,
        "GET",
        "/v20180820/mrap/instances/a/b/policy",
        "",
    )
    .unwrap();
    assert_eq!(op, "GetMultiRegionAccessPointPolicy");
    assert_eq!(labels.get("name"), Some("a/b"));
    let (op, labels) = route(
        Service::LAMBDA,
        "POST",
        "/2015-03-31/functions/f/invocations",
        "",
    )
    .unwrap();
    assert_eq!(op, "Invoke");
    assert_eq!(labels.get("FunctionName"), Some("f"));
    assert_eq!(
        route(Service::LAMBDA, "GET", "/2015-03-31/functions/", "")
            .unwrap()
            .0,
        "ListFunctions"
    );
    assert_eq!(
        route(Service::APIGATEWAY, "GET", "/restapis", "")
            .unwrap()
            .0,
        "GetRestApis"
    );
}

#[test]
fn twins_are_classified_as_one_canonical_operation() {
    let docdb = Service::DOCDB.operation("CreateDBCluster").unwrap();
    let rds = Service::RDS.operation("CreateDBCluster").unwrap();
    assert_eq!(docdb.canonical(), rds);
    assert_eq!(rds.canonical(), rds);
    assert!(docdb.twins().contains(&docdb) && docdb.twins()[0] == rds);
    // Within a service, the deprecated operation yields to its successor.
    let old = Service::S3.operation("GetBucketLifecycle").unwrap();
    assert!(old.deprecated());
    assert_eq!(old.canonical().name(), "GetBucketLifecycleConfiguration");
    assert_eq!(
        route(Service::S3, "GET", "/b", "lifecycle").unwrap().0,
        "GetBucketLifecycleConfiguration"
    );
    let ecs = Service::ECS.operation("CreateCluster").unwrap();
    assert_eq!((ecs.canonical(), ecs.twins()), (ecs, &[][..]));
}
