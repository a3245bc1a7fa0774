//! Applies a batch of submissions inside one transaction: stores deliveries, drops repeated
//! events, creates orders with their attribution, links refunds and settlements (also those
//! that arrived before their order), and advances poll cursors.
//!
//! Everything a batch touches is loaded first with a few set queries, changed in memory in
//! arrival order, and written back at the end with one statement per table (see [`super::sql`]),
//! so a batch of a thousand events costs the same handful of round trips as a batch of one.
//! On PostgreSQL the group first takes its platforms' ingest locks, so groups committed by
//! different hosts apply one after the other and see each other's rows.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::attribution::{Attributor, OrderFacts};
use super::batch::{Committed, Source, Submission};
use super::events::{NormalBody, NormalEvent, Paid, Stats};
use super::sql::{self, CursorUpdate};
use crate::store::entities::{
    live_stat, order, order_refund, order_status, platform_event, session, webhook_delivery,
};

/// What `unattributed_reason` says of an order stored from a push notice, until a pull (or a
/// detail call) brings its item, account, room and units.
pub const AWAITING_DETAIL: &str = "awaiting_detail";

/// Two reports of a refund of the same order and amount, one of them without the platform's
/// refund id, within this much of each other are the same refund (a push and a pull of it).
pub const REFUND_WINDOW: chrono::Duration = chrono::Duration::hours(48);

type OrderKey = (String, String, String); // platform, order id, sub-order id
type RefundKey = (String, String, String); // platform, order id, refund id

struct OrderRow {
    model: order::Model,
    dirty: bool,
}

struct RefundRow {
    model: order_refund::Model,
    dirty: bool,
}

/// Commits `subs` in the caller's transaction; answers one [`Committed`] per submission.
pub async fn apply<C: ConnectionTrait>(
    db: &C,
    subs: &[Submission],
) -> Result<Vec<Committed>, DbErr> {
    let now = Utc::now();
    sql::lock_platforms(db, subs.iter().map(|s| s.platform.as_str())).await?;

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
            if let NormalBody::OrderNotice(n) = &e.body {
                ids.extend(n.sub_order_ids.iter().map(String::as_str));
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
                    // Ids are never empty; this lets the partial index serve the look-up.
                    .filter(order::Column::SubOrderId.ne(""))
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
                    dirty: false,
                });
            }
            let mut found_refunds = order_refund::Entity::find()
                .filter(order_refund::Column::Platform.eq(*platform))
                .filter(order_refund::Column::PlatformOrderId.is_in(chunk.iter().copied()))
                .all(db)
                .await?;
            found_refunds.extend(
                order_refund::Entity::find()
                    .filter(order_refund::Column::Platform.eq(*platform))
                    .filter(order_refund::Column::SubOrderId.is_in(chunk.iter().copied()))
                    .filter(order_refund::Column::SubOrderId.ne(""))
                    .all(db)
                    .await?,
            );
            for r in found_refunds {
                let k = (
                    r.platform.clone(),
                    r.platform_order_id.clone(),
                    r.refund_id.clone(),
                );
                refunds.insert(
                    k,
                    RefundRow {
                        model: r,
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

    // Refunds already linked to the loaded orders under other ids (a push names the parent
    // order, the alliance pull the sub-order).
    let loaded_ids: Vec<Uuid> = orders.values().map(|o| o.model.id).collect();
    for chunk in loaded_ids.chunks(500) {
        for r in order_refund::Entity::find()
            .filter(order_refund::Column::OrderId.is_in(chunk.iter().copied()))
            .all(db)
            .await?
        {
            let k = (
                r.platform.clone(),
                r.platform_order_id.clone(),
                r.refund_id.clone(),
            );
            refunds.entry(k).or_insert(RefundRow {
                model: r,
                dirty: false,
            });
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
    let stats: Vec<(&str, &Stats)> = fresh
        .iter()
        .filter_map(|(i, e)| match &e.body {
            NormalBody::LiveStats(ls) => Some((subs[*i].platform.as_str(), ls)),
            _ => None,
        })
        .collect();
    let stat_sessions = load_stat_sessions(db, &stats).await?;

    // 4. Apply the new events in arrival order.
    let mut event_rows: Vec<platform_event::ActiveModel> = Vec::with_capacity(fresh.len());
    let mut stats_rows: Vec<live_stat::ActiveModel> = Vec::new();
    let mut history_rows: Vec<order_status::ActiveModel> = Vec::new();
    let mut settled_later: Vec<(String, String)> = Vec::new(); // waiting settlements now applied
    for (i, e) in &fresh {
        let s = &subs[*i];
        let platform = s.platform.as_str();
        let pushed = matches!(s.source, Source::Webhook(_));
        let outcome = match &e.body {
            NormalBody::OrderNotice(n) => {
                let subs_named: Vec<&str> = if n.sub_order_ids.is_empty() {
                    vec![""]
                } else {
                    n.sub_order_ids.iter().map(String::as_str).collect()
                };
                // A parent order's amount is known per sub-order only when there is one.
                let amount = if subs_named.len() == 1 {
                    n.paid_fen
                } else {
                    None
                };
                let mut created = false;
                for sub in subs_named {
                    if let Some(o) = find_order(&mut orders, platform, &n.platform_order_id, sub) {
                        seen(o, true, amount, now);
                        continue;
                    }
                    created = true;
                    let key = (
                        platform.to_owned(),
                        n.platform_order_id.clone(),
                        sub.to_owned(),
                    );
                    let mut row = OrderRow {
                        model: order::Model {
                            id: Uuid::now_v7(),
                            platform: platform.to_owned(),
                            platform_order_id: n.platform_order_id.clone(),
                            sub_order_id: sub.to_owned(),
                            item_id: String::new(),
                            account_id: None,
                            room_id: None,
                            units: 0,
                            paid_fen: amount.unwrap_or(0),
                            refunded_fen: 0,
                            settled_fen: None,
                            platform_commission_fen: None,
                            commission_bp: None,
                            status: "paid".into(),
                            paid_at: n.paid_at.unwrap_or(now),
                            settled_at: None,
                            kol_id: None,
                            product_id: None,
                            brand_id: None,
                            contract_id: None,
                            session_id: None,
                            attributed: false,
                            unattributed_reason: Some(AWAITING_DETAIL.into()),
                            created_at: now,
                            updated_at: now,
                            awaiting_detail: true,
                            platform_status: None,
                            pushed_at: None,
                            pushed_fen: None,
                            pulled_at: None,
                            pulled_fen: None,
                            reported_commission_fen: None,
                        },
                        dirty: true,
                    };
                    seen(&mut row, true, amount, now);
                    orders.insert(key.clone(), row);
                    adopt_waiting(
                        &key,
                        &mut orders,
                        &mut refunds,
                        &mut waiting_settles,
                        &mut settled_later,
                        now,
                    );
                }
                if created { "applied" } else { "ignored" }
            }
            NormalBody::OrderStatus(_) => "applied", // the history row below
            NormalBody::OrderPaid(p) => {
                let key = (
                    platform.to_owned(),
                    p.platform_order_id.clone(),
                    p.sub_order_id.clone(),
                );
                if let Some(o) =
                    find_order(&mut orders, platform, &p.platform_order_id, &p.sub_order_id)
                {
                    seen(o, pushed, Some(p.paid_fen), now);
                    if o.model.awaiting_detail {
                        // The detail of an order a push announced: complete and attribute it.
                        let a = attributor.attribute(&facts(platform, p));
                        let m = &mut o.model;
                        m.item_id = p.item_id.clone();
                        m.account_id = p.account_id.clone();
                        m.room_id = p.room_id.clone();
                        m.units = p.units;
                        m.paid_fen = p.paid_fen;
                        // Refunds linked while the amount was unknown, counted again against
                        // the amount now known (never beyond it).
                        let linked: i64 = refunds
                            .values()
                            .filter(|r| r.model.order_id == Some(m.id))
                            .map(|r| r.model.refunded_fen)
                            .sum();
                        m.refunded_fen = linked.max(m.refunded_fen).min(p.paid_fen);
                        m.commission_bp = p.commission_bp;
                        m.paid_at = p.paid_at;
                        m.kol_id = a.kol_id;
                        m.product_id = a.product_id;
                        m.brand_id = a.brand_id;
                        m.contract_id = a.contract_id;
                        m.session_id = a.session_id;
                        m.attributed = a.attributed();
                        m.unattributed_reason = a.reason.clone();
                        m.awaiting_detail = false;
                        m.status = status_of(m).into();
                        m.updated_at = now;
                        o.dirty = true;
                        "applied"
                    } else {
                        "ignored" // the same order, already known through another channel
                    }
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
                        awaiting_detail: false,
                        platform_status: None,
                        pushed_at: None,
                        pushed_fen: None,
                        pulled_at: None,
                        pulled_fen: None,
                        reported_commission_fen: None,
                    };
                    let mut row = OrderRow { model, dirty: true };
                    seen(&mut row, pushed, Some(p.paid_fen), now);
                    orders.insert(key.clone(), row);
                    // Refunds and settlements that came first.
                    adopt_waiting(
                        &key,
                        &mut orders,
                        &mut refunds,
                        &mut waiting_settles,
                        &mut settled_later,
                        now,
                    );
                    "applied"
                }
            }
            NormalBody::OrderRefunded(r) => {
                let refund_id = r
                    .refund_id
                    .clone()
                    .unwrap_or_else(|| synthetic_refund_id(r.refunded_fen, r.refunded_at));
                let rkey = (
                    platform.to_owned(),
                    r.platform_order_id.clone(),
                    refund_id.clone(),
                );
                let order =
                    find_order(&mut orders, platform, &r.platform_order_id, &r.sub_order_id)
                        .map(|o| (o.model.id, order_key_of(&o.model)));
                let duplicate = refunds.contains_key(&rkey)
                    || refunds.values().any(|c| {
                        let same_order = match &order {
                            Some((id, okey)) => {
                                c.model.order_id == Some(*id)
                                    || matches(
                                        &c.model.platform,
                                        &c.model.platform_order_id,
                                        &c.model.sub_order_id,
                                        okey,
                                    )
                            }
                            None => {
                                c.model.platform == platform
                                    && names_same_order(
                                        &c.model.platform_order_id,
                                        &c.model.sub_order_id,
                                        &r.platform_order_id,
                                        &r.sub_order_id,
                                    )
                            }
                        };
                        same_order && same_refund(&c.model, r.refund_id.as_deref(), r)
                    });
                if duplicate {
                    "ignored" // the same refund, already known through another channel
                } else {
                    let mut row = RefundRow {
                        model: order_refund::Model {
                            id: Uuid::now_v7(),
                            platform: platform.to_owned(),
                            platform_order_id: r.platform_order_id.clone(),
                            sub_order_id: r.sub_order_id.clone(),
                            refund_id,
                            refunded_fen: r.refunded_fen,
                            refunded_at: r.refunded_at,
                            order_id: None,
                            created_at: now,
                        },
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
                        settle(
                            o,
                            st.settled_fen,
                            st.commission_fen,
                            st.platform_fee_fen,
                            st.settled_at,
                            now,
                        );
                        "applied"
                    }
                    None => {
                        // Waits for its order, also for one later in this same batch.
                        waiting_settles.push(platform_event::Model {
                            plugin: s.plugin.clone(),
                            event_key: e.key.clone(),
                            platform: platform.to_owned(),
                            kind: e.body.kind().to_owned(),
                            platform_order_id: Some(st.platform_order_id.clone()),
                            sub_order_id: st.sub_order_id.clone(),
                            delivery_id: None,
                            source: String::new(),
                            body: serde_json::to_value(&e.body)
                                .map_err(|e| DbErr::Custom(e.to_string()))?,
                            outcome: "pending".into(),
                            received_at: now,
                        });
                        "pending"
                    }
                }
            }
            NormalBody::LiveStats(ls) => {
                let session = stat_session(&stat_sessions, platform, ls);
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
        // The platform's own status: the order's latest, and a line of its history.
        if let (Some(status), Some(oid)) = (&e.platform_status, &oid) {
            if let Some(o) = find_order(&mut orders, platform, oid, &sub)
                && o.model.platform_status.as_deref() != Some(status.as_str())
            {
                o.model.platform_status = Some(status.clone());
                o.model.updated_at = now;
                o.dirty = true;
            }
            history_rows.push(order_status::ActiveModel {
                id: Set(Uuid::now_v7()),
                platform: Set(platform.to_owned()),
                platform_order_id: Set(oid.clone()),
                sub_order_id: Set(sub.clone()),
                status: Set(status.clone()),
                kind: Set(e.body.kind().to_owned()),
                source: Set(if pushed { "webhook" } else { "poll" }.into()),
                plugin: Set(s.plugin.clone()),
                event_key: Set(e.key.clone()),
                at: Set(event_time(&e.body)),
                received_at: Set(now),
            });
        }
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
    sql::insert_new(db, deliveries, [webhook_delivery::Column::Id]).await?;
    sql::insert_new(
        db,
        event_rows,
        [
            platform_event::Column::Plugin,
            platform_event::Column::EventKey,
        ],
    )
    .await?;
    let mut settled_by_plugin: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (plugin, key) in settled_later {
        settled_by_plugin.entry(plugin).or_default().push(key);
    }
    for (plugin, keys) in &settled_by_plugin {
        sql::mark_applied(db, plugin, keys).await?;
    }
    // New and changed orders in one upsert by id (a new order's id is fresh).
    let order_rows: Vec<order::ActiveModel> = orders
        .into_values()
        .filter(|o| o.dirty)
        .map(|o| o.model.into_active_model())
        .collect();
    sql::upsert(
        db,
        order_rows,
        order::Column::Id,
        <order::Column as sea_orm::Iterable>::iter()
            .filter(|c| !matches!(c, order::Column::Id | order::Column::CreatedAt)),
    )
    .await?;
    // New refunds, and the order a waiting refund is now linked to.
    let refund_rows: Vec<order_refund::ActiveModel> = refunds
        .into_values()
        .filter(|r| r.dirty)
        .map(|r| r.model.into_active_model())
        .collect();
    sql::upsert(
        db,
        refund_rows,
        order_refund::Column::Id,
        [order_refund::Column::OrderId],
    )
    .await?;
    sql::insert(db, stats_rows).await?;
    sql::insert(db, history_rows).await?;

    // A polled page under a lease commits only while the lease is still held (the row is
    // locked until the commit): a poller that lost it neither applies the page nor moves the cursor.
    for s in subs {
        if let Source::Poll {
            lease: Some(held), ..
        } = &s.source
            && !crate::store::leases::still_held(db, held).await?
        {
            return Err(DbErr::Custom(format!(
                "the lease {} was lost; the page is left to its new holder",
                held.name
            )));
        }
    }
    for c in cursor_updates(subs, &committed) {
        sql::save_cursor(db, c, now).await?;
    }
    Ok(committed)
}

/// The poll cursors of a group, one per plugin, folded in arrival order: a page without error
/// moves the cursor to what the plugin handed back (none after its last page, so the next poll
/// starts afresh); a failed page keeps it and records the error.
fn cursor_updates(subs: &[Submission], committed: &[Committed]) -> Vec<CursorUpdate> {
    let mut by_plugin: BTreeMap<&str, CursorUpdate> = BTreeMap::new();
    for (s, c) in subs.iter().zip(committed) {
        if let Source::Poll {
            next_cursor, error, ..
        } = &s.source
        {
            let u = by_plugin.entry(&s.plugin).or_insert_with(|| CursorUpdate {
                plugin: s.plugin.clone(),
                advance: None,
                initial: next_cursor.clone(),
                last_error: None,
                new_events: 0,
            });
            if error.is_none() {
                u.advance = Some(next_cursor.clone());
            }
            u.last_error = error.clone();
            u.new_events += c.new_events as i64;
        }
    }
    by_plugin.into_values().collect()
}

/// The sessions live stats of a group may belong to: on their platforms and rooms, around their
/// times, in one query per 500 rooms.
async fn load_stat_sessions<C: ConnectionTrait>(
    db: &C,
    stats: &[(&str, &Stats)],
) -> Result<Vec<session::Model>, DbErr> {
    let (Some(first), Some(last)) = (
        stats.iter().map(|(_, s)| s.at).min(),
        stats.iter().map(|(_, s)| s.at).max(),
    ) else {
        return Ok(Vec::new());
    };
    let platforms: HashSet<&str> = stats.iter().map(|(p, _)| *p).collect();
    let rooms: Vec<&str> = stats
        .iter()
        .map(|(_, s)| s.room_id.as_str())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut out = Vec::new();
    for chunk in rooms.chunks(500) {
        out.extend(
            session::Entity::find()
                .filter(session::Column::Platform.is_in(platforms.iter().copied()))
                .filter(session::Column::RoomId.is_in(chunk.iter().copied()))
                .filter(session::Column::StartsAt.lte(last))
                .filter(session::Column::EndsAt.gte(first - super::attribution::SESSION_GRACE))
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// The session a live-stats snapshot belongs to: on its platform and room, started by its time
/// and ended no more than the grace before it; the latest-starting one when several are.
fn stat_session<'a>(
    sessions: &'a [session::Model],
    platform: &str,
    ls: &Stats,
) -> Option<&'a session::Model> {
    sessions
        .iter()
        .filter(|s| {
            s.platform == platform
                && s.room_id == ls.room_id
                && s.starts_at <= ls.at
                && s.ends_at >= ls.at - super::attribution::SESSION_GRACE
        })
        .max_by_key(|s| (s.starts_at, s.id))
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
/// sub-order is also about the order's first sub-order, and an event naming a sub-order of an
/// order recorded without sub-orders (a pull before the push that names them) is about it.
fn matches(platform: &str, oid: &str, sub: &str, key: &OrderKey) -> bool {
    platform == key.0
        && ((oid == key.1 && (sub == key.2 || sub.is_empty() || key.2.is_empty()))
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

/// Links the refunds and settlements that arrived before the order `key` (just created).
fn adopt_waiting(
    key: &OrderKey,
    orders: &mut HashMap<OrderKey, OrderRow>,
    refunds: &mut HashMap<RefundKey, RefundRow>,
    waiting_settles: &mut [platform_event::Model],
    settled_later: &mut Vec<(String, String)>,
    now: DateTime<Utc>,
) {
    for r in refunds.values_mut() {
        if r.model.order_id.is_none()
            && matches(
                &r.model.platform,
                &r.model.platform_order_id,
                &r.model.sub_order_id,
                key,
            )
        {
            let o = orders.get_mut(key).unwrap();
            link_refund(o, r, now);
        }
    }
    for w in waiting_settles
        .iter_mut()
        .filter(|w| w.outcome == "pending")
    {
        if let Some(oid) = &w.platform_order_id
            && matches(&w.platform, oid, &w.sub_order_id, key)
            && let Ok(body) = serde_json::from_value::<StoredSettle>(w.body.clone())
        {
            let o = orders.get_mut(key).unwrap();
            settle(
                o,
                body.settled_fen,
                body.commission_fen,
                body.platform_fee_fen,
                body.settled_at,
                now,
            );
            w.outcome = "applied".into();
            settled_later.push((w.plugin.clone(), w.event_key.clone()));
        }
    }
}

/// Records that a push (or a pull) reported the order, with the amount it said. A notice is
/// the push channel's word however it arrived (Taobao's TMC messages are consumed in `poll`);
/// an `order-paid` is the pull's, unless a webhook delivered it (0.1.0 plugins).
fn seen(o: &mut OrderRow, pushed: bool, amount: Option<i64>, now: DateTime<Utc>) {
    let m = &mut o.model;
    let (at, fen) = if pushed {
        (&mut m.pushed_at, &mut m.pushed_fen)
    } else {
        (&mut m.pulled_at, &mut m.pulled_fen)
    };
    let mut changed = false;
    if at.is_none() {
        *at = Some(now);
        changed = true;
    }
    if fen.is_none() && amount.is_some() {
        *fen = amount;
        changed = true;
    }
    if changed {
        o.dirty = true;
    }
}

/// The refund id kept for a refund the platform names no id for: its amount and time.
fn synthetic_refund_id(fen: i64, at: DateTime<Utc>) -> String {
    format!("~{fen}@{}", at.timestamp())
}

fn is_platform_refund_id(id: &str) -> bool {
    !id.starts_with('~')
}

/// Whether a stored refund of the same order is the refund `r` reports again: the same
/// platform refund id; or, when either names none, the same amount within [`REFUND_WINDOW`].
fn same_refund(c: &order_refund::Model, id: Option<&str>, r: &super::events::Refunded) -> bool {
    let stored_id = Some(c.refund_id.as_str()).filter(|i| is_platform_refund_id(i));
    match (stored_id, id) {
        (Some(a), Some(b)) => a == b,
        _ => {
            c.refunded_fen == r.refunded_fen
                && (c.refunded_at - r.refunded_at).abs() <= REFUND_WINDOW
        }
    }
}

/// Whether (order id, sub-order id) pairs name the same purchase, by the rules of
/// [`matches`], before the order itself is known.
fn names_same_order(a_oid: &str, a_sub: &str, b_oid: &str, b_sub: &str) -> bool {
    (a_oid == b_oid && (a_sub == b_sub || a_sub.is_empty() || b_sub.is_empty()))
        || (!a_sub.is_empty() && a_sub == b_oid)
        || (!b_sub.is_empty() && b_sub == a_oid)
}

fn order_key_of(m: &order::Model) -> OrderKey {
    (
        m.platform.clone(),
        m.platform_order_id.clone(),
        m.sub_order_id.clone(),
    )
}

/// When the platform says an event happened, for the status history.
fn event_time(b: &NormalBody) -> Option<DateTime<Utc>> {
    match b {
        NormalBody::OrderNotice(n) => n.paid_at,
        NormalBody::OrderStatus(s) => s.at,
        NormalBody::OrderPaid(p) => Some(p.paid_at),
        NormalBody::OrderRefunded(r) => Some(r.refunded_at),
        NormalBody::OrderSettled(s) => Some(s.settled_at),
        NormalBody::LiveStats(s) => Some(s.at),
    }
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

/// Settles an order: `commission_fen` is the commission the platform computed (kept as
/// `reported_commission_fen`), `platform_fee_fen` the platform's own fee (what settlements count
/// as platform fees, `platform_commission_fen`).
fn settle(
    o: &mut OrderRow,
    settled_fen: i64,
    commission_fen: Option<i64>,
    platform_fee_fen: Option<i64>,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) {
    o.model.settled_fen = Some(settled_fen);
    o.model.platform_commission_fen = platform_fee_fen.or(o.model.platform_commission_fen);
    o.model.reported_commission_fen = commission_fen.or(o.model.reported_commission_fen);
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
    #[serde(default)]
    platform_fee_fen: Option<i64>,
    settled_at: DateTime<Utc>,
}
