//! Scripts as draft and published: saving a script makes a new (draft) version; the version
//! allocations run is the one published for its name. Every script that exists when this runs
//! keeps running what it ran before: its newest version is published.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("script_publications")
                .col(string("name").primary_key())
                .col(integer("version"))
                .col(string("published_by"))
                .col(timestamp_with_time_zone("published_at"))
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared(
                "INSERT INTO script_publications (name, version, published_by, published_at) \
                 SELECT s.name, s.version, s.created_by, s.created_at FROM scripts s \
                 WHERE s.version = (SELECT MAX(v.version) FROM scripts v WHERE v.name = s.name)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("script_publications").to_owned())
            .await
    }
}
