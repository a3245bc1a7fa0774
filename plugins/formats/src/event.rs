//! Normalised events, field for field the WIT `event-body` of `kolhost:plugin@0.2.0`.

/// A normalised event with its dedup key (the same every time the platform repeats it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub key: String,
    pub body: EventBody,
    /// The platform's own status as the message states it (Douyin tag, `flow_point`,
    /// `cpsOrderStatus`, `tk_status`, TMC topic).
    pub platform_status: Option<String>,
}

impl Event {
    pub fn new(key: impl Into<String>, body: EventBody, status: impl Into<String>) -> Event {
        Event {
            key: key.into(),
            body,
            platform_status: Some(status.into()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventBody {
    OrderNotice(OrderNotice),
    OrderStatus(OrderStatus),
    OrderPaid(OrderPaid),
    OrderRefunded(OrderRefunded),
    OrderSettled(OrderSettled),
    LiveStats(LiveStats),
}

/// A push that names a paid order without its detail (item, account, room, units).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderNotice {
    pub platform_order_id: String,
    pub sub_order_ids: Vec<String>,
    pub paid_fen: Option<i64>,
    /// RFC 3339 UTC.
    pub paid_at: Option<String>,
}

/// A status change without amounts, kept as the order's status history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderStatus {
    pub platform_order_id: String,
    pub sub_order_id: Option<String>,
    /// RFC 3339 UTC, when the message says it.
    pub at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPaid {
    pub platform_order_id: String,
    pub sub_order_id: Option<String>,
    pub item_id: String,
    pub account_id: Option<String>,
    pub room_id: Option<String>,
    pub units: u32,
    pub paid_fen: i64,
    pub commission_bp: Option<u32>,
    /// RFC 3339 UTC.
    pub paid_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRefunded {
    pub platform_order_id: String,
    pub sub_order_id: Option<String>,
    /// The platform's refund id, when it says one.
    pub refund_id: Option<String>,
    pub refunded_fen: i64,
    /// RFC 3339 UTC.
    pub refunded_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSettled {
    pub platform_order_id: String,
    pub sub_order_id: Option<String>,
    pub settled_fen: i64,
    /// The commission the platform computed for the agency / KOL (Buyin `real_commission`).
    pub commission_fen: Option<i64>,
    /// The platform's own fee (Buyin `settled_tech_service_fee`).
    pub platform_fee_fen: Option<i64>,
    /// RFC 3339 UTC.
    pub settled_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveStats {
    pub room_id: String,
    pub account_id: Option<String>,
    pub at: String,
    pub viewers: u64,
    pub gmv_fen: i64,
    pub orders: u64,
}

/// The HTTP answer the platform expects for a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: &'static str,
}

impl Reply {
    pub(crate) const fn json(body: &'static str) -> Reply {
        Reply {
            status: 200,
            content_type: "application/json",
            body,
        }
    }
}

/// A parsed delivery: its events and the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedDelivery {
    pub events: Vec<Event>,
    pub reply: Reply,
}
