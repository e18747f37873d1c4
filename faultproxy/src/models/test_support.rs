//! Unit-test helpers for the models: drive one model's `before`/`after`/`on_answer` with an ECS
//! request as the pipeline would, without an emulator (the upstream is never called by the
//! models tested this way).

use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::Value;

use super::{Model, ModelAnswer, ModelCx, ModelSettings, UpstreamAnswer};
use crate::classify::RequestInfo;
use crate::journal::InjectedFault;
use crate::routes::Upstreams;
use crate::upstream::{Upstream, UpstreamFlavor};

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

/// An ECS request's classification.
pub fn ecs(op: &str) -> RequestInfo {
    RequestInfo {
        account: Some(ACCOUNT.into()),
        region: Some(REGION.into()),
        ..RequestInfo::call("ecs", op)
    }
}

/// Upstreams that are never called (nothing listens there): one moto, no route.
pub fn upstream() -> Upstreams {
    let url = "http://127.0.0.1:9".parse().expect("url");
    let main = Upstream::new(&url, UpstreamFlavor::Moto).expect("upstream");
    Upstreams::new(main, &[], std::time::Duration::from_secs(1), 0).expect("upstreams")
}

/// One model and the settings it runs under.
pub struct Drive<'m> {
    pub model: &'m dyn Model,
    pub settings: ModelSettings,
    upstream: Upstreams,
}

impl<'m> Drive<'m> {
    pub fn new(model: &'m dyn Model, settings: ModelSettings) -> Drive<'m> {
        Drive {
            model,
            settings,
            upstream: upstream(),
        }
    }

    fn cx<'a>(&'a self, info: &'a RequestInfo, body: &'a [u8]) -> ModelCx<'a> {
        ModelCx {
            info,
            body,
            upstreams: &self.upstream,
            settings: self.settings,
        }
    }

    /// Whether the pipeline hands the model this request: it watches the operation and is on.
    pub fn wants(&self, info: &RequestInfo) -> bool {
        info.operation
            .is_some_and(|op| self.model.operations().contains(&op))
            && self.model.wants(info, &self.settings)
    }

    /// `before`, if the model wants the request: its answer as (status, JSON body, fault).
    pub async fn before(&self, op: &str, req: Value) -> Option<(u16, Value, InjectedFault)> {
        let info = ecs(op);
        if !self.wants(&info) {
            return None;
        }
        let body = req.to_string();
        let answer = self.model.before(&self.cx(&info, body.as_bytes())).await?;
        Some(read(answer).await)
    }

    /// The upstream answered `status` with `answer`: `after` then `on_answer`, as the pipeline
    /// runs them. Returns the (possibly rewritten) answer and the fault journaled.
    pub async fn answered(
        &self,
        op: &str,
        req: Value,
        status: u16,
        answer: Value,
    ) -> (Value, Option<InjectedFault>) {
        let info = ecs(op);
        if !self.wants(&info) {
            return (answer, None);
        }
        let body = req.to_string();
        let cx = self.cx(&info, body.as_bytes());
        self.model.after(&cx, status).await;
        let mut up = UpstreamAnswer {
            status,
            body: Bytes::from(answer.to_string()),
        };
        let fault = self.model.on_answer(&cx, &mut up);
        (up.json().expect("JSON answer"), fault)
    }
}

async fn read(answer: ModelAnswer) -> (u16, Value, InjectedFault) {
    let status = answer.response.status().as_u16();
    let body = answer
        .response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let fault = answer
        .fault
        .expect("a model's error is journaled as a fault");
    (
        status,
        serde_json::from_slice(&body).expect("JSON error"),
        fault,
    )
}
