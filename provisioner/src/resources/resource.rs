//! Why this file exists: every resource kind answers the same verbs — kind, desired, find, diff,
//! create attributes, create, update, delete, tags — through the [`Resource`] trait, so plan,
//! apply, destroy, state and output are written once over [`Node`] (the same trait with its types
//! erased, which is what the registry holds) and never name a resource kind.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::{self, BoxFuture, FutureExt};

use super::{AttrDiff, Ctx};
use super::{Erased, Known};
use crate::error::Error;

/// What a delete hands back besides success (e.g. the service-linked role's deletion task).
pub type Receipt = Option<Box<dyn Any + Send>>;

/// What converging one resource did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepAction {
    Created,
    Updated,
    Unchanged,
}

impl StepAction {
    pub fn as_str(&self) -> &'static str {
        match self {
            StepAction::Created => "created",
            StepAction::Updated => "updated",
            StepAction::Unchanged => "unchanged",
        }
    }
}

/// Converging one resource: what it now is, and what was done.
pub type Converging<'a> = BoxFuture<'a, Result<(Erased, StepAction), Error>>;

/// A planned change of one resource (plan.rs turns it into a `Change`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub create: bool,
    pub name: String,
    pub attributes: Vec<AttrDiff>,
    /// Created or replaced: what it will be is known after apply only.
    pub unknown_after: bool,
}

/// One resource kind. Implementations are unit structs; the typed verbs live in each file.
pub trait Resource: Send + Sync + 'static {
    type Observed: Clone + Send + Sync + 'static;
    type Desired: Send + Sync + 'static;

    /// Kind in plans and progress lines, e.g. `ecs_cluster`.
    fn kind(&self) -> &'static str;
    /// Noun in messages about a resource of this kind (default: the kind).
    fn noun(&self) -> &'static str {
        self.kind()
    }
    /// Whether plan and apply converge this kind (default: always).
    fn managed(&self, _ctx: Ctx<'_>) -> bool {
        true
    }
    /// Destroyed only when asked for (default: no).
    fn destroyed_on_request_only(&self) -> bool {
        false
    }
    /// What the spec wants, given what is known of the others.
    fn desired(&self, ctx: Ctx<'_>, known: &Known) -> Self::Desired;
    fn desired_name(&self, d: &Self::Desired) -> String;
    /// Describe/Get/List only. `parent`: the resource this one is part of, when it has one.
    fn find<'a>(
        &'a self,
        ctx: Ctx<'a>,
        parent: &'a Known,
    ) -> BoxFuture<'a, Result<Option<Self::Observed>, Error>>;
    /// Every instance destroy must delete, when that is more than the one `find` returns.
    fn find_all<'a>(
        &'a self,
        _ctx: Ctx<'a>,
    ) -> BoxFuture<'a, Result<Option<Vec<Self::Observed>>, Error>> {
        future::ready(Ok(None)).boxed()
    }
    fn diff(&self, o: &Self::Observed, d: &Self::Desired) -> Vec<AttrDiff>;
    /// The attributes a create sets, as the plan shows them.
    fn create_attributes(&self, d: &Self::Desired) -> Vec<AttrDiff>;
    /// The name an update is planned under (default: the desired name).
    fn update_name(&self, _o: &Self::Observed, d: &Self::Desired, _diffs: &[AttrDiff]) -> String {
        self.desired_name(d)
    }
    /// Whether these differences replace the resource (default: updated in place).
    fn replaces(&self, _diffs: &[AttrDiff]) -> bool {
        false
    }
    fn create<'a>(
        &'a self,
        ctx: Ctx<'a>,
        d: &'a Self::Desired,
    ) -> BoxFuture<'a, Result<Self::Observed, Error>>;
    fn update<'a>(
        &'a self,
        ctx: Ctx<'a>,
        o: &'a Self::Observed,
        d: &'a Self::Desired,
    ) -> BoxFuture<'a, Result<Self::Observed, Error>>;
    /// Deletes it; absent counts as deleted. The caller has checked ownership.
    fn delete<'a>(
        &'a self,
        ctx: Ctx<'a>,
        o: &'a Self::Observed,
    ) -> BoxFuture<'a, Result<Receipt, Error>>;
    /// The tags proving ownership; `None`: not taggable (AWS-managed), never checked.
    fn tags<'a>(&self, o: &'a Self::Observed) -> Option<&'a BTreeMap<String, String>>;
    /// Its name in plans, progress lines and errors.
    fn name(&self, o: &Self::Observed) -> String;
    /// A last read after apply, for the outputs (default: what apply converged).
    fn after_apply<'a>(
        &'a self,
        _ctx: Ctx<'a>,
        current: Option<Self::Observed>,
    ) -> BoxFuture<'a, Result<Option<Self::Observed>, Error>> {
        future::ready(Ok(current)).boxed()
    }
    /// A last read before destroy deletes it (default: what was found at the start).
    fn find_to_delete<'a>(
        &'a self,
        _ctx: Ctx<'a>,
        current: Option<Self::Observed>,
    ) -> BoxFuture<'a, Result<Option<Self::Observed>, Error>> {
        future::ready(Ok(current)).boxed()
    }
    /// The names of its outputs (each printed as `null` while the resource is absent).
    fn output_names(&self) -> &'static [&'static str] {
        &[]
    }
    /// Its outputs, `(name, value)`, under the names of [`Resource::output_names`].
    fn outputs(&self, _o: &Self::Observed) -> Vec<(&'static str, String)> {
        vec![]
    }
}

/// Typed access to what is known, through a resource of the value's kind.
impl Known {
    /// The value of `r`'s kind, typed.
    pub fn get<R: Resource>(&self, r: &R) -> Option<&R::Observed> {
        self.erased(r.kind())?.downcast_ref()
    }

    pub fn set<R: Resource>(&mut self, r: &R, value: R::Observed) {
        self.set_erased(r.kind(), Some(erase(value)));
    }

    pub fn remove<R: Resource>(&mut self, r: &R) {
        self.set_erased(r.kind(), None);
    }

    /// Mutable access (tests that model drift): the value is copied out of its shared `Arc`
    /// first, so other holders of the old value do not see the change.
    pub fn get_mut<R: Resource>(&mut self, r: &R) -> Option<&mut R::Observed> {
        let kind = r.kind();
        let value = self.get(r)?.clone();
        self.set_erased(kind, Some(erase(value)));
        Arc::get_mut(self.erased_mut(kind)?)?.downcast_mut()
    }
}

/// [`Resource`] with its types erased: what the registry holds and the walks call.
pub trait Node: Send + Sync {
    fn kind(&self) -> &'static str;
    fn noun(&self) -> &'static str;
    fn managed(&self, ctx: Ctx<'_>) -> bool;
    fn destroyed_on_request_only(&self) -> bool;
    fn find<'a>(
        &'a self,
        ctx: Ctx<'a>,
        parent: &'a Known,
    ) -> BoxFuture<'a, Result<Option<Erased>, Error>>;
    fn find_all<'a>(&'a self, ctx: Ctx<'a>) -> BoxFuture<'a, Result<Option<Vec<Erased>>, Error>>;
    /// The change apply would make, given what is known (`None`: nothing to do).
    fn plan(&self, ctx: Ctx<'_>, known: &Known) -> Option<Planned>;
    /// The progress name and the future converging it: absent -> create, differs -> update.
    fn converge<'a>(&'a self, ctx: Ctx<'a>, known: &Known) -> (String, Converging<'a>);
    /// `(name, tags)` of a known value (`None` tags: not taggable).
    fn identity<'a>(&self, o: &'a Erased)
        -> Option<(String, Option<&'a BTreeMap<String, String>>)>;
    fn delete<'a>(&'a self, ctx: Ctx<'a>, o: &'a Erased) -> BoxFuture<'a, Result<Receipt, Error>>;
    fn after_apply<'a>(
        &'a self,
        ctx: Ctx<'a>,
        current: Option<Erased>,
    ) -> BoxFuture<'a, Result<Option<Erased>, Error>>;
    fn find_to_delete<'a>(
        &'a self,
        ctx: Ctx<'a>,
        current: Option<Erased>,
    ) -> BoxFuture<'a, Result<Option<Erased>, Error>>;
    fn output_names(&self) -> &'static [&'static str];
    fn outputs(&self, o: &Erased) -> Vec<(&'static str, String)>;
}

fn erase<T: Send + Sync + 'static>(v: T) -> Erased {
    Arc::new(v)
}

fn typed<R: Resource>(o: &Erased) -> Result<&R::Observed, Error> {
    o.downcast_ref::<R::Observed>()
        .ok_or_else(|| Error::Internal("a known value of another kind".into()))
}

impl<R: Resource> Node for R {
    fn kind(&self) -> &'static str {
        Resource::kind(self)
    }
    fn noun(&self) -> &'static str {
        Resource::noun(self)
    }
    fn managed(&self, ctx: Ctx<'_>) -> bool {
        Resource::managed(self, ctx)
    }
    fn destroyed_on_request_only(&self) -> bool {
        Resource::destroyed_on_request_only(self)
    }

    fn find<'a>(
        &'a self,
        ctx: Ctx<'a>,
        parent: &'a Known,
    ) -> BoxFuture<'a, Result<Option<Erased>, Error>> {
        Resource::find(self, ctx, parent)
            .map(|r| r.map(|o| o.map(erase)))
            .boxed()
    }

    fn find_all<'a>(&'a self, ctx: Ctx<'a>) -> BoxFuture<'a, Result<Option<Vec<Erased>>, Error>> {
        Resource::find_all(self, ctx)
            .map(|r| r.map(|all| all.map(|v| v.into_iter().map(erase).collect())))
            .boxed()
    }

    fn plan(&self, ctx: Ctx<'_>, known: &Known) -> Option<Planned> {
        let d = self.desired(ctx, known);
        match known.get(self) {
            None => Some(Planned {
                create: true,
                name: self.desired_name(&d),
                attributes: self.create_attributes(&d),
                unknown_after: true,
            }),
            Some(o) => {
                let diffs = self.diff(o, &d);
                (!diffs.is_empty()).then(|| Planned {
                    create: false,
                    name: self.update_name(o, &d, &diffs),
                    unknown_after: self.replaces(&diffs),
                    attributes: diffs,
                })
            }
        }
    }

    fn converge<'a>(&'a self, ctx: Ctx<'a>, known: &Known) -> (String, Converging<'a>) {
        let d = self.desired(ctx, known);
        let name = self.desired_name(&d);
        let observed = known.get(self).cloned();
        let fut = async move {
            let (v, action) = match observed {
                None => (self.create(ctx, &d).await?, StepAction::Created),
                Some(o) if self.diff(&o, &d).is_empty() => (o, StepAction::Unchanged),
                Some(o) => (self.update(ctx, &o, &d).await?, StepAction::Updated),
            };
            Ok((erase(v), action))
        };
        (name, fut.boxed())
    }

    fn identity<'a>(
        &self,
        o: &'a Erased,
    ) -> Option<(String, Option<&'a BTreeMap<String, String>>)> {
        let o = o.downcast_ref::<R::Observed>()?;
        Some((self.name(o), self.tags(o)))
    }

    fn delete<'a>(&'a self, ctx: Ctx<'a>, o: &'a Erased) -> BoxFuture<'a, Result<Receipt, Error>> {
        match typed::<R>(o) {
            Ok(o) => Resource::delete(self, ctx, o),
            Err(e) => future::ready(Err(e)).boxed(),
        }
    }

    fn after_apply<'a>(
        &'a self,
        ctx: Ctx<'a>,
        current: Option<Erased>,
    ) -> BoxFuture<'a, Result<Option<Erased>, Error>> {
        let current = match current.as_ref().map(typed::<R>).transpose() {
            Ok(c) => c.cloned(),
            Err(e) => return future::ready(Err(e)).boxed(),
        };
        Resource::after_apply(self, ctx, current)
            .map(|r| r.map(|o| o.map(erase)))
            .boxed()
    }

    fn find_to_delete<'a>(
        &'a self,
        ctx: Ctx<'a>,
        current: Option<Erased>,
    ) -> BoxFuture<'a, Result<Option<Erased>, Error>> {
        let current = match current.as_ref().map(typed::<R>).transpose() {
            Ok(c) => c.cloned(),
            Err(e) => return future::ready(Err(e)).boxed(),
        };
        Resource::find_to_delete(self, ctx, current)
            .map(|r| r.map(|o| o.map(erase)))
            .boxed()
    }

    fn output_names(&self) -> &'static [&'static str] {
        Resource::output_names(self)
    }

    fn outputs(&self, o: &Erased) -> Vec<(&'static str, String)> {
        typed::<R>(o)
            .map(|o| Resource::outputs(self, o))
            .unwrap_or_default()
    }
}
