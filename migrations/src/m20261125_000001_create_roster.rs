//! Brands, KOLs with their platform accounts, products with their platform listings.

use sea_orm_migration::{prelude::*, schema::*};

use crate::fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("brands")
                .col(uuid("id").primary_key())
                .col(string("name"))
                .col(json("categories"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("kols")
                .col(uuid("id").primary_key())
                .col(string("name"))
                .col(string("tier"))
                .col(json("categories"))
                .col(big_integer("revenue_share_bp"))
                .col(string("tax_status"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;

        // One row per platform account, so an order's author/distributor id finds its KOL.
        m.create_table(
            Table::create()
                .table("kol_accounts")
                .col(uuid("id").primary_key())
                .col(uuid("kol_id"))
                .col(string("platform"))
                .col(string("account_id"))
                .col(big_integer("followers"))
                .foreign_key(&mut fk("kol_accounts", "kol_id", "kols"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_kol_accounts_platform_account")
                .table("kol_accounts")
                .col("platform")
                .col("account_id")
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_kol_accounts_kol")
                .table("kol_accounts")
                .col("kol_id")
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("products")
                .col(uuid("id").primary_key())
                .col(uuid("brand_id"))
                .col(string("sku"))
                .col(string("name"))
                .col(string("category"))
                .col(string("role"))
                .col(big_integer("list_price_fen"))
                .col(big_integer("floor_price_fen"))
                .col(big_integer("stock_units"))
                .col(text("copy"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("products", "brand_id", "brands"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_products_brand_sku")
                .table("products")
                .col("brand_id")
                .col("sku")
                .unique()
                .to_owned(),
        )
        .await?;

        // One row per platform listing, so an order's item id finds its product.
        m.create_table(
            Table::create()
                .table("product_listings")
                .col(uuid("id").primary_key())
                .col(uuid("product_id"))
                .col(string("platform"))
                .col(string("item_id"))
                .foreign_key(&mut fk("product_listings", "product_id", "products"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_product_listings_platform_item")
                .table("product_listings")
                .col("platform")
                .col("item_id")
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_product_listings_product")
                .table("product_listings")
                .col("product_id")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "product_listings",
            "products",
            "kol_accounts",
            "kols",
            "brands",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
