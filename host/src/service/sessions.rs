//! Livestream sessions: schedule, run-of-show outline and lineup.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// One product slot of a lineup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineupSlot {
    pub product_id: Uuid,
    pub contract_id: Uuid,
    /// Running order, from 1.
    pub position: i64,
    pub live_price_fen: i64,
    pub units: i64,
}
