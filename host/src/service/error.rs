//! The one error type of the application layer. It names what went wrong in the application's
//! terms; `api/error.rs` maps it to problem+json once.

use sea_orm::{DbErr, SqlErr};

use crate::domain::FieldError;
use crate::domain::actor::NotAllowed;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input that cannot be read at all (a bad cursor, a malformed body): 400.
    #[error("{0}")]
    BadRequest(String),
    #[error("a valid bearer token is required")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    /// Not allowed by a rule with a stable `code` (403), e.g. `four_eyes`.
    #[error("{detail}")]
    Denied { code: &'static str, detail: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("the request body is larger than this server accepts")]
    PayloadTooLarge,
    #[error("the request breaks {} rule(s)", .0.len())]
    Validation(Vec<FieldError>),
    /// A strategy script failed, with the script's error `code` and `line`.
    #[error("{0}")]
    Script(crate::scripting::ScriptError),
    /// Valid input whose outcome breaks rules, with machine-readable details (e.g. violations).
    #[error("{detail}")]
    Rejected {
        detail: String,
        errors: Vec<FieldError>,
        extensions: serde_json::Map<String, serde_json::Value>,
    },
    /// A webhook delivery that is not authentic (bad signature, cannot be decrypted); no
    /// token would help.
    #[error("{0}")]
    NotAuthentic(String),
    /// The caller is over a rate limit; it may retry after this many seconds.
    #[error("too many requests; retry in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    /// The server cannot take the request now; the client should retry.
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// One broken rule against one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Validation(vec![FieldError::new(field, "invalid", message)])
    }
}

impl Error {
    /// A valid request that breaks a rule with a stable `code` (422), naming `field` when one
    /// field is the cause.
    pub fn rule(code: &'static str, field: Option<&str>, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        let mut extensions = serde_json::Map::new();
        extensions.insert("code".into(), code.into());
        Error::Rejected {
            errors: field
                .map(|f| vec![FieldError::new(f, code, detail.clone())])
                .unwrap_or_default(),
            detail,
            extensions,
        }
    }
}

impl From<DbErr> for Error {
    fn from(e: DbErr) -> Self {
        // Races that pass the use cases' own checks still end as a clean conflict.
        match e.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                Error::Conflict("a record with the same unique key already exists".into())
            }
            Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
                Error::Conflict("the record is referenced by, or refers to, another record".into())
            }
            _ => Error::Internal(e.into()),
        }
    }
}

impl From<Vec<FieldError>> for Error {
    fn from(errors: Vec<FieldError>) -> Self {
        Error::Validation(errors)
    }
}

impl From<NotAllowed> for Error {
    fn from(e: NotAllowed) -> Self {
        Error::Forbidden(e.to_string())
    }
}
