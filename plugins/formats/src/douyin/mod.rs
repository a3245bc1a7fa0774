//! Douyin (Doudian push, Buyin MCN alliance orders).
//!
//! **Push.** `POST` of a JSON array of `{"tag", "msg_id", "data"}` where `data` is a JSON string.
//! Headers `app-id` (must be our `app_key` when present) and `event-sign =
//! hex(md5(app_key + body + app_secret))`; when the delivery says `sign-method: hmac-sha256`
//! the sign is `hex(hmac_sha256(app_secret, app_key + body + app_secret))` (the doudian SDK's
//! HMAC over the same string). The comparison is constant-time and case-insensitive on the hex.
//! The reply is `{"code":0,"msg":"success"}`.
//!
//! | tag | message | event | key |
//! | --- | --- | --- | --- |
//! | 101 | order paid (`p_id`, `s_ids`, `pay_amount` fen, `pay_time` Unix s, `product_id`, `author_id`, `room_id`, `item_num`) | `order-paid` | `msg_id` |
//! | 206 | refund succeeded (`p_id`, `s_id`, `aftersale_id`, `refund_amount` fen, `update_time` Unix s) | `order-refunded` | `msg_id` |
//! | other | | none (acknowledged) | |
//!
//! **Pull.** `buyin.instituteOrderMCN`: `POST {api_base}/buyin/instituteOrderMCN?app_key=..&method=..
//! &v=2&timestamp=<Unix s>&sign_method=md5|hmac-sha256&sign=..[&access_token=..]` with the body
//! `param_json` (compact JSON, keys sorted); `sign = md5(secret + "app_key" + app_key + "method" +
//! method + "param_json" + param_json + "timestamp" + timestamp + "v2" + secret)` in lower-case
//! hex (or `hmac_sha256(secret, same string)` for `hmac-sha256`, as the doudian SDK does). The
//! query window uses `time_type: "update"` so status changes are pulled. Orders map by
//! `flow_point`:
//!
//! | `flow_point` | events (key) |
//! | --- | --- |
//! | `PAY_SUCC`, `CONFIRM` | `order-paid` (`<order_id>:paid`) |
//! | `REFUND` | `order-paid`, `order-refunded` of `total_pay_amount` at `refund_time` (`<order_id>:refund`) |
//! | `SETTLE` | `order-paid`, `order-settled` of `settled_goods_amount`, commission `real_commission`, at `settle_time` (`<order_id>:settle`) |
//! | other | none |
//!
//! `order-paid` from the pull: order `order_id`, item `product_id`, account `author_buyin_id`,
//! room `media_id` (when `media_type` is `live`), units `item_num`, paid `total_pay_amount` fen,
//! commission `commission_rate` (ten-thousandths, i.e. basis points), at `pay_success_time`.
//! Times are `yyyy-MM-dd HH:mm:ss` in GMT+8.

pub mod api;
pub mod fixtures;
pub mod push;

/// The real open-API host (`api_base` default).
pub const DEFAULT_API_BASE: &str = "https://openapi-fxg.jinritemai.com";
#[cfg(test)]
mod tests;
