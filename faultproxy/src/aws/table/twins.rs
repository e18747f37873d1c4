//! Twin operations: those whose requests are byte for byte the same apart from the real AWS
//! host (see [`Operation::canonical`]). Each group's canonical operation is the one `classify`
//! picks: the service the request's scope (or target prefix) lists first, then an operation
//! that is not deprecated, then the table's order. Rules naming any twin match the group.

use std::collections::HashMap;

use super::{Operation, Protocol, Service, Table};

/// What a request of `op` carries that `classify` reads (label names do not matter).
fn wire_key(t: &Table, op: &super::OpDef) -> String {
    let d = &t.services[op.service.0 as usize];
    match (d.protocols[0], op.http) {
        (Protocol::AwsJson | Protocol::RpcV2Cbor, _) => {
            format!("J {} {}", d.target_prefix.unwrap_or(d.name), op.name)
        }
        (Protocol::RestJson | Protocol::RestXml, Some((method, uri))) => {
            let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
            let mut norm = String::with_capacity(path.len());
            for seg in path.split('/').filter(|s| !s.is_empty()) {
                norm.push('/');
                norm.push_str(match seg.strip_prefix('{') {
                    Some(l) if l.ends_with("+}") => "{+}",
                    Some(_) => "{}",
                    None => seg,
                });
            }
            let presence = op.presence.unwrap_or("");
            format!("R {} {method} {norm}?{query} {presence}", d.signing_name)
        }
        _ => format!("Q {} {} {}", d.signing_name, d.api_version, op.name),
    }
}

/// Where `classify` ranks `s` among the services of its request.
fn rank(t: &Table, s: Service) -> usize {
    let d = &t.services[s.0 as usize];
    let list = match (d.protocols[0], d.target_prefix) {
        (Protocol::AwsJson | Protocol::RpcV2Cbor, Some(p)) => t.by_target.get(p),
        _ => t.by_scope.get(d.signing_name),
    };
    list.and_then(|l| l.iter().position(|&x| x == s))
        .unwrap_or(usize::MAX)
}

pub(super) fn index(t: &mut Table) {
    let mut groups: HashMap<String, Vec<Operation>> = HashMap::new();
    for (i, op) in t.ops.iter().enumerate() {
        groups
            .entry(wire_key(t, op))
            .or_default()
            .push(Operation(i as u32));
    }
    t.canonical = (0..t.ops.len() as u32).map(Operation).collect();
    for (_, mut group) in groups {
        if group.len() < 2 {
            continue;
        }
        group.sort_by_key(|o| {
            let def = &t.ops[o.0 as usize];
            (rank(t, def.service), def.deprecated, o.0)
        });
        for o in &group {
            t.canonical[o.0 as usize] = group[0];
        }
        t.twins.insert(group[0], group);
    }
}
