//! Files finance opens: a settlement's statement and the month's withholding declaration, as
//! XLSX (rust_xlsxwriter) or CSV (UTF-8 with a byte-order mark, so spreadsheet programs read
//! the Chinese right). Headers are Chinese (`lang=en`: English), names stand beside ids, times
//! are China Standard Time, amounts are yuan with two decimals (and fen where a check needs the
//! exact integer).
//!
//! A statement is one table: one row per order the settlement counted (its pay and settle
//! times, the contract version it was settled on, paid, refunded and net), then one row per
//! line with how it was computed. A brand's statement leaves out the KOL's split (share, tax,
//! payouts: [`privacy::BRAND_LINES`]).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::settlement::{self, csv_row};
use super::{Error, Result};
use super::{line_text, privacy};
use crate::domain::money;
use crate::domain::tax;
use crate::domain::{Actor, FieldError};
use crate::store::entities::{brand, contract, kol, order, settlement_item};

/// A file to download: its name, media type and bytes.
#[derive(Debug, Clone)]
pub struct Download {
    pub filename: String,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
pub const CSV: &str = "text/csv; charset=utf-8";

/// The file formats offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    Csv,
}

/// Chinese (the default) or English headers and labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// `None`/`zh`/`zh-CN`: Chinese; `en`: English; anything else is refused.
    pub fn parse(lang: Option<&str>) -> Result<Lang> {
        match lang.map(str::to_ascii_lowercase).as_deref() {
            None | Some("zh") | Some("zh-cn") => Ok(Lang::Zh),
            Some("en") => Ok(Lang::En),
            Some(_) => Err(FieldError::one_of("lang", &["zh", "en"]).into()),
        }
    }

    fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    /// An amount in fen, written as yuan with two decimals.
    Yuan(i64),
    /// An integer (fen, counts, versions).
    Int(i64),
    Empty,
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_owned())
    }
}

/// A sheet: headers and rows.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// CSV (RFC 4180, CRLF) with a UTF-8 byte-order mark.
    pub fn to_csv(&self) -> Vec<u8> {
        let mut out = String::from("\u{feff}");
        out.push_str(&csv_row(&self.headers));
        for row in &self.rows {
            let fields: Vec<String> = row
                .iter()
                .map(|c| match c {
                    Cell::Text(t) => t.clone(),
                    Cell::Yuan(f) => money::yuan(*f),
                    Cell::Int(i) => i.to_string(),
                    Cell::Empty => String::new(),
                })
                .collect();
            out.push_str(&csv_row(&fields));
        }
        out.into_bytes()
    }

    /// An XLSX workbook of one sheet named `sheet`: text as text (never a formula), amounts as
    /// numbers formatted `0.00`.
    pub fn to_xlsx(&self, sheet: &str) -> Result<Vec<u8>> {
        use rust_xlsxwriter::{Format as CellFormat, Workbook};
        let err = |e: rust_xlsxwriter::XlsxError| Error::Internal(e.into());
        let mut wb = Workbook::new();
        let bold = CellFormat::new().set_bold();
        let yuan = CellFormat::new().set_num_format("0.00");
        let ws = wb.add_worksheet();
        ws.set_name(sheet).map_err(err)?;
        for (c, h) in self.headers.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, h, &bold)
                .map_err(err)?;
        }
        for (r, row) in self.rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                match cell {
                    Cell::Text(t) => {
                        ws.write_string(r, c, t).map_err(err)?;
                    }
                    // Fen to yuan for display; the exact fen is kept in its own column where
                    // a statement needs it.
                    Cell::Yuan(f) => {
                        ws.write_number_with_format(r, c, *f as f64 / 100.0, &yuan)
                            .map_err(err)?;
                    }
                    Cell::Int(i) => {
                        ws.write_number(r, c, *i as f64).map_err(err)?;
                    }
                    Cell::Empty => {}
                }
            }
        }
        ws.set_freeze_panes(1, 0).map_err(err)?;
        wb.save_to_buffer().map_err(err)
    }

    pub fn download(&self, format: Format, stem: &str, sheet: &str) -> Result<Download> {
        Ok(match format {
            Format::Xlsx => Download {
                filename: format!("{stem}.xlsx"),
                content_type: XLSX,
                body: self.to_xlsx(sheet)?,
            },
            Format::Csv => Download {
                filename: format!("{stem}.csv"),
                content_type: CSV,
                body: self.to_csv(),
            },
        })
    }
}

/// `2026-07-31 23:59:59` in China Standard Time.
pub fn cst_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&tax::cst())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// The Chinese name of a settlement line.
fn line_name(kind: &str, lang: Lang, label: &str) -> String {
    let zh = match kind {
        "gmv" => "成交额(GMV)",
        "refunds" => "退款",
        "adjustment_late_order" => "调整：审批后到达的订单",
        "adjustment_late_refund" => "调整：审批后的退款",
        "net_gmv" => "净成交额",
        "commission" => "佣金",
        "slot_fees" => "坑位费",
        "guarantee_shortfall" => "保量差额",
        "guarantee_remedy" => "保量补偿",
        "platform_fees" => "平台服务费(参考)",
        "kol_share" => "主播分成",
        "tax_withheld" => "代扣个人所得税",
        "payable_brand_to_agency" => "品牌应付机构",
        "payable_agency_to_kol" => "机构应付主播",
        "payable_agency_to_tax_authority" => "机构应缴税款",
        _ => label,
    };
    lang.pick(zh, label).to_owned()
}

fn item_kind(kind: &str, lang: Lang) -> &'static str {
    match (kind, lang) {
        ("order", Lang::Zh) => "订单",
        ("late_order", Lang::Zh) => "迟到订单",
        ("late_refund", Lang::Zh) => "迟到退款",
        ("order", Lang::En) => "order",
        ("late_order", Lang::En) => "late order",
        (_, Lang::Zh) => "迟到退款",
        (_, Lang::En) => "late refund",
    }
}

/// The settlement's statement (anyone who sees the settlement; a brand gets its own view).
pub async fn settlement_statement(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    format: Format,
    lang: Lang,
) -> Result<Download> {
    let st = settlement::get_full(db, actor, id).await?;
    let lines = if privacy::is_brand(actor) {
        privacy::brand_lines(&st.lines)
    } else {
        st.lines.clone()
    };
    let brand_name = brand::Entity::find_by_id(st.brand_id)
        .one(db)
        .await?
        .map(|b| b.name)
        .unwrap_or_default();
    let kol_name = kol::Entity::find_by_id(st.kol_id)
        .one(db)
        .await?
        .map(|k| k.name)
        .unwrap_or_default();
    let c = contract::Entity::find_by_id(st.contract_id)
        .one(db)
        .await?
        .ok_or(Error::NotFound("contract"))?;
    let terms = settlement::terms_of(db, &c).await?;
    let items = settlement_item::Entity::find()
        .filter(settlement_item::Column::SettlementId.eq(id))
        .order_by_asc(settlement_item::Column::Id)
        .all(db)
        .await?;
    let orders: HashMap<Uuid, order::Model> = order::Entity::find()
        .filter(order::Column::Id.is_in(items.iter().map(|i| i.order_id).collect::<Vec<_>>()))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();

    let l = lang;
    let headers = [
        ("结算单号", "Settlement ID"),
        ("合同编号", "Contract ID"),
        ("品牌", "Brand"),
        ("品牌ID", "Brand ID"),
        ("主播", "KOL"),
        ("主播ID", "KOL ID"),
        ("结算期间起(北京时间)", "Period start (CST)"),
        ("结算期间止(北京时间)", "Period end (CST)"),
        ("状态", "Status"),
        ("行类型", "Row type"),
        ("序号", "No."),
        ("项目", "Item"),
        ("订单号", "Order ID"),
        ("支付时间(北京时间)", "Paid at (CST)"),
        ("结算时间(北京时间)", "Settled at (CST)"),
        ("合同版本", "Contract version"),
        ("支付金额(元)", "Paid (yuan)"),
        ("退款金额(元)", "Refunded (yuan)"),
        ("金额(元)", "Amount (yuan)"),
        ("金额(分)", "Amount (fen)"),
        ("计算说明", "How"),
    ]
    .iter()
    .map(|(zh, en)| l.pick(zh, en).to_owned())
    .collect();
    let status = match (st.status.as_str(), l) {
        ("approved", Lang::Zh) => "已审批",
        ("draft", Lang::Zh) => "草稿",
        ("superseded", Lang::Zh) => "已作废",
        (other, _) => other,
    }
    .to_owned();
    let head = |row_type: &str| -> Vec<Cell> {
        vec![
            st.id.to_string().into(),
            st.contract_id.to_string().into(),
            brand_name.clone().into(),
            st.brand_id.to_string().into(),
            kol_name.clone().into(),
            st.kol_id.to_string().into(),
            cst_time(st.period_start).into(),
            cst_time(st.period_end).into(),
            status.clone().into(),
            row_type.into(),
        ]
    };
    let mut rows = Vec::new();
    for (n, item) in items.iter().enumerate() {
        let o = orders.get(&item.order_id);
        let net = item.paid_fen - item.refunded_fen;
        let mut row = head(l.pick("订单", "order"));
        row.extend([
            Cell::Int(n as i64 + 1),
            item_kind(&item.kind, l).into(),
            o.map_or(item.order_id.to_string(), |o| {
                if o.sub_order_id.is_empty() {
                    o.platform_order_id.clone()
                } else {
                    format!("{}/{}", o.platform_order_id, o.sub_order_id)
                }
            })
            .into(),
            o.map_or(Cell::Empty, |o| cst_time(o.paid_at).into()),
            o.and_then(|o| o.settled_at)
                .map_or(Cell::Empty, |t| cst_time(t).into()),
            o.map_or(Cell::Empty, |o| {
                Cell::Int(terms.at(o.paid_at).version as i64)
            }),
            Cell::Yuan(item.paid_fen),
            Cell::Yuan(item.refunded_fen),
            Cell::Yuan(net),
            Cell::Int(net),
            Cell::Empty,
        ]);
        rows.push(row);
    }
    for (n, line) in lines.iter().enumerate() {
        let mut row = head(l.pick("明细", "line"));
        row.extend([
            Cell::Int(n as i64 + 1),
            line_name(&line.kind, l, &line.label).into(),
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            line.version.map_or(Cell::Empty, |v| Cell::Int(v as i64)),
            Cell::Empty,
            Cell::Empty,
            Cell::Yuan(line.amount_fen),
            Cell::Int(line.amount_fen),
            match l {
                Lang::Zh => line_text::how_zh(line).unwrap_or_else(|| line.how.clone()),
                Lang::En => line.how.clone(),
            }
            .into(),
        ]);
        rows.push(row);
    }
    let table = Table { headers, rows };
    let who = if privacy::is_brand(actor) {
        "-brand"
    } else {
        ""
    };
    table.download(
        format,
        &format!("settlement-{}{who}", st.id),
        l.pick("结算单", "Statement"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_a_bom_and_quotes_what_needs_it() {
        let t = Table {
            headers: vec!["项目".into(), "金额(元)".into()],
            rows: vec![vec!["a, \"b\"".into(), Cell::Yuan(-12_345)]],
        };
        let csv = String::from_utf8(t.to_csv()).unwrap();
        assert_eq!(csv, "\u{feff}项目,金额(元)\r\n\"a, \"\"b\"\"\",-123.45\r\n");
        assert!(t.to_xlsx("Sheet").unwrap().starts_with(b"PK"));
    }
}
