//! Why this file exists: there is no state file. "What exists" is read from the account on every
//! run, by deterministic names, with Describe/Get/List calls only. plan, apply, destroy and
//! output all start from this one read, over every kind of the registry at once.

use futures::future::{self, BoxFuture, FutureExt};

use crate::error::Error;
use crate::resources::registry::Row;
use crate::resources::REGISTRY;
use crate::resources::{ensure_ours, network, Ctx, Erased, Known};

/// Everything found under the stack's names.
pub type Observed = Known;

/// Finds `row` and, once it is found, what is part of it (e.g. the repository's policy).
fn find_tree<'a>(
    ctx: Ctx<'a>,
    row: &'static Row,
) -> BoxFuture<'a, Result<Vec<(&'static str, Erased)>, Error>> {
    async move {
        let Some(found) = row.node.find(ctx, &Known::default()).await? else {
            return Ok(vec![]);
        };
        let mut parent = Known::default();
        parent.set_erased(row.kind(), Some(found.clone()));
        let parts = REGISTRY.iter().filter(|r| r.part_of() == Some(row.kind()));
        let parts = future::try_join_all(parts.map(|part| {
            let parent = &parent;
            async move {
                let found = part.node.find(ctx, parent).await?;
                Ok::<_, Error>(found.map(|f| (part.kind(), f)))
            }
        }))
        .await?;
        let mut out = vec![(row.kind(), found)];
        out.extend(parts.into_iter().flatten());
        Ok(out)
    }
    .boxed()
}

/// Reads the account. `with_network`: also resolve subnets/security groups (EC2 only when the
/// spec does not list them).
pub async fn observe(ctx: Ctx<'_>, with_network: bool) -> Result<Observed, Error> {
    let roots = REGISTRY.iter().filter(|r| r.part_of().is_none());
    let net = async {
        if with_network {
            network::find(ctx).await.map(Some)
        } else {
            Ok(None)
        }
    };
    let (found, network) =
        futures::try_join!(future::try_join_all(roots.map(|r| find_tree(ctx, r))), net)?;
    let mut known = Known::with_network(network);
    for (kind, value) in found.into_iter().flatten() {
        known.set_erased(kind, Some(value));
    }
    Ok(known)
}

/// Every instance destroy must delete, for the kinds that have more than the one found
/// (e.g. all revisions of the task definition family).
pub async fn find_all(ctx: Ctx<'_>) -> Result<Vec<(&'static str, Vec<Erased>)>, Error> {
    let all = future::try_join_all(REGISTRY.iter().map(|r| async move {
        Ok::<_, Error>(r.node.find_all(ctx).await?.map(|v| (r.kind(), v)))
    }))
    .await?;
    Ok(all.into_iter().flatten().collect())
}

/// Fails on the first resource under our name that lacks our ownership tag (apply/plan refuse
/// to touch it).
pub fn check_ownership(ctx: Ctx<'_>, o: &Observed) -> Result<(), Error> {
    for row in REGISTRY {
        let Some(value) = o.erased(row.kind()) else {
            continue;
        };
        if let Some((name, Some(tags))) = row.node.identity(value) {
            ensure_ours(ctx.names, row.kind(), &name, tags)?;
        }
    }
    Ok(())
}
