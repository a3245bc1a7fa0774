//! The rules of the agency's domain, as pure functions over plain data: no I/O here.
//! The HTTP and storage layers call into this module; it never calls out.

pub mod actor;
pub mod allocation;
pub mod compliance;
pub mod contract;
pub mod enums;
pub mod identity;
pub mod lineup;
pub mod money;
pub mod settlement;
pub mod tax;
pub mod validation;

pub use actor::{Actor, Scope};
pub use enums::*;
pub use validation::{FieldError, Validator};

/// The values a message names, as a JSON object: what `params` of an error, a compliance finding
/// or a settlement line carry, so a client writes the message in its own language.
pub type Params = serde_json::Map<String, serde_json::Value>;

/// [`Params`] from name-value pairs.
pub fn params<const N: usize>(pairs: [(&str, serde_json::Value); N]) -> Params {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}
