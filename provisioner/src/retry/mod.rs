//! Why this file exists: AWS is eventually consistent, and a first `apply` in a fresh account hits
//! errors a second `apply` does not (the ECS service-linked role not yet assumable, a new IAM role
//! not yet visible to ECR, ...). The AWS SDK's own retries never cover these (they are
//! `InvalidParameterException`s, not throttling). This module is the one place that lists every
//! error we absorb, each with the reason it exists, and the loop that absorbs them: bounded by a
//! deadline, exponential backoff with jitter, every absorbed error logged and recorded.
//!
//! The catalogue follows terraform-provider-aws (internal/service/{ecs,ecr,iam,logs}); see
//! docs/src/aws-facts.md, "What terraform-provider-aws retries". Error strings are AWS's wire text: do not "fix" them.
//!
//! Inside: `codes.rs` (AWS's error codes and message fragments), `catalogue.rs` (the table of
//! retryable errors, each with its reason and source), `policy.rs` (deadlines and backoff),
//! `retrier.rs` (the loop and the wait loop), `absorbed.rs` (the report of absorbed errors),
//! `transient.rs` (the transient-retry policy of every client: throttling, 5xx, no answer).

mod absorbed;
mod catalogue;
mod codes;
mod policy;
mod retrier;
mod transient;

pub use absorbed::AbsorbedError;
pub use catalogue::*;
pub use codes::*;
pub use policy::*;
pub use retrier::Retrier;
pub use transient::*;
