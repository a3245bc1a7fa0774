//! Taobao (TOP messages, Taobao Union orders).
//!
//! **Signature (TOP).** Parameters sorted by name, concatenated `keyvalue` without separators,
//! followed by the raw body when there is one (as the TOP SDK's `signTopRequest` does); then
//! `sign_method` `md5`: `md5(secret + string + secret)`, `hmac`: `hmac_md5(secret, string)`,
//! `hmac-sha256`: `hmac_sha256(secret, string)`; 32 (64) upper-case hex.
//!
//! **Messages (TMC).** Taobao does not POST messages to a URL: they are consumed over the TMC
//! channel ([`tmc`]: `taobao.tmc.messages.consume`, then `taobao.tmc.messages.confirm` of what
//! the host committed), in the plugin's `poll`. The same message may come again until
//! confirmed; its `id` is the event key.
//!
//! | topic | content | event | key |
//! | --- | --- | --- | --- |
//! | `taobao_trade_TradeBuyerPay` | `tid`, `oid`, `buyer_nick`, `payment` (yuan), `status`, `type`, ...: no item the agency can attribute, no KOL | `order-notice` (at `pay_time`, else `pub_time`), completed by the Union pull | message `id`, else `topic:tid:oid:status` |
//! | `taobao_refund_RefundSuccess` | `tid`, `oid`, `refund_id`, `refund_fee` (yuan), `modified` | `order-refunded` (at `modified`, else `pub_time`) | message `id`, else `topic:tid:oid:refund_id` |
//! | other | | none (confirmed) | |
//!
//! Every event's platform status is its topic.
//!
//! **HTTP relay (`mode = tmc_http_relay`).** For a relay an agency runs itself (it consumes TMC
//! and forwards the messages), `POST /webhooks/taobao?app_key=..&timestamp=..&sign_method=..
//! &sign=..` with one TMC message or an array of them as the body, signed like a TOP request
//! over the query parameters (all but `sign`) and the body. The reply is `{"success":true}`.
//! Without that mode the plugin refuses HTTP deliveries: Taobao itself never sends them.
//!
//! **Pull.** `taobao.tbk.sc.order.details.get` (with `session`, the MCN's authorisation) or
//! `taobao.tbk.order.details.get` (without), `POST {api_base}/router/rest` with a form body of
//! `method, app_key, session, timestamp (GMT+8), v=2.0, sign_method, format=json, sign` and the
//! API's `query_type=4` (update time), `start_time`, `end_time`, `page_no`, `page_size`,
//! `position_index`, `jump_type=1`. Pages follow `has_next` / `position_index`.
//!
//! | `tk_status` | events (key) |
//! | --- | --- |
//! | 12 paid, 14 success | `order-paid` (`<trade_id>:paid`) |
//! | 3 settled | `order-paid`, `order-settled` of `alipay_total_price`, commission `total_commission_fee`, at `tk_earning_time` (`<trade_id>:settled`) |
//! | 13 void | `order-paid`, `order-refunded` of `alipay_total_price`, refund id `void`, at `modified_time` (`<trade_id>:void`) |
//! | other | none |
//!
//! `refund_tag` = 1 (a rights-protection refund after settlement): its amount is only in the
//! separate refund API ([`refund`], `taobao.tbk.relation.refund`), which the plugin asks when a
//! page has such an order; successes (`refund_status` 2, 5) are `order-refunded` without a
//! refund id, matched by the host to the TMC refund of the same order and amount.
//! `order-paid` from the pull: order `trade_parent_id`, sub-order `trade_id`, item `item_id`,
//! account `relation_id` (else none), units `item_num`, paid `alipay_total_price` (yuan string),
//! commission `total_commission_rate` (percent string), at `tk_paid_time` (GMT+8).

pub mod api;
pub mod fixtures;
pub mod push;
pub mod refund;
mod sign;
#[cfg(test)]
mod tests;
pub mod tmc;

pub use sign::{SignMethod, sign};

/// The real TOP gateway (`api_base` default); requests go to `{api_base}/router/rest`.
pub const DEFAULT_API_BASE: &str = "https://eco.taobao.com";
