//! Attribution: which KOL, product, brand, contract and session an order belongs to.
//!
//! Rules (README "Orders and attribution" explains them to agencies):
//! - **KOL**: the order's platform account (`account_id`: Douyin author, Kuaishou distributor,
//!   Taobao anchor) among the KOLs' accounts on that platform; failing that, the KOL of the
//!   session whose room the order came from.
//! - **Product and brand**: the order's item among the product listings on that platform.
//! - **Contract**: between that brand and that KOL on that platform, `signed`, `active` or (for
//!   late orders) `completed`, whose period contains the pay time; the latest-starting one when
//!   several do. Draft, proposed, cancelled and terminated contracts never earn attribution.
//! - **Session**: the session on that platform whose room is the order's room, or else the KOL's
//!   session on that platform, live at pay time; pay time may trail the end of the stream by
//!   [`SESSION_GRACE`] (buyers pay after the anchor signs off). Cancelled sessions never match.
//!
//! An order is *attributed* when KOL, product and contract are all known; the session is
//! optional (orders through a KOL's links outside a live are still the KOL's). Anything missing
//! is named in `unattributed_reason`, and the order is kept and listed, never dropped.
//!
//! Lookups are made for a whole batch at once (one query per table), so attribution costs a
//! few queries per group commit rather than per order.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::store::entities::{contract, kol_account, product, product_listing, session};

/// How long after a session's end an order still counts as paid in it.
pub const SESSION_GRACE: Duration = Duration::minutes(30);

/// Contract states that can earn an order.
const EARNING_STATES: [&str; 3] = ["signed", "active", "completed"];

/// What an order needs attributed.
#[derive(Debug, Clone)]
pub struct OrderFacts<'a> {
    pub platform: &'a str,
    pub item_id: &'a str,
    pub account_id: Option<&'a str>,
    pub room_id: Option<&'a str>,
    pub paid_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attribution {
    pub kol_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub brand_id: Option<Uuid>,
    pub contract_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    /// Why the order is not attributed; none when it is.
    pub reason: Option<String>,
}

impl Attribution {
    pub fn attributed(&self) -> bool {
        self.reason.is_none()
    }
}

/// The roster facts a batch of orders needs, loaded in one query per table.
#[derive(Default)]
pub struct Attributor {
    accounts: HashMap<(String, String), Vec<Uuid>>,
    listings: HashMap<(String, String), Vec<(Uuid, Uuid)>>,
    contracts: Vec<contract::Model>,
    sessions: Vec<session::Model>,
}

impl Attributor {
    /// Loads what attributing `orders` needs.
    pub async fn load<C: ConnectionTrait>(
        db: &C,
        orders: &[OrderFacts<'_>],
    ) -> Result<Attributor, DbErr> {
        let mut me = Attributor::default();
        if orders.is_empty() {
            return Ok(me);
        }
        let accounts: HashSet<&str> = orders.iter().filter_map(|o| o.account_id).collect();
        let items: HashSet<&str> = orders.iter().map(|o| o.item_id).collect();
        let rooms: HashSet<&str> = orders.iter().filter_map(|o| o.room_id).collect();
        let platforms: HashSet<&str> = orders.iter().map(|o| o.platform).collect();
        let first = orders.iter().map(|o| o.paid_at).min().unwrap();
        let last = orders.iter().map(|o| o.paid_at).max().unwrap();

        for chunk in chunks(&accounts) {
            for a in kol_account::Entity::find()
                .filter(kol_account::Column::AccountId.is_in(chunk))
                .filter(kol_account::Column::Platform.is_in(platforms.iter().copied()))
                .all(db)
                .await?
            {
                me.accounts
                    .entry((a.platform, a.account_id))
                    .or_default()
                    .push(a.kol_id);
            }
        }

        let mut listed = Vec::new();
        for chunk in chunks(&items) {
            listed.extend(
                product_listing::Entity::find()
                    .filter(product_listing::Column::ItemId.is_in(chunk))
                    .filter(product_listing::Column::Platform.is_in(platforms.iter().copied()))
                    .all(db)
                    .await?,
            );
        }
        let product_ids: HashSet<Uuid> = listed.iter().map(|l| l.product_id).collect();
        let mut brand_of = HashMap::new();
        for chunk in chunks(&product_ids) {
            for p in product::Entity::find()
                .filter(product::Column::Id.is_in(chunk))
                .all(db)
                .await?
            {
                brand_of.insert(p.id, p.brand_id);
            }
        }
        for l in listed {
            if let Some(brand) = brand_of.get(&l.product_id) {
                me.listings
                    .entry((l.platform, l.item_id))
                    .or_default()
                    .push((l.product_id, *brand));
            }
        }

        // Sessions: by room, and by the KOLs the accounts point at, around the batch's pay times.
        let window_start = first - Duration::days(2);
        let window_end = last + SESSION_GRACE;
        let mut kols: HashSet<Uuid> = me.accounts.values().flatten().copied().collect();
        let mut by_room = Vec::new();
        for chunk in chunks(&rooms) {
            by_room.extend(
                session::Entity::find()
                    .filter(session::Column::RoomId.is_in(chunk))
                    .filter(session::Column::StartsAt.lte(window_end))
                    .filter(session::Column::EndsAt.gte(window_start))
                    .all(db)
                    .await?,
            );
        }
        kols.extend(by_room.iter().map(|s| s.kol_id));
        let mut seen: HashSet<Uuid> = by_room.iter().map(|s| s.id).collect();
        me.sessions = by_room;
        for chunk in chunks(&kols) {
            for s in session::Entity::find()
                .filter(session::Column::KolId.is_in(chunk.clone()))
                .filter(session::Column::StartsAt.lte(window_end))
                .filter(session::Column::EndsAt.gte(window_start))
                .all(db)
                .await?
            {
                if seen.insert(s.id) {
                    me.sessions.push(s);
                }
            }
            me.contracts.extend(
                contract::Entity::find()
                    .filter(contract::Column::KolId.is_in(chunk))
                    .filter(contract::Column::Status.is_in(EARNING_STATES))
                    .all(db)
                    .await?,
            );
        }
        Ok(me)
    }

    /// Attributes one order from the loaded facts.
    pub fn attribute(&self, o: &OrderFacts<'_>) -> Attribution {
        let mut a = Attribution::default();
        let mut missing: Vec<String> = Vec::new();

        let session = self.session_for(o);
        a.session_id = session.map(|s| s.id);

        match o.account_id {
            Some(acc) => match self
                .accounts
                .get(&(o.platform.to_owned(), acc.to_owned()))
                .map(Vec::as_slice)
            {
                Some([kol]) => a.kol_id = Some(*kol),
                Some([_, _, ..]) => missing.push(format!(
                    "{} account {acc} belongs to several KOLs",
                    o.platform
                )),
                _ => match session {
                    Some(s) => a.kol_id = Some(s.kol_id),
                    None => missing.push(format!("no KOL has {} account {acc}", o.platform)),
                },
            },
            None => match session {
                Some(s) => a.kol_id = Some(s.kol_id),
                None => {
                    missing.push("the order names no KOL account and no known live room".into())
                }
            },
        }
        // A session found by room must be the KOL's own.
        if let (Some(s), Some(kol)) = (session, a.kol_id)
            && s.kol_id != kol
        {
            a.session_id = self.kol_session(kol, o).map(|s| s.id);
        }

        match self
            .listings
            .get(&(o.platform.to_owned(), o.item_id.to_owned()))
            .map(Vec::as_slice)
        {
            Some([(product, brand)]) => {
                a.product_id = Some(*product);
                a.brand_id = Some(*brand);
            }
            Some([_, _, ..]) => missing.push(format!(
                "{} item {} is listed by several products",
                o.platform, o.item_id
            )),
            _ => missing.push(format!(
                "no product lists {} item {}",
                o.platform, o.item_id
            )),
        }

        if let (Some(kol), Some(brand)) = (a.kol_id, a.brand_id) {
            a.contract_id = self
                .contracts
                .iter()
                .filter(|c| c.kol_id == kol && c.brand_id == brand && c.platform == o.platform)
                .filter(|c| c.starts_at <= o.paid_at && o.paid_at < c.ends_at)
                .max_by_key(|c| (c.starts_at, c.id))
                .map(|c| c.id);
            if a.contract_id.is_none() {
                missing.push(format!(
                    "no signed or active contract between the brand and the KOL on {} at {}",
                    o.platform,
                    o.paid_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ));
            }
        }
        if !missing.is_empty() {
            a.reason = Some(missing.join("; "));
        }
        a
    }

    fn live_at(s: &session::Model, o: &OrderFacts<'_>) -> bool {
        s.platform == o.platform
            && s.status != "cancelled"
            && s.starts_at <= o.paid_at
            && o.paid_at <= s.ends_at + SESSION_GRACE
    }

    fn session_for(&self, o: &OrderFacts<'_>) -> Option<&session::Model> {
        if let Some(room) = o.room_id
            && let Some(s) = self
                .sessions
                .iter()
                .find(|s| s.room_id == room && Self::live_at(s, o))
        {
            return Some(s);
        }
        let acc = o.account_id?;
        let kols = self
            .accounts
            .get(&(o.platform.to_owned(), acc.to_owned()))?;
        match kols.as_slice() {
            [kol] => self.kol_session(*kol, o),
            _ => None,
        }
    }

    fn kol_session(&self, kol: Uuid, o: &OrderFacts<'_>) -> Option<&session::Model> {
        self.sessions
            .iter()
            .filter(|s| s.kol_id == kol && Self::live_at(s, o))
            .max_by_key(|s| s.starts_at)
    }
}

/// Splits a set into query-sized pieces (well under SQLite's bound-parameter limit).
fn chunks<T: Clone>(set: &HashSet<T>) -> Vec<Vec<T>> {
    let all: Vec<T> = set.iter().cloned().collect();
    all.chunks(500).map(<[T]>::to_vec).collect()
}
