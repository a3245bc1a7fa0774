//! WASM plugins: every uploaded version of a component with its manifest, the state of each
//! plugin (active version, enabled, quarantine, config and secrets), and plugin-scoped state.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("plugin_versions")
                .col(uuid("id").primary_key())
                .col(string("name"))
                .col(integer("version"))
                .col(json("manifest"))
                .col(blob("component"))
                .col(string("sha256"))
                .col(boolean("bundled"))
                .col(string("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_plugin_versions_name_version")
                .table("plugin_versions")
                .col("name")
                .col("version")
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("plugins")
                .col(string("name").primary_key())
                .col(integer("active_version"))
                .col(boolean("enabled"))
                .col(json("config"))
                .col(json("secrets"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("plugin_kv")
                .col(string("plugin"))
                .col(string("key"))
                .col(blob("value"))
                .col(timestamp_with_time_zone("updated_at"))
                .primary_key(Index::create().col("plugin").col("key"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["plugin_kv", "plugins", "plugin_versions"] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
