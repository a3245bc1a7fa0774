//! Leases for work that exactly one host may do at a time (a platform plugin's poller, the
//! retention job): who holds it, until when, and an epoch that grows with every change of
//! holder, so a holder that lost its lease can tell (its writes check holder and epoch).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("leases")
                .if_not_exists()
                .col(string("name").primary_key())
                .col(string("holder"))
                .col(big_integer("epoch"))
                .col(timestamp_with_time_zone("acquired_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("leases").to_owned()).await
    }
}
