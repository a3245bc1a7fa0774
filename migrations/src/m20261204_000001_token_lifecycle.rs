//! Token lifecycle: an optional expiry and the time a token was last used.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        for col in ["expires_at", "last_used_at"] {
            m.alter_table(
                Table::alter()
                    .table("api_tokens")
                    .add_column(timestamp_with_time_zone_null(col))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in ["last_used_at", "expires_at"] {
            m.alter_table(
                Table::alter()
                    .table("api_tokens")
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
