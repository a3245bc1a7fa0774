//! Contracts: brand x KOL agreements, their lifecycle (`domain::contract`) and their versions.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::visibility;
use super::{Error, Page, PageRequest, Result};
use crate::domain::actor::{Actor, MANAGERS, Scope};
use crate::domain::contract::ContractTerms;
use crate::domain::{ContractStatus, FieldError, GuaranteeRemedy, Platform, Validator};
use crate::service::roster::kols;
use crate::store::entities::{brand, contract, contract_version, settlement};
use crate::store::{self, audit};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Contract {
    pub id: Uuid,
    pub brand_id: Uuid,
    pub kol_id: Uuid,
    pub platform: Platform,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub slot_fee_fen: i64,
    pub commission_bp: i64,
    pub gmv_guarantee_fen: Option<i64>,
    pub guarantee_remedy: GuaranteeRemedy,
    pub exclusive: bool,
    pub lowest_price_clause: bool,
    pub sessions_committed: i64,
    pub status: ContractStatus,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContract {
    pub brand_id: Uuid,
    pub kol_id: Uuid,
    pub platform: Platform,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    #[schema(minimum = 0, maximum = 10000000000000i64)]
    pub slot_fee_fen: i64,
    #[schema(minimum = 0, maximum = 10000)]
    pub commission_bp: i64,
    /// Needs a `guarantee_remedy` other than `none`.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 10000000000000i64)]
    pub gmv_guarantee_fen: Option<i64>,
    #[serde(default = "no_remedy")]
    pub guarantee_remedy: GuaranteeRemedy,
    #[serde(default)]
    pub exclusive: bool,
    #[serde(default)]
    pub lowest_price_clause: bool,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1000)]
    pub sessions_committed: i64,
}

fn no_remedy() -> GuaranteeRemedy {
    GuaranteeRemedy::None
}

/// Changed terms; absent fields keep their value. `gmv_guarantee_fen: null` removes the guarantee.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TermsPatch {
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    #[schema(minimum = 0, maximum = 10000000000000i64)]
    pub slot_fee_fen: Option<i64>,
    #[schema(minimum = 0, maximum = 10000)]
    pub commission_bp: Option<i64>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 10000000000000i64)]
    pub gmv_guarantee_fen: Option<Option<i64>>,
    pub guarantee_remedy: Option<GuaranteeRemedy>,
    pub exclusive: Option<bool>,
    pub lowest_price_clause: Option<bool>,
    #[schema(minimum = 0, maximum = 1000)]
    pub sessions_committed: Option<i64>,
}

/// An amendment: the changed terms, why, and from when they apply (default: now). It may not
/// take effect before the end of the contract's latest approved settlement (422
/// `effective_before_settled`): an amendment never reprices what was settled.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Amendment {
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
    /// When the new terms take effect (RFC 3339); orders paid from then on settle on them.
    #[serde(default)]
    pub effective_from: Option<DateTime<Utc>>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    #[schema(minimum = 0, maximum = 10000000000000i64)]
    pub slot_fee_fen: Option<i64>,
    #[schema(minimum = 0, maximum = 10000)]
    pub commission_bp: Option<i64>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 10000000000000i64)]
    pub gmv_guarantee_fen: Option<Option<i64>>,
    pub guarantee_remedy: Option<GuaranteeRemedy>,
    pub exclusive: Option<bool>,
    pub lowest_price_clause: Option<bool>,
    #[schema(minimum = 0, maximum = 1000)]
    pub sessions_committed: Option<i64>,
}

impl Amendment {
    fn into_parts(self) -> (String, Option<DateTime<Utc>>, TermsPatch) {
        let terms = TermsPatch {
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            slot_fee_fen: self.slot_fee_fen,
            commission_bp: self.commission_bp,
            gmv_guarantee_fen: self.gmv_guarantee_fen,
            guarantee_remedy: self.guarantee_remedy,
            exclusive: self.exclusive,
            lowest_price_clause: self.lowest_price_clause,
            sessions_committed: self.sessions_committed,
        };
        (self.reason, self.effective_from, terms)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    pub to: ContractStatus,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
}

/// One agreed set of terms.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContractVersion {
    pub version: i32,
    /// When these terms took effect: version 1 from the contract's start (it also covers
    /// anything earlier), an amendment from its `effective_from`.
    pub effective_from: DateTime<Utc>,
    /// When the next version took effect; `null` for the version in force now.
    pub effective_until: Option<DateTime<Utc>>,
    pub terms: ContractTerms,
    pub reason: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// Which contracts to list.
#[derive(Debug, Default)]
pub struct ContractQuery {
    pub brand_id: Option<Uuid>,
    pub kol_id: Option<Uuid>,
    pub status: Option<ContractStatus>,
    pub platform: Option<Platform>,
}

/// Contracts the actor may see (brand and KOL tokens: only their own).
pub async fn list(
    db: &DatabaseConnection,
    actor: &Actor,
    query: ContractQuery,
    page: PageRequest,
) -> Result<Page<Contract>> {
    let mut q = contract::Entity::find();
    match actor.scope() {
        Scope::All => {}
        Scope::Brand(b) => q = q.filter(contract::Column::BrandId.eq(b)),
        Scope::Kol(k) => q = q.filter(contract::Column::KolId.eq(k)),
    }
    if let Some(b) = query.brand_id {
        q = q.filter(contract::Column::BrandId.eq(b));
    }
    if let Some(k) = query.kol_id {
        q = q.filter(contract::Column::KolId.eq(k));
    }
    if let Some(st) = query.status {
        q = q.filter(contract::Column::Status.eq(st.as_str()));
    }
    if let Some(pl) = query.platform {
        q = q.filter(contract::Column::Platform.eq(pl.as_str()));
    }
    Ok(page
        .fetch(db, q, contract::Column::Id)
        .await?
        .map(Contract::from))
}

pub async fn get(db: &DatabaseConnection, actor: &Actor, id: Uuid) -> Result<Contract> {
    Ok(visibility::find::<contract::Entity, _>(db, actor, id)
        .await?
        .into())
}

/// Drafts a contract (status `draft`, version 1).
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    input: NewContract,
) -> Result<Contract> {
    actor.require(MANAGERS)?;
    let terms = ContractTerms {
        starts_at: input.starts_at,
        ends_at: input.ends_at,
        slot_fee_fen: input.slot_fee_fen,
        commission_bp: input.commission_bp,
        gmv_guarantee_fen: input.gmv_guarantee_fen,
        guarantee_remedy: input.guarantee_remedy,
        exclusive: input.exclusive,
        lowest_price_clause: input.lowest_price_clause,
        sessions_committed: input.sessions_committed,
    };
    let mut v = Validator::new();
    terms.validate(&mut v);
    v.finish()?;

    let txn = store::write_txn(db).await?;
    let mut v = Validator::new();
    if brand::Entity::find_by_id(input.brand_id)
        .one(&txn)
        .await?
        .is_none()
    {
        v.push(FieldError::unknown("brand_id", "brand"));
    }
    kols::check_account(&txn, &mut v, input.kol_id, input.platform).await?;
    v.finish()?;

    let now = Utc::now();
    let id = Uuid::now_v7();
    let mut am = contract::ActiveModel {
        id: Set(id),
        brand_id: Set(input.brand_id),
        kol_id: Set(input.kol_id),
        platform: Set(input.platform.as_str().to_owned()),
        status: Set(ContractStatus::Draft.as_str().to_owned()),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    set_terms(&mut am, &terms);
    let view = Contract::from(am.insert(&txn).await?);
    insert_version(&txn, id, 1, &terms, None, &actor.name, None).await?;
    Ok(audit::commit_created(txn, actor, "contract", id, view).await?)
}

/// Edits the terms of a draft or proposed contract in place. A signed contract changes only by
/// amendment (409).
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    patch: TermsPatch,
) -> Result<Contract> {
    actor.require(MANAGERS)?;
    let txn = store::write_txn(db).await?;
    let row = visibility::find::<contract::Entity, _>(&txn, actor, id).await?;
    let before = Contract::from(row.clone());
    if !before.status.terms_editable() {
        return Err(Error::conflict(
            "terms_signed",
            format!(
                "the contract is {}: its terms change only by an amendment (POST /api/v1/contracts/{id}/amendments)",
                before.status
            ),
        )
        .with_param("status", before.status.as_str()));
    }
    let terms = patch.apply(before.terms())?;
    let mut am = row.into_active_model();
    set_terms(&mut am, &terms);
    am.updated_at = Set(Utc::now());
    let after = Contract::from(am.update(&txn).await?);
    // Before signing, the current version's terms are still being negotiated: keep it in step.
    let version = contract_version::Entity::find()
        .filter(contract_version::Column::ContractId.eq(id))
        .filter(contract_version::Column::Version.eq(after.version))
        .one(&txn)
        .await?
        .ok_or_else(|| {
            Error::Internal(anyhow::anyhow!(
                "contract {id} lacks version {}",
                after.version
            ))
        })?;
    let mut vam = version.into_active_model();
    vam.terms = Set(serde_json::to_value(&terms).map_err(|e| Error::Internal(e.into()))?);
    vam.update(&txn).await?;
    Ok(audit::commit_updated(txn, actor, "contract", id, &before, after).await?)
}

/// Moves a contract along its lifecycle. An illegal move is a conflict naming the allowed ones.
pub async fn transition(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    t: Transition,
) -> Result<Contract> {
    actor.require(MANAGERS)?;
    if let Some(r) = &t.reason {
        let mut v = Validator::new();
        v.max_chars(r, "reason", 2000);
        v.finish()?;
    }
    let txn = store::write_txn(db).await?;
    let row = visibility::find::<contract::Entity, _>(&txn, actor, id).await?;
    let before = Contract::from(row.clone());
    if !before.status.can_become(t.to) {
        let allowed: Vec<&str> = before
            .status
            .next_states()
            .iter()
            .map(|s| s.as_str())
            .collect();
        return Err(Error::conflict(
            "status_transition",
            format!(
                "a {} contract cannot become {}; allowed: {}",
                before.status,
                t.to,
                if allowed.is_empty() {
                    "none (final state)".into()
                } else {
                    allowed.join(", ")
                }
            ),
        )
        .with_param("from", before.status.as_str())
        .with_param("to", t.to.as_str())
        .with_param("allowed", allowed));
    }
    let mut am = row.into_active_model();
    am.status = Set(t.to.as_str().to_owned());
    am.updated_at = Set(Utc::now());
    if t.to == ContractStatus::Terminated {
        // The guarantee is assessed at the termination time.
        am.terminated_at = Set(Some(Utc::now()));
    }
    let after = Contract::from(am.update(&txn).await?);
    let action = format!("contract.transition.{}", t.to);
    audit::changed(&txn, actor, &action, ("contract", id), &before, &after).await?;
    txn.commit().await?;
    Ok(after)
}

/// Amends a signed or active contract: a new version with the changed terms and a reason.
/// Earlier versions stay readable.
pub async fn amend(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    a: Amendment,
) -> Result<Contract> {
    actor.require(MANAGERS)?;
    let (reason, effective_from, patch) = a.into_parts();
    let mut v = Validator::new();
    v.non_empty(&reason, "reason", 2000);
    v.finish()?;
    let txn = store::write_txn(db).await?;
    let row = visibility::find::<contract::Entity, _>(&txn, actor, id).await?;
    let before = Contract::from(row.clone());
    if !before.status.amendable() {
        let (code, why) = if before.status.terms_editable() {
            ("amend_unsigned", "edit its terms with PATCH")
        } else {
            ("contract_closed", "it is closed")
        };
        return Err(Error::conflict(
            code,
            format!("a {} contract is not amended: {why}", before.status),
        )
        .with_param("status", before.status.as_str()));
    }
    let old = before.terms();
    let terms = patch.apply(old.clone())?;
    if terms == old {
        return Err(FieldError::new(
            "terms",
            "no_change",
            "an amendment must change at least one term",
        )
        .into());
    }
    let now = Utc::now();
    let effective_from = effective_from.unwrap_or(now);
    // Never before what an approved settlement counted.
    let settled = settlement::Entity::find()
        .filter(settlement::Column::ContractId.eq(id))
        .filter(settlement::Column::Status.eq("approved"))
        .order_by_desc(settlement::Column::PeriodEnd)
        .one(&txn)
        .await?;
    if let Some(s) = settled.filter(|s| effective_from < s.period_end) {
        return Err(Error::rule(
            "effective_before_settled",
            Some("effective_from"),
            format!(
                "approved settlement {} covers the contract up to {}; an amendment takes effect from then on, not before {}",
                s.id,
                s.period_end.to_rfc3339(),
                effective_from.to_rfc3339()
            ),
        ));
    }
    let previous = contract_version::Entity::find()
        .filter(contract_version::Column::ContractId.eq(id))
        .filter(contract_version::Column::Version.eq(before.version))
        .one(&txn)
        .await?;
    if let Some(p) = previous.and_then(|p| p.effective_from)
        && effective_from < p
    {
        return Err(FieldError::new(
            "effective_from",
            "before_previous_version",
            format!(
                "must not be before version {}'s effective_from ({})",
                before.version,
                p.to_rfc3339()
            ),
        )
        .with_param("version", before.version)
        .with_param("effective_from", p.to_rfc3339())
        .into());
    }
    let version = before.version + 1;
    let mut am = row.into_active_model();
    set_terms(&mut am, &terms);
    am.version = Set(version);
    am.updated_at = Set(Utc::now());
    let after = Contract::from(am.update(&txn).await?);
    insert_version(
        &txn,
        id,
        version,
        &terms,
        Some(reason.trim().to_owned()),
        &actor.name,
        Some(effective_from),
    )
    .await?;
    audit::changed(
        &txn,
        actor,
        "contract.amend",
        ("contract", id),
        &before,
        &after,
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// Every version of a contract's terms, oldest first.
pub async fn versions(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<Page<ContractVersion>> {
    visibility::find::<contract::Entity, _>(db, actor, id).await?;
    let rows = contract_version::Entity::find()
        .filter(contract_version::Column::ContractId.eq(id))
        .order_by_asc(contract_version::Column::Version)
        .all(db)
        .await?;
    let mut items = Vec::new();
    for v in rows {
        let terms: ContractTerms =
            serde_json::from_value(v.terms).map_err(|e| Error::Internal(e.into()))?;
        let effective_from = match (v.version, v.effective_from) {
            (1, _) | (_, None) => terms.starts_at,
            (_, Some(e)) => e,
        };
        if let Some(prev) = items.last_mut() {
            let prev: &mut ContractVersion = prev;
            prev.effective_until = Some(effective_from);
        }
        items.push(ContractVersion {
            version: v.version,
            effective_from,
            effective_until: None,
            terms,
            reason: v.reason,
            created_by: v.created_by,
            created_at: v.created_at,
        });
    }
    Ok(Page {
        items,
        next_cursor: None,
    })
}

impl TermsPatch {
    /// The terms after this patch, validated.
    fn apply(self, mut t: ContractTerms) -> Result<ContractTerms> {
        if let Some(x) = self.starts_at {
            t.starts_at = x;
        }
        if let Some(x) = self.ends_at {
            t.ends_at = x;
        }
        if let Some(x) = self.slot_fee_fen {
            t.slot_fee_fen = x;
        }
        if let Some(x) = self.commission_bp {
            t.commission_bp = x;
        }
        if let Some(x) = self.gmv_guarantee_fen {
            t.gmv_guarantee_fen = x;
            if x.is_none() && self.guarantee_remedy.is_none() {
                t.guarantee_remedy = GuaranteeRemedy::None;
            }
        }
        if let Some(x) = self.guarantee_remedy {
            t.guarantee_remedy = x;
        }
        if let Some(x) = self.exclusive {
            t.exclusive = x;
        }
        if let Some(x) = self.lowest_price_clause {
            t.lowest_price_clause = x;
        }
        if let Some(x) = self.sessions_committed {
            t.sessions_committed = x;
        }
        let mut v = Validator::new();
        t.validate(&mut v);
        v.finish()?;
        Ok(t)
    }
}

impl Contract {
    pub fn terms(&self) -> ContractTerms {
        ContractTerms {
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            slot_fee_fen: self.slot_fee_fen,
            commission_bp: self.commission_bp,
            gmv_guarantee_fen: self.gmv_guarantee_fen,
            guarantee_remedy: self.guarantee_remedy,
            exclusive: self.exclusive,
            lowest_price_clause: self.lowest_price_clause,
            sessions_committed: self.sessions_committed,
        }
    }
}

impl From<contract::Model> for Contract {
    fn from(m: contract::Model) -> Self {
        Contract {
            id: m.id,
            brand_id: m.brand_id,
            kol_id: m.kol_id,
            platform: Platform::parse(&m.platform).unwrap_or(Platform::Taobao),
            starts_at: m.starts_at,
            ends_at: m.ends_at,
            slot_fee_fen: m.slot_fee_fen,
            commission_bp: m.commission_bp,
            gmv_guarantee_fen: m.gmv_guarantee_fen,
            guarantee_remedy: GuaranteeRemedy::parse(&m.guarantee_remedy)
                .unwrap_or(GuaranteeRemedy::None),
            exclusive: m.exclusive,
            lowest_price_clause: m.lowest_price_clause,
            sessions_committed: m.sessions_committed,
            status: ContractStatus::parse(&m.status).unwrap_or(ContractStatus::Draft),
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

fn set_terms(am: &mut contract::ActiveModel, t: &ContractTerms) {
    am.starts_at = Set(t.starts_at);
    am.ends_at = Set(t.ends_at);
    am.slot_fee_fen = Set(t.slot_fee_fen);
    am.commission_bp = Set(t.commission_bp);
    am.gmv_guarantee_fen = Set(t.gmv_guarantee_fen);
    am.guarantee_remedy = Set(t.guarantee_remedy.as_str().to_owned());
    am.exclusive = Set(t.exclusive);
    am.lowest_price_clause = Set(t.lowest_price_clause);
    am.sessions_committed = Set(t.sessions_committed);
}

async fn insert_version<C: ConnectionTrait>(
    db: &C,
    contract_id: Uuid,
    version: i32,
    terms: &ContractTerms,
    reason: Option<String>,
    by: &str,
    effective_from: Option<DateTime<Utc>>,
) -> Result<()> {
    contract_version::ActiveModel {
        id: Set(Uuid::now_v7()),
        contract_id: Set(contract_id),
        version: Set(version),
        terms: Set(serde_json::to_value(terms).map_err(|e| Error::Internal(e.into()))?),
        reason: Set(reason),
        created_by: Set(by.to_owned()),
        created_at: Set(Utc::now()),
        effective_from: Set(effective_from),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
fn double_option<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}
