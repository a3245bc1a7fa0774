//! Settlements and compliance (design §6a): computed settlements with their lines and the orders
//! (or late adjustments) each one counted, the compliance rules with their mode, the banned
//! absolute terms, and the findings — kept at least three years (the application never deletes
//! them).

use sea_orm_migration::{prelude::*, schema::*};

use crate::fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Absolute terms the Advertising Law (广告法 §9) forbids in advertising, as commonly listed by
/// the market regulator and the platforms. Matching is by substring; see `domain::compliance`.
const DEFAULT_TERMS: &[&str] = &[
    "最",
    "最佳",
    "最高级",
    "最低价",
    "最便宜",
    "最好",
    "第一",
    "全网第一",
    "销量第一",
    "唯一",
    "独一无二",
    "首选",
    "国家级",
    "世界级",
    "全球级",
    "宇宙级",
    "顶级",
    "顶尖",
    "极品",
    "极致",
    "终极",
    "绝对",
    "王牌",
    "销量冠军",
    "史无前例",
    "万能",
    "遥遥领先",
    "NO.1",
    "TOP1",
];

/// Every rule starts in the mode that suits it: absolute terms and floor prices block the
/// write; the lowest-price clause, which depends on other KOLs' lineups, warns.
const DEFAULT_RULES: &[(&str, &str)] = &[
    ("banned_term", "block"),
    ("floor_price", "block"),
    ("lowest_price", "warn"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One computed settlement of a contract for [period_start, period_end). `status`:
        // draft (may be recomputed), superseded (replaced by a newer draft of the same period),
        // approved (immutable). Totals are columns so reports can add them up; `lines` say how.
        m.create_table(
            Table::create()
                .table("settlements")
                .col(uuid("id").primary_key())
                .col(uuid("contract_id"))
                .col(uuid("brand_id"))
                .col(uuid("kol_id"))
                .col(integer("contract_version"))
                .col(timestamp_with_time_zone("period_start"))
                .col(timestamp_with_time_zone("period_end"))
                .col(string("status"))
                .col(boolean("guarantee_assessed"))
                .col(big_integer("commission_bp"))
                .col(big_integer("revenue_share_bp"))
                .col(string("tax_status"))
                .col(big_integer("order_count"))
                .col(big_integer("gmv_fen"))
                .col(big_integer("refunds_fen"))
                .col(big_integer("adjustments_fen"))
                .col(big_integer("net_gmv_fen"))
                .col(big_integer("commission_fen"))
                .col(big_integer("slot_fees_fen"))
                .col(big_integer_null("guarantee_shortfall_fen"))
                .col(big_integer("guarantee_refund_fen"))
                .col(big_integer("platform_fees_fen"))
                .col(big_integer("kol_share_fen"))
                .col(big_integer("tax_withheld_fen"))
                .col(big_integer("brand_payable_fen"))
                .col(big_integer("kol_payable_fen"))
                .col(json("lines"))
                .col(string("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(string_null("approved_by"))
                .col(timestamp_with_time_zone_null("approved_at"))
                .foreign_key(&mut fk("settlements", "contract_id", "contracts"))
                .foreign_key(&mut fk("settlements", "brand_id", "brands"))
                .foreign_key(&mut fk("settlements", "kol_id", "kols"))
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            (
                "ix_settlements_contract_period",
                &["contract_id", "period_start"][..],
            ),
            (
                "ix_settlements_kol_approved",
                &["kol_id", "approved_at"][..],
            ),
            ("ix_settlements_brand", &["brand_id"][..]),
        ] {
            let mut idx = Index::create();
            idx.name(name).table("settlements");
            for c in cols {
                idx.col(*c);
            }
            m.create_index(idx.to_owned()).await?;
        }

        // What a settlement counted of each order: `kind` order (settled in the period),
        // late_order (settled in an approved period after it was approved) or late_refund (a
        // refund that arrived after the order's settlement was approved). The sums over approved
        // settlements are what later settlements carry differences against.
        m.create_table(
            Table::create()
                .table("settlement_items")
                .col(uuid("id").primary_key())
                .col(uuid("settlement_id"))
                .col(uuid("order_id"))
                .col(string("kind"))
                .col(big_integer("paid_fen"))
                .col(big_integer("refunded_fen"))
                .foreign_key(&mut fk("settlement_items", "settlement_id", "settlements"))
                .foreign_key(&mut fk("settlement_items", "order_id", "orders"))
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("ix_settlement_items_settlement", "settlement_id"),
            ("ix_settlement_items_order", "order_id"),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table("settlement_items")
                    .col(col)
                    .to_owned(),
            )
            .await?;
        }

        // Compliance rules and whether each blocks a write or warns.
        m.create_table(
            Table::create()
                .table("compliance_rules")
                .col(string("rule").primary_key())
                .col(string("mode"))
                .col(string_null("updated_by"))
                .col(timestamp_with_time_zone_null("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("compliance_terms")
                .col(string("term").primary_key())
                .col(integer("position"))
                .to_owned(),
        )
        .await?;
        for (rule, mode) in DEFAULT_RULES {
            m.exec_stmt(
                Query::insert()
                    .into_table("compliance_rules")
                    .columns(["rule", "mode"])
                    .values_panic([(*rule).into(), (*mode).into()])
                    .to_owned(),
            )
            .await?;
        }
        for (i, term) in DEFAULT_TERMS.iter().enumerate() {
            m.exec_stmt(
                Query::insert()
                    .into_table("compliance_terms")
                    .columns(["term", "position"])
                    .values_panic([(*term).into(), (i as i32).into()])
                    .to_owned(),
            )
            .await?;
        }

        // Findings of writes that went through in warn mode (a blocked write stores nothing).
        // Never deleted by the application: records are kept at least three years.
        m.create_table(
            Table::create()
                .table("compliance_findings")
                .col(uuid("id").primary_key())
                .col(string("entity_type"))
                .col(uuid("entity_id"))
                .col(string("rule"))
                .col(string("mode"))
                .col(string("field"))
                .col(string_null("term"))
                .col(big_integer_null("char_offset"))
                .col(text("message"))
                .col(uuid_null("related_id"))
                .col(string("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_compliance_findings_entity")
                .table("compliance_findings")
                .col("entity_id")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "compliance_findings",
            "compliance_terms",
            "compliance_rules",
            "settlement_items",
            "settlements",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
