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
