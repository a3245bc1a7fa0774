//! Money a finance team can sign (issue 11): contract versions take effect from a date, KOLs carry
//! a tax identity (the ID number sealed with an AEAD, see `kolhost::store::secrets`), settlements
//! record the month's withholding figures and who computed them (four-eyes), and a terminated
//! contract remembers when it was terminated (its guarantee is assessed then).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        let add = |table: &'static str, col: ColumnDef| {
            Table::alter().table(table).add_column(col).to_owned()
        };
        // When a version's terms take effect; NULL: since the contract began (version 1).
        m.alter_table(add(
            "contract_versions",
            timestamp_with_time_zone_null("effective_from"),
        ))
        .await?;
        // Amendments made before effective dates existed took effect when they were made.
        m.exec_stmt(
            Query::update()
                .table("contract_versions")
                .value("effective_from", Expr::col("created_at"))
                .and_where(Expr::col("version").gt(1))
                .to_owned(),
        )
        .await?;
        m.alter_table(add(
            "contracts",
            timestamp_with_time_zone_null("terminated_at"),
        ))
        .await?;
        for col in [
            string_null("legal_name"),
            string_null("id_type"),
            // The ID number as `v1:<base64 nonce||ciphertext>`, never in clear.
            text_null("id_number_sealed"),
            string_null("id_number_masked"),
        ] {
            m.alter_table(add("kols", col)).await?;
        }
        for name in [
            "month_income_fen",
            "month_tax_due_fen",
            "month_tax_withheld_before_fen",
        ] {
            m.alter_table(add("settlements", big_integer(name).default(0).to_owned()))
                .await?;
        }
        m.alter_table(add("settlements", uuid_null("created_by_token_id")))
            .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let drop = |table: &'static str, col: &'static str| {
            Table::alter().table(table).drop_column(col).to_owned()
        };
        for (t, c) in [
            ("settlements", "created_by_token_id"),
            ("settlements", "month_tax_withheld_before_fen"),
            ("settlements", "month_tax_due_fen"),
            ("settlements", "month_income_fen"),
            ("kols", "id_number_masked"),
            ("kols", "id_number_sealed"),
            ("kols", "id_type"),
            ("kols", "legal_name"),
            ("contracts", "terminated_at"),
            ("contract_versions", "effective_from"),
        ] {
            m.alter_table(drop(t, c)).await?;
        }
        Ok(())
    }
}
