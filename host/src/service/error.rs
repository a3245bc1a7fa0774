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
    /// The record's state does not allow the request (409), with a stable `code` and the values
    /// its detail names.
    #[error("{detail}")]
    Conflict {
        code: &'static str,
        detail: String,
        params: serde_json::Map<String, serde_json::Value>,
    },
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
    /// A state conflict (409) with its stable `code`.
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Error::Conflict {
            code,
            detail: detail.into(),
            params: serde_json::Map::new(),
        }
    }

    /// The same error naming `value` as `name` in its `params` (a conflict or a rejection).
    pub fn with_param(mut self, name: &str, value: impl Into<serde_json::Value>) -> Self {
        match &mut self {
            Error::Conflict { params, .. } => {
                params.insert(name.to_owned(), value.into());
            }
            Error::Rejected { extensions, .. } => {
                let params = extensions
                    .entry("params")
                    .or_insert_with(|| serde_json::Value::Object(Default::default()));
                if let Some(p) = params.as_object_mut() {
                    p.insert(name.to_owned(), value.into());
                }
            }
            _ => {}
        }
        self
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
            Some(SqlErr::UniqueConstraintViolation(_)) => Error::conflict(
                "duplicate_key",
                "a record with the same unique key already exists",
            ),
            Some(SqlErr::ForeignKeyConstraintViolation(_)) => Error::conflict(
                "referenced",
                "the record is referenced by, or refers to, another record",
            ),
            _ => Error::Internal(e.into()),
        }
    }
}

impl From<FieldError> for Error {
    fn from(error: FieldError) -> Self {
        Error::Validation(vec![error])
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
