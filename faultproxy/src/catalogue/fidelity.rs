//! Fidelity rows: where the emulator answers a situation with a different error than AWS, the
//! proxy rewrites the emulator's answer into AWS's (code, message, status), so clients and their
//! retry logic see what they would see on AWS. Not windowed: a row that is on always rewrites.

use std::sync::LazyLock;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::FutureExt;

use super::row_spec;
use super::rows::{EC2_PROFILE_ARN, EC2_PROFILE_NAME, EC2_UG};
use crate::aws::{Operation, Service};
use crate::classify::form_param;
use crate::journal::{FaultKind, InjectedFault};
use crate::models::{
    xml_element, Model, ModelAnswer, ModelCx, ModelId, ModelSettings, ModelSpec, UpstreamAnswer,
};
use crate::wire::{self, AwsError};
use serde::Serialize;

/// The emulator's answer `(status, code)` to (`service`, `operation`) becomes AWS's error; the
/// message's `{value}` is the request's `field`.
#[derive(Debug, Serialize)]
pub struct FidelityRow {
    pub spec: ModelSpec,
    #[serde(serialize_with = "super::ser_service")]
    pub service: Service,
    pub operation: &'static str,
    /// The request parameter whose value the message names (the row applies only when present).
    pub field: &'static str,
    pub emulator_status: u16,
    pub emulator_code: &'static str,
    pub status: u16,
    pub code: &'static str,
    pub message: &'static str,
    pub exception: Option<&'static str>,
    pub evidence: &'static str,
}

/// moto 5.x validates the instance profile of RunInstances and answers `NoSuchEntity` 404
/// `Instance profile <x> not found` (moto/ec2/utils.py `filter_iam_instance_profiles`); AWS
/// answers `InvalidParameterValue` 400 (terraform-provider-aws internal/service/ec2/ec2_instance.go
/// retries exactly that).
pub const FIDELITY_ROWS: &[FidelityRow] = &[
    FidelityRow {
        spec: row_spec!("ec2-run-instances-missing-profile-name", 0..0, EC2_UG),
        service: Service::EC2,
        operation: "RunInstances",
        field: "IamInstanceProfile.Name",
        emulator_status: 404,
        emulator_code: "NoSuchEntity",
        status: 400,
        code: "InvalidParameterValue",
        message: EC2_PROFILE_NAME,
        exception: None,
        evidence: "moto/ec2/utils.py filter_iam_instance_profiles (NoSuchEntity 404); terraform-provider-aws internal/service/ec2/ec2_instance.go (InvalidParameterValue \"Invalid IAM Instance Profile\")",
    },
    FidelityRow {
        spec: row_spec!("ec2-run-instances-missing-profile-arn", 0..0, EC2_UG),
        service: Service::EC2,
        operation: "RunInstances",
        field: "IamInstanceProfile.Arn",
        emulator_status: 404,
        emulator_code: "NoSuchEntity",
        status: 400,
        code: "InvalidParameterValue",
        message: EC2_PROFILE_ARN,
        exception: None,
        evidence: "moto/ec2/utils.py filter_iam_instance_profiles (NoSuchEntity 404); terraform-provider-aws internal/service/ec2/ec2_instance.go (InvalidParameterValue \"Invalid IAM Instance Profile\")",
    },
];

static INDEX: LazyLock<Vec<Box<[u16]>>> = LazyLock::new(|| {
    let mut rows = vec![Vec::new(); Operation::count()];
    for (i, r) in FIDELITY_ROWS.iter().enumerate() {
        let op = r.service.operation(r.operation).unwrap_or_else(|| {
            panic!(
                "row {}: {} has no operation {}",
                r.spec.name, r.service, r.operation
            )
        });
        rows[op.index()].push(i as u16);
    }
    rows.into_iter().map(Vec::into_boxed_slice).collect()
});

/// Runs the fidelity rows; `first` is the id of the first row.
pub(crate) struct FidelityEngine {
    first: ModelId,
}

impl FidelityEngine {
    pub fn new(first: ModelId) -> FidelityEngine {
        FidelityEngine { first }
    }

    fn on(&self, settings: &ModelSettings, row: u16) -> bool {
        settings.on(self.first.nth(usize::from(row)))
    }
}

impl Model for FidelityEngine {
    fn operations(&self) -> Vec<Operation> {
        FIDELITY_ROWS
            .iter()
            .filter_map(|r| r.service.operation(r.operation))
            .collect()
    }

    fn wants(&self, info: &crate::classify::RequestInfo, settings: &ModelSettings) -> bool {
        info.operation
            .is_some_and(|op| INDEX[op.index()].iter().any(|&r| self.on(settings, r)))
    }

    fn before<'a>(&'a self, _cx: &'a ModelCx<'a>) -> BoxFuture<'a, Option<ModelAnswer>> {
        async { None }.boxed()
    }

    fn after<'a>(&'a self, _cx: &'a ModelCx<'a>, _status: u16) -> BoxFuture<'a, ()> {
        async {}.boxed()
    }

    fn on_answer(&self, cx: &ModelCx<'_>, answer: &mut UpstreamAnswer) -> Option<InjectedFault> {
        let op = cx.info.operation?;
        for &r in INDEX[op.index()].iter() {
            if !self.on(&cx.settings, r) {
                continue;
            }
            let row = &FIDELITY_ROWS[usize::from(r)];
            if answer.status != row.emulator_status {
                continue;
            }
            let Some(value) = form_param(cx.body, row.field) else {
                continue;
            };
            let code = std::str::from_utf8(&answer.body)
                .ok()
                .and_then(|xml| xml_element(xml, "Code"));
            if code != Some(row.emulator_code) {
                continue;
            }
            let err = AwsError::new(row.status, row.code, row.message.replace("{value}", &value));
            let resp = wire::error_response(cx.info.protocol, cx.info.service, &err);
            answer.status = row.status;
            answer.body = wire_body(resp);
            return Some(InjectedFault {
                rule: row.spec.rule.to_string(),
                kind: FaultKind::Error,
                message: Some(err.message.clone()),
                code: Some(err.code),
            });
        }
        None
    }

    fn reset(&self) {}
}

/// The body of a buffered error response (`Full` yields its bytes at once).
fn wire_body(resp: http::Response<http_body_util::Full<Bytes>>) -> Bytes {
    use http_body_util::BodyExt;
    let mut body = resp.into_body();
    match futures::executor::block_on(body.frame()) {
        Some(Ok(frame)) => frame.into_data().unwrap_or_default(),
        _ => Bytes::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::RequestInfo;
    use crate::models::all_specs;
    use crate::models::test_support::{upstream, ACCOUNT, REGION};

    #[test]
    fn motos_missing_profile_becomes_awss_invalid_parameter_value() {
        let s = ModelSettings::fresh_account();
        let e = FidelityEngine::new(ModelId::at(all_specs().count() - FIDELITY_ROWS.len()));
        let info = RequestInfo {
            account: Some(ACCOUNT.into()),
            region: Some(REGION.into()),
            ..RequestInfo::call("ec2", "RunInstances")
        };
        assert!(e.wants(&info, &s));
        let up = upstream();
        let cx = ModelCx {
            info: &info,
            body: b"Action=RunInstances&IamInstanceProfile.Name=ghost",
            upstreams: &up,
            settings: s,
        };
        let mut answer = UpstreamAnswer {
            status: 404,
            body: Bytes::from_static(b"<Response><Errors><Error><Code>NoSuchEntity</Code><Message>Instance profile ghost not found</Message></Error></Errors></Response>"),
        };
        let fault = e.on_answer(&cx, &mut answer).expect("rewritten");
        assert_eq!(fault.rule, "model:ec2-run-instances-missing-profile-name");
        assert_eq!(answer.status, 400);
        let body = String::from_utf8_lossy(&answer.body);
        let want = "<Code>InvalidParameterValue</Code><Message>Value (ghost) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name</Message>";
        assert!(body.contains(want), "{body}");
        let mut ok = UpstreamAnswer {
            status: 200,
            body: Bytes::from_static(b"<RunInstancesResponse/>"),
        };
        assert!(e.on_answer(&cx, &mut ok).is_none(), "a success stays");
    }
}
