//! Livestream sessions and their lineups (one row per product slot).

use sea_orm_migration::{prelude::*, schema::*};

use crate::fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("sessions")
                .col(uuid("id").primary_key())
                .col(uuid("kol_id"))
                .col(string("platform"))
                .col(string("room_id"))
                .col(string("title"))
                .col(timestamp_with_time_zone("starts_at"))
                .col(timestamp_with_time_zone("ends_at"))
                .col(string("status"))
                .col(text("outline"))
                .col(big_integer("slot_capacity"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("sessions", "kol_id", "kols"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_sessions_kol_starts")
                .table("sessions")
                .col("kol_id")
                .col("starts_at")
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("session_slots")
                .col(uuid("id").primary_key())
                .col(uuid("session_id"))
                .col(uuid("product_id"))
                .col(uuid("contract_id"))
                .col(integer("position"))
                .col(big_integer("live_price_fen"))
                .col(big_integer("units"))
                .foreign_key(&mut fk("session_slots", "session_id", "sessions"))
                .foreign_key(&mut fk("session_slots", "product_id", "products"))
                .foreign_key(&mut fk("session_slots", "contract_id", "contracts"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_session_slots_session")
                .table("session_slots")
                .col("session_id")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_session_slots_contract")
                .table("session_slots")
                .col("contract_id")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["session_slots", "sessions"] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
