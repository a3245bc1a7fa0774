//! Deliveries that are refused are kept as a digest (first KiB of the body, its full size and
//! SHA-256); the retention job finds old deliveries by time.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("webhook_deliveries")
                .add_column(big_integer_null("size_bytes"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("webhook_deliveries")
                .add_column(string_null("body_sha256"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_webhook_deliveries_status_received_at")
                .table("webhook_deliveries")
                .col("status")
                .col("received_at")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ix_webhook_deliveries_status_received_at")
                .table("webhook_deliveries")
                .to_owned(),
        )
        .await?;
        for col in ["body_sha256", "size_bytes"] {
            m.alter_table(
                Table::alter()
                    .table("webhook_deliveries")
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
