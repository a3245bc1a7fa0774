//! Plugin quarantine kept across restarts: why and since when a plugin is quarantined, when the
//! next half-open retry is let through, and how many times in a row it has tripped (the
//! back-off doubles with each trip).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one column per ALTER TABLE.
        let columns = [
            text_null("quarantine_reason").to_owned(),
            timestamp_with_time_zone_null("quarantined_at").to_owned(),
            timestamp_with_time_zone_null("quarantine_retry_at").to_owned(),
            integer("quarantine_trips").default(0).to_owned(),
        ];
        for mut c in columns {
            m.alter_table(
                Table::alter()
                    .table("plugins")
                    .add_column(&mut c)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for c in [
            "quarantine_reason",
            "quarantined_at",
            "quarantine_retry_at",
            "quarantine_trips",
        ] {
            m.alter_table(Table::alter().table("plugins").drop_column(c).to_owned())
                .await?;
        }
        Ok(())
    }
}
