//! Statements an agency hands on. The KOL income report is the half-year income of KOLs from
//! approved settlements, as the agency reports it to the tax authority: who was paid, the income
//! type, gross, tax withheld and net.
//!
//! A settlement belongs to the half year in which it was approved (the payment became due),
//! counted in China Standard Time (UTC+8): `2026-H2` is [2026-07-01T00:00+08:00,
//! 2027-01-01T00:00+08:00). Gross is the KOL share, withheld the tax withheld from it, net the
//! amount payable to the KOL; every figure is a sum of approved, immutable settlements.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::settlement::{APPROVED, CsvFile, csv_row};
use super::statements::{Cell, Download, Format, Table};
use crate::domain::actor::{Actor, MANAGERS, Scope};
use crate::domain::identity;
use crate::domain::tax::{self, MonthContext};
use crate::domain::{FieldError, IdType, Role, TaxMethod, TaxStatus};
use crate::service::{Error, Result};
use crate::store::entities::{kol, settlement};
use crate::store::secrets::SecretBox;

/// Whose income, for which half year, in which form.
#[derive(Debug)]
pub struct IncomeQuery {
    /// One KOL; all KOLs when absent (staff only).
    pub kol_id: Option<Uuid>,
    /// `YYYY-H1` or `YYYY-H2`.
    pub half: String,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// The report as asked: the JSON view, or the CSV file.
#[derive(Debug)]
pub enum Income {
    Report(IncomeReport),
    Csv(CsvFile),
}

/// One approved settlement's payment to the KOL.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IncomePayment {
    pub settlement_id: Uuid,
    pub contract_id: Uuid,
    pub brand_id: Uuid,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub approved_at: Option<DateTime<Utc>>,
    pub gross_fen: i64,
    pub withheld_fen: i64,
    pub net_fen: i64,
}

/// One KOL's half year.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KolIncome {
    pub kol_id: Uuid,
    /// The KOL's name as the agency holds it.
    pub name: String,
    pub tax_status: TaxStatus,
    /// `labour_remuneration` (劳务报酬, withheld on the month's income as one payment) for individuals;
    /// `company_service_fee` (invoiced by the KOL's company, not withheld) for companies.
    pub income_type: String,
    pub gross_fen: i64,
    pub withheld_fen: i64,
    pub net_fen: i64,
    pub payments: Vec<IncomePayment>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IncomeReport {
    pub half: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub items: Vec<KolIncome>,
}

/// The half year's `[from, to)` in UTC, from `YYYY-H1|H2` in China Standard Time.
pub fn half_year(half: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let (year, h) = half.split_once("-H")?;
    if year.len() != 4 {
        return None;
    }
    let year: i32 = year.parse().ok()?;
    let (from, to) = match h {
        "1" => ((year, 1), (year, 7)),
        "2" => ((year, 7), (year + 1, 1)),
        _ => return None,
    };
    let cst = FixedOffset::east_opt(8 * 3600)?;
    let at = |(y, m): (i32, u32)| {
        let d = NaiveDate::from_ymd_opt(y, m, 1)?.and_hms_opt(0, 0, 0)?;
        Some(cst.from_local_datetime(&d).single()?.with_timezone(&Utc))
    };
    Some((at(from)?, at(to)?))
}

/// KOL income for a half year, from approved settlements (the report, or CSV with `format=csv`).
/// Admins and managers see every KOL; a KOL token sees only itself; brand, scripter and
/// integrator tokens may not.
pub async fn kol_income(db: &DatabaseConnection, actor: &Actor, q: IncomeQuery) -> Result<Income> {
    if actor.role == Role::Brand {
        return Err(Error::Forbidden("KOL income is not shown to brands".into()));
    }
    super::visibility::require_money_reader(actor)?;
    let Some((from, to)) = half_year(&q.half) else {
        return Err(FieldError::format("half", "YYYY-H1 or YYYY-H2", "2026-H2").into());
    };
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(FieldError::one_of("format", &["json", "csv"]).into()),
    };
    let kol_id = match (actor.scope(), q.kol_id) {
        (Scope::Kol(own), Some(k)) if k != own => return Err(Error::NotFound("KOL")),
        (Scope::Kol(own), _) => Some(own),
        (_, k) => k,
    };
    let mut sel = settlement::Entity::find()
        .filter(settlement::Column::Status.eq(APPROVED))
        .filter(settlement::Column::ApprovedAt.gte(from))
        .filter(settlement::Column::ApprovedAt.lt(to))
        .order_by_asc(settlement::Column::ApprovedAt)
        .order_by_asc(settlement::Column::Id);
    if let Some(k) = kol_id {
        if kol::Entity::find_by_id(k).one(db).await?.is_none() {
            return Err(Error::NotFound("KOL"));
        }
        sel = sel.filter(settlement::Column::KolId.eq(k));
    }
    let rows = sel.all(db).await?;
    let mut by_kol: BTreeMap<Uuid, Vec<settlement::Model>> = BTreeMap::new();
    for r in rows {
        by_kol.entry(r.kol_id).or_default().push(r);
    }
    let kols: BTreeMap<Uuid, kol::Model> = if by_kol.is_empty() {
        BTreeMap::new()
    } else {
        kol::Entity::find()
            .filter(kol::Column::Id.is_in(by_kol.keys().copied().collect::<Vec<_>>()))
            .all(db)
            .await?
            .into_iter()
            .map(|k| (k.id, k))
            .collect()
    };
    let mut items = Vec::new();
    for (kol_id, rows) in by_kol {
        let k = kols.get(&kol_id);
        // The status the settlements were computed with; the KOL's current one if they differ.
        let status = rows
            .last()
            .and_then(|r| TaxStatus::parse(&r.tax_status))
            .unwrap_or(TaxStatus::Individual);
        let payments: Vec<IncomePayment> = rows
            .iter()
            .map(|r| IncomePayment {
                settlement_id: r.id,
                contract_id: r.contract_id,
                brand_id: r.brand_id,
                period_start: r.period_start,
                period_end: r.period_end,
                approved_at: r.approved_at,
                gross_fen: r.kol_share_fen,
                withheld_fen: r.tax_withheld_fen,
                net_fen: r.kol_payable_fen,
            })
            .collect();
        items.push(KolIncome {
            kol_id,
            name: k.map(|k| k.name.clone()).unwrap_or_default(),
            tax_status: status,
            income_type: income_type(status).into(),
            gross_fen: payments.iter().map(|p| p.gross_fen).sum(),
            withheld_fen: payments.iter().map(|p| p.withheld_fen).sum(),
            net_fen: payments.iter().map(|p| p.net_fen).sum(),
            payments,
        });
    }
    let report = IncomeReport {
        half: q.half,
        from,
        to,
        items,
    };
    if !csv {
        return Ok(Income::Report(report));
    }
    let mut out = String::from(
        "half,row,kol_id,name,tax_status,income_type,settlement_id,contract_id,period_start,period_end,approved_at,gross_fen,withheld_fen,net_fen\r\n",
    );
    for k in &report.items {
        let base = |row: &str| {
            vec![
                report.half.clone(),
                row.to_owned(),
                k.kol_id.to_string(),
                k.name.clone(),
                k.tax_status.as_str().to_owned(),
                k.income_type.clone(),
            ]
        };
        for pay in &k.payments {
            let mut r = base("payment");
            r.extend([
                pay.settlement_id.to_string(),
                pay.contract_id.to_string(),
                pay.period_start.to_rfc3339(),
                pay.period_end.to_rfc3339(),
                pay.approved_at.map(|a| a.to_rfc3339()).unwrap_or_default(),
                pay.gross_fen.to_string(),
                pay.withheld_fen.to_string(),
                pay.net_fen.to_string(),
            ]);
            out.push_str(&csv_row(&r));
        }
        let mut r = base("total");
        r.extend([
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            k.gross_fen.to_string(),
            k.withheld_fen.to_string(),
            k.net_fen.to_string(),
        ]);
        out.push_str(&csv_row(&r));
    }
    Ok(Income::Csv(CsvFile {
        filename: format!("kol-income-{}.csv", report.half),
        body: out,
    }))
}

/// Which month's withholding declaration, in which form.
#[derive(Debug)]
pub struct WithholdingQuery {
    /// `YYYY-MM`, a CST calendar month.
    pub month: String,
    /// `json` (default), `csv` or `xlsx`.
    pub format: Option<String>,
}

/// One individual KOL's labour remuneration for the month, as the declaration lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WithholdingRow {
    /// 工号: the KOL's id in kolhost.
    pub employee_no: String,
    pub kol_id: Uuid,
    /// The KOL's stage name; `legal_name` is the declared one.
    pub kol_name: String,
    pub legal_name: Option<String>,
    pub id_type: Option<IdType>,
    /// Masked (first 3, last 4), in full for admins.
    pub id_number: Option<String>,
    /// 所得项目: 劳务报酬.
    pub income_item: String,
    pub income_fen: i64,
    pub tax_free_income_fen: i64,
    pub deduction_fen: i64,
    pub taxable_fen: i64,
    pub rate_percent: i64,
    pub quick_deduction_fen: i64,
    pub tax_due_fen: i64,
    pub tax_relief_fen: i64,
    /// What the month's approved settlements withheld.
    pub withheld_fen: i64,
    /// Tax due − relief − withheld: 0 when the withholding was right.
    pub to_pay_fen: i64,
    pub settlement_ids: Vec<Uuid>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WithholdingReport {
    pub month: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub tax_method: TaxMethod,
    pub items: Vec<WithholdingRow>,
}

/// The month's report, or its file.
#[derive(Debug)]
pub enum Withholding {
    Report(WithholdingReport),
    File(Download),
}

/// The columns of the natural-person withholding client's (自然人电子税务局 扣缴端)
/// labour-remuneration sheet, in its order, then the computed tax columns.
pub const WITHHOLDING_COLUMNS: &[&str] = &[
    "工号",
    "*姓名",
    "*证件类型",
    "*证件号码",
    "*所得项目",
    "*本期收入",
    "本期免税收入",
    "减除费用",
    "商业健康保险",
    "税延养老保险",
    "其他",
    "允许扣除的税费",
    "准予扣除的捐赠额",
    "应纳税所得额",
    "税率",
    "速算扣除数",
    "应纳税额",
    "减免税额",
    "已扣缴税额",
    "应补(退)税额",
    "备注",
];

/// The month's labour-remuneration withholding declaration (扣缴申报) (admin, manager): per
/// individual KOL paid that month (settlements approved in the CST month), the month's income,
/// deduction, taxable amount, rate, quick deduction, tax due and tax withheld. ID numbers are
/// masked, in full for admins.
pub async fn withholding(
    db: &DatabaseConnection,
    actor: &Actor,
    q: WithholdingQuery,
    secrets: &SecretBox,
    method: TaxMethod,
) -> Result<Withholding> {
    actor.require(MANAGERS)?;
    let Some((from, to)) = tax::month_bounds(&q.month) else {
        return Err(FieldError::format("month", "YYYY-MM", "2026-11").into());
    };
    let format = match q.format.as_deref() {
        None | Some("json") => None,
        Some("csv") => Some(Format::Csv),
        Some("xlsx") => Some(Format::Xlsx),
        Some(_) => return Err(FieldError::one_of("format", &["json", "csv", "xlsx"]).into()),
    };
    let rows = settlement::Entity::find()
        .filter(settlement::Column::Status.eq(APPROVED))
        .filter(settlement::Column::TaxStatus.eq(TaxStatus::Individual.as_str()))
        .filter(settlement::Column::ApprovedAt.gte(from))
        .filter(settlement::Column::ApprovedAt.lt(to))
        .order_by_asc(settlement::Column::ApprovedAt)
        .order_by_asc(settlement::Column::Id)
        .all(db)
        .await?;
    let mut by_kol: BTreeMap<Uuid, Vec<settlement::Model>> = BTreeMap::new();
    for r in rows {
        by_kol.entry(r.kol_id).or_default().push(r);
    }
    let kols: BTreeMap<Uuid, kol::Model> = if by_kol.is_empty() {
        BTreeMap::new()
    } else {
        kol::Entity::find()
            .filter(kol::Column::Id.is_in(by_kol.keys().copied().collect::<Vec<_>>()))
            .all(db)
            .await?
            .into_iter()
            .map(|k| (k.id, k))
            .collect()
    };
    let full = actor.role == Role::Admin;
    let mut items = Vec::new();
    for (kol_id, rows) in by_kol {
        let k = kols.get(&kol_id);
        let income: i64 = rows.iter().map(|r| r.kol_share_fen).sum();
        let withheld: i64 = rows.iter().map(|r| r.tax_withheld_fen).sum();
        let ctx = match method {
            TaxMethod::PerMonth => MonthContext::first(method, &q.month),
            TaxMethod::Cumulative => year_before(db, kol_id, from, &q.month).await?,
        };
        let w = tax::monthly(TaxStatus::Individual, &ctx, income);
        // Per month: the tax on the month; cumulative: the year's tax less earlier months'.
        let due = w.tax_fen;
        let id_number = match k.and_then(|k| k.id_number_sealed.as_deref()) {
            Some(sealed) if full => Some(
                secrets
                    .open_text(sealed, kol_id.as_bytes())
                    .map_err(|e| Error::Internal(e.into()))?,
            ),
            _ => k.and_then(|k| k.id_number_masked.clone()),
        };
        items.push(WithholdingRow {
            employee_no: kol_id.to_string(),
            kol_id,
            kol_name: k.map(|k| k.name.clone()).unwrap_or_default(),
            legal_name: k.and_then(|k| k.legal_name.clone()),
            id_type: k.and_then(|k| k.id_type.as_deref().and_then(IdType::parse)),
            id_number,
            income_item: "劳务报酬".into(),
            income_fen: income,
            tax_free_income_fen: 0,
            deduction_fen: w.deduction.round(),
            taxable_fen: w.taxable.round(),
            rate_percent: w.rate_percent,
            quick_deduction_fen: w.quick_deduction_fen,
            tax_due_fen: due,
            tax_relief_fen: 0,
            withheld_fen: withheld,
            to_pay_fen: due - withheld,
            settlement_ids: rows.iter().map(|r| r.id).collect(),
        });
    }
    let report = WithholdingReport {
        month: q.month.clone(),
        from,
        to,
        tax_method: method,
        items,
    };
    let Some(format) = format else {
        return Ok(Withholding::Report(report));
    };
    let rows = report
        .items
        .iter()
        .map(|r| {
            vec![
                r.employee_no.clone().into(),
                r.legal_name.clone().map_or(Cell::Empty, Cell::Text),
                r.id_type
                    .map_or(Cell::Empty, |t| identity::declared_type(t).into()),
                r.id_number.clone().map_or(Cell::Empty, Cell::Text),
                r.income_item.clone().into(),
                Cell::Yuan(r.income_fen),
                Cell::Yuan(r.tax_free_income_fen),
                Cell::Yuan(r.deduction_fen),
                Cell::Empty,
                Cell::Empty,
                Cell::Empty,
                Cell::Empty,
                Cell::Empty,
                Cell::Yuan(r.taxable_fen),
                format!("{}%", r.rate_percent).into(),
                Cell::Yuan(r.quick_deduction_fen),
                Cell::Yuan(r.tax_due_fen),
                Cell::Yuan(r.tax_relief_fen),
                Cell::Yuan(r.withheld_fen),
                Cell::Yuan(r.to_pay_fen),
                format!("{} ({} settlement(s))", r.kol_name, r.settlement_ids.len()).into(),
            ]
        })
        .collect();
    let table = Table {
        headers: WITHHOLDING_COLUMNS
            .iter()
            .map(|h| (*h).to_owned())
            .collect(),
        rows,
    };
    Ok(Withholding::File(table.download(
        format,
        &format!("withholding-{}", q.month),
        "劳务报酬",
    )?))
}

/// The cumulative method's context for `month`: what was approved to the KOL earlier in the
/// tax year.
async fn year_before(
    db: &DatabaseConnection,
    kol_id: Uuid,
    from: DateTime<Utc>,
    month: &str,
) -> Result<MonthContext> {
    let (year_from, _) = tax::cst_year(from);
    let rows = settlement::Entity::find()
        .filter(settlement::Column::KolId.eq(kol_id))
        .filter(settlement::Column::Status.eq(APPROVED))
        .filter(settlement::Column::ApprovedAt.gte(year_from))
        .filter(settlement::Column::ApprovedAt.lt(from))
        .all(db)
        .await?;
    let mut months: std::collections::BTreeSet<String> = rows
        .iter()
        .filter_map(|r| r.approved_at.map(|a| tax::cst_month(a).0))
        .collect();
    months.insert(month.to_owned());
    Ok(MonthContext {
        method: TaxMethod::Cumulative,
        month: month.to_owned(),
        income_before_fen: rows.iter().map(|r| r.kol_share_fen).sum(),
        withheld_before_fen: rows.iter().map(|r| r.tax_withheld_fen).sum(),
        months_with_income: months.len() as i64,
    })
}

fn income_type(status: TaxStatus) -> &'static str {
    match status {
        TaxStatus::Individual => "labour_remuneration",
        TaxStatus::Company => "company_service_fee",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_years_are_in_china_standard_time() {
        let (from, to) = half_year("2026-H2").unwrap();
        assert_eq!(from.to_rfc3339(), "2026-06-30T16:00:00+00:00");
        assert_eq!(to.to_rfc3339(), "2026-12-31T16:00:00+00:00");
        let (from, _) = half_year("2027-H1").unwrap();
        assert_eq!(from.to_rfc3339(), "2026-12-31T16:00:00+00:00");
        for bad in ["2026-H3", "2026H1", "26-H1", "2026-h1", ""] {
            assert!(half_year(bad).is_none(), "{bad}");
        }
    }
}
