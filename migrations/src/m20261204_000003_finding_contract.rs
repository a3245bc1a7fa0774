//! A compliance finding about a lineup slot names the slot's contract, so that each party of
//! a shared session sees only the findings about its own slots.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("compliance_findings")
                .add_column(uuid_null("contract_id"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("compliance_findings")
                .drop_column("contract_id")
                .to_owned(),
        )
        .await
    }
}
