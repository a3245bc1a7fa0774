//! Lua allocation strategies, versioned: a new source under an existing name is a new version.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("scripts")
                .col(uuid("id").primary_key())
                .col(string("name"))
                .col(integer("version"))
                .col(text("source"))
                .col(string("sha256"))
                .col(boolean("bundled"))
                .col(string("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_scripts_name_version")
                .table("scripts")
                .col("name")
                .col("version")
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("scripts").to_owned())
            .await
    }
}
