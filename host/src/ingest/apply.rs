//! Applies a batch of submissions inside one transaction: stores deliveries, drops repeated
//! events, creates orders with their attribution, links refunds and settlements (also those
//! that arrived before their order), and advances poll cursors.
//!
//! Everything a batch touches is loaded first with a few set queries, changed in memory in
//! arrival order, and written back at the end, so a batch of a thousand events costs a handful
//! of statements rather than thousands of round trips.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::attribution::{Attributor, OrderFacts};
use super::batch::{Committed, Source, Submission};
use super::events::{NormalBody, NormalEvent, Paid};
use crate::store::entities::{
    live_stat, order, order_refund, platform_event, poll_cursor, session, webhook_delivery,
};

/// Rows per multi-row INSERT: keeps every statement under SQLite's bound-parameter limit.
const INSERT_CHUNK: usize = 200;

type OrderKey = (String, String, String); // platform, order id, sub-order id
type RefundKey = (String, String, String); // platform, order id, refund id

struct OrderRow {
    model: order::Model,
    new: bool,
    dirty: bool,
}

struct RefundRow {
    model: order_refund::Model,
    new: bool,
    dirty: bool,
}

/// Commits `subs` in the caller's transaction; answers one [`Committed`] per submission.
pub async fn apply<C: ConnectionTrait>(
    db: &C,
    subs: &[Submission],
) -> Result<Vec<Committed>, DbErr> {
    let now = Utc::now();

    // 1. Which events are new: not stored yet, and not repeated earlier in this batch.
    let mut by_plugin: BTreeMap<&str, HashSet<&str>> = BTreeMap::new();
    for s in subs {
        for e in &s.events {
            by_plugin.entry(&s.plugin).or_default().insert(&e.key);
        }
    }
    let mut known: HashSet<(String, String)> = HashSet::new();
    for (plugin, keys) in &by_plugin {
        let keys: Vec<&str> = keys.iter().copied().collect();
        for chunk in keys.chunks(500) {
            for e in platform_event::Entity::find()
                .filter(platform_event::Column::Plugin.eq(*plugin))
                .filter(platform_event::Column::EventKey.is_in(chunk.iter().copied()))
                .all(db)
                .await?
            {
                known.insert((e.plugin, e.event_key));
            }
        }
    }
    let mut committed = vec![Committed::default(); subs.len()];
    let mut fresh: Vec<(usize, &NormalEvent)> = Vec::new();
    for (i, s) in subs.iter().enumerate() {
        committed[i].events = s.events.len();
        for e in &s.events {
            if known.insert((s.plugin.clone(), e.key.clone())) {
                committed[i].new_events += 1;
                fresh.push((i, e));
            }
        }
    }

    // 2. Load the orders, refunds and waiting settlements the new events are about.
    let mut order_ids: BTreeMap<&str, HashSet<&str>> = BTreeMap::new();
    for (i, e) in &fresh {
        if let Some((oid, sub)) = e.body.order_key() {
            let ids = order_ids.entry(&subs[*i].platform).or_default();
            ids.insert(oid);
            if !sub.is_empty() {
                ids.insert(sub); // the alliance APIs name a sub-order by its own id
            }
        }
    }
    let mut orders: HashMap<OrderKey, OrderRow> = HashMap::new();
    let mut refunds: HashMap<RefundKey, RefundRow> = HashMap::new();
    let mut waiting_settles: Vec<platform_event::Model> = Vec::new();
    for (platform, ids) in &order_ids {
        let ids: Vec<&str> = ids.iter().copied().collect();
        for chunk in ids.chunks(500) {
            // Two lookups rather than one `OR`: each can use its index.
            let mut found = order::Entity::find()
                .filter(order::Column::Platform.eq(*platform))
                .filter(order::Column::PlatformOrderId.is_in(chunk.iter().copied()))
                .all(db)
                .await?;
            found.extend(
                order::Entity::find()
                    .filter(order::Column::Platform.eq(*platform))
                    .filter(order::Column::SubOrderId.is_in(chunk.iter().copied()))
                    .all(db)
                    .await?,
            );
            for o in found {
                let k = (
                    o.platform.clone(),
                    o.platform_order_id.clone(),
                    o.sub_order_id.clone(),
                );
                orders.entry(k).or_insert(OrderRow {
                    model: o,
                    new: false,
                    dirty: false,
                });
            }
            for r in order_refund::Entity::find()
                .filter(order_refund::Column::Platform.eq(*platform))
                .filter(order_refund::Column::PlatformOrderId.is_in(chunk.iter().copied()))
                .all(db)
                .await?
            {
                let k = (
                    r.platform.clone(),
                    r.platform_order_id.clone(),
                    r.refund_id.clone(),
                );
                refunds.insert(
                    k,
                    RefundRow {
                        model: r,
                        new: false,
                        dirty: false,
                    },
                );
            }
            waiting_settles.extend(
                platform_event::Entity::find()
                    .filter(platform_event::Column::Platform.eq(*platform))
                    .filter(platform_event::Column::PlatformOrderId.is_in(chunk.iter().copied()))
                    .filter(platform_event::Column::Outcome.eq("pending"))
                    .filter(platform_event::Column::Kind.eq("order_settled"))
                    .all(db)
                    .await?,
            );
        }
    }

    // 3. Attribute the new orders, all at once.
    let paid_facts: Vec<OrderFacts> = fresh
        .iter()
        .filter_map(|(i, e)| match &e.body {
            NormalBody::OrderPaid(p) => Some(facts(&subs[*i].platform, p)),
            _ => None,
        })
        .collect();
    let attributor = Attributor::load(db, &paid_facts).await?;

    // 4. Apply the new events in arrival order.
    let mut event_rows: Vec<platform_event::ActiveModel> = Vec::with_capacity(fresh.len());
    let mut stats_rows: Vec<live_stat::ActiveModel> = Vec::new();
    let mut settled_later: Vec<(String, String)> = Vec::new(); // waiting settlements now applied
    for (i, e) in &fresh {
        let s = &subs[*i];
        let platform = s.platform.as_str();
        let outcome = match &e.body {
            NormalBody::OrderPaid(p) => {
                let key = (
                    platform.to_owned(),
                    p.platform_order_id.clone(),
                    p.sub_order_id.clone(),
                );
                if find_order(&mut orders, platform, &p.platform_order_id, &p.sub_order_id)
                    .is_some()
                {
                    "ignored" // the same order, already known through another channel
                } else {
                    let a = attributor.attribute(&facts(platform, p));
                    let model = order::Model {
                        id: Uuid::now_v7(),
                        platform: platform.to_owned(),
                        platform_order_id: p.platform_order_id.clone(),
                        sub_order_id: p.sub_order_id.clone(),
                        item_id: p.item_id.clone(),
                        account_id: p.account_id.clone(),
                        room_id: p.room_id.clone(),
                        units: p.units,
                        paid_fen: p.paid_fen,
                        refunded_fen: 0,
                        settled_fen: None,
                        platform_commission_fen: None,
                        commission_bp: p.commission_bp,
                        status: "paid".into(),
                        paid_at: p.paid_at,
                        settled_at: None,
                        kol_id: a.kol_id,
                        product_id: a.product_id,
                        brand_id: a.brand_id,
                        contract_id: a.contract_id,
                        session_id: a.session_id,
                        attributed: a.attributed(),
                        unattributed_reason: a.reason.clone(),
                        created_at: now,
                        updated_at: now,
                    };
                    orders.insert(
                        key.clone(),
                        OrderRow {
                            model,
                            new: true,
                            dirty: true,
                        },
                    );
                    // Refunds and settlements that came first.
                    for r in refunds.values_mut() {
                        if r.model.order_id.is_none()
                            && matches(
                                &r.model.platform,
                                &r.model.platform_order_id,
                                &r.model.sub_order_id,
                                &key,
                            )
                        {
                            let o = orders.get_mut(&key).unwrap();
                            link_refund(o, r, now);
                        }
                    }
                    for w in waiting_settles
                        .iter_mut()
                        .filter(|w| w.outcome == "pending")
                    {
                        if let Some(oid) = &w.platform_order_id
                            && matches(&w.platform, oid, &w.sub_order_id, &key)
                            && let Ok(body) = serde_json::from_value::<StoredSettle>(w.body.clone())
                        {
                            let o = orders.get_mut(&key).unwrap();
                            settle(
                                o,
                                body.settled_fen,
                                body.commission_fen,
                                body.settled_at,
                                now,
                            );
                            w.outcome = "applied".into();
                            settled_later.push((w.plugin.clone(), w.event_key.clone()));
                        }
                    }
                    "applied"
                }
            }
            NormalBody::OrderRefunded(r) => {
                let rkey = (
                    platform.to_owned(),
                    r.platform_order_id.clone(),
                    r.refund_id.clone(),
                );
                if refunds.contains_key(&rkey) {
                    "ignored" // the same refund, already known through another channel
                } else {
                    let mut row = RefundRow {
                        model: order_refund::Model {
                            id: Uuid::now_v7(),
                            platform: platform.to_owned(),
                            platform_order_id: r.platform_order_id.clone(),
                            sub_order_id: r.sub_order_id.clone(),
                            refund_id: r.refund_id.clone(),
                            refunded_fen: r.refunded_fen,
                            refunded_at: r.refunded_at,
                            order_id: None,
                            created_at: now,
                        },
                        new: true,
                        dirty: true,
                    };
                    let outcome = match find_order(
                        &mut orders,
                        platform,
                        &r.platform_order_id,
                        &r.sub_order_id,
                    ) {
                        Some(o) => {
                            link_refund(o, &mut row, now);
                            "applied"
                        }
                        None => "pending",
                    };
                    refunds.insert(rkey, row);
                    outcome
                }
            }
            NormalBody::OrderSettled(st) => {
                match find_order(
                    &mut orders,
                    platform,
                    &st.platform_order_id,
                    &st.sub_order_id,
                ) {
                    Some(o) => {
                        settle(o, st.settled_fen, st.commission_fen, st.settled_at, now);
                        "applied"
                    }
                    None => "pending",
                }
            }
            NormalBody::LiveStats(ls) => {
                let session = session::Entity::find()
                    .filter(session::Column::Platform.eq(platform))
                    .filter(session::Column::RoomId.eq(ls.room_id.as_str()))
                    .filter(session::Column::StartsAt.lte(ls.at))
                    .filter(session::Column::EndsAt.gte(ls.at - super::attribution::SESSION_GRACE))
                    .one(db)
                    .await?;
                stats_rows.push(live_stat::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    platform: Set(platform.to_owned()),
                    room_id: Set(ls.room_id.clone()),
                    account_id: Set(ls.account_id.clone()),
                    session_id: Set(session.map(|s| s.id)),
                    at: Set(ls.at),
                    viewers: Set(ls.viewers),
                    gmv_fen: Set(ls.gmv_fen),
                    orders: Set(ls.orders),
                });
                "applied"
            }
        };
        let (oid, sub) = match e.body.order_key() {
            Some((o, s)) => (Some(o.to_owned()), s.to_owned()),
            None => (None, String::new()),
        };
        event_rows.push(platform_event::ActiveModel {
            plugin: Set(s.plugin.clone()),
            event_key: Set(e.key.clone()),
            platform: Set(platform.to_owned()),
            kind: Set(e.body.kind().to_owned()),
            platform_order_id: Set(oid),
            sub_order_id: Set(sub),
            delivery_id: Set(match &s.source {
                Source::Webhook(d) => Some(d.id),
                Source::Poll { .. } => None,
            }),
            source: Set(match &s.source {
                Source::Webhook(_) => "webhook".into(),
                Source::Poll { .. } => "poll".into(),
            }),
            body: Set(serde_json::to_value(&e.body).map_err(|e| DbErr::Custom(e.to_string()))?),
            outcome: Set(outcome.into()),
            received_at: Set(now),
        });
    }

    // 5. Write everything back.
    let deliveries: Vec<webhook_delivery::ActiveModel> = subs
        .iter()
        .zip(&committed)
        .filter_map(|(s, c)| match &s.source {
            Source::Webhook(d) => Some(webhook_delivery::ActiveModel {
                id: Set(d.id),
                platform: Set(d.platform.clone()),
                plugin: Set(d.plugin.clone()),
                status: Set(d.status.as_str().into()),
                method: Set(d.method.clone()),
                path: Set(d.path.clone()),
                query: Set(d.query.clone()),
                headers: Set(json!(d.headers)),
                body: Set(d.body.clone()),
                events: Set(c.events as i32),
                new_events: Set(c.new_events as i32),
                error: Set(d.error.clone()),
                received_at: Set(d.received_at),
                size_bytes: Set(d.size_bytes),
                body_sha256: Set(d.body_sha256.clone()),
            }),
            Source::Poll { .. } => None,
        })
        .collect();
    insert_chunked::<webhook_delivery::Entity, _, _>(db, deliveries).await?;
    insert_chunked::<platform_event::Entity, _, _>(db, event_rows).await?;
    for (plugin, key) in settled_later {
        platform_event::Entity::update_many()
            .col_expr(platform_event::Column::Outcome, "applied".into())
            .filter(platform_event::Column::Plugin.eq(plugin))
            .filter(platform_event::Column::EventKey.eq(key))
            .exec(db)
            .await?;
    }
    let mut new_orders = Vec::new();
    for row in orders.into_values().filter(|o| o.dirty) {
        if row.new {
            new_orders.push(row.model.into_active_model());
        } else {
            let mut am = row.model.into_active_model().reset_all();
            am.id = sea_orm::ActiveValue::Unchanged(am.id.take().unwrap());
            am.created_at = NotSet;
            am.update(db).await?;
        }
    }
    insert_chunked::<order::Entity, _, _>(db, new_orders).await?;
    let mut new_refunds = Vec::new();
    for row in refunds.into_values().filter(|r| r.dirty) {
        if row.new {
            new_refunds.push(row.model.into_active_model());
        } else {
            order_refund::Entity::update_many()
                .col_expr(order_refund::Column::OrderId, row.model.order_id.into())
                .filter(order_refund::Column::Id.eq(row.model.id))
                .exec(db)
                .await?;
        }
    }
    insert_chunked::<order_refund::Entity, _, _>(db, new_refunds).await?;
    insert_chunked::<live_stat::Entity, _, _>(db, stats_rows).await?;

    for (s, c) in subs.iter().zip(&committed) {
        if let Source::Poll { next_cursor, error } = &s.source {
            save_cursor(
                db,
                &s.plugin,
                next_cursor.as_deref(),
                error.as_deref(),
                c.new_events,
                now,
            )
            .await?;
        }
    }
    Ok(committed)
}

/// Stores a poller's position: the cursor the plugin handed back, none after its last page (the
/// next poll then starts where the plugin starts a fresh poll). A failed poll keeps the cursor.
async fn save_cursor<C: ConnectionTrait>(
    db: &C,
    plugin: &str,
    cursor: Option<&str>,
    error: Option<&str>,
    new_events: usize,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    match poll_cursor::Entity::find_by_id(plugin.to_owned())
        .one(db)
        .await?
    {
        Some(row) => {
            let events = row.events + new_events as i64;
            let keep = row.cursor.clone();
            let mut am = row.into_active_model();
            am.cursor = Set(if error.is_some() {
                keep
            } else {
                cursor.map(str::to_owned)
            });
            am.last_error = Set(error.map(str::to_owned));
            am.events = Set(events);
            am.polled_at = Set(Some(now));
            am.updated_at = Set(now);
            am.update(db).await?;
        }
        None => {
            poll_cursor::ActiveModel {
                plugin: Set(plugin.to_owned()),
                cursor: Set(cursor.map(str::to_owned)),
                last_error: Set(error.map(str::to_owned)),
                events: Set(new_events as i64),
                polled_at: Set(Some(now)),
                updated_at: Set(now),
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}

fn facts<'a>(platform: &'a str, p: &'a Paid) -> OrderFacts<'a> {
    OrderFacts {
        platform,
        item_id: &p.item_id,
        account_id: p.account_id.as_deref(),
        room_id: p.room_id.as_deref(),
        paid_at: p.paid_at,
    }
}

/// Whether an event naming (order id, sub-order id) is about the order `key`.
///
/// Platforms name one purchase two ways: pushes give the parent order and the sub-order
/// (Douyin `p_id` + `s_ids`, Taobao `tid` + `oid`), while alliance/CPS APIs may give the
/// sub-order's id alone as "the order" (Douyin's MCN `order_id`). So an event matches an order
/// by the same pair, by its order id being the order's sub-order id (and naming no sub-order),
/// or by its sub-order id being an order recorded without sub-orders. An event that names no
/// sub-order is also about the order's first sub-order.
fn matches(platform: &str, oid: &str, sub: &str, key: &OrderKey) -> bool {
    platform == key.0
        && ((oid == key.1 && (sub == key.2 || sub.is_empty()))
            || (sub.is_empty() && oid == key.2)
            || (!sub.is_empty() && key.2.is_empty() && sub == key.1))
}

fn find_order<'a>(
    orders: &'a mut HashMap<OrderKey, OrderRow>,
    platform: &str,
    oid: &str,
    sub: &str,
) -> Option<&'a mut OrderRow> {
    let key = (platform.to_owned(), oid.to_owned(), sub.to_owned());
    if orders.contains_key(&key) {
        return orders.get_mut(&key);
    }
    // Otherwise the matching row (see [`matches`]) with the smallest key, so the choice is
    // the same however the rows were loaded.
    let found = orders
        .keys()
        .filter(|k| matches(platform, oid, sub, k))
        .min()
        .cloned()?;
    orders.get_mut(&found)
}

fn link_refund(o: &mut OrderRow, r: &mut RefundRow, now: DateTime<Utc>) {
    r.model.order_id = Some(o.model.id);
    r.dirty = true;
    // Every refund row is kept; the order's refunded amount never exceeds what was paid (the
    // same refund may be reported by push and by the alliance API under different ids).
    o.model.refunded_fen = (o.model.refunded_fen + r.model.refunded_fen).min(o.model.paid_fen);
    o.model.status = status_of(&o.model).into();
    o.model.updated_at = now;
    o.dirty = true;
}

fn settle(
    o: &mut OrderRow,
    settled_fen: i64,
    commission_fen: Option<i64>,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) {
    o.model.settled_fen = Some(settled_fen);
    o.model.platform_commission_fen = commission_fen.or(o.model.platform_commission_fen);
    o.model.settled_at = Some(at);
    o.model.status = status_of(&o.model).into();
    o.model.updated_at = now;
    o.dirty = true;
}

/// An order's state from its amounts (design §1: paid, then maybe partly refunded; settled
/// once the platform says so).
pub fn status_of(o: &order::Model) -> &'static str {
    if o.settled_at.is_some() {
        "settled"
    } else if o.refunded_fen > 0 && o.refunded_fen >= o.paid_fen {
        "refunded"
    } else if o.refunded_fen > 0 {
        "partially_refunded"
    } else {
        "paid"
    }
}

/// The fields of a stored `order_settled` event body.
#[derive(serde::Deserialize)]
struct StoredSettle {
    settled_fen: i64,
    commission_fen: Option<i64>,
    settled_at: DateTime<Utc>,
}

async fn insert_chunked<E, A, C>(db: &C, rows: Vec<A>) -> Result<(), DbErr>
where
    E: EntityTrait,
    A: ActiveModelTrait<Entity = E> + Send,
    C: ConnectionTrait,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(INSERT_CHUNK).collect();
        E::insert_many(chunk).exec_without_returning(db).await?;
    }
    Ok(())
}
