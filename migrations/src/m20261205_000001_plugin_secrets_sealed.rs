//! Plugin secrets sealed at rest: `plugins.secrets_sealed` holds the plugin's secret values as
//! one JSON object sealed with the server key (`store::secrets`, the plugin's name as associated
//! data). The key is not available to a migration, so rows written before this one keep their
//! plain `secrets` until the server's next start seals them and empties `secrets`
//! (`store::rotation::prepare`, idempotent).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("plugins")
                .add_column(text_null("secrets_sealed"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("plugins")
                .drop_column("secrets_sealed")
                .to_owned(),
        )
        .await
    }
}
