//! Taobao (TOP messages, Taobao Union orders).
//!
//! **Signature (TOP).** Parameters sorted by name, concatenated `keyvalue` without separators,
//! followed by the raw body when there is one (as the TOP SDK's `signTopRequest` does); then
//! `sign_method` `md5`: `md5(secret + string + secret)`, `hmac`: `hmac_md5(secret, string)`,
//! `hmac-sha256`: `hmac_sha256(secret, string)`; 32 (64) upper-case hex.
//!
//! **Push.** TMC messages delivered over HTTP: `POST /webhooks/taobao?app_key=..&timestamp=..
//! &sign_method=..&sign=..` with a JSON body, one TMC message `{id, topic, content, pub_time,
//! pub_app_key, user_id, user_nick}` (`content` a JSON string) or an array of them. The plugin
//! checks `app_key` is ours and `sign` over the query parameters (all but `sign`) and the body.
//! The reply is `{"success":true}`.
//!
//! | topic | content | event | key |
//! | --- | --- | --- | --- |
//! | `taobao_trade_TradeBuyerPay` | `tid`, `oid`, `payment` (yuan), `num_iid`, `num`, `pay_time` | `order-paid` (at `pay_time`, else `pub_time`) | message `id`, else `topic:tid:oid:status` |
//! | `taobao_refund_RefundSuccess` | `tid`, `oid`, `refund_id`, `refund_fee` (yuan), `modified` | `order-refunded` (at `modified`, else `pub_time`) | message `id`, else `topic:tid:oid:refund_id` |
//! | other | | none (acknowledged) | |
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
//! `refund_tag` = 1 (a rights-protection refund after settlement) adds nothing: its amount is
//! only in the separate refund API (`taobao.tbk.relation.refund`), which is not pulled.
//! `order-paid` from the pull: order `trade_parent_id`, sub-order `trade_id`, item `item_id`,
//! account `relation_id` (else none), units `item_num`, paid `alipay_total_price` (yuan string),
//! commission `total_commission_rate` (percent string), at `tk_paid_time` (GMT+8).

pub mod api;
pub mod fixtures;
pub mod push;
mod sign;
#[cfg(test)]
mod tests;

pub use sign::{SignMethod, sign};

/// The real TOP gateway (`api_base` default); requests go to `{api_base}/router/rest`.
pub const DEFAULT_API_BASE: &str = "https://eco.taobao.com";
