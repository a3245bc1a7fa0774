//! `/api/v1/kols`: the roster of streamers, with their tier and platform accounts.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::auth::{MANAGERS, Principal};
use super::brands::validate_categories;
use super::error::{ApiError, ApiResult};
use super::extract::{JsonBody, Path, Query};
use super::pagination::{Page, PageParams};
use super::scope;
use crate::app::AppState;
use crate::domain::{Platform, TaxStatus, Tier, Validator};
use crate::store::audit;
use crate::store::entities::{kol, kol_account};

/// A KOL's account on one platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub platform: Platform,
    /// The platform's id of the streamer (Douyin author id, Kuaishou distributor id, Taobao anchor id).
    pub account_id: String,
    pub followers: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Kol {
    pub id: Uuid,
    pub name: String,
    pub tier: Tier,
    pub categories: Vec<String>,
    pub accounts: Vec<Account>,
    pub revenue_share_bp: i64,
    pub tax_status: TaxStatus,
    pub created_at: chrono::DateTime<Utc>,
    pub updated_at: chrono::DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKol {
    pub name: String,
    pub tier: Tier,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub accounts: Vec<Account>,
    pub revenue_share_bp: i64,
    pub tax_status: TaxStatus,
}

/// Changes to a KOL; `accounts`, when given, replaces the whole list.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KolPatch {
    pub name: Option<String>,
    pub tier: Option<Tier>,
    pub categories: Option<Vec<String>>,
    pub accounts: Option<Vec<Account>>,
    pub revenue_share_bp: Option<i64>,
    pub tax_status: Option<TaxStatus>,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_kols, create_kol))
        .routes(routes!(get_kol, update_kol))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KolFilter {
    pub tier: Option<Tier>,
    pub category: Option<String>,
    /// Items per page (1 to 500, default 50).
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl KolFilter {
    fn page(&self) -> PageParams {
        PageParams {
            limit: self.limit,
            cursor: self.cursor.clone(),
        }
    }
}

/// Lists KOLs, optionally of one tier or category.
#[utoipa::path(get, path = "/kols", tag = "kols", params(KolFilter),
    responses((status = 200, body = Page<Kol>), (status = 401, body = super::error::Problem)))]
async fn list_kols(
    State(s): State<AppState>,
    p: Principal,
    Query(f): Query<KolFilter>,
) -> ApiResult<Json<Page<Kol>>> {
    let limit = f.page().limit()?;
    let mut q = kol::Entity::find().order_by_asc(kol::Column::Id);
    if let Some(after) = f.page().after()? {
        q = q.filter(kol::Column::Id.gt(after));
    }
    if let Some(t) = f.tier {
        q = q.filter(kol::Column::Tier.eq(t.as_str()));
    }
    if let Some(ids) = scope::visible_kols(&s.db, p.scope()).await? {
        q = q.filter(kol::Column::Id.is_in(ids));
    }
    // Categories are a JSON list; filter them here so both databases behave the same.
    let rows: Vec<kol::Model> = match &f.category {
        None => q.limit(limit + 1).all(&s.db).await?,
        Some(c) => q
            .all(&s.db)
            .await?
            .into_iter()
            .filter(|k| {
                k.categories
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x == c))
            })
            .take(limit as usize + 1)
            .collect(),
    };
    let views = with_accounts(&s.db, rows).await?;
    Ok(Json(Page::from_rows(views, limit, |k: &Kol| k.id)))
}

/// Adds a KOL to the roster.
#[utoipa::path(post, path = "/kols", tag = "kols", request_body = NewKol,
    responses((status = 201, body = Kol), (status = 422, body = super::error::Problem)))]
async fn create_kol(
    State(s): State<AppState>,
    p: Principal,
    JsonBody(input): JsonBody<NewKol>,
) -> ApiResult<(StatusCode, Json<Kol>)> {
    p.require(MANAGERS)?;
    let mut v = Validator::new();
    v.non_empty(&input.name, "name", 200);
    validate_categories(&mut v, &input.categories, "categories");
    v.basis_points(input.revenue_share_bp, "revenue_share_bp");
    validate_accounts(&mut v, &input.accounts);
    v.finish()?;
    let id = Uuid::now_v7();
    let now = Utc::now();
    let txn = crate::store::write_txn(&s.db).await?;
    check_accounts_free(&txn, &input.accounts, id).await?;
    let row = kol::ActiveModel {
        id: Set(id),
        name: Set(input.name.trim().to_owned()),
        tier: Set(input.tier.as_str().to_owned()),
        categories: Set(serde_json::json!(input.categories)),
        revenue_share_bp: Set(input.revenue_share_bp),
        tax_status: Set(input.tax_status.as_str().to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    insert_accounts(&txn, id, &input.accounts).await?;
    let view = to_view(row, input.accounts);
    audit::record(&txn, &p, "kol.create", "kol", id, None::<&Kol>, Some(&view)).await?;
    txn.commit().await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// One KOL.
#[utoipa::path(get, path = "/kols/{id}", tag = "kols", params(("id" = Uuid, Path)),
    responses((status = 200, body = Kol), (status = 404, body = super::error::Problem)))]
async fn get_kol(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Kol>> {
    if !scope::kol_visible(&s.db, p.scope(), id).await? {
        return Err(ApiError::NotFound("KOL"));
    }
    let row = kol::Entity::find_by_id(id)
        .one(&s.db)
        .await?
        .ok_or(ApiError::NotFound("KOL"))?;
    Ok(Json(with_accounts(&s.db, vec![row]).await?.remove(0)))
}

/// Changes a KOL.
#[utoipa::path(patch, path = "/kols/{id}", tag = "kols", params(("id" = Uuid, Path)), request_body = KolPatch,
    responses((status = 200, body = Kol), (status = 404, body = super::error::Problem), (status = 422, body = super::error::Problem)))]
async fn update_kol(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<KolPatch>,
) -> ApiResult<Json<Kol>> {
    p.require(MANAGERS)?;
    let mut v = Validator::new();
    if let Some(n) = &input.name {
        v.non_empty(n, "name", 200);
    }
    if let Some(c) = &input.categories {
        validate_categories(&mut v, c, "categories");
    }
    if let Some(r) = input.revenue_share_bp {
        v.basis_points(r, "revenue_share_bp");
    }
    if let Some(a) = &input.accounts {
        validate_accounts(&mut v, a);
    }
    v.finish()?;
    let txn = crate::store::write_txn(&s.db).await?;
    let row = kol::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(ApiError::NotFound("KOL"))?;
    let before = with_accounts(&txn, vec![row.clone()]).await?.remove(0);
    let mut am = row.into_active_model();
    if let Some(n) = input.name {
        am.name = Set(n.trim().to_owned());
    }
    if let Some(t) = input.tier {
        am.tier = Set(t.as_str().to_owned());
    }
    if let Some(c) = input.categories {
        am.categories = Set(serde_json::json!(c));
    }
    if let Some(r) = input.revenue_share_bp {
        am.revenue_share_bp = Set(r);
    }
    if let Some(t) = input.tax_status {
        am.tax_status = Set(t.as_str().to_owned());
    }
    am.updated_at = Set(Utc::now());
    let row = am.update(&txn).await?;
    let accounts = match input.accounts {
        Some(accounts) => {
            check_accounts_free(&txn, &accounts, id).await?;
            kol_account::Entity::delete_many()
                .filter(kol_account::Column::KolId.eq(id))
                .exec(&txn)
                .await?;
            insert_accounts(&txn, id, &accounts).await?;
            accounts
        }
        None => before.accounts.clone(),
    };
    let after = to_view(row, accounts);
    audit::record(
        &txn,
        &p,
        "kol.update",
        "kol",
        id,
        Some(&before),
        Some(&after),
    )
    .await?;
    txn.commit().await?;
    Ok(Json(after))
}

fn validate_accounts(v: &mut Validator, accounts: &[Account]) {
    v.check(accounts.len() <= 16, "accounts", "at most 16 accounts");
    for (i, a) in accounts.iter().enumerate() {
        v.non_empty(&a.account_id, &format!("accounts[{i}].account_id"), 128);
        v.check(
            a.followers >= 0,
            format!("accounts[{i}].followers"),
            "must not be negative",
        );
        if accounts[..i]
            .iter()
            .any(|b| b.platform == a.platform && b.account_id == a.account_id)
        {
            v.error(format!("accounts[{i}].account_id"), "is listed twice");
        }
    }
}

/// A platform account belongs to one KOL only: attribution depends on it.
async fn check_accounts_free<C: ConnectionTrait>(
    db: &C,
    accounts: &[Account],
    kol_id: Uuid,
) -> ApiResult<()> {
    let mut v = Validator::new();
    for (i, a) in accounts.iter().enumerate() {
        let taken = kol_account::Entity::find()
            .filter(kol_account::Column::Platform.eq(a.platform.as_str()))
            .filter(kol_account::Column::AccountId.eq(a.account_id.trim()))
            .filter(kol_account::Column::KolId.ne(kol_id))
            .one(db)
            .await?;
        v.check(
            taken.is_none(),
            format!("accounts[{i}].account_id"),
            "belongs to another KOL",
        );
    }
    Ok(v.finish()?)
}

async fn insert_accounts<C: ConnectionTrait>(
    db: &C,
    kol_id: Uuid,
    accounts: &[Account],
) -> Result<(), DbErr> {
    for a in accounts {
        kol_account::ActiveModel {
            id: Set(Uuid::now_v7()),
            kol_id: Set(kol_id),
            platform: Set(a.platform.as_str().to_owned()),
            account_id: Set(a.account_id.trim().to_owned()),
            followers: Set(a.followers),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

fn to_view(m: kol::Model, accounts: Vec<Account>) -> Kol {
    Kol {
        id: m.id,
        name: m.name,
        tier: Tier::parse(&m.tier).unwrap_or(Tier::Tail),
        categories: serde_json::from_value(m.categories).unwrap_or_default(),
        accounts,
        revenue_share_bp: m.revenue_share_bp,
        tax_status: TaxStatus::parse(&m.tax_status).unwrap_or(TaxStatus::Individual),
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

/// Loads the accounts of `rows` in one query and builds their views.
pub async fn with_accounts<C: ConnectionTrait>(
    db: &C,
    rows: Vec<kol::Model>,
) -> Result<Vec<Kol>, DbErr> {
    let ids: Vec<Uuid> = rows.iter().map(|k| k.id).collect();
    let mut by_kol: HashMap<Uuid, Vec<Account>> = HashMap::new();
    if !ids.is_empty() {
        for a in kol_account::Entity::find()
            .filter(kol_account::Column::KolId.is_in(ids))
            .order_by_asc(kol_account::Column::Id)
            .all(db)
            .await?
        {
            if let Some(platform) = Platform::parse(&a.platform) {
                by_kol.entry(a.kol_id).or_default().push(Account {
                    platform,
                    account_id: a.account_id,
                    followers: a.followers,
                });
            }
        }
    }
    Ok(rows
        .into_iter()
        .map(|k| {
            let accounts = by_kol.remove(&k.id).unwrap_or_default();
            to_view(k, accounts)
        })
        .collect())
}
