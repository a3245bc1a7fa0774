//! Compliance findings are reviewed: acknowledged, then resolved (with a note), each step saying
//! who did it and when. A finding is never deleted.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one column at a time.
        let columns = [
            string("status").default("open").to_owned(),
            string_null("acknowledged_by").to_owned(),
            timestamp_with_time_zone_null("acknowledged_at").to_owned(),
            string_null("resolved_by").to_owned(),
            timestamp_with_time_zone_null("resolved_at").to_owned(),
            text_null("resolution_note").to_owned(),
        ];
        for mut c in columns {
            m.alter_table(
                Table::alter()
                    .table("compliance_findings")
                    .add_column(&mut c)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for c in [
            "status",
            "acknowledged_by",
            "acknowledged_at",
            "resolved_by",
            "resolved_at",
            "resolution_note",
        ] {
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
