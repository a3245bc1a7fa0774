//! Order notices (kolhost:plugin@0.2.0): a push may name an order before its detail is known.
//!
//! - `orders.awaiting_detail`: stored from a notice, completed (and attributed) when a pull or a
//!   detail call brings item, account, room and units.
//! - `orders.platform_status`: the platform's latest own status of the order.
//! - `orders.pushed_at` / `pushed_fen`, `pulled_at` / `pulled_fen`: when the order was first
//!   seen by push and by pull and the amount each said; reconciliation compares them.
//! - `orders.reported_commission_fen`: the commission the platform computed (Buyin
//!   `real_commission`); `platform_commission_fen` stays the platform's own fee.
//! - `order_status_history`: every platform status an event reported, in arrival order.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one column per ALTER TABLE.
        let columns = [
            boolean("awaiting_detail").default(false).to_owned(),
            string_null("platform_status").to_owned(),
            timestamp_with_time_zone_null("pushed_at").to_owned(),
            big_integer_null("pushed_fen").to_owned(),
            timestamp_with_time_zone_null("pulled_at").to_owned(),
            big_integer_null("pulled_fen").to_owned(),
            big_integer_null("reported_commission_fen").to_owned(),
        ];
        for mut c in columns {
            m.alter_table(Table::alter().table("orders").add_column(&mut c).to_owned())
                .await?;
        }
        m.create_index(
            Index::create()
                .name("ix_orders_platform_paid")
                .table("orders")
                .col("platform")
                .col("paid_at")
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("order_status_history")
                .col(uuid("id").primary_key())
                .col(string("platform"))
                .col(string("platform_order_id"))
                .col(string("sub_order_id"))
                .col(string("status"))
                .col(string("kind"))
                .col(string("source"))
                .col(string("plugin"))
                .col(string("event_key"))
                .col(timestamp_with_time_zone_null("at"))
                .col(timestamp_with_time_zone("received_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_order_status_history_order")
                .table("order_status_history")
                .col("platform")
                .col("platform_order_id")
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("order_status_history").to_owned())
            .await?;
        m.drop_index(
            Index::drop()
                .name("ix_orders_platform_paid")
                .table("orders")
                .to_owned(),
        )
        .await?;
        for c in [
            "awaiting_detail",
            "platform_status",
            "pushed_at",
            "pushed_fen",
            "pulled_at",
            "pulled_fen",
            "reported_commission_fen",
        ] {
            m.alter_table(Table::alter().table("orders").drop_column(c).to_owned())
                .await?;
        }
        Ok(())
    }
}
