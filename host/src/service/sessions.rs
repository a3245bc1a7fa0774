//! Livestream sessions: schedule, run-of-show outline and lineup. A lineup is checked against
//! the products and contracts it names (design §6) and its outline and prices against the
//! compliance rules, inside the write's transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::{Error, Result};
use super::visibility::{self, brand_contract_ids, brand_session_ids};
use super::{Page, PageRequest, children, compliance};
use crate::domain::actor::{Actor, MANAGERS, Scope};
use crate::domain::lineup::{self, ContractFacts, ProductFacts, SessionFacts};
use crate::domain::{ContractStatus, FieldError, Platform, SessionStatus, Validator};
use crate::service::roster::kols;
use crate::store::entities::{contract, product, session, session_slot};
use crate::store::{self, audit};

/// Sessions hold 30 product slots unless told otherwise.
const DEFAULT_SLOT_CAPACITY: i64 = 30;

/// One product slot of a lineup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineupSlot {
    pub product_id: Uuid,
    pub contract_id: Uuid,
    /// Running order, from 1.
    #[schema(minimum = 1, maximum = 10000)]
    pub position: i64,
    /// Between the product's floor and list price.
    #[schema(minimum = 0, maximum = 10000000000000i64)]
    pub live_price_fen: i64,
    /// At most the product's stock.
    #[schema(minimum = 1, maximum = 1000000000)]
    pub units: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Session {
    pub id: Uuid,
    pub kol_id: Uuid,
    pub platform: Platform,
    pub room_id: String,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub status: SessionStatus,
    pub outline: String,
    pub slot_capacity: i64,
    pub lineup: Vec<LineupSlot>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSession {
    pub kol_id: Uuid,
    pub platform: Platform,
    #[serde(default)]
    #[schema(max_length = 128)]
    pub room_id: String,
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    pub starts_at: DateTime<Utc>,
    /// After `starts_at`, at most 24 hours later.
    pub ends_at: DateTime<Utc>,
    #[serde(default)]
    #[schema(max_length = 50000)]
    pub outline: String,
    #[serde(default)]
    #[schema(minimum = 1, maximum = 500)]
    pub slot_capacity: Option<i64>,
    /// At most `slot_capacity` slots.
    #[serde(default)]
    #[schema(max_items = 500)]
    pub lineup: Vec<LineupSlot>,
}

/// Changes to a session; `lineup`, when given, replaces the whole lineup.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionPatch {
    #[schema(max_length = 128)]
    pub room_id: Option<String>,
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub status: Option<SessionStatus>,
    #[schema(max_length = 50000)]
    pub outline: Option<String>,
    #[schema(minimum = 1, maximum = 500)]
    pub slot_capacity: Option<i64>,
    #[schema(max_items = 500)]
    pub lineup: Option<Vec<LineupSlot>>,
}

/// Which sessions to list.
#[derive(Debug, Default)]
pub struct SessionQuery {
    pub kol_id: Option<Uuid>,
    pub status: Option<SessionStatus>,
    /// Sessions starting at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Sessions starting before this time.
    pub to: Option<DateTime<Utc>>,
}

impl Session {
    /// What the lineup rules need to know of this session.
    pub fn facts(&self) -> SessionFacts {
        SessionFacts {
            kol_id: self.kol_id,
            platform: self.platform,
            starts_at: self.starts_at,
            slot_capacity: self.slot_capacity,
        }
    }
}

/// Sessions the actor may see (a KOL token: its own; a brand token: those with its products in
/// the lineup, showing only its own slots).
pub async fn list(
    db: &DatabaseConnection,
    actor: &Actor,
    query: SessionQuery,
    page: PageRequest,
) -> Result<Page<Session>> {
    let mut q = session::Entity::find();
    match actor.scope() {
        Scope::All => {}
        Scope::Kol(k) => q = q.filter(session::Column::KolId.eq(k)),
        Scope::Brand(b) => q = q.filter(session::Column::Id.is_in(brand_session_ids(db, b).await?)),
    }
    if let Some(k) = query.kol_id {
        q = q.filter(session::Column::KolId.eq(k));
    }
    if let Some(st) = query.status {
        q = q.filter(session::Column::Status.eq(st.as_str()));
    }
    if let Some(from) = query.from {
        q = q.filter(session::Column::StartsAt.gte(from));
    }
    if let Some(to) = query.to {
        q = q.filter(session::Column::StartsAt.lt(to));
    }
    let Page { items, next_cursor } = page.fetch(db, q, session::Column::Id).await?;
    Ok(Page {
        items: with_lineups(db, items, actor.scope()).await?,
        next_cursor,
    })
}

pub async fn get(db: &DatabaseConnection, actor: &Actor, id: Uuid) -> Result<Session> {
    let row = visibility::find::<session::Entity, _>(db, actor, id).await?;
    Ok(with_lineups(db, vec![row], actor.scope()).await?.remove(0))
}

/// Schedules a session, optionally with its lineup.
pub async fn create(db: &DatabaseConnection, actor: &Actor, input: NewSession) -> Result<Session> {
    actor.require(MANAGERS)?;
    let capacity = input.slot_capacity.unwrap_or(DEFAULT_SLOT_CAPACITY);
    let mut v = Validator::new();
    validate_fields(
        &mut v,
        &input.room_id,
        &input.title,
        input.starts_at,
        input.ends_at,
        &input.outline,
        capacity,
    );
    v.finish()?;
    let txn = store::write_txn(db).await?;
    let mut v = Validator::new();
    kols::check_account(&txn, &mut v, input.kol_id, input.platform).await?;
    v.finish()?;
    let facts = SessionFacts {
        kol_id: input.kol_id,
        platform: input.platform,
        starts_at: input.starts_at,
        slot_capacity: capacity,
    };
    check_lineup(&txn, &facts, &input.lineup).await?;
    let id = Uuid::now_v7();
    let now = Utc::now();
    let row = session::ActiveModel {
        id: Set(id),
        kol_id: Set(input.kol_id),
        platform: Set(input.platform.as_str().to_owned()),
        room_id: Set(input.room_id.trim().to_owned()),
        title: Set(input.title.trim().to_owned()),
        starts_at: Set(input.starts_at),
        ends_at: Set(input.ends_at),
        status: Set(SessionStatus::Scheduled.as_str().to_owned()),
        outline: Set(input.outline),
        slot_capacity: Set(capacity),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    replace_lineup(&txn, id, &input.lineup).await?;
    compliance::check_session(
        &txn,
        actor,
        id,
        input.starts_at,
        Some(row.outline.as_str()),
        Some(input.lineup.as_slice()),
    )
    .await?;
    let view = to_view(row, input.lineup);
    Ok(audit::commit_created(txn, actor, "session", id, view).await?)
}

/// Changes a session: schedule, outline, status (scheduled -> live -> ended, or cancelled) or
/// lineup. An ended or cancelled session keeps its schedule and lineup.
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    input: SessionPatch,
) -> Result<Session> {
    actor.require(MANAGERS)?;
    let txn = store::write_txn(db).await?;
    let row = visibility::find_for_write::<session::Entity, _>(&txn, id).await?;
    let before = with_lineups(&txn, vec![row.clone()], Scope::All)
        .await?
        .remove(0);
    if let Some(to) = input.status
        && to != before.status
        && !before.status.can_become(to)
    {
        return Err(Error::conflict(
            "status_transition",
            format!("a {} session cannot become {to}", before.status),
        )
        .with_param("from", before.status.as_str())
        .with_param("to", to.as_str()));
    }
    let closed = matches!(
        before.status,
        SessionStatus::Ended | SessionStatus::Cancelled
    );
    if closed && (input.lineup.is_some() || input.starts_at.is_some() || input.ends_at.is_some()) {
        return Err(Error::conflict(
            "session_closed",
            format!(
                "the session is {}: its schedule and lineup are final",
                before.status
            ),
        )
        .with_param("status", before.status.as_str()));
    }
    let room_id = input.room_id.unwrap_or(before.room_id.clone());
    let title = input.title.unwrap_or(before.title.clone());
    let starts_at = input.starts_at.unwrap_or(before.starts_at);
    let ends_at = input.ends_at.unwrap_or(before.ends_at);
    let outline = input.outline.unwrap_or(before.outline.clone());
    let capacity = input.slot_capacity.unwrap_or(before.slot_capacity);
    let lineup = input.lineup.unwrap_or(before.lineup.clone());
    let mut v = Validator::new();
    validate_fields(
        &mut v, &room_id, &title, starts_at, ends_at, &outline, capacity,
    );
    v.finish()?;
    let facts = SessionFacts {
        starts_at,
        slot_capacity: capacity,
        ..before.facts()
    };
    check_lineup(&txn, &facts, &lineup).await?;
    let mut am = row.into_active_model();
    am.room_id = Set(room_id.trim().to_owned());
    am.title = Set(title.trim().to_owned());
    am.starts_at = Set(starts_at);
    am.ends_at = Set(ends_at);
    am.outline = Set(outline);
    am.slot_capacity = Set(capacity);
    if let Some(st) = input.status {
        am.status = Set(st.as_str().to_owned());
    }
    am.updated_at = Set(Utc::now());
    let row = am.update(&txn).await?;
    if lineup != before.lineup {
        replace_lineup(&txn, id, &lineup).await?;
    }
    let after = to_view(row, lineup);
    // Prices depend on the start time too (contract periods), so a moved session is rechecked.
    let prices_changed = after.lineup != before.lineup || after.starts_at != before.starts_at;
    compliance::check_session(
        &txn,
        actor,
        id,
        after.starts_at,
        Some(after.outline.as_str()).filter(|o| *o != before.outline),
        Some(after.lineup.as_slice()).filter(|_| prices_changed),
    )
    .await?;
    Ok(audit::commit_updated(txn, actor, "session", id, &before, after).await?)
}

fn validate_fields(
    v: &mut Validator,
    room_id: &str,
    title: &str,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    outline: &str,
    capacity: i64,
) {
    v.max_chars(room_id, "room_id", 128);
    v.non_empty(title, "title", 200);
    v.after(ends_at, starts_at, "ends_at", "starts_at");
    v.check_with(ends_at - starts_at <= chrono::Duration::hours(24), || {
        FieldError::new(
            "ends_at",
            "too_long_session",
            "a session lasts at most 24 hours",
        )
        .with_param("max_hours", 24)
    });
    v.max_chars(outline, "outline", 50_000);
    v.in_range(capacity, "slot_capacity", 1, 500);
}

/// Validates a lineup against the products and contracts it names (design §6 rules).
pub async fn check_lineup<C: ConnectionTrait>(
    db: &C,
    session: &SessionFacts,
    slots: &[LineupSlot],
) -> Result<()> {
    if slots.is_empty() {
        return Ok(());
    }
    let product_ids: Vec<Uuid> = slots.iter().map(|s| s.product_id).collect();
    let contract_ids: Vec<Uuid> = slots.iter().map(|s| s.contract_id).collect();
    let products: HashMap<Uuid, ProductFacts> = product::Entity::find()
        .filter(product::Column::Id.is_in(product_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|p| {
            let facts = ProductFacts {
                brand_id: p.brand_id,
                list_price_fen: p.list_price_fen,
                floor_price_fen: p.floor_price_fen,
                stock_units: p.stock_units,
            };
            (p.id, facts)
        })
        .collect();
    let contracts: HashMap<Uuid, ContractFacts> = contract::Entity::find()
        .filter(contract::Column::Id.is_in(contract_ids))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|c| {
            let facts = ContractFacts {
                brand_id: c.brand_id,
                kol_id: c.kol_id,
                platform: Platform::parse(&c.platform)?,
                status: ContractStatus::parse(&c.status)?,
                starts_at: c.starts_at,
                ends_at: c.ends_at,
            };
            Some((c.id, facts))
        })
        .collect();
    let domain_slots: Vec<lineup::Slot> = slots
        .iter()
        .map(|s| lineup::Slot {
            product_id: s.product_id,
            contract_id: s.contract_id,
            position: s.position,
            live_price_fen: s.live_price_fen,
            units: s.units,
        })
        .collect();
    let mut v = Validator::new();
    lineup::validate(&mut v, session, &domain_slots, |s| {
        (
            products.get(&s.product_id).cloned(),
            contracts.get(&s.contract_id).cloned(),
        )
    });
    Ok(v.finish()?)
}

/// Writes `slots` as the whole lineup of `session_id`.
pub async fn replace_lineup<C: ConnectionTrait>(
    db: &C,
    session_id: Uuid,
    slots: &[LineupSlot],
) -> Result<(), DbErr> {
    session_slot::Entity::delete_many()
        .filter(session_slot::Column::SessionId.eq(session_id))
        .exec(db)
        .await?;
    for s in slots {
        session_slot::ActiveModel {
            id: Set(Uuid::now_v7()),
            session_id: Set(session_id),
            product_id: Set(s.product_id),
            contract_id: Set(s.contract_id),
            position: Set(s.position as i32),
            live_price_fen: Set(s.live_price_fen),
            units: Set(s.units),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

fn to_view(m: session::Model, lineup: Vec<LineupSlot>) -> Session {
    Session {
        id: m.id,
        kol_id: m.kol_id,
        platform: Platform::parse(&m.platform).unwrap_or(Platform::Taobao),
        room_id: m.room_id,
        title: m.title,
        starts_at: m.starts_at,
        ends_at: m.ends_at,
        status: SessionStatus::parse(&m.status).unwrap_or(SessionStatus::Scheduled),
        outline: m.outline,
        slot_capacity: m.slot_capacity,
        lineup,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

/// The views of `rows`, their lineups loaded in one query. A brand sees only its own slots of a
/// session.
pub async fn with_lineups<C: ConnectionTrait>(
    db: &C,
    rows: Vec<session::Model>,
    scope: Scope,
) -> Result<Vec<Session>, DbErr> {
    let own: Option<Vec<Uuid>> = match scope {
        Scope::Brand(b) => Some(brand_contract_ids(db, b).await?),
        _ => None,
    };
    children::attach(
        db,
        children::Link::<session_slot::Entity> {
            parent: session_slot::Column::SessionId,
            order: session_slot::Column::Position,
            parent_of: |s| s.session_id,
        },
        rows,
        |s| s.id,
        |slot| {
            own.as_ref()
                .is_none_or(|own| own.contains(&slot.contract_id))
                .then(|| LineupSlot {
                    product_id: slot.product_id,
                    contract_id: slot.contract_id,
                    position: slot.position as i64,
                    live_price_fen: slot.live_price_fen,
                    units: slot.units,
                })
        },
        to_view,
    )
    .await
}
