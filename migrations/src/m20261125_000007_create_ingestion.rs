//! Order ingestion: every webhook delivery as it arrived (accepted or rejected), the normalised
//! events with their dedup keys, the orders they add up to, refunds (kept even before their
//! order arrives), live-room figures, and each poller's cursor.

use sea_orm_migration::{prelude::*, schema::*};

use crate::fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // The raw delivery, durable before it is acknowledged. `status`: accepted, rejected
        // (signature or decryption failed) or malformed.
        m.create_table(
            Table::create()
                .table("webhook_deliveries")
                .col(uuid("id").primary_key())
                .col(string("platform"))
                .col(string("plugin"))
                .col(string("status"))
                .col(string("method"))
                .col(text("path"))
                .col(text("query"))
                .col(json("headers"))
                .col(blob("body"))
                .col(integer("events"))
                .col(integer("new_events"))
                .col(text_null("error"))
                .col(timestamp_with_time_zone("received_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_webhook_deliveries_platform_status")
                .table("webhook_deliveries")
                .col("platform")
                .col("status")
                .to_owned(),
        )
        .await?;

        // One row per distinct event: (plugin, event_key) is what makes redelivery count once.
        // `outcome` says what the event did: applied, pending (waits for its order), ignored.
        m.create_table(
            Table::create()
                .table("platform_events")
                .col(string("plugin"))
                .col(string("event_key"))
                .col(string("platform"))
                .col(string("kind"))
                .col(string_null("platform_order_id"))
                .col(string("sub_order_id"))
                .col(uuid_null("delivery_id"))
                .col(string("source"))
                .col(json("body"))
                .col(string("outcome"))
                .col(timestamp_with_time_zone("received_at"))
                .primary_key(Index::create().col("plugin").col("event_key"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_platform_events_pending")
                .table("platform_events")
                .col("platform")
                .col("platform_order_id")
                .col("outcome")
                .to_owned(),
        )
        .await?;

        // Orders, one row per (sub-)order. `sub_order_id` is '' when the platform has none,
        // so the natural key can be unique on both databases.
        m.create_table(
            Table::create()
                .table("orders")
                .col(uuid("id").primary_key())
                .col(string("platform"))
                .col(string("platform_order_id"))
                .col(string("sub_order_id"))
                .col(string("item_id"))
                .col(string_null("account_id"))
                .col(string_null("room_id"))
                .col(big_integer("units"))
                .col(big_integer("paid_fen"))
                .col(big_integer("refunded_fen"))
                .col(big_integer_null("settled_fen"))
                .col(big_integer_null("platform_commission_fen"))
                .col(integer_null("commission_bp"))
                .col(string("status"))
                .col(timestamp_with_time_zone("paid_at"))
                .col(timestamp_with_time_zone_null("settled_at"))
                .col(uuid_null("kol_id"))
                .col(uuid_null("product_id"))
                .col(uuid_null("brand_id"))
                .col(uuid_null("contract_id"))
                .col(uuid_null("session_id"))
                .col(boolean("attributed"))
                .col(text_null("unattributed_reason"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("orders", "kol_id", "kols"))
                .foreign_key(&mut fk("orders", "product_id", "products"))
                .foreign_key(&mut fk("orders", "brand_id", "brands"))
                .foreign_key(&mut fk("orders", "contract_id", "contracts"))
                .foreign_key(&mut fk("orders", "session_id", "sessions"))
                .to_owned(),
        )
        .await?;
        let order_indexes: [(&str, &[&str], bool); 6] = [
            (
                "ux_orders_platform_order",
                &["platform", "platform_order_id", "sub_order_id"],
                true,
            ),
            (
                "ix_orders_contract_settled",
                &["contract_id", "settled_at"],
                false,
            ),
            ("ix_orders_kol_paid", &["kol_id", "paid_at"], false),
            ("ix_orders_brand_paid", &["brand_id", "paid_at"], false),
            ("ix_orders_session", &["session_id"], false),
            ("ix_orders_attributed", &["attributed"], false),
        ];
        for (name, cols, unique) in order_indexes {
            let mut idx = Index::create();
            idx.name(name).table("orders");
            for c in cols {
                idx.col(*c);
            }
            if unique {
                idx.unique();
            }
            m.create_index(idx.to_owned()).await?;
        }

        // Refunds, by the platform's refund id. `order_id` is null while the refund waits for
        // its order (a refund may arrive first); it is linked when the order arrives.
        m.create_table(
            Table::create()
                .table("order_refunds")
                .col(uuid("id").primary_key())
                .col(string("platform"))
                .col(string("platform_order_id"))
                .col(string("sub_order_id"))
                .col(string("refund_id"))
                .col(big_integer("refunded_fen"))
                .col(timestamp_with_time_zone("refunded_at"))
                .col(uuid_null("order_id"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("order_refunds", "order_id", "orders"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_order_refunds_refund")
                .table("order_refunds")
                .col("platform")
                .col("platform_order_id")
                .col("refund_id")
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_order_refunds_order")
                .table("order_refunds")
                .col("order_id")
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("live_stats")
                .col(uuid("id").primary_key())
                .col(string("platform"))
                .col(string("room_id"))
                .col(string_null("account_id"))
                .col(uuid_null("session_id"))
                .col(timestamp_with_time_zone("at"))
                .col(big_integer("viewers"))
                .col(big_integer("gmv_fen"))
                .col(big_integer("orders"))
                .foreign_key(&mut fk("live_stats", "session_id", "sessions"))
                .to_owned(),
        )
        .await?;

        // Where each platform plugin's poller continues after a restart.
        m.create_table(
            Table::create()
                .table("poll_cursors")
                .col(string("plugin").primary_key())
                .col(text_null("cursor"))
                .col(text_null("last_error"))
                .col(big_integer("events"))
                .col(timestamp_with_time_zone_null("polled_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "poll_cursors",
            "live_stats",
            "order_refunds",
            "orders",
            "platform_events",
            "webhook_deliveries",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
