//! The one error type; each variant maps to a WIT `plugin-error` variant of the same meaning.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The delivery is not authentic: signature missing or wrong, cannot be decrypted, another
    /// app's key. (`plugin-error::unauthorized`)
    Unauthorized(String),
    /// The delivery or the API response cannot be understood. (`plugin-error::malformed`)
    Malformed(String),
    /// A config value or secret is missing or invalid. (`plugin-error::config`)
    Config(String),
    /// The open API answered an error. (`plugin-error::upstream`)
    Upstream(String),
}

impl Error {
    pub(crate) fn malformed(what: impl fmt::Display) -> Error {
        Error::Malformed(what.to_string())
    }

    pub(crate) fn unauthorized(what: impl fmt::Display) -> Error {
        Error::Unauthorized(what.to_string())
    }

    /// The message without the variant's name.
    pub fn message(&self) -> &str {
        match self {
            Error::Unauthorized(m)
            | Error::Malformed(m)
            | Error::Config(m)
            | Error::Upstream(m) => m,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Unauthorized(m) => write!(f, "unauthorized: {m}"),
            Error::Malformed(m) => write!(f, "malformed: {m}"),
            Error::Config(m) => write!(f, "config: {m}"),
            Error::Upstream(m) => write!(f, "upstream: {m}"),
        }
    }
}

impl std::error::Error for Error {}
