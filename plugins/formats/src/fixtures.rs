//! Shared test fixtures: a platform-neutral sample order that each platform's `fixtures` module
//! renders in that platform's formats, and the delivery those modules build.
//!
//! For tests (here and in the host); nothing in the plugins uses it.

/// A delivery as the host receives it at `/webhooks/{platform}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedDelivery {
    /// Upper-case, `POST`.
    pub method: String,
    /// The raw query string without `?` (Taobao carries its signature there), maybe empty.
    pub query: String,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// One order, in kolhost's units, that fixtures render as a platform would send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleOrder {
    /// Parent order (Douyin `p_id`, Taobao `tid` / `trade_parent_id`, Kuaishou `oid`).
    pub order_id: String,
    /// Sub-order (Douyin `s_ids[0]`, Taobao `oid` / `trade_id`); Kuaishou has none.
    pub sub_order_id: String,
    pub item_id: String,
    /// The KOL's account (Douyin `author_id` / `author_buyin_id`, Kuaishou `distributorId`,
    /// Taobao `relation_id`).
    pub account_id: String,
    pub room_id: String,
    pub units: u32,
    pub paid_fen: i64,
    pub commission_bp: u32,
    /// Unix seconds.
    pub paid_at: i64,
}

impl SampleOrder {
    /// A deterministic sample; `n` varies the ids (numeric strings, as the platforms use).
    pub fn new(n: u64) -> SampleOrder {
        SampleOrder {
            order_id: (4_781_320_682_406_083_000 + n * 10).to_string(),
            sub_order_id: (4_781_320_682_406_083_001 + n * 10).to_string(),
            item_id: (3_556_357_046_087_622_000 + n).to_string(),
            account_id: (71_234_500 + n).to_string(),
            room_id: (7_001_000 + n).to_string(),
            units: 2,
            paid_fen: 29_900,
            commission_bp: 2_000,
            // 2024-05-20T06:00:00Z
            paid_at: 1_716_184_800,
        }
    }

    /// `paid_fen x commission_bp / 10000`, rounded half away from zero (fixtures only).
    pub fn commission_fen(&self) -> i64 {
        (self.paid_fen * i64::from(self.commission_bp) + 5_000) / 10_000
    }
}
