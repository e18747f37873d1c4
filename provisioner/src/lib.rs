//! The `provisioner` library: plan, apply, destroy and output the seed tutorial's ECS stack
//! (cluster + capacity providers, execution and task roles, ECR repository + policy, log group,
//! service-linked role, task definition, service), idempotently, ownership-safe, with an
//! AWS-grade retry policy for eventual-consistency errors. The `provisioner` binary is a thin
//! CLI over [`Stack`].
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use provisioner::{ApplyOptions, Clients, Stack, StackSpec};
//! let spec = StackSpec::load(std::path::Path::new("examples/stack.toml"))?;
//! let clients = Clients::connect(Some("http://127.0.0.1:5055"), None, &spec).await?;
//! let stack = Stack::new(spec, clients);
//! let report = stack.apply(&ApplyOptions::default()).await?;
//! println!("{}", report.outputs.render_text());
//! # Ok(()) }
//! ```

pub mod apply;
pub mod cli;
pub mod cli_input;
pub mod clients;
pub mod destroy;
pub mod ec2;
pub mod error;
pub mod names;
pub mod output;
pub mod plan;
pub mod preflight;
pub mod progress;
pub mod resources;
pub mod retry;
pub mod spec;
pub mod state;
pub mod user_error;

pub use apply::{ApplyOptions, ApplyReport, StepAction, StepReport};
pub use clients::Clients;
pub use destroy::{DestroyOptions, DestroyReport};
pub use error::{AwsError, Error, RoleUsage};
pub use names::{Names, OWNERSHIP_TAG_KEY};
pub use output::Outputs;
pub use plan::{Action, Change, Plan};
pub use progress::{Progress, ProgressEvent};
pub use resources::service_linked_role::SlrDeletion;
pub use retry::{AbsorbedError, Retrier, RetryPolicy};
pub use spec::{SlrMode, SpecError, StackSpec};

use resources::Ctx;

/// One stack (spec + the clients of its account and region).
#[derive(Debug, Clone)]
pub struct Stack {
    spec: StackSpec,
    clients: Clients,
    names: Names,
}

impl Stack {
    pub fn new(spec: StackSpec, clients: Clients) -> Stack {
        let region = if clients.region.is_empty() {
            spec.region.clone()
        } else {
            clients.region.clone()
        };
        let names = Names::new(&spec, &region);
        Stack {
            spec,
            clients,
            names,
        }
    }

    pub fn spec(&self) -> &StackSpec {
        &self.spec
    }

    pub fn names(&self) -> &Names {
        &self.names
    }

    pub fn clients(&self) -> &Clients {
        &self.clients
    }

    fn ctx<'a>(&'a self, retry: &'a Retrier) -> Ctx<'a> {
        Ctx {
            clients: &self.clients,
            spec: &self.spec,
            names: &self.names,
            retry,
        }
    }

    /// Reads the account and returns what `apply` would change (read-only calls only).
    pub async fn plan(&self) -> Result<Plan, Error> {
        let retry = Retrier::new(RetryPolicy::default());
        let ctx = self.ctx(&retry);
        let observed = state::observe(ctx, true).await?;
        plan::compute(ctx, &observed)
    }

    /// What `destroy` would delete (read-only calls only).
    pub async fn plan_destroy(&self, delete_service_linked_role: bool) -> Result<Plan, Error> {
        let retry = Retrier::new(RetryPolicy::default());
        destroy::plan(self.ctx(&retry), delete_service_linked_role).await
    }

    /// Converges the account to the spec.
    pub async fn apply(&self, opts: &ApplyOptions) -> Result<ApplyReport, Error> {
        let retry = Retrier::new(opts.retry.clone());
        apply::apply(self.ctx(&retry), &opts.progress).await
    }

    /// Deletes the stack's resources (only ours).
    pub async fn destroy(&self, opts: &DestroyOptions) -> Result<DestroyReport, Error> {
        let retry = Retrier::new(opts.retry.clone());
        destroy::destroy(self.ctx(&retry), opts).await
    }

    /// The outputs, from what exists now.
    pub async fn outputs(&self) -> Result<Outputs, Error> {
        let retry = Retrier::new(RetryPolicy::default());
        let observed = state::observe(self.ctx(&retry), false).await?;
        Ok(Outputs::from_observed(&observed))
    }
}
