//! The operation table: every service and operation of botocore's service models, as generated
//! by `scripts/gen-operations.py` into `operations.txt` (format described there). It is parsed
//! once, on first use, into flat arrays that borrow the embedded text; [`Service`] and
//! [`Operation`] are `Copy` indexes into them, so comparing, hashing and indexing by either is
//! an integer operation, and per-(service, operation) data elsewhere can be a plain `Vec`
//! indexed by [`Operation::index`].

mod ids;
mod router;
mod twins;

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::sync::LazyLock;

use super::protocol::Protocol;
pub use router::Labels;
use router::{Router, RouterBuilder};

/// The generated table (see the module comment).
const DATA: &str = include_str!("operations.txt");

/// A service of the table: botocore's model of it, by index.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Service(u16);

/// An operation of one service, by its index among all operations of the table.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Operation(u32);

/// An error shape of a service's model: what the SDKs parse into a typed exception.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorShape {
    /// The shape's name (botocore's exception class name).
    pub name: &'static str,
    /// The code on the wire (differs from the name for awsQuery-compatible services).
    pub code: &'static str,
    /// The HTTP status AWS answers it with.
    pub status: u16,
}

struct ServiceDef {
    name: &'static str,
    endpoint_prefix: &'static str,
    signing_name: &'static str,
    target_prefix: Option<&'static str>,
    protocols: Vec<Protocol>,
    json_version: Option<&'static str>,
    api_version: &'static str,
    xml_namespace: Option<&'static str>,
    query_compatible: bool,
    service_id: &'static str,
    throttling: Option<&'static str>,
    /// Signing names of the service's endpoint rules besides its own (S3's `s3express`).
    other_signing_names: Vec<&'static str>,
    ops: Range<u32>,
    errors: Range<u32>,
    router: Option<Router>,
}

struct OpDef {
    name: &'static str,
    service: Service,
    deprecated: bool,
    /// Method and request URI template of a REST operation.
    http: Option<(&'static str, &'static str)>,
    /// The required query and header members that tell it from another of the same path.
    presence: Option<&'static str>,
}

struct Table {
    version: &'static str,
    services: Vec<ServiceDef>,
    ops: Vec<OpDef>,
    errors: Vec<ErrorShape>,
    op_by_name: HashMap<(Service, &'static str), Operation>,
    /// Lower-case alphanumeric names (botocore name, service id, endpoint prefix, signing name).
    by_name: HashMap<String, Service>,
    /// SigV4 signing name (then endpoint prefix) → services, the likelier first.
    by_scope: HashMap<&'static str, Vec<Service>>,
    by_target: HashMap<&'static str, Vec<Service>>,
    by_query_version: HashMap<&'static str, Vec<Service>>,
    /// Per operation: the operation a request of it is classified as (see [`Operation::twins`]).
    canonical: Vec<Operation>,
    /// Per canonical operation with twins: the whole group, the canonical one first.
    twins: HashMap<Operation, Vec<Operation>>,
}

static TABLE: LazyLock<Table> = LazyLock::new(|| match Table::parse(DATA) {
    Ok(t) => t,
    // The embedded text is generated and parsed by this crate's tests; reaching this is a bug.
    Err(e) => panic!("faultproxy's operations.txt is malformed: {e}"),
});

fn opt(field: &'static str) -> Option<&'static str> {
    (field != "-").then_some(field)
}

impl Table {
    fn parse(data: &'static str) -> Result<Table, String> {
        let mut t = Table {
            version: "",
            services: Vec::new(),
            ops: Vec::new(),
            errors: Vec::new(),
            op_by_name: HashMap::new(),
            by_name: HashMap::new(),
            by_scope: HashMap::new(),
            by_target: HashMap::new(),
            by_query_version: HashMap::new(),
            canonical: Vec::new(),
            twins: HashMap::new(),
        };
        let mut routes: Option<RouterBuilder> = None;
        for (n, line) in data.lines().enumerate() {
            let f: Vec<&'static str> = line.split('\t').collect();
            let bad = || format!("line {}: {line:?}", n + 1);
            match f[0] {
                "S" if f.len() == 13 => {
                    t.finish_service(routes.take());
                    let protocols = f[5]
                        .split(',')
                        .filter_map(Protocol::from_botocore)
                        .collect::<Vec<_>>();
                    if protocols.is_empty() {
                        return Err(bad());
                    }
                    if protocols[0].is_rest() {
                        routes = Some(RouterBuilder::default());
                    }
                    let at = t.ops.len() as u32;
                    let errors = t.errors.len() as u32;
                    t.services.push(ServiceDef {
                        name: f[1],
                        endpoint_prefix: f[2],
                        signing_name: f[3],
                        target_prefix: opt(f[4]),
                        protocols,
                        json_version: opt(f[6]),
                        api_version: f[7],
                        xml_namespace: opt(f[8]),
                        query_compatible: f[9] == "1",
                        service_id: f[10],
                        throttling: opt(f[11]),
                        other_signing_names: opt(f[12])
                            .map_or(Vec::new(), |n| n.split(',').collect()),
                        ops: at..at,
                        errors: errors..errors,
                        router: None,
                    });
                }
                "O" if !t.services.is_empty() && matches!(f.len(), 3 | 5 | 6) => {
                    let service = Service(t.services.len() as u16 - 1);
                    let op = Operation(t.ops.len() as u32);
                    let deprecated = f[2] == "d";
                    let http = (f.len() >= 5).then(|| (f[3], f[4]));
                    let presence = f.get(5).copied().and_then(opt);
                    if let (Some(b), Some((method, uri))) = (routes.as_mut(), http) {
                        b.add(method, uri, presence, deprecated, op)
                            .map_err(|e| format!("{}: {e}", bad()))?;
                    }
                    t.ops.push(OpDef {
                        name: f[1],
                        service,
                        deprecated,
                        http,
                        presence,
                    });
                    t.op_by_name.insert((service, f[1]), op);
                    t.services[service.0 as usize].ops.end += 1;
                }
                "E" if !t.services.is_empty() && f.len() == 4 => {
                    t.errors.push(ErrorShape {
                        name: f[1],
                        code: opt(f[2]).unwrap_or(f[1]),
                        status: f[3].parse().map_err(|_| bad())?,
                    });
                    if let Some(s) = t.services.last_mut() {
                        s.errors.end += 1;
                    }
                }
                _ if line.starts_with("# generated") => {
                    t.version = line
                        .split("botocore ")
                        .nth(1)
                        .and_then(|v| v.split(';').next())
                        .ok_or_else(bad)?;
                }
                _ if line.starts_with('#') => {}
                _ => return Err(bad()),
            }
        }
        t.finish_service(routes.take());
        t.index_names();
        twins::index(&mut t);
        Ok(t)
    }

    fn finish_service(&mut self, routes: Option<RouterBuilder>) {
        if let (Some(b), Some(s)) = (routes, self.services.last_mut()) {
            s.router = Some(b.build());
        }
    }

    fn index_names(&mut self) {
        let all = || (0..self.services.len() as u16).map(Service);
        // Botocore names first: a later kind of name never takes a service's own name.
        let names: [fn(&ServiceDef) -> &'static str; 4] = [
            |d| d.name,
            |d| d.service_id,
            |d| d.endpoint_prefix,
            |d| d.signing_name,
        ];
        for name_of in names {
            for s in all() {
                let key = normalize(name_of(&self.services[s.0 as usize]));
                self.by_name.entry(key).or_insert(s);
            }
        }
        // A scope's service is the signing name; the service named exactly so comes first.
        let mut scope: Vec<(&'static str, u8, Service)> = Vec::new();
        for s in all() {
            let d = &self.services[s.0 as usize];
            scope.push((d.signing_name, u8::from(d.name != d.signing_name), s));
            if d.endpoint_prefix != d.signing_name {
                scope.push((d.endpoint_prefix, 2, s));
            }
            for &other in &d.other_signing_names {
                scope.push((other, 3, s));
            }
        }
        scope.sort();
        for (key, _, s) in scope {
            let list = self.by_scope.entry(key).or_default();
            if !list.contains(&s) {
                list.push(s);
            }
        }
        for s in all() {
            let d = &self.services[s.0 as usize];
            if let Some(p) = d.target_prefix {
                self.by_target.entry(p).or_default().push(s);
            }
            if d.protocols
                .iter()
                .any(|p| matches!(p, Protocol::Query | Protocol::Ec2Query))
            {
                self.by_query_version
                    .entry(d.api_version)
                    .or_default()
                    .push(s);
            }
        }
    }
}

/// Lower-case ASCII letters and digits only: `CloudWatch-Logs` and `cloudwatch logs` are one name.
fn normalize(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn table() -> &'static Table {
    &TABLE
}

/// Builds the table now. It is otherwise built on first use (the proxy's start or first
/// request), which a command starting a proxy can overlap with other start-up work (the
/// emulator's) by calling this on a thread of its own.
pub fn preload() {
    LazyLock::force(&TABLE);
}

impl Service {
    fn def(self) -> &'static ServiceDef {
        &table().services[self.0 as usize]
    }

    /// The botocore version the table was generated from.
    pub fn table_version() -> &'static str {
        table().version
    }

    /// Every service of the table, by name.
    pub fn all() -> impl Iterator<Item = Service> {
        (0..table().services.len() as u16).map(Service)
    }

    /// How many services the table has ([`Service::index`] is below it).
    pub fn count() -> usize {
        table().services.len()
    }

    /// A dense index, for per-service arrays.
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// The service users call `name`: its botocore name (`logs`), service id (`CloudWatch Logs`),
    /// endpoint prefix or signing name, case and punctuation ignored.
    pub fn from_name(name: &str) -> Option<Service> {
        table().by_name.get(&normalize(name)).copied()
    }

    /// The services a SigV4 scope's service name can mean, the likelier first.
    pub fn for_scope(signing_name: &str) -> &'static [Service] {
        table()
            .by_scope
            .get(signing_name)
            .map_or(&[], Vec::as_slice)
    }

    /// The awsJson / rpc-v2-cbor services whose target prefix this is.
    pub fn for_target_prefix(prefix: &str) -> &'static [Service] {
        table().by_target.get(prefix).map_or(&[], Vec::as_slice)
    }

    /// The query services whose API version this is.
    pub fn for_query_version(version: &str) -> &'static [Service] {
        table()
            .by_query_version
            .get(version)
            .map_or(&[], Vec::as_slice)
    }

    /// The botocore name, as journaled and as rules name it: `ecs`, `logs`, `s3`, ...
    pub fn name(self) -> &'static str {
        self.def().name
    }

    /// The SigV4 signing name (the credential scope's service).
    pub fn signing_name(self) -> &'static str {
        self.def().signing_name
    }

    /// The endpoint prefix (`monitoring` for CloudWatch).
    pub fn endpoint_prefix(self) -> &'static str {
        self.def().endpoint_prefix
    }

    /// The model's `serviceId` (`CloudWatch Logs`).
    pub fn service_id(self) -> &'static str {
        self.def().service_id
    }

    /// The protocol an SDK picks first (botocore's model lists them in preference order).
    pub fn protocol(self) -> Protocol {
        self.def().protocols[0]
    }

    /// Every protocol the service speaks.
    pub fn protocols(self) -> &'static [Protocol] {
        &self.def().protocols
    }

    /// `X-Amz-Target` prefix (awsJson) and rpc-v2-cbor service name.
    pub fn target_prefix(self) -> Option<&'static str> {
        self.def().target_prefix
    }

    /// `1.0` or `1.1` for awsJson services.
    pub fn json_version(self) -> Option<&'static str> {
        self.def().json_version
    }

    /// The `Version` parameter of a query service.
    pub fn query_version(self) -> Option<&'static str> {
        self.protocols()
            .iter()
            .any(|p| matches!(p, Protocol::Query | Protocol::Ec2Query))
            .then_some(self.def().api_version)
    }

    /// The XML namespace of the service's awsQuery documents.
    pub fn query_namespace(self) -> Option<&'static str> {
        self.def().xml_namespace
    }

    /// awsJson services that answer errors with the code their awsQuery API had, in the
    /// `x-amzn-query-error` header (SQS, CloudWatch).
    pub fn query_compatible(self) -> bool {
        self.def().query_compatible
    }

    /// The service's operations, by name.
    pub fn operations(self) -> impl ExactSizeIterator<Item = Operation> {
        self.def().ops.clone().map(Operation)
    }

    /// The operation called `name` (exactly as AWS spells it).
    pub fn operation(self, name: &str) -> Option<Operation> {
        table().op_by_name.get(&(self, name)).copied()
    }

    /// The error shapes of the service's model.
    pub fn errors(self) -> &'static [ErrorShape] {
        let r = &self.def().errors;
        &table().errors[r.start as usize..r.end as usize]
    }

    /// The error shape whose name or wire code is `code`.
    pub fn error(self, code: &str) -> Option<&'static ErrorShape> {
        self.errors()
            .iter()
            .find(|e| e.code == code || e.name == code)
    }

    /// The throttling error the service's model names (`TooManyRequestsException` for Lambda).
    pub fn modelled_throttling(self) -> Option<&'static ErrorShape> {
        self.def().throttling.and_then(|t| self.error(t))
    }

    /// The REST operation `(method, path, query, headers)` names, with its URI labels and how
    /// many literal path segments matched, if the service is REST.
    pub(crate) fn route(
        self,
        method: &str,
        path: &str,
        query: &str,
        has_header: &dyn Fn(&str) -> bool,
    ) -> Option<(Operation, Labels, usize)> {
        self.def()
            .router
            .as_ref()?
            .find(method, path, query, has_header)
    }
}

impl fmt::Debug for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Operation {
    fn def(self) -> &'static OpDef {
        &table().ops[self.0 as usize]
    }

    /// How many operations the table has ([`Operation::index`] is below it).
    pub fn count() -> usize {
        table().ops.len()
    }

    /// A dense index over all operations of all services, for per-operation arrays.
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// The operation's name as AWS spells it: `CreateCluster`.
    pub fn name(self) -> &'static str {
        self.def().name
    }

    pub fn service(self) -> Service {
        self.def().service
    }

    /// Method and request URI template (`GET`, `/{Bucket}?policy`) of a REST operation.
    pub fn http(self) -> Option<(&'static str, &'static str)> {
        self.def().http
    }

    /// Whether the model marks the operation deprecated (S3's `GetBucketLifecycle`).
    pub fn deprecated(self) -> bool {
        self.def().deprecated
    }

    /// The operation a request of this one is classified as: itself, unless another operation
    /// sends the very same request (same signing name and method, path, query discriminators;
    /// or same target, or same Action and Version). Such twins exist across services that share
    /// an API (`docdb` and `neptune` are `rds`'s query API; `qconnect` serves `wisdom`'s paths)
    /// and within one (a deprecated operation and its successor). Only the host of the real AWS
    /// endpoint differs, which a proxy in front of an emulator does not see.
    pub fn canonical(self) -> Operation {
        table().canonical[self.0 as usize]
    }

    /// The group of operations that send the same request as this one, the canonical one
    /// first; empty when it has no twin.
    pub fn twins(self) -> &'static [Operation] {
        table()
            .twins
            .get(&self.canonical())
            .map_or(&[], Vec::as_slice)
    }
}

impl fmt::Debug for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.service().name(), self.name())
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests;
