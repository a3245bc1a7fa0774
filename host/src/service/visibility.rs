//! What a brand or KOL token may see (design §3): its own records, and the records of its
//! counterparties through contracts. Anything else answers 404, as if it did not exist.
//! Every resource decides here, in one place, and is loaded through [`find`] or [`find_for_write`].

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PrimaryKeyTrait, QueryFilter,
    QuerySelect,
};
use uuid::Uuid;

use super::error::{Error, Result};
use crate::domain::{Actor, Role, Scope};
use crate::store::entities::{
    brand, contract, kol, order, product, session, session_slot, settlement,
};

/// A record whose visibility follows from its own fields (and, for some, one more query).
pub trait Visible: Sized + Send + Sync {
    /// The name used in a 404 (`"brand not found"`).
    const WHAT: &'static str;

    fn visible_to<C: ConnectionTrait>(
        &self,
        db: &C,
        scope: Scope,
    ) -> impl Future<Output = Result<bool, DbErr>> + Send;
}

/// One record by id, or 404 when it does not exist or the actor may not see it.
pub async fn find<E, C>(db: &C, actor: &Actor, id: Uuid) -> Result<E::Model>
where
    E: EntityTrait,
    E::Model: Visible,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<Uuid>,
    C: ConnectionTrait,
{
    let row = E::find_by_id(id)
        .one(db)
        .await?
        .ok_or(Error::NotFound(<E::Model as Visible>::WHAT))?;
    if !row.visible_to(db, actor.scope()).await? {
        return Err(Error::NotFound(<E::Model as Visible>::WHAT));
    }
    Ok(row)
}

/// One record by id for a staff write (the caller has checked the role), or 404.
pub async fn find_for_write<E, C>(db: &C, id: Uuid) -> Result<E::Model>
where
    E: EntityTrait,
    E::Model: Visible,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<Uuid>,
    C: ConnectionTrait,
{
    E::find_by_id(id)
        .one(db)
        .await?
        .ok_or(Error::NotFound(<E::Model as Visible>::WHAT))
}

impl Visible for brand::Model {
    const WHAT: &'static str = "brand";
    async fn visible_to<C: ConnectionTrait>(&self, db: &C, scope: Scope) -> Result<bool, DbErr> {
        brand_visible(db, scope, self.id).await
    }
}

impl Visible for kol::Model {
    const WHAT: &'static str = "KOL";
    async fn visible_to<C: ConnectionTrait>(&self, db: &C, scope: Scope) -> Result<bool, DbErr> {
        kol_visible(db, scope, self.id).await
    }
}

impl Visible for product::Model {
    const WHAT: &'static str = "product";
    async fn visible_to<C: ConnectionTrait>(&self, db: &C, scope: Scope) -> Result<bool, DbErr> {
        brand_visible(db, scope, self.brand_id).await
    }
}

impl Visible for contract::Model {
    const WHAT: &'static str = "contract";
    async fn visible_to<C: ConnectionTrait>(&self, _: &C, scope: Scope) -> Result<bool, DbErr> {
        Ok(between(scope, self.brand_id, self.kol_id))
    }
}

impl Visible for settlement::Model {
    const WHAT: &'static str = "settlement";
    async fn visible_to<C: ConnectionTrait>(&self, _: &C, scope: Scope) -> Result<bool, DbErr> {
        Ok(between(scope, self.brand_id, self.kol_id))
    }
}

impl Visible for session::Model {
    const WHAT: &'static str = "session";
    async fn visible_to<C: ConnectionTrait>(&self, db: &C, scope: Scope) -> Result<bool, DbErr> {
        Ok(match scope {
            Scope::All => true,
            Scope::Kol(k) => self.kol_id == k,
            Scope::Brand(b) => brand_session_ids(db, b).await?.contains(&self.id),
        })
    }
}

impl Visible for order::Model {
    const WHAT: &'static str = "order";
    async fn visible_to<C: ConnectionTrait>(&self, _: &C, scope: Scope) -> Result<bool, DbErr> {
        Ok(match scope {
            Scope::All => true,
            Scope::Brand(b) => self.attributed && self.brand_id == Some(b),
            Scope::Kol(k) => self.attributed && self.kol_id == Some(k),
        })
    }
}

/// Whether a record between `brand_id` and `kol_id` (a contract, a settlement) is visible.
pub fn between(scope: Scope, brand_id: Uuid, kol_id: Uuid) -> bool {
    match scope {
        Scope::All => true,
        Scope::Brand(b) => b == brand_id,
        Scope::Kol(k) => k == kol_id,
    }
}

/// Brand ids visible to `scope`; `None` means all.
pub async fn visible_brands<C: ConnectionTrait>(
    db: &C,
    scope: Scope,
) -> Result<Option<Vec<Uuid>>, DbErr> {
    Ok(match scope {
        Scope::All => None,
        Scope::Brand(b) => Some(vec![b]),
        Scope::Kol(k) => Some(
            contract_column(db, contract::Column::KolId.eq(k), contract::Column::BrandId).await?,
        ),
    })
}

/// KOL ids visible to `scope`; `None` means all.
pub async fn visible_kols<C: ConnectionTrait>(
    db: &C,
    scope: Scope,
) -> Result<Option<Vec<Uuid>>, DbErr> {
    Ok(match scope {
        Scope::All => None,
        Scope::Kol(k) => Some(vec![k]),
        Scope::Brand(b) => Some(
            contract_column(db, contract::Column::BrandId.eq(b), contract::Column::KolId).await?,
        ),
    })
}

pub async fn brand_visible<C: ConnectionTrait>(
    db: &C,
    scope: Scope,
    id: Uuid,
) -> Result<bool, DbErr> {
    Ok(visible_brands(db, scope)
        .await?
        .is_none_or(|ids| ids.contains(&id)))
}

pub async fn kol_visible<C: ConnectionTrait>(
    db: &C,
    scope: Scope,
    id: Uuid,
) -> Result<bool, DbErr> {
    Ok(visible_kols(db, scope)
        .await?
        .is_none_or(|ids| ids.contains(&id)))
}

/// Session ids a brand can see: those whose lineup holds a slot under one of its contracts.
pub async fn brand_session_ids<C: ConnectionTrait>(
    db: &C,
    brand_id: Uuid,
) -> Result<Vec<Uuid>, DbErr> {
    let contracts = brand_contract_ids(db, brand_id).await?;
    if contracts.is_empty() {
        return Ok(Vec::new());
    }
    sorted_ids(
        session_slot::Entity::find()
            .select_only()
            .column(session_slot::Column::SessionId)
            .filter(session_slot::Column::ContractId.is_in(contracts))
            .into_tuple()
            .all(db)
            .await?,
    )
}

/// Ids of a brand's own contracts: a brand sees only the lineup slots under them.
pub async fn brand_contract_ids<C: ConnectionTrait>(
    db: &C,
    brand_id: Uuid,
) -> Result<Vec<Uuid>, DbErr> {
    contract_column(
        db,
        contract::Column::BrandId.eq(brand_id),
        contract::Column::Id,
    )
    .await
}

async fn contract_column<C: ConnectionTrait>(
    db: &C,
    filter: sea_orm::sea_query::SimpleExpr,
    column: contract::Column,
) -> Result<Vec<Uuid>, DbErr> {
    sorted_ids(
        contract::Entity::find()
            .select_only()
            .column(column)
            .filter(filter)
            .into_tuple()
            .all(db)
            .await?,
    )
}

fn sorted_ids(mut ids: Vec<Uuid>) -> Result<Vec<Uuid>, DbErr> {
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Roles that read money: settlements, statements and income reports. Scripters and
/// integrators work on strategies and plugins and see none of it; brand and KOL tokens see
/// their own (by scope).
pub const MONEY_READERS: &[Role] = &[Role::Admin, Role::Manager, Role::Brand, Role::Kol];

/// Roles that read raw webhook deliveries (bodies, headers, refusals).
pub const DELIVERY_READERS: &[Role] = &[Role::Admin, Role::Manager];

/// 403 unless the actor may read settlements and income reports.
pub fn require_money_reader(actor: &Actor) -> Result<()> {
    Ok(actor.require(MONEY_READERS)?)
}

/// A finding as a brand or KOL token sees it: only its own part of a record it shares.
pub trait Redact {
    /// The other record the finding refers to.
    fn related_id(&self) -> Option<Uuid>;
    /// Drops what names another party (its record, prices, contract).
    fn redact(&mut self);
}

/// Which compliance findings a brand or KOL token sees: about its own products and sessions,
/// and of a shared session or product only those about its own slots (its contracts); one
/// that refers to a session it cannot see is shown without the other party's details.
pub struct FindingsView {
    products: Vec<Uuid>,
    sessions: Vec<Uuid>,
    contracts: Vec<Uuid>,
}

impl FindingsView {
    /// The filter over `compliance_findings`.
    pub fn condition(&self) -> Condition {
        use crate::store::entities::compliance_finding::Column as F;
        let own_part = Condition::any()
            .add(F::ContractId.is_null())
            .add(F::ContractId.is_in(self.contracts.clone()));
        let entity = Condition::any()
            .add(
                Condition::all()
                    .add(F::EntityType.eq("product"))
                    .add(F::EntityId.is_in(self.products.clone())),
            )
            .add(
                Condition::all()
                    .add(F::EntityType.eq("session"))
                    .add(F::EntityId.is_in(self.sessions.clone())),
            );
        Condition::all().add(entity).add(own_part)
    }

    /// `finding`, without another party's details where it refers to one.
    pub fn redact<T: Redact>(&self, mut finding: T) -> T {
        if finding
            .related_id()
            .is_some_and(|r| self.sessions.binary_search(&r).is_err())
        {
            finding.redact();
        }
        finding
    }
}

/// The view of findings for `scope`; `None` for staff, who see all.
pub async fn findings_view<C: ConnectionTrait>(
    db: &C,
    scope: Scope,
) -> Result<Option<FindingsView>, DbErr> {
    let (sessions, contracts) = match scope {
        Scope::All => return Ok(None),
        Scope::Brand(b) => (
            brand_session_ids(db, b).await?,
            brand_contract_ids(db, b).await?,
        ),
        Scope::Kol(k) => (
            sorted_ids(
                session::Entity::find()
                    .select_only()
                    .column(session::Column::Id)
                    .filter(session::Column::KolId.eq(k))
                    .into_tuple()
                    .all(db)
                    .await?,
            )?,
            contract_column(db, contract::Column::KolId.eq(k), contract::Column::Id).await?,
        ),
    };
    let brands = visible_brands(db, scope).await?.unwrap_or_default();
    let products = sorted_ids(
        product::Entity::find()
            .select_only()
            .column(product::Column::Id)
            .filter(product::Column::BrandId.is_in(brands))
            .into_tuple()
            .all(db)
            .await?,
    )?;
    Ok(Some(FindingsView {
        products,
        sessions,
        contracts,
    }))
}
