//! Product sheets: the product selection sheet a brand sends an agency (商品名称, SKU, 类目, 角色,
//! 标价, 最低价, 库存, 卖点文案, 平台商品ID — or their English names), checked row by row and
//! imported all or nothing; and the catalogue exported as the same sheet, so that it can be
//! edited in a spreadsheet and imported again.
//!
//! Every row runs through the same rules as `POST /products` (and, for a SKU the brand already
//! has, `PATCH /products/{id}`) inside one transaction, so a preview (`dry_run`) reports every
//! error the real import would meet, including those only the database can tell (an item listed
//! for another product, a compliance rule set to block), and then rolls back. A real import
//! commits only when no row has an error.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use super::products::{self, Listing, NewProduct, Product, ProductPatch};
use super::sheet::{self, Row};
use crate::domain::actor::MANAGERS;
use crate::domain::money::parse_yuan;
use crate::domain::{Actor, FieldError, Platform, ProductRole};
use crate::service::statements::{Cell, Download, Format, Lang, Table};
use crate::service::visibility::visible_brands;
use crate::service::{Error, Result};
use crate::store::entities::{brand, product};
use crate::store::{self, audit};

/// The largest sheet accepted.
pub const MAX_SHEET_BYTES: usize = 8 * 1024 * 1024;
/// The most data rows one sheet may hold.
pub const MAX_ROWS: usize = 5_000;

/// What the import is asked to do.
pub struct ImportRequest {
    pub brand_id: Uuid,
    /// Check every row and report, write nothing.
    pub dry_run: bool,
    pub file: Vec<u8>,
}

/// What an import did, or (on a dry run) would do.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReport {
    pub brand_id: Uuid,
    pub dry_run: bool,
    /// Whether the products were written: only on a real import with no errors.
    pub imported: bool,
    /// Data rows read (the header and empty rows not counted).
    pub rows: usize,
    /// Rows that add a product (a SKU the brand does not have).
    pub created: usize,
    /// Rows that change a product (a SKU the brand has).
    pub updated: usize,
    /// Every problem, by sheet row; empty when the sheet can be imported.
    pub errors: Vec<RowError>,
    /// One entry per row that has no error.
    pub items: Vec<ImportedRow>,
    /// Header cells that name no known column; their cells are not read.
    pub ignored_columns: Vec<String>,
}

/// One problem of one row.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RowError {
    /// The row number as the spreadsheet shows it (the header is usually row 1).
    pub row: u32,
    /// The header of the column at fault, as written in the sheet (absent when the row as a
    /// whole is at fault).
    pub column: Option<String>,
    /// The product field at fault, in the API's names (`floor_price_fen`, `listings[0].item_id`).
    pub field: String,
    /// A stable name of the problem: the sheet's own (`required`, `invalid_price`,
    /// `invalid_number`, `invalid_role`, `invalid_category`, `invalid_listing`, `lost_digits`,
    /// `duplicate_sku`, `duplicate_listing`, `compliance_blocked`) or the code a product rule
    /// gives in `POST /products` (`floor_above_list`, `too_long`, `taken`, ...).
    pub code: String,
    pub message: String,
}

/// A row that imports cleanly.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportedRow {
    pub row: u32,
    pub sku: String,
    /// `create` or `update`.
    pub action: &'static str,
    /// The product written (on a dry run, the id it would have had is not kept: `null` for new
    /// products).
    pub product_id: Option<Uuid>,
}

/// Reads, checks and (unless `dry_run`, and only when every row is clean) imports a sheet.
pub async fn import(
    db: &DatabaseConnection,
    actor: &Actor,
    req: ImportRequest,
) -> Result<ImportReport> {
    actor.require(MANAGERS)?;
    if brand::Entity::find_by_id(req.brand_id)
        .one(db)
        .await?
        .is_none()
    {
        return Err(FieldError::unknown("brand_id", "brand").into());
    }
    if req.file.len() > MAX_SHEET_BYTES {
        return Err(Error::PayloadTooLarge);
    }
    let digest = hex::encode(Sha256::digest(&req.file));
    // Inflating and parsing a workbook is CPU work: off the async workers.
    let rows = tokio::task::spawn_blocking(move || sheet::read(&req.file, MAX_ROWS))
        .await
        .map_err(|e| Error::Internal(e.into()))?
        .map_err(|e| {
            FieldError::new("file", "unreadable_sheet", e.to_string())
                .with_param("reason", e.to_string())
        })?;
    let Some((header, data)) = rows.split_first() else {
        return Err(FieldError::new("file", "empty_sheet", "the sheet is empty").into());
    };
    let columns = Columns::read(header)?;
    let mut errors = Vec::new();
    let drafts: Vec<Draft> = data
        .iter()
        .filter_map(|row| columns.draft(row, &mut errors))
        .collect();
    let drafts = repeated_keys(drafts, &columns, &mut errors);

    let txn = store::write_txn(db).await?;
    let existing: HashMap<String, product::Model> = product::Entity::find()
        .filter(product::Column::BrandId.eq(req.brand_id))
        .all(&txn)
        .await?
        .into_iter()
        .map(|p| (p.sku.clone(), p))
        .collect();
    let mut items = Vec::new();
    for d in drafts {
        let (row, sku) = (d.row, d.sku.clone());
        let outcome = match existing.get(&d.sku) {
            Some(current) => products::change(&txn, actor, current.clone(), d.patch())
                .await
                .map(|p| (p, "update")),
            None => {
                let new = d.new_product(req.brand_id);
                match products::validate_new(&new) {
                    Ok(()) => products::insert(&txn, actor, new)
                        .await
                        .map(|p| (p, "create")),
                    Err(e) => Err(e),
                }
            }
        };
        match outcome {
            Ok((p, action)) => items.push(ImportedRow {
                row,
                sku,
                action,
                product_id: (!req.dry_run || action == "update").then_some(p.id),
            }),
            Err(e) => errors.extend(columns.row_errors(row, e)?),
        }
    }
    errors.sort_by_key(|e| e.row);
    let created = items.iter().filter(|i| i.action == "create").count();
    let updated = items.len() - created;
    let report = ImportReport {
        brand_id: req.brand_id,
        dry_run: req.dry_run,
        imported: false,
        rows: data.len(),
        created,
        updated,
        errors,
        items,
        ignored_columns: columns.ignored.clone(),
    };
    if req.dry_run {
        txn.rollback().await?;
        return Ok(report);
    }
    if !report.errors.is_empty() {
        txn.rollback().await?;
        return Err(rejected(report));
    }
    let summary = serde_json::json!({
        "rows": report.rows, "created": created, "updated": updated, "sha256": digest,
    });
    audit::wrote(
        &txn,
        actor,
        "product.import",
        ("brand", req.brand_id),
        &summary,
    )
    .await?;
    txn.commit().await?;
    Ok(ImportReport {
        imported: true,
        ..report
    })
}

/// A real import with errors: 422, every row error both as a field error
/// (`rows[5].floor_price_fen`) and, with its column, under `row_errors`.
fn rejected(report: ImportReport) -> Error {
    let errors = report
        .errors
        .iter()
        .map(|e| {
            FieldError::new(
                format!("rows[{}].{}", e.row, e.field),
                e.code.clone(),
                e.message.clone(),
            )
        })
        .collect();
    let mut extensions = serde_json::Map::new();
    extensions.insert("code".into(), "import_rejected".into());
    extensions.insert(
        "row_errors".into(),
        serde_json::to_value(&report.errors).unwrap_or_default(),
    );
    extensions.insert("rows".into(), report.rows.into());
    let bad_rows = report
        .errors
        .iter()
        .map(|e| e.row)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    extensions.insert(
        "params".into(),
        serde_json::json!({ "rows_with_errors": bad_rows, "rows": report.rows }),
    );
    Error::Rejected {
        detail: format!(
            "{bad_rows} of {} rows have errors; nothing was imported",
            report.rows
        ),
        errors,
        extensions,
    }
}

/// The most products one export holds.
const MAX_EXPORT_ROWS: u64 = 100_000;

/// The actor's products (of one brand, or all they see) as a product sheet with the import's
/// columns: prices in yuan, roles and headers in Chinese (`lang=en`: English), listings as
/// `platform:item_id` joined by `;`.
pub async fn export(
    db: &DatabaseConnection,
    actor: &Actor,
    brand_id: Option<Uuid>,
    format: Format,
    lang: Lang,
) -> Result<Download> {
    let mut q = product::Entity::find();
    if let Some(b) = brand_id {
        q = q.filter(product::Column::BrandId.eq(b));
    }
    if let Some(ids) = visible_brands(db, actor.scope()).await? {
        q = q.filter(product::Column::BrandId.is_in(ids));
    }
    let rows = q
        .order_by_asc(product::Column::Sku)
        .order_by_asc(product::Column::Id)
        .limit(MAX_EXPORT_ROWS + 1)
        .all(db)
        .await?;
    if rows.len() as u64 > MAX_EXPORT_ROWS {
        return Err(FieldError::new(
            "brand_id",
            "export_too_large",
            format!("more than {MAX_EXPORT_ROWS} products: export one brand at a time"),
        )
        .with_param("max", MAX_EXPORT_ROWS)
        .into());
    }
    let products = products::with_listings(db, rows).await?;
    let zh = lang == Lang::Zh;
    let headers = if zh {
        [
            "商品名称",
            "SKU",
            "类目",
            "角色",
            "标价",
            "最低价",
            "库存",
            "卖点文案",
            "平台商品ID",
        ]
    } else {
        [
            "name",
            "sku",
            "category",
            "role",
            "list_price",
            "floor_price",
            "stock_units",
            "copy",
            "item_id",
        ]
    };
    let table = Table {
        headers: headers.iter().map(|h| (*h).to_owned()).collect(),
        rows: products.into_iter().map(|p| export_row(p, zh)).collect(),
    };
    table.download(format, "products", if zh { "商品" } else { "products" })
}

fn export_row(p: Product, zh: bool) -> Vec<Cell> {
    let role = match (p.role, zh) {
        (ProductRole::Launch, true) => "首发",
        (ProductRole::Traffic, true) => "引流",
        (ProductRole::Profit, true) => "利润",
        (r, false) => r.as_str(),
    };
    let listings: Vec<String> = p
        .listings
        .iter()
        .map(|l| format!("{}:{}", l.platform, l.item_id))
        .collect();
    vec![
        Cell::Text(p.name),
        Cell::Text(p.sku),
        Cell::Text(p.category),
        role.into(),
        Cell::Yuan(p.list_price_fen),
        Cell::Yuan(p.floor_price_fen),
        Cell::Int(p.stock_units),
        Cell::Text(p.copy),
        Cell::Text(listings.join("; ")),
    ]
}

/// What a column of the sheet holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Name,
    Sku,
    Category,
    Role,
    ListPrice(Unit),
    FloorPrice(Unit),
    Stock,
    Copy,
    /// Item ids written `platform:id` (any platform), or the ids of one platform.
    Listings(Option<Platform>),
}

/// How a price column is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Yuan,
    Fen,
}

impl Field {
    /// The API field a column fills.
    fn api_name(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Sku => "sku",
            Field::Category => "category",
            Field::Role => "role",
            Field::ListPrice(_) => "list_price_fen",
            Field::FloorPrice(_) => "floor_price_fen",
            Field::Stock => "stock_units",
            Field::Copy => "copy",
            Field::Listings(_) => "listings",
        }
    }

    /// The column a header names: the Chinese headers of an agency's selection sheet, their
    /// common variants, and the English (API) names; case, spaces, `_` and `-` do not matter.
    /// A price header may say its unit: `标价(元)`, `list_price_fen`.
    fn of_header(header: &str) -> Option<Field> {
        let mut key: String = header
            .chars()
            .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '-' | '*'))
            .flat_map(char::to_lowercase)
            .collect();
        let mut unit = None;
        for (suffix, u) in [
            ("(元)", Unit::Yuan),
            ("（元）", Unit::Yuan),
            ("(yuan)", Unit::Yuan),
            ("yuan", Unit::Yuan),
            ("(分)", Unit::Fen),
            ("（分）", Unit::Fen),
            ("(fen)", Unit::Fen),
            ("fen", Unit::Fen),
        ] {
            if let Some(k) = key.strip_suffix(suffix) {
                key = k.to_owned();
                unit = Some(u);
                break;
            }
        }
        let price = |f: fn(Unit) -> Field| Some(f(unit.unwrap_or(Unit::Yuan)));
        let field = match key.as_str() {
            "商品名称" | "商品名" | "名称" | "name" | "productname" => Some(Field::Name),
            "sku" | "商品编码" | "货号" | "skucode" => Some(Field::Sku),
            "类目" | "品类" | "category" => Some(Field::Category),
            "角色" | "商品角色" | "role" => Some(Field::Role),
            "标价" | "原价" | "吊牌价" | "listprice" => price(Field::ListPrice),
            "最低价" | "底价" | "最低直播价" | "floorprice" => price(Field::FloorPrice),
            "库存" | "直播库存" | "stock" | "stockunits" => Some(Field::Stock),
            "卖点文案" | "卖点" | "文案" | "copy" => Some(Field::Copy),
            "平台商品id" | "商品id" | "itemid" | "platformitemid" | "listings" => {
                Some(Field::Listings(None))
            }
            "抖音商品id" | "douyinitemid" => Some(Field::Listings(Some(Platform::Douyin))),
            "快手商品id" | "kuaishouitemid" => Some(Field::Listings(Some(Platform::Kuaishou))),
            "淘宝商品id" | "天猫商品id" | "taobaoitemid" => {
                Some(Field::Listings(Some(Platform::Taobao)))
            }
            _ => None,
        }?;
        // A unit on anything but a price is not a header we know.
        match (field, unit) {
            (Field::ListPrice(_) | Field::FloorPrice(_), _) | (_, None) => Some(field),
            _ => None,
        }
    }
}

/// The sheet's columns, read from its header row.
struct Columns {
    /// For each column index, the field and the header as written.
    fields: Vec<Option<(Field, String)>>,
    ignored: Vec<String>,
}

/// The columns a sheet must have.
const REQUIRED: [(Field, &str); 7] = [
    (Field::Name, "商品名称 (name)"),
    (Field::Sku, "SKU (sku)"),
    (Field::Category, "类目 (category)"),
    (Field::Role, "角色 (role)"),
    (Field::ListPrice(Unit::Yuan), "标价 (list_price)"),
    (Field::FloorPrice(Unit::Yuan), "最低价 (floor_price)"),
    (Field::Stock, "库存 (stock_units)"),
];

impl Columns {
    fn read(header: &Row) -> Result<Columns> {
        let mut fields: Vec<Option<(Field, String)>> = Vec::new();
        let mut ignored = Vec::new();
        let mut problems = Vec::new();
        for text in &header.cells {
            match Field::of_header(text) {
                Some(f) => {
                    // Several listing columns may stand side by side (one per platform); any
                    // other field comes from one column.
                    let twice = fields.iter().flatten().any(|(g, _)| {
                        g.api_name() == f.api_name()
                            && (*g == f || !matches!(f, Field::Listings(_)))
                    });
                    if twice {
                        problems.push(FieldError::new(
                            "file",
                            "repeated_column",
                            format!(
                                "row {}: column {text:?} repeats an earlier column",
                                header.number
                            ),
                        ));
                    }
                    fields.push(Some((f, text.clone())));
                }
                None => {
                    if !text.is_empty() {
                        ignored.push(text.clone());
                    }
                    fields.push(None);
                }
            }
        }
        for (f, name) in REQUIRED {
            if !fields
                .iter()
                .flatten()
                .any(|(g, _)| g.api_name() == f.api_name())
            {
                problems.push(
                    FieldError::new(
                        "file",
                        "missing_column",
                        format!("row {}: the header has no column {name}", header.number),
                    )
                    .with_param("column", name),
                );
            }
        }
        if problems.is_empty() {
            Ok(Columns { fields, ignored })
        } else {
            Err(Error::Validation(problems))
        }
    }

    /// The header of the column that fills `api_field` (for `listings[2].item_id`, the first
    /// listings column).
    fn header_of(&self, api_field: &str) -> Option<String> {
        let root = api_field.split(['.', '[']).next().unwrap_or(api_field);
        self.fields
            .iter()
            .flatten()
            .find(|(f, _)| f.api_name() == root)
            .map(|(_, h)| h.clone())
    }

    fn has(&self, pred: impl Fn(Field) -> bool) -> bool {
        self.fields.iter().flatten().any(|(f, _)| pred(*f))
    }

    /// A row's values, or `None` with its problems added to `errors`.
    fn draft(&self, row: &Row, errors: &mut Vec<RowError>) -> Option<Draft> {
        let before = errors.len();
        let mut err = |header: &str, field: &str, code: &str, message: String| {
            errors.push(RowError {
                row: row.number,
                column: Some(header.to_owned()),
                field: field.to_owned(),
                code: code.to_owned(),
                message,
            })
        };
        let mut d = Draft {
            row: row.number,
            ..Draft::default()
        };
        let mut listings: Vec<Listing> = Vec::new();
        for (i, col) in self.fields.iter().enumerate() {
            let Some((field, header)) = col else { continue };
            let cell = row.cells.get(i).map(String::as_str).unwrap_or("");
            let name = field.api_name();
            let required = !matches!(field, Field::Copy | Field::Listings(_));
            if cell.is_empty() {
                if required {
                    err(header, name, "required", "must not be empty".into());
                }
                continue;
            }
            match field {
                Field::Name => d.name = cell.to_owned(),
                Field::Sku => d.sku = cell.to_owned(),
                Field::Copy => d.copy = cell.to_owned(),
                Field::Category => match category(cell) {
                    Some(c) => d.category = c,
                    None => err(
                        header,
                        name,
                        "invalid_category",
                        format!(
                            "{cell:?} is not a category: use 食品, 家纺, 女装, 美妆 or a lowercase slug (a-z, 0-9, _)"
                        ),
                    ),
                },
                Field::Role => match role(cell) {
                    Some(r) => d.role = Some(r),
                    None => err(
                        header,
                        name,
                        "invalid_role",
                        format!(
                            "{cell:?} is not a role: use 首发 (launch), 引流 (traffic) or 利润 (profit)"
                        ),
                    ),
                },
                Field::ListPrice(unit) | Field::FloorPrice(unit) => match price(cell, *unit) {
                    Some(fen) if matches!(field, Field::ListPrice(_)) => d.list_price_fen = fen,
                    Some(fen) => d.floor_price_fen = fen,
                    None => err(
                        header,
                        name,
                        "invalid_price",
                        match unit {
                            Unit::Yuan => format!(
                                "{cell:?} is not a price in yuan (e.g. 199 or 199.90, at most two decimals)"
                            ),
                            Unit::Fen => format!("{cell:?} is not a whole number of fen"),
                        },
                    ),
                },
                Field::Stock => match cell.replace(',', "").parse::<i64>() {
                    Ok(n) => d.stock_units = n,
                    Err(_) => err(
                        header,
                        name,
                        "invalid_number",
                        format!("{cell:?} is not a whole number of units"),
                    ),
                },
                Field::Listings(platform) => {
                    for token in cell
                        .split([';', '；', ',', '，', '、', '\n', '|'])
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                    {
                        match listing(token, *platform) {
                            Ok(l) => listings.push(l),
                            Err((code, message)) => err(header, name, code, message),
                        }
                    }
                }
            }
        }
        d.copy_given = self.has(|f| f == Field::Copy);
        if self.has(|f| matches!(f, Field::Listings(_))) {
            d.listings = Some(listings);
        }
        (errors.len() == before).then_some(d)
    }

    /// A product rule broken by a row, as row errors naming their columns. Errors that are
    /// not about the row (the database failing) end the import.
    fn row_errors(&self, row: u32, e: Error) -> Result<Vec<RowError>> {
        let (blocked, list) = match e {
            Error::Validation(list) => (false, list),
            Error::Rejected { errors, .. } => (true, errors),
            other => return Err(other),
        };
        Ok(list
            .into_iter()
            .map(|f| RowError {
                row,
                column: self.header_of(&f.field),
                code: if blocked {
                    "compliance_blocked".to_owned()
                } else {
                    f.code
                },
                field: f.field,
                message: f.message,
            })
            .collect())
    }
}

/// Drops rows whose SKU, or one of whose items, an earlier row of the sheet already has.
fn repeated_keys(drafts: Vec<Draft>, columns: &Columns, errors: &mut Vec<RowError>) -> Vec<Draft> {
    let mut skus: HashMap<String, u32> = HashMap::new();
    let mut items: HashMap<(Platform, String), u32> = HashMap::new();
    let mut kept = Vec::new();
    for d in drafts {
        let mut ok = true;
        if let Some(first) = skus.get(&d.sku) {
            errors.push(RowError {
                row: d.row,
                column: columns.header_of("sku"),
                field: "sku".into(),
                code: "duplicate_sku".into(),
                message: format!("SKU {:?} is already on row {first}", d.sku),
            });
            ok = false;
        }
        for (i, l) in d.listings.iter().flatten().enumerate() {
            let key = (l.platform, l.item_id.clone());
            if let Some(first) = items.get(&key).filter(|r| **r != d.row) {
                errors.push(RowError {
                    row: d.row,
                    column: columns.header_of("listings"),
                    field: format!("listings[{i}].item_id"),
                    code: "duplicate_listing".into(),
                    message: format!("{}:{} is already on row {first}", l.platform, l.item_id),
                });
                ok = false;
            }
        }
        skus.entry(d.sku.clone()).or_insert(d.row);
        for l in d.listings.iter().flatten() {
            items
                .entry((l.platform, l.item_id.clone()))
                .or_insert(d.row);
        }
        if ok {
            kept.push(d);
        }
    }
    kept
}

/// One row's values.
#[derive(Debug, Default)]
struct Draft {
    row: u32,
    name: String,
    sku: String,
    category: String,
    role: Option<ProductRole>,
    list_price_fen: i64,
    floor_price_fen: i64,
    stock_units: i64,
    copy: String,
    /// Whether the sheet has a copy column (else an update keeps the product's copy).
    copy_given: bool,
    /// `None` when the sheet has no listings column (an update keeps the product's listings).
    listings: Option<Vec<Listing>>,
}

impl Draft {
    fn new_product(&self, brand_id: Uuid) -> NewProduct {
        NewProduct {
            brand_id,
            sku: self.sku.clone(),
            name: self.name.clone(),
            category: self.category.clone(),
            role: self.role.unwrap_or(ProductRole::Profit),
            list_price_fen: self.list_price_fen,
            floor_price_fen: self.floor_price_fen,
            stock_units: self.stock_units,
            copy: self.copy.clone(),
            listings: self.listings.clone().unwrap_or_default(),
        }
    }

    fn patch(&self) -> ProductPatch {
        ProductPatch {
            sku: None,
            name: Some(self.name.clone()),
            category: Some(self.category.clone()),
            role: self.role,
            list_price_fen: Some(self.list_price_fen),
            floor_price_fen: Some(self.floor_price_fen),
            stock_units: Some(self.stock_units),
            copy: self.copy_given.then(|| self.copy.clone()),
            listings: self.listings.clone(),
        }
    }
}

/// A category: one of the top categories by its Chinese name, or a slug as the API takes it.
fn category(cell: &str) -> Option<String> {
    let known = match cell {
        "食品" | "食品饮料" => Some("food"),
        "家纺" | "家居家纺" => Some("home_textiles"),
        "女装" => Some("womens_fashion"),
        "美妆" | "美妆护肤" => Some("beauty"),
        _ => None,
    };
    let slug = known.map_or_else(|| cell.to_lowercase(), str::to_owned);
    crate::domain::validation::is_slug(&slug).then_some(slug)
}

/// A role by its API name or the words an agency uses for it.
fn role(cell: &str) -> Option<ProductRole> {
    match cell.to_lowercase().as_str() {
        "首发" | "首发款" | "新品" | "新品首发" => Some(ProductRole::Launch),
        "引流" | "引流款" | "流量款" => Some(ProductRole::Traffic),
        "利润" | "利润款" => Some(ProductRole::Profit),
        other => ProductRole::parse(other),
    }
}

/// A price cell in its column's unit, to fen.
fn price(cell: &str, unit: Unit) -> Option<i64> {
    match unit {
        Unit::Yuan => parse_yuan(cell),
        Unit::Fen => cell
            .replace(',', "")
            .parse::<i64>()
            .ok()
            .filter(|f| *f >= 0),
    }
}

/// One item id: `douyin:3581...` (or `抖音：3581...`), or a bare id in a one-platform column.
fn listing(token: &str, column: Option<Platform>) -> Result<Listing, (&'static str, String)> {
    let (platform, id) = match token.split_once([':', '：']) {
        Some((p, id)) => {
            let p = p.trim();
            let named = match p.to_lowercase().as_str() {
                "抖音" | "抖店" => Some(Platform::Douyin),
                "快手" => Some(Platform::Kuaishou),
                "淘宝" | "天猫" | "tmall" => Some(Platform::Taobao),
                other => Platform::parse(other),
            };
            let Some(named) = named else {
                return Err((
                    "invalid_listing",
                    format!(
                        "{p:?} is not a platform: use douyin, kuaishou or taobao (抖音, 快手, 淘宝)"
                    ),
                ));
            };
            if column.is_some_and(|c| c != named) {
                return Err((
                    "invalid_listing",
                    format!("{token:?} names another platform than its column"),
                ));
            }
            (named, id.trim())
        }
        None => match column {
            Some(c) => (c, token),
            None => {
                return Err((
                    "invalid_listing",
                    format!("{token:?} does not say its platform: write it as douyin:{token}"),
                ));
            }
        },
    };
    if id.is_empty() {
        return Err(("invalid_listing", format!("{token:?} has no item id")));
    }
    // A number cell Excel rounded (3.58123456789012E+18) lost its last digits.
    if id.contains(['e', 'E']) && id.parse::<f64>().is_ok() {
        return Err((
            "lost_digits",
            format!(
                "item id {id} was stored as a number and lost digits; format the column as text and type the id again"
            ),
        ));
    }
    Ok(Listing {
        platform,
        item_id: id.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_in_chinese_and_english() {
        assert_eq!(Field::of_header("商品名称"), Some(Field::Name));
        assert_eq!(Field::of_header(" SKU "), Some(Field::Sku));
        assert_eq!(
            Field::of_header("标价(元)"),
            Some(Field::ListPrice(Unit::Yuan))
        );
        assert_eq!(
            Field::of_header("最低价"),
            Some(Field::FloorPrice(Unit::Yuan))
        );
        assert_eq!(
            Field::of_header("floor_price_fen"),
            Some(Field::FloorPrice(Unit::Fen))
        );
        assert_eq!(
            Field::of_header("List Price"),
            Some(Field::ListPrice(Unit::Yuan))
        );
        assert_eq!(Field::of_header("stock_units"), Some(Field::Stock));
        assert_eq!(Field::of_header("平台商品ID"), Some(Field::Listings(None)));
        assert_eq!(
            Field::of_header("抖音商品ID"),
            Some(Field::Listings(Some(Platform::Douyin)))
        );
        assert_eq!(Field::of_header("库存(元)"), None);
        assert_eq!(Field::of_header("图片"), None);
    }

    #[test]
    fn cells_in_an_agencys_words() {
        assert_eq!(role("引流款"), Some(ProductRole::Traffic));
        assert_eq!(role("Launch"), Some(ProductRole::Launch));
        assert_eq!(role("爆款"), None);
        assert_eq!(category("美妆").as_deref(), Some("beauty"));
        assert_eq!(category("Pet_Food").as_deref(), Some("pet_food"));
        assert_eq!(category("宠物"), None);
        assert_eq!(price("1,299.50", Unit::Yuan), Some(129_950));
        assert_eq!(price("129950", Unit::Fen), Some(129_950));
        assert_eq!(price("12.5", Unit::Fen), None);
        assert_eq!(
            listing("抖音：3581", None).unwrap(),
            Listing {
                platform: Platform::Douyin,
                item_id: "3581".into()
            }
        );
        assert_eq!(
            listing("3581", Some(Platform::Kuaishou)).unwrap().platform,
            Platform::Kuaishou
        );
        assert_eq!(listing("3581", None).unwrap_err().0, "invalid_listing");
        assert_eq!(listing("jd:1", None).unwrap_err().0, "invalid_listing");
        assert_eq!(
            listing("3.581234567890123e18", Some(Platform::Douyin))
                .unwrap_err()
                .0,
            "lost_digits"
        );
        assert_eq!(
            listing("douyin:3.58123E+18", None).unwrap_err().0,
            "lost_digits"
        );
    }
}
