//! The `webhook_deliveries` table: every delivery as it arrived.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub platform: String,
    pub plugin: String,
    /// `accepted`, `rejected` or `malformed`.
    pub status: String,
    pub method: String,
    #[sea_orm(column_type = "Text")]
    pub path: String,
    #[sea_orm(column_type = "Text")]
    pub query: String,
    pub headers: Json,
    pub body: Vec<u8>,
    pub events: i32,
    pub new_events: i32,
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
    pub received_at: DateTimeUtc,
    /// The body's full size, when only its first KiB is kept (refused deliveries), or once
    /// retention dropped an applied delivery's body.
    pub size_bytes: Option<i64>,
    /// SHA-256 (hex) of the full body, when only its first KiB is kept.
    pub body_sha256: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
