//! The REST router: which operation a (method, path, query, headers) is, for one service.
//!
//! A trie of path segments per method, matched with botocore's precedence: a literal segment
//! beats a label (`{Name}`), a label beats a greedy label (`{Key+}`, which spans segments and
//! may sit mid-path, as in S3 Control's `/v20180820/mrap/instances/{name+}/policy`, which is why
//! no catch-all-last router crate fits); a dead end backtracks. Among the operations that share a
//! path, one whose URI names query discriminators (`?policy`, `?list-type=2`) or that requires a
//! query or header member (`uploadId`, `x-amz-copy-source`) beats one with fewer, and all of them
//! must be present. `x-id=` (botocore's S3 hint) counts only when the request sends `x-id`:
//! other SDKs leave it out. Matching allocates nothing until a route is found.

use super::Operation;

/// The most labels one URI template has (the generated table has at most 5).
const MAX_LABELS: usize = 8;

/// The URI labels a REST request filled, percent-decoded: `Bucket`, `Key`, `FunctionName`, ...
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Labels(Vec<(&'static str, String)>);

impl Labels {
    /// The value of the label `name` (as the model spells it).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every (label, value), in template order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.0.iter().map(|(n, v)| (*n, v.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A condition on the query or headers that tells operations of one path apart.
#[derive(Debug)]
enum Disc {
    /// The query has this key.
    Query(&'static str),
    /// The query has this key with this value.
    QueryValue(&'static str, &'static str),
    /// The request has this header (lower-case name).
    Header(&'static str),
}

#[derive(Debug)]
struct Route {
    op: Operation,
    /// A deprecated operation yields to its successor of the same request.
    deprecated: bool,
    labels: Vec<&'static str>,
    /// All must hold.
    hard: Vec<Disc>,
    /// Must hold when the request has the key (`x-id`).
    soft: Vec<Disc>,
}

#[derive(Debug, Default)]
struct Node {
    literals: Vec<(&'static str, u32)>,
    label: Option<u32>,
    greedy: Option<u32>,
    routes: Vec<Route>,
}

/// One service's routes.
#[derive(Debug, Default)]
pub(super) struct Router {
    /// (method, nodes; the root is node 0).
    methods: Vec<(&'static str, Vec<Node>)>,
}

/// A [`Router`] being filled.
#[derive(Default)]
pub(super) struct RouterBuilder(Router);

enum Seg<'a> {
    Literal(&'a str),
    Label(&'a str),
    Greedy(&'a str),
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    let p = path.strip_prefix('/').unwrap_or(path);
    let p = p.strip_suffix('/').unwrap_or(p);
    p.split('/').filter(move |_| !p.is_empty())
}

impl RouterBuilder {
    /// Adds `op` at `uri` (`/{Bucket}/{Key+}?x-id=GetObject`), with the generator's presence
    /// list (`q:uploadId,h:x-amz-copy-source`).
    pub(super) fn add(
        &mut self,
        method: &'static str,
        uri: &'static str,
        presence: Option<&'static str>,
        deprecated: bool,
        op: Operation,
    ) -> Result<(), String> {
        let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
        let mut route = Route {
            op,
            deprecated,
            labels: Vec::new(),
            hard: Vec::new(),
            soft: Vec::new(),
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("x-id", v)) => route.soft.push(Disc::QueryValue("x-id", v)),
                Some((k, v)) => route.hard.push(Disc::QueryValue(k, v)),
                None => route.hard.push(Disc::Query(pair)),
            }
        }
        for p in presence.into_iter().flat_map(|p| p.split(',')) {
            match p.split_once(':') {
                Some(("q", k)) => route.hard.push(Disc::Query(k)),
                Some(("h", h)) => route.hard.push(Disc::Header(h)),
                _ => return Err(format!("bad presence {p:?}")),
            }
        }
        let methods = &mut self.0.methods;
        let at = match methods.iter().position(|(m, _)| *m == method) {
            Some(at) => at,
            None => {
                methods.push((method, vec![Node::default()]));
                methods.len() - 1
            }
        };
        let nodes = &mut methods[at].1;
        let mut node = 0usize;
        for seg in segments(path) {
            let seg = match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(l) => match l.strip_suffix('+') {
                    Some(g) => Seg::Greedy(g),
                    None => Seg::Label(l),
                },
                None => Seg::Literal(seg),
            };
            let next = nodes.len() as u32;
            let slot = match seg {
                Seg::Literal(s) => match nodes[node].literals.iter().find(|(l, _)| *l == s) {
                    Some(&(_, n)) => Some(n),
                    None => {
                        nodes[node].literals.push((s, next));
                        None
                    }
                },
                Seg::Label(name) | Seg::Greedy(name) => {
                    route.labels.push(name);
                    let field = if matches!(seg, Seg::Label(_)) {
                        &mut nodes[node].label
                    } else {
                        &mut nodes[node].greedy
                    };
                    let existing = *field;
                    *field = Some(existing.unwrap_or(next));
                    existing
                }
            };
            node = match slot {
                Some(n) => n as usize,
                None => {
                    nodes.push(Node::default());
                    next as usize
                }
            };
        }
        if route.labels.len() > MAX_LABELS {
            return Err(format!("more than {MAX_LABELS} labels"));
        }
        nodes[node].routes.push(route);
        Ok(())
    }

    pub(super) fn build(mut self) -> Router {
        for (_, nodes) in &mut self.0.methods {
            for n in nodes.iter_mut() {
                // The most specific first; the sort is stable, so ties keep the table's order.
                n.routes.sort_by_key(|r| {
                    (
                        std::cmp::Reverse(r.hard.len()),
                        std::cmp::Reverse(r.soft.len()),
                        r.deprecated,
                    )
                });
            }
        }
        self.0
    }
}

/// One request being matched.
struct Req<'a> {
    path: &'a str,
    query: &'a str,
    has_header: &'a dyn Fn(&str) -> bool,
    /// (start, end) of each label's value in `path`, in template order.
    captures: [(usize, usize); MAX_LABELS],
}

fn query_has(query: &str, key: &str, value: Option<&str>) -> Option<bool> {
    let mut seen = None;
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k == key {
            if value.is_none_or(|want| want == v) {
                return Some(true);
            }
            seen = Some(false);
        }
    }
    seen
}

impl Req<'_> {
    fn accepts(&self, r: &Route) -> bool {
        let holds = |d: &Disc| match d {
            Disc::Query(k) => query_has(self.query, k, None),
            Disc::QueryValue(k, v) => query_has(self.query, k, Some(v)),
            Disc::Header(h) => Some((self.has_header)(h)),
        };
        r.hard.iter().all(|d| holds(d) == Some(true))
            && r.soft.iter().all(|d| holds(d) != Some(false))
    }

    /// Matches `path[pos..]` (just after a `/`, or at the end) from `node`.
    /// Returns the route and how many literal segments led to it.
    fn walk<'r>(
        &mut self,
        nodes: &'r [Node],
        node: usize,
        pos: usize,
        depth: usize,
        literals: usize,
    ) -> Option<(&'r Route, usize)> {
        let n = &nodes[node];
        if pos >= self.path.len() {
            return n
                .routes
                .iter()
                .find(|r| self.accepts(r))
                .map(|r| (r, literals));
        }
        let rest = &self.path[pos..];
        let seg_end = rest.find('/').map_or(self.path.len(), |i| pos + i);
        let next = (seg_end + 1).min(self.path.len() + 1);
        let seg = &self.path[pos..seg_end];
        if let Some(&(_, child)) = n.literals.iter().find(|(l, _)| *l == seg) {
            if let Some(r) = self.walk(nodes, child as usize, next, depth, literals + 1) {
                return Some(r);
            }
        }
        if depth >= MAX_LABELS {
            return None;
        }
        if let (Some(child), false) = (n.label, seg.is_empty()) {
            self.captures[depth] = (pos, seg_end);
            if let Some(r) = self.walk(nodes, child as usize, next, depth + 1, literals) {
                return Some(r);
            }
        }
        let child = n.greedy? as usize;
        // The shortest span first: a literal after the greedy label (`{name+}/policy`) wins
        // over the same greedy label ending the template.
        let mut end = seg_end;
        loop {
            if end > pos {
                self.captures[depth] = (pos, end);
                if let Some(r) = self.walk(nodes, child, end + 1, depth + 1, literals) {
                    return Some(r);
                }
            }
            if end >= self.path.len() {
                return None;
            }
            end = self.path[end + 1..]
                .find('/')
                .map_or(self.path.len(), |i| end + 1 + i);
        }
    }
}

impl Router {
    /// The operation of (method, path, query), with its labels.
    pub(super) fn find(
        &self,
        method: &str,
        path: &str,
        query: &str,
        has_header: &dyn Fn(&str) -> bool,
    ) -> Option<(Operation, super::Labels, usize)> {
        let (_, nodes) = self.methods.iter().find(|(m, _)| *m == method)?;
        let trimmed = path
            .strip_suffix('/')
            .filter(|p| !p.is_empty())
            .unwrap_or(path);
        let mut req = Req {
            path: trimmed,
            query,
            has_header,
            captures: [(0, 0); MAX_LABELS],
        };
        let start = usize::from(trimmed.starts_with('/'));
        let (route, literals) = req.walk(nodes, 0, start, 0, 0)?;
        let labels = route
            .labels
            .iter()
            .zip(req.captures)
            .map(|(name, (a, b))| (*name, decode(&trimmed[a..b])))
            .collect();
        Some((route.op, Labels(labels), literals))
    }
}

/// Percent-decodes a label value (invalid UTF-8 is replaced, never an error).
fn decode(raw: &str) -> String {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .into_owned()
}
