//! The public formats of the three platforms kolhost speaks for (design §5a), as plain Rust with
//! no host dependency: it builds for `wasm32-wasip2` (inside the bundled platform plugins) and
//! natively (for the host's tests, which build valid, tampered and wrong-key deliveries with
//! [`douyin::fixtures`], [`kuaishou::fixtures`] and [`taobao::fixtures`]).
//!
//! Each platform module has the same shape:
//!
//! | part | what |
//! | --- | --- |
//! | `push` | verify a pushed delivery (signature or decryption), parse it into [`Event`]s, the reply the platform expects |
//! | `api` | build the signed open-API request for the order pull, parse its response into events and the next page |
//! | `fixtures` | build signed deliveries and API responses; check a pulled request's signature (for mock servers) |
//!
//! Conventions (design §3): money is integer fen, rates basis points, times RFC 3339 UTC. No
//! floats are used anywhere: decimal yuan and percent strings are parsed with integer arithmetic
//! ([`money`]); platform-local times (GMT+8) are converted with a civil-date calculation
//! ([`time`]).

pub mod cursor;
pub mod douyin;
mod error;
mod event;
pub mod fixtures;
pub mod json;
pub mod kuaishou;
pub mod money;
pub mod taobao;
pub mod time;
pub mod urlenc;

pub use cursor::PollCursor;
pub use error::Error;
pub use event::{
    Event, EventBody, LiveStats, OrderNotice, OrderPaid, OrderRefunded, OrderSettled, OrderStatus,
    ParsedDelivery, Reply,
};

/// One HTTP request the plugin should send (through the host's `http` import) to pull orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequest {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Absolute URL including the query string.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// One page of pulled orders: the events and where the next page starts (none: the window is
/// done).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiPage {
    pub events: Vec<Event>,
    /// The platform's own position of the next page (Douyin `cursor`, Kuaishou `pcursor`,
    /// Taobao `position_index`), or none when this was the last page.
    pub next_page: Option<String>,
}

/// Compares two byte strings in time that depends only on their lengths.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The first value of a header (names compared case-insensitively).
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}
