//! (being moved here from api/contracts)

// TEMP helper-B: the contract view until it moves here from api/contracts (replaced on merge).
pub use crate::api::contracts::Contract;
