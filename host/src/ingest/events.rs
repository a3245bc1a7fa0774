//! The host's side of normalised events: what a platform plugin returned, checked before it
//! touches data. A plugin is untrusted, so every id, amount and time is validated here; one bad
//! event makes the whole delivery's output invalid (nothing of it is applied).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::validation::MAX_FEN;
use crate::plugins::bindings::{Event, EventBody};

/// Longest platform id (order, item, account, room, refund) or event key accepted.
pub const MAX_ID_LEN: usize = 128;
/// Most units in one order line.
pub const MAX_UNITS: u32 = 1_000_000;
/// Most sub-orders one notice may name.
pub const MAX_SUB_ORDERS: usize = 100;
/// Longest platform status kept.
pub const MAX_STATUS_LEN: usize = 64;

/// A validated normalised event, keyed for deduplication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NormalEvent {
    pub key: String,
    pub body: NormalBody,
    /// The platform's own status as the event states it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NormalBody {
    OrderNotice(Notice),
    OrderStatus(StatusChange),
    OrderPaid(Paid),
    OrderRefunded(Refunded),
    OrderSettled(Settled),
    LiveStats(Stats),
}

/// A paid order named by its ids (and maybe amount and time) without its detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    pub platform_order_id: String,
    /// Possibly empty.
    pub sub_order_ids: Vec<String>,
    pub paid_fen: Option<i64>,
    pub paid_at: Option<DateTime<Utc>>,
}

/// A status change without amounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusChange {
    pub platform_order_id: String,
    /// '' when the event names no sub-order.
    pub sub_order_id: String,
    pub at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Paid {
    pub platform_order_id: String,
    /// '' when the platform does not split orders.
    pub sub_order_id: String,
    pub item_id: String,
    pub account_id: Option<String>,
    pub room_id: Option<String>,
    pub units: i64,
    pub paid_fen: i64,
    pub commission_bp: Option<i32>,
    pub paid_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refunded {
    pub platform_order_id: String,
    /// '' when the refund names no sub-order.
    pub sub_order_id: String,
    /// The platform's refund id; none when the platform names none (the host then matches the
    /// refund by order, amount and time).
    pub refund_id: Option<String>,
    pub refunded_fen: i64,
    pub refunded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Settled {
    pub platform_order_id: String,
    pub sub_order_id: String,
    pub settled_fen: i64,
    /// The commission the platform computed (Buyin `real_commission`).
    pub commission_fen: Option<i64>,
    /// The platform's own fee (Buyin `settled_tech_service_fee`).
    #[serde(default)]
    pub platform_fee_fen: Option<i64>,
    pub settled_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub room_id: String,
    pub account_id: Option<String>,
    pub at: DateTime<Utc>,
    pub viewers: i64,
    pub gmv_fen: i64,
    pub orders: i64,
}

impl NormalBody {
    /// The `kind` column of `platform_events`.
    pub fn kind(&self) -> &'static str {
        match self {
            NormalBody::OrderNotice(_) => "order_notice",
            NormalBody::OrderStatus(_) => "order_status",
            NormalBody::OrderPaid(_) => "order_paid",
            NormalBody::OrderRefunded(_) => "order_refunded",
            NormalBody::OrderSettled(_) => "order_settled",
            NormalBody::LiveStats(_) => "live_stats",
        }
    }

    /// The (order id, sub-order id) the event is about, if it is about an order.
    pub fn order_key(&self) -> Option<(&str, &str)> {
        match self {
            NormalBody::OrderNotice(n) => Some((
                &n.platform_order_id,
                n.sub_order_ids.first().map(String::as_str).unwrap_or(""),
            )),
            NormalBody::OrderStatus(s) => Some((&s.platform_order_id, &s.sub_order_id)),
            NormalBody::OrderPaid(p) => Some((&p.platform_order_id, &p.sub_order_id)),
            NormalBody::OrderRefunded(r) => Some((&r.platform_order_id, &r.sub_order_id)),
            NormalBody::OrderSettled(s) => Some((&s.platform_order_id, &s.sub_order_id)),
            NormalBody::LiveStats(_) => None,
        }
    }
}

/// Why a plugin's output was refused; the message names the event and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {index}: {field}: {message}")]
pub struct InvalidEvent {
    pub index: usize,
    pub field: &'static str,
    pub message: String,
}

/// Validates every event of one plugin answer.
pub fn validate_all(events: Vec<Event>) -> Result<Vec<NormalEvent>, InvalidEvent> {
    events
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            validate(e).map_err(|(field, message)| InvalidEvent {
                index: i,
                field,
                message,
            })
        })
        .collect()
}

type FieldErr = (&'static str, String);

fn validate(e: Event) -> Result<NormalEvent, FieldErr> {
    let key = id("key", e.key)?;
    let platform_status = match e.platform_status {
        Some(s) if s.trim().is_empty() => None,
        Some(s) if s.trim().len() > MAX_STATUS_LEN || s.chars().any(char::is_control) => {
            return Err((
                "platform_status",
                format!("must be at most {MAX_STATUS_LEN} bytes without control characters"),
            ));
        }
        other => other.map(|s| s.trim().to_owned()),
    };
    let body = match e.body {
        EventBody::OrderNotice(n) => {
            if n.sub_order_ids.len() > MAX_SUB_ORDERS {
                return Err((
                    "sub_order_ids",
                    format!("at most {MAX_SUB_ORDERS}, got {}", n.sub_order_ids.len()),
                ));
            }
            let mut subs = Vec::with_capacity(n.sub_order_ids.len());
            for s in n.sub_order_ids {
                if let Some(s) = opt_id("sub_order_ids", Some(s))?
                    && !subs.contains(&s)
                {
                    subs.push(s);
                }
            }
            NormalBody::OrderNotice(Notice {
                platform_order_id: id("platform_order_id", n.platform_order_id)?,
                sub_order_ids: subs,
                paid_fen: n.paid_fen.map(|f| fen("paid_fen", f)).transpose()?,
                paid_at: n.paid_at.map(|t| time("paid_at", &t)).transpose()?,
            })
        }
        EventBody::OrderStatus(s) => {
            if platform_status.is_none() {
                return Err(("platform_status", "an order-status event needs one".into()));
            }
            NormalBody::OrderStatus(StatusChange {
                platform_order_id: id("platform_order_id", s.platform_order_id)?,
                sub_order_id: opt_id("sub_order_id", s.sub_order_id)?.unwrap_or_default(),
                at: s.at.map(|t| time("at", &t)).transpose()?,
            })
        }
        EventBody::OrderPaid(p) => {
            if p.units == 0 || p.units > MAX_UNITS {
                return Err(("units", format!("must be 1..={MAX_UNITS}, got {}", p.units)));
            }
            NormalBody::OrderPaid(Paid {
                platform_order_id: id("platform_order_id", p.platform_order_id)?,
                sub_order_id: opt_id("sub_order_id", p.sub_order_id)?.unwrap_or_default(),
                item_id: id("item_id", p.item_id)?,
                account_id: opt_id("account_id", p.account_id)?,
                room_id: opt_id("room_id", p.room_id)?,
                units: i64::from(p.units),
                paid_fen: fen("paid_fen", p.paid_fen)?,
                commission_bp: match p.commission_bp {
                    Some(bp) if bp > 10_000 => {
                        return Err(("commission_bp", format!("must be at most 10000, got {bp}")));
                    }
                    other => other.map(|bp| bp as i32),
                },
                paid_at: time("paid_at", &p.paid_at)?,
            })
        }
        EventBody::OrderRefunded(r) => NormalBody::OrderRefunded(Refunded {
            platform_order_id: id("platform_order_id", r.platform_order_id)?,
            sub_order_id: opt_id("sub_order_id", r.sub_order_id)?.unwrap_or_default(),
            refund_id: opt_id("refund_id", r.refund_id)?,
            refunded_fen: fen("refunded_fen", r.refunded_fen)?,
            refunded_at: time("refunded_at", &r.refunded_at)?,
        }),
        EventBody::OrderSettled(s) => NormalBody::OrderSettled(Settled {
            platform_order_id: id("platform_order_id", s.platform_order_id)?,
            sub_order_id: opt_id("sub_order_id", s.sub_order_id)?.unwrap_or_default(),
            settled_fen: fen("settled_fen", s.settled_fen)?,
            commission_fen: s
                .commission_fen
                .map(|c| fen("commission_fen", c))
                .transpose()?,
            platform_fee_fen: s
                .platform_fee_fen
                .map(|c| fen("platform_fee_fen", c))
                .transpose()?,
            settled_at: time("settled_at", &s.settled_at)?,
        }),
        EventBody::LiveStats(s) => NormalBody::LiveStats(Stats {
            room_id: id("room_id", s.room_id)?,
            account_id: opt_id("account_id", s.account_id)?,
            at: time("at", &s.at)?,
            viewers: count("viewers", s.viewers)?,
            gmv_fen: fen("gmv_fen", s.gmv_fen)?,
            orders: count("orders", s.orders)?,
        }),
    };
    Ok(NormalEvent {
        key,
        body,
        platform_status,
    })
}

fn id(field: &'static str, v: String) -> Result<String, FieldErr> {
    let t = v.trim();
    if t.is_empty() {
        return Err((field, "must not be empty".into()));
    }
    if t.len() > MAX_ID_LEN {
        return Err((field, format!("must be at most {MAX_ID_LEN} bytes")));
    }
    if t.chars().any(char::is_control) {
        return Err((field, "must not contain control characters".into()));
    }
    Ok(t.to_owned())
}

fn opt_id(field: &'static str, v: Option<String>) -> Result<Option<String>, FieldErr> {
    match v {
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => id(field, s).map(Some),
        None => Ok(None),
    }
}

fn fen(field: &'static str, v: i64) -> Result<i64, FieldErr> {
    if !(0..=MAX_FEN).contains(&v) {
        return Err((field, format!("must be 0..={MAX_FEN} fen, got {v}")));
    }
    Ok(v)
}

fn count(field: &'static str, v: u64) -> Result<i64, FieldErr> {
    i64::try_from(v).map_err(|_| (field, format!("too large: {v}")))
}

fn time(field: &'static str, v: &str) -> Result<DateTime<Utc>, FieldErr> {
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| (field, format!("not an RFC 3339 time ({e}): {v:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::bindings::{OrderPaid, OrderRefunded};

    fn paid(units: u32, fen: i64, at: &str) -> Event {
        Event {
            key: "m1".into(),
            body: EventBody::OrderPaid(OrderPaid {
                platform_order_id: " 100 ".into(),
                sub_order_id: Some("".into()),
                item_id: "i1".into(),
                account_id: Some("a1".into()),
                room_id: None,
                units,
                paid_fen: fen,
                commission_bp: Some(2000),
                paid_at: at.into(),
            }),
            platform_status: None,
        }
    }

    #[test]
    fn accepts_and_normalises_a_paid_order() {
        let out = validate_all(vec![paid(2, 19_900, "2026-11-24T20:00:00+08:00")]).unwrap();
        let NormalBody::OrderPaid(p) = &out[0].body else {
            panic!()
        };
        assert_eq!(p.platform_order_id, "100");
        assert_eq!(p.sub_order_id, "");
        assert_eq!(p.paid_at.to_rfc3339(), "2026-11-24T12:00:00+00:00");
    }

    #[test]
    fn refuses_bad_amounts_units_and_times() {
        assert_eq!(
            validate_all(vec![paid(0, 1, "2026-11-24T12:00:00Z")])
                .unwrap_err()
                .field,
            "units"
        );
        assert_eq!(
            validate_all(vec![paid(1, -1, "2026-11-24T12:00:00Z")])
                .unwrap_err()
                .field,
            "paid_fen"
        );
        assert_eq!(
            validate_all(vec![paid(1, 1, "yesterday")])
                .unwrap_err()
                .field,
            "paid_at"
        );
        let refund = Event {
            key: "".into(),
            body: EventBody::OrderRefunded(OrderRefunded {
                platform_order_id: "1".into(),
                sub_order_id: None,
                refund_id: Some("r".into()),
                refunded_fen: 1,
                refunded_at: "2026-11-24T12:00:00Z".into(),
            }),
            platform_status: None,
        };
        let err = validate_all(vec![paid(1, 1, "2026-11-24T12:00:00Z"), refund]).unwrap_err();
        assert_eq!((err.index, err.field), (1, "key"));
    }
}
