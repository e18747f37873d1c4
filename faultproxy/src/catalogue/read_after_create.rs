//! The read-after-create engine: runs every [`ReadRow`]. A create that succeeded opens, per row,
//! a window for the resource it made (per account and region, drawn per seed from the row's
//! range); a read naming that resource inside the window gets the row's not-found error in the
//! service's protocol. Which rows a request concerns is one array lookup by operation index.

use std::sync::LazyLock;
use std::time::Instant;

use futures::future::BoxFuture;
use futures::FutureExt;

use super::{Id, ReadRow, READ_ROWS};
use crate::aws::Operation;
use crate::classify::RequestInfo;
use crate::journal::{FaultKind, InjectedFault};
use crate::models::window::Windows;
use crate::models::{
    xml_element, Model, ModelAnswer, ModelCx, ModelId, ModelSettings, ResourceKey, UpstreamAnswer,
};
use crate::wire::AwsError;

/// Per operation (by index): the rows it creates for and the rows it reads for.
struct Index {
    creates: Vec<Box<[u16]>>,
    reads: Vec<Box<[u16]>>,
    /// Every operation a row creates or reads with.
    watched: Vec<Operation>,
}

static INDEX: LazyLock<Index> = LazyLock::new(|| {
    let n = Operation::count();
    let (mut creates, mut reads) = (vec![Vec::new(); n], vec![Vec::new(); n]);
    let mut watched = Vec::new();
    for (i, r) in READ_ROWS.iter().enumerate() {
        let op = |name: &str| {
            r.service.operation(name).unwrap_or_else(|| {
                panic!("row {}: {} has no operation {name}", r.spec.name, r.service)
            })
        };
        let (create, read) = (op(r.create), op(r.read));
        creates[create.index()].push(i as u16);
        reads[read.index()].push(i as u16);
        watched.extend([create, read]);
    }
    let boxed = |v: Vec<Vec<u16>>| v.into_iter().map(Vec::into_boxed_slice).collect();
    Index {
        creates: boxed(creates),
        reads: boxed(reads),
        watched,
    }
});

/// Runs the read-after-create rows; `first` is the id of the first row.
pub(crate) struct ReadEngine {
    first: ModelId,
    windows: Vec<Windows>,
}

impl ReadEngine {
    pub fn new(first: ModelId) -> ReadEngine {
        ReadEngine {
            first,
            windows: READ_ROWS.iter().map(|_| Windows::default()).collect(),
        }
    }

    fn id(&self, row: u16) -> ModelId {
        self.first.nth(usize::from(row))
    }

    fn on(&self, settings: &ModelSettings, row: u16) -> bool {
        settings.on(self.id(row))
    }
}

fn key(info: &RequestInfo, id: &str) -> ResourceKey {
    ResourceKey::new(
        info.account.as_deref().unwrap_or(""),
        info.region.as_deref().unwrap_or(""),
        id,
    )
}

/// The ids the request names as `id` says.
fn request_ids(id: Id, info: &RequestInfo, body: &[u8]) -> Vec<String> {
    match id {
        Id::Label(name) => info.label(name).map(str::to_string).into_iter().collect(),
        Id::FormList(prefix) => form_urlencoded::parse(body)
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v.into_owned())
            .collect(),
        Id::AnswerXml(_) => Vec::new(),
    }
}

impl Model for ReadEngine {
    fn operations(&self) -> Vec<Operation> {
        INDEX.watched.clone()
    }

    fn wants(&self, info: &RequestInfo, settings: &ModelSettings) -> bool {
        let Some(op) = info.operation else {
            return false;
        };
        let i = op.index();
        INDEX.reads[i]
            .iter()
            .chain(INDEX.creates[i].iter())
            .any(|&r| self.on(settings, r))
    }

    fn before<'a>(&'a self, cx: &'a ModelCx<'a>) -> BoxFuture<'a, Option<ModelAnswer>> {
        async move {
            let op = cx.info.operation?;
            let now = Instant::now();
            for &r in INDEX.reads[op.index()].iter() {
                if !self.on(&cx.settings, r) {
                    continue;
                }
                let row = &READ_ROWS[usize::from(r)];
                let length = cx.settings.lengths(self.id(r), &row.spec);
                for id in request_ids(row.named, cx.info, cx.body) {
                    if self.windows[usize::from(r)].is_open(&key(cx.info, &id), now, &length) {
                        let message = row.message.replace("{id}", &id);
                        let err = AwsError::new(row.status, row.code, message);
                        let rule = row.spec.rule;
                        return Some(ModelAnswer::injected(
                            cx.info,
                            rule,
                            rule,
                            FaultKind::ReadLag,
                            err,
                        ));
                    }
                }
            }
            None
        }
        .boxed()
    }

    fn after<'a>(&'a self, _cx: &'a ModelCx<'a>, _status: u16) -> BoxFuture<'a, ()> {
        async {}.boxed()
    }

    /// A create that succeeded opens the window of the resource its answer (or URI) names.
    fn on_answer(&self, cx: &ModelCx<'_>, answer: &mut UpstreamAnswer) -> Option<InjectedFault> {
        let op = cx.info.operation?;
        if answer.status != 200 {
            return None;
        }
        let now = Instant::now();
        for &r in INDEX.creates[op.index()].iter() {
            if !self.on(&cx.settings, r) {
                continue;
            }
            let row: &ReadRow = &READ_ROWS[usize::from(r)];
            let id = match row.created {
                Id::AnswerXml(tag) => std::str::from_utf8(&answer.body)
                    .ok()
                    .and_then(|xml| xml_element(xml, tag))
                    .map(str::to_string),
                other => request_ids(other, cx.info, cx.body).into_iter().next(),
            };
            let Some(id) = id else { continue };
            self.windows[usize::from(r)].open(key(cx.info, &id), now);
        }
        None
    }

    fn reset(&self) {
        for w in &self.windows {
            w.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http_body_util::BodyExt;

    use super::*;
    use crate::models::test_support::{upstream, ACCOUNT, REGION};
    use crate::models::{all_specs, WindowRange};

    fn info(op: &str) -> RequestInfo {
        RequestInfo {
            account: Some(ACCOUNT.into()),
            region: Some(REGION.into()),
            ..RequestInfo::call("ec2", op)
        }
    }

    #[tokio::test]
    async fn a_new_subnet_is_not_found_by_describe_subnets_inside_its_window() {
        let mut s = ModelSettings::fresh_account();
        for r in READ_ROWS {
            s.set_range(r.spec.name, WindowRange::secs(3600, 3600))
                .expect("a row");
        }
        let first_read =
            all_specs().count() - READ_ROWS.len() - crate::catalogue::FIDELITY_ROWS.len();
        let e = ReadEngine::new(ModelId::at(first_read));
        let up = upstream();
        let create = info("CreateSubnet");
        assert!(e.wants(&create, &s));
        let cx = ModelCx {
            info: &create,
            body: b"Action=CreateSubnet&VpcId=vpc-1",
            upstreams: &up,
            settings: s,
        };
        let mut answer = UpstreamAnswer {
            status: 200,
            body: Bytes::from_static(
                b"<CreateSubnetResponse><subnet><subnetId>subnet-42</subnetId><vpcId>vpc-1</vpcId></subnet></CreateSubnetResponse>",
            ),
        };
        assert!(e.on_answer(&cx, &mut answer).is_none());
        let read = info("DescribeSubnets");
        let cx = ModelCx {
            info: &read,
            body: b"Action=DescribeSubnets&SubnetId.1=subnet-42",
            ..cx
        };
        let a = e.before(&cx).await.expect("not found yet");
        assert_eq!(a.response.status().as_u16(), 400);
        let fault = a.fault.expect("journaled");
        assert_eq!(fault.rule, "model:ec2-describe-subnets-after-create");
        let body = a
            .response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let body = String::from_utf8_lossy(&body);
        let want = "<Code>InvalidSubnetID.NotFound</Code><Message>The subnet ID &apos;subnet-42&apos; does not exist</Message>";
        assert!(body.contains(want), "{body}");
        let other = ModelCx {
            body: b"Action=DescribeSubnets&SubnetId.1=subnet-43",
            ..cx
        };
        assert!(e.before(&other).await.is_none(), "another subnet is found");
        assert!(!e.wants(&info("DescribeInstances"), &s));
    }
}
