//! KOLs: the streamers of the roster, with their tier, share, tax status and platform accounts.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::handles::{self, Columns};
use super::validate_categories;
use crate::domain::actor::MANAGERS;
use crate::domain::identity;
use crate::domain::{Actor, FieldError, IdType, Platform, TaxStatus, Tier, Validator};
use crate::service::privacy::{self, KolView};
use crate::service::visibility::{self, visible_kols};
use crate::service::{Page, PageRequest, Result, children};
use crate::store::secrets::SecretBox;
use crate::store::{self, audit, entities::kol, entities::kol_account};

/// A KOL's account on one platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub platform: Platform,
    /// The platform's id of the streamer (Douyin author id, Kuaishou distributor id, Taobao anchor id).
    #[schema(min_length = 1, max_length = 128)]
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
    /// Tax identity: the legal name and ID document income tax is declared under. The number
    /// is stored sealed and shown masked (first 3 and last 4 characters).
    pub legal_name: Option<String>,
    pub id_type: Option<IdType>,
    pub id_number_masked: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A tax identity as given: `id_number` is write-only (never shown back in clear); `id_type`
/// defaults to `resident_id_card`, whose number is checked (18 characters with its checksum).
#[derive(Debug, Default)]
pub struct IdentityInput {
    pub legal_name: Option<String>,
    pub id_type: Option<IdType>,
    pub id_number: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKol {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub tier: Tier,
    #[serde(default)]
    #[schema(value_type = std::collections::BTreeSet<String>, max_items = 32, pattern = "^[a-z0-9_]{1,40}$")]
    pub categories: Vec<String>,
    /// Each (platform, account_id) once.
    #[serde(default)]
    #[schema(value_type = std::collections::BTreeSet<Account>, max_items = 16)]
    pub accounts: Vec<Account>,
    #[schema(minimum = 0, maximum = 10000)]
    pub revenue_share_bp: i64,
    pub tax_status: TaxStatus,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 100)]
    pub legal_name: Option<String>,
    #[serde(default)]
    pub id_type: Option<IdType>,
    /// Write-only: stored sealed, shown as `id_number_masked`.
    #[serde(default)]
    pub id_number: Option<String>,
}

/// Changes to a KOL; `accounts`, when given, replaces the whole list.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KolPatch {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    pub tier: Option<Tier>,
    #[schema(value_type = Option<std::collections::BTreeSet<String>>, max_items = 32, pattern = "^[a-z0-9_]{1,40}$")]
    pub categories: Option<Vec<String>>,
    #[schema(value_type = Option<std::collections::BTreeSet<Account>>, max_items = 16)]
    pub accounts: Option<Vec<Account>>,
    #[schema(minimum = 0, maximum = 10000)]
    pub revenue_share_bp: Option<i64>,
    pub tax_status: Option<TaxStatus>,
    #[schema(min_length = 1, max_length = 100)]
    pub legal_name: Option<String>,
    /// Given with `id_number`.
    pub id_type: Option<IdType>,
    /// Write-only: stored sealed, shown as `id_number_masked`.
    pub id_number: Option<String>,
}

/// Which KOLs to list.
#[derive(Debug, Default)]
pub struct KolQuery {
    pub tier: Option<Tier>,
    pub category: Option<String>,
}

const ACCOUNTS: Columns<kol_account::Entity> = Columns {
    platform: kol_account::Column::Platform,
    handle: kol_account::Column::AccountId,
    owner: kol_account::Column::KolId,
};

/// KOLs the actor may see, optionally of one tier or category.
pub async fn list(
    db: &DatabaseConnection,
    actor: &Actor,
    query: KolQuery,
    page: PageRequest,
) -> Result<Page<KolView>> {
    let mut q = kol::Entity::find();
    if let Some(t) = query.tier {
        q = q.filter(kol::Column::Tier.eq(t.as_str()));
    }
    if let Some(ids) = visible_kols(db, actor.scope()).await? {
        q = q.filter(kol::Column::Id.is_in(ids));
    }
    let rows = match &query.category {
        None => page.fetch(db, q, kol::Column::Id).await?,
        // Categories are a JSON list; filter them here so both databases behave the same.
        Some(c) => {
            let in_category = |k: &kol::Model| {
                k.categories
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x == c))
            };
            page.fetch_filtered(db, q, kol::Column::Id, in_category)
                .await?
        }
    };
    let Page { items, next_cursor } = rows;
    Ok(Page {
        items: with_accounts(db, items)
            .await?
            .into_iter()
            .map(|k| privacy::kol(actor, k))
            .collect(),
        next_cursor,
    })
}

/// One KOL, as the actor may read it (brands: [`privacy::BrandKol`]).
pub async fn get(db: &DatabaseConnection, actor: &Actor, id: Uuid) -> Result<KolView> {
    let row = visibility::find::<kol::Entity, _>(db, actor, id).await?;
    Ok(privacy::kol(
        actor,
        with_accounts(db, vec![row]).await?.remove(0),
    ))
}

/// A checked identity: (legal name, id type, the normalized number), each when given.
type Identity = (Option<String>, Option<IdType>, Option<String>);

fn check_identity(v: &mut Validator, i: IdentityInput) -> Identity {
    if let Some(n) = &i.legal_name {
        v.non_empty(n, "legal_name", 100);
    }
    let number = match (&i.id_number, i.id_type) {
        (Some(n), t) => match identity::normalize(t.unwrap_or(IdType::ResidentIdCard), n) {
            Ok(n) => Some(n),
            Err((code, message)) => {
                v.push(
                    FieldError::new("id_number", code, message)
                        .with_param("id_type", t.unwrap_or(IdType::ResidentIdCard).as_str()),
                );
                None
            }
        },
        (None, Some(_)) => {
            v.error_code("id_number", "required", "required when id_type is given");
            None
        }
        (None, None) => None,
    };
    (
        i.legal_name.map(|n| n.trim().to_owned()),
        number
            .as_ref()
            .map(|_| i.id_type.unwrap_or(IdType::ResidentIdCard)),
        number,
    )
}

/// Writes a checked identity onto the row, sealing the number to the KOL's id.
fn set_identity(am: &mut kol::ActiveModel, id: Uuid, ident: Identity, secrets: &SecretBox) {
    let (name, id_type, number) = ident;
    if let Some(n) = name {
        am.legal_name = Set(Some(n));
    }
    if let (Some(t), Some(n)) = (id_type, number) {
        am.id_type = Set(Some(t.as_str().to_owned()));
        am.id_number_masked = Set(Some(identity::mask(&n)));
        am.id_number_sealed = Set(Some(secrets.seal(n.as_bytes(), id.as_bytes())));
    }
}

/// Adds a KOL to the roster.
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    input: NewKol,
    secrets: &SecretBox,
) -> Result<Kol> {
    actor.require(MANAGERS)?;
    let mut v = Validator::new();
    let ident = check_identity(
        &mut v,
        IdentityInput {
            legal_name: input.legal_name.clone(),
            id_type: input.id_type,
            id_number: input.id_number.clone(),
        },
    );
    v.non_empty(&input.name, "name", 200);
    validate_categories(&mut v, &input.categories, "categories");
    v.basis_points(input.revenue_share_bp, "revenue_share_bp");
    handles::validate(
        &mut v,
        "accounts",
        "account_id",
        &handles_of(&input.accounts),
    );
    v.finish()?;
    let id = Uuid::now_v7();
    let now = Utc::now();
    let txn = store::write_txn(db).await?;
    let mut am = kol::ActiveModel {
        id: Set(id),
        name: Set(input.name.trim().to_owned()),
        tier: Set(input.tier.as_str().to_owned()),
        categories: Set(serde_json::json!(input.categories)),
        revenue_share_bp: Set(input.revenue_share_bp),
        tax_status: Set(input.tax_status.as_str().to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        legal_name: Set(None),
        id_type: Set(None),
        id_number_sealed: Set(None),
        id_number_masked: Set(None),
    };
    set_identity(&mut am, id, ident, secrets);
    let row = am.insert(&txn).await?;
    let accounts = replace_accounts(&txn, id, input.accounts).await?;
    let view = to_view(row, accounts);
    Ok(audit::commit_created(txn, actor, "kol", id, view).await?)
}

/// Changes a KOL.
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    input: KolPatch,
    secrets: &SecretBox,
) -> Result<Kol> {
    actor.require(MANAGERS)?;
    let mut v = Validator::new();
    let ident = check_identity(
        &mut v,
        IdentityInput {
            legal_name: input.legal_name.clone(),
            id_type: input.id_type,
            id_number: input.id_number.clone(),
        },
    );
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
        handles::validate(&mut v, "accounts", "account_id", &handles_of(a));
    }
    v.finish()?;
    let txn = store::write_txn(db).await?;
    let row = visibility::find_for_write::<kol::Entity, _>(&txn, id).await?;
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
    set_identity(&mut am, id, ident, secrets);
    am.updated_at = Set(Utc::now());
    let row = am.update(&txn).await?;
    let accounts = match input.accounts {
        Some(accounts) => replace_accounts(&txn, id, accounts).await?,
        None => before.accounts.clone(),
    };
    let after = to_view(row, accounts);
    Ok(audit::commit_updated(txn, actor, "kol", id, &before, after).await?)
}

fn handles_of(accounts: &[Account]) -> Vec<(Platform, &str)> {
    accounts
        .iter()
        .map(|a| (a.platform, a.account_id.as_str()))
        .collect()
}

/// Replaces the KOL's accounts; an account held by another KOL is refused.
async fn replace_accounts<C: ConnectionTrait>(
    db: &C,
    kol_id: Uuid,
    mut accounts: Vec<Account>,
) -> Result<Vec<Account>> {
    for a in &mut accounts {
        a.account_id = a.account_id.trim().to_owned();
    }
    let rows = accounts
        .iter()
        .map(|a| kol_account::ActiveModel {
            id: Set(Uuid::now_v7()),
            kol_id: Set(kol_id),
            platform: Set(a.platform.as_str().to_owned()),
            account_id: Set(a.account_id.clone()),
            followers: Set(a.followers),
        })
        .collect();
    let names = ("accounts", "account_id", "belongs to another KOL");
    handles::replace(db, &ACCOUNTS, kol_id, names, &handles_of(&accounts), rows).await?;
    Ok(accounts)
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
        legal_name: m.legal_name,
        id_type: m.id_type.as_deref().and_then(IdType::parse),
        id_number_masked: m.id_number_masked,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

/// The views of `rows`, their accounts loaded in one query.
pub async fn with_accounts<C: ConnectionTrait>(
    db: &C,
    rows: Vec<kol::Model>,
) -> Result<Vec<Kol>, DbErr> {
    children::attach(
        db,
        children::Link::<kol_account::Entity> {
            parent: kol_account::Column::KolId,
            order: kol_account::Column::Id,
            parent_of: |a| a.kol_id,
        },
        rows,
        |k| k.id,
        |a| {
            Some(Account {
                platform: Platform::parse(&a.platform)?,
                account_id: a.account_id,
                followers: a.followers,
            })
        },
        to_view,
    )
    .await
}

/// Checks that `kol_id` is a KOL with an account on `platform`: a contract or a session names
/// both (`unknown`, or `no_account` naming the platform).
pub async fn check_account<C: ConnectionTrait>(
    db: &C,
    v: &mut Validator,
    kol_id: Uuid,
    platform: Platform,
) -> Result<(), DbErr> {
    if kol::Entity::find_by_id(kol_id).one(db).await?.is_none() {
        v.push(FieldError::unknown("kol_id", "KOL"));
        return Ok(());
    }
    let has_account = kol_account::Entity::find()
        .filter(kol_account::Column::KolId.eq(kol_id))
        .filter(kol_account::Column::Platform.eq(platform.as_str()))
        .one(db)
        .await?
        .is_some();
    v.check_with(has_account, || {
        FieldError::new(
            "platform",
            "no_account",
            format!("the KOL has no {platform} account"),
        )
        .with_param("platform", platform.as_str())
    });
    Ok(())
}
