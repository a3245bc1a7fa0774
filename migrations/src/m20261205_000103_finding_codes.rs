//! A compliance finding says exactly what was found with a stable `code` and the values its
//! message names (`params`, a JSON object), so a client writes it in its own language. Findings
//! stored before keep their English message; their code follows from the rule.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one column at a time.
        for mut c in [
            string("code").default("").to_owned(),
            text_null("params").to_owned(),
        ] {
            m.alter_table(
                Table::alter()
                    .table("compliance_findings")
                    .add_column(&mut c)
                    .to_owned(),
            )
            .await?;
        }
        // Earlier findings: a banned term is `banned_term`; a floor-price finding was either a
        // live price under the floor or a raised floor over a live price (told by its field).
        m.get_connection()
            .execute_unprepared(
                "UPDATE compliance_findings SET code = CASE \
                   WHEN rule = 'banned_term' THEN 'banned_term' \
                   WHEN rule = 'floor_price' AND field = 'floor_price_fen' THEN 'floor_above_live' \
                   WHEN rule = 'floor_price' THEN 'price_below_floor' \
                   WHEN message LIKE 'live price % undercuts %' THEN 'undercuts_promised_lowest' \
                   ELSE 'above_promised_lowest' END \
                 WHERE code = ''",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for c in ["code", "params"] {
            m.alter_table(
                Table::alter()
                    .table("compliance_findings")
                    .drop_column(c)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
