//! Contracts (the current terms and state) and their versions (every set of terms ever agreed).

use sea_orm_migration::{prelude::*, schema::*};

use crate::fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("contracts")
                .col(uuid("id").primary_key())
                .col(uuid("brand_id"))
                .col(uuid("kol_id"))
                .col(string("platform"))
                .col(timestamp_with_time_zone("starts_at"))
                .col(timestamp_with_time_zone("ends_at"))
                .col(big_integer("slot_fee_fen"))
                .col(big_integer("commission_bp"))
                .col(big_integer_null("gmv_guarantee_fen"))
                .col(string("guarantee_remedy"))
                .col(boolean("exclusive"))
                .col(boolean("lowest_price_clause"))
                .col(big_integer("sessions_committed"))
                .col(string("status"))
                .col(integer("version"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("contracts", "brand_id", "brands"))
                .foreign_key(&mut fk("contracts", "kol_id", "kols"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_contracts_brand")
                .table("contracts")
                .col("brand_id")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_contracts_kol")
                .table("contracts")
                .col("kol_id")
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("contract_versions")
                .col(uuid("id").primary_key())
                .col(uuid("contract_id"))
                .col(integer("version"))
                .col(json("terms"))
                .col(text_null("reason"))
                .col(string("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("contract_versions", "contract_id", "contracts"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_contract_versions_contract_version")
                .table("contract_versions")
                .col("contract_id")
                .col("version")
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["contract_versions", "contracts"] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
