//! The behaviour catalogue: AWS's fresh-account behaviours as typed rows, one `const` value each
//! with its AWS facts (operation, code, message, status), its sources and its window range, run
//! by one engine per kind of row.
//!
//! Rows exist because the same kind of behaviour (a service cannot see a just-created principal
//! yet) repeats across dozens of (service, operation) pairs that differ only in data: which
//! field names the principal, which error the service answers and how long it lasts. A row is
//! one entry in [`rows`]; the engine ([`principal`]), the `--model` switch, the journal's rule
//! name, the docs' table and the boto3 cases all read it.

pub mod docs;
pub mod fidelity;
pub mod principal;
pub mod read_after_create;
pub mod read_rows;
pub mod rows;

use serde::Serialize;

use crate::aws::Service;
use crate::models::ModelSpec;

pub use fidelity::FIDELITY_ROWS;
pub use read_rows::READ_ROWS;
pub use rows::PRINCIPAL_ROWS;

/// What a bare name in a request field names (an ARN says it itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Role,
    User,
    InstanceProfile,
}

impl Kind {
    /// The resource type in an IAM ARN (`arn:aws:iam::<account>:<type>/<name>`).
    pub const fn arn_type(self) -> &'static str {
        match self {
            Kind::Role => "role",
            Kind::User => "user",
            Kind::InstanceProfile => "instance-profile",
        }
    }

    fn from_arn_type(t: &str) -> Option<Kind> {
        match t {
            "role" => Some(Kind::Role),
            "user" => Some(Kind::User),
            "instance-profile" => Some(Kind::InstanceProfile),
            _ => None,
        }
    }
}

/// An IAM write that, once it succeeded, opens a row's window for the principal it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Trigger {
    CreateRole,
    CreateUser,
    UpdateAssumeRolePolicy,
    PutRolePolicy,
    AttachRolePolicy,
    CreateInstanceProfile,
    AddRoleToInstanceProfile,
}

impl Trigger {
    /// Every trigger, in declaration order (`t as usize` is its position).
    pub const ALL: [Trigger; 7] = [
        Trigger::CreateRole,
        Trigger::CreateUser,
        Trigger::UpdateAssumeRolePolicy,
        Trigger::PutRolePolicy,
        Trigger::AttachRolePolicy,
        Trigger::CreateInstanceProfile,
        Trigger::AddRoleToInstanceProfile,
    ];

    /// The IAM operation's name.
    pub const fn operation(self) -> &'static str {
        match self {
            Trigger::CreateRole => "CreateRole",
            Trigger::CreateUser => "CreateUser",
            Trigger::UpdateAssumeRolePolicy => "UpdateAssumeRolePolicy",
            Trigger::PutRolePolicy => "PutRolePolicy",
            Trigger::AttachRolePolicy => "AttachRolePolicy",
            Trigger::CreateInstanceProfile => "CreateInstanceProfile",
            Trigger::AddRoleToInstanceProfile => "AddRoleToInstanceProfile",
        }
    }

    /// The principal the write concerns and the request parameter naming it.
    pub const fn principal(self) -> (Kind, &'static str) {
        match self {
            Trigger::CreateUser => (Kind::User, "UserName"),
            Trigger::CreateInstanceProfile | Trigger::AddRoleToInstanceProfile => {
                (Kind::InstanceProfile, "InstanceProfileName")
            }
            _ => (Kind::Role, "RoleName"),
        }
    }
}

/// Where a request names the principal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "in", content = "path")]
pub enum Names {
    /// A member holding an ARN or a name of `Kind`: a form parameter (`IamInstanceProfile.Name`)
    /// in query protocols, a dotted JSON path in JSON ones (`*` matches any key: Firehose's
    /// `*.RoleARN`).
    Field(&'static str, Kind),
    /// `Principal.AWS` of the policy document held by this member (`""`: the whole body, as
    /// S3 PutBucketPolicy sends it).
    Policy(&'static str),
}

/// A principal-propagation row: right after an IAM write of `triggers` succeeded, a request of
/// (`service`, `operation`) naming that principal as `names` says answers `code`/`message`/
/// `status` until the row's window (drawn from `spec.window`) closes.
#[derive(Debug, Serialize)]
pub struct PrincipalRow {
    pub spec: ModelSpec,
    #[serde(serialize_with = "ser_service")]
    pub service: Service,
    pub operation: &'static str,
    pub names: Names,
    pub triggers: &'static [Trigger],
    pub status: u16,
    pub code: &'static str,
    /// Verbatim, with `{value}` (the principal as the request names it), `{name}`, `{arn}` and
    /// `{caller}` filled in per request.
    pub message: &'static str,
    /// botocore's exception class for `code` on this service's client, when it models one.
    pub exception: Option<&'static str>,
    /// Where code and message come from (terraform-provider-aws file and issues, AWS docs).
    pub evidence: &'static str,
    /// Where the window range comes from.
    pub window_source: &'static str,
}

/// Where a request or answer carries a resource's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "in", content = "name")]
pub enum Id {
    /// A URI label of a REST request (`Bucket`).
    Label(&'static str),
    /// The first `<name>` element of the create's XML answer (EC2's `subnetId`).
    AnswerXml(&'static str),
    /// Every query parameter starting with this prefix (`SubnetId.1`, `SubnetId.2`, ...).
    FormList(&'static str),
}

/// A read-after-create row: right after (`service`, `create`) succeeded, a (`service`, `read`)
/// naming the created resource answers `code`/`message`/`status` until the window closes.
#[derive(Debug, Serialize)]
pub struct ReadRow {
    pub spec: ModelSpec,
    #[serde(serialize_with = "ser_service")]
    pub service: Service,
    pub create: &'static str,
    pub created: Id,
    pub read: &'static str,
    pub named: Id,
    pub status: u16,
    pub code: &'static str,
    /// Verbatim, with `{id}` filled in.
    pub message: &'static str,
    pub exception: Option<&'static str>,
    pub evidence: &'static str,
    pub window_source: &'static str,
}

fn ser_service<S: serde::Serializer>(s: &Service, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(s.name())
}

/// Every row's spec, in catalogue order (the settings index them after the code models).
pub fn specs() -> impl Iterator<Item = &'static ModelSpec> {
    PRINCIPAL_ROWS
        .iter()
        .map(|r| &r.spec)
        .chain(READ_ROWS.iter().map(|r| &r.spec))
        .chain(FIDELITY_ROWS.iter().map(|r| &r.spec))
}

/// The row called `name`.
pub fn principal_row(name: &str) -> Option<&'static PrincipalRow> {
    PRINCIPAL_ROWS.iter().find(|r| r.spec.name == name)
}

/// Every row as JSON (the docs generator and the boto3 cases read this).
pub fn rows_json() -> serde_json::Value {
    serde_json::json!({
        "principal_propagation": PRINCIPAL_ROWS,
        "read_after_create": READ_ROWS,
        "fidelity": FIDELITY_ROWS,
    })
}

/// A `ModelSpec` for a row: the journal's rule is `model:<name>`.
macro_rules! row_spec {
    ($name:literal, $min:literal..$max:literal, $source:expr) => {
        $crate::models::ModelSpec {
            name: $name,
            rule: concat!("model:", $name),
            window: $crate::models::WindowRange::secs($min, $max),
            source: $source,
        }
    };
}
pub(crate) use row_spec;
