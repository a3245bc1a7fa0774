//! Douyin (Doudian push, Buyin MCN alliance orders).
//!
//! **Push.** `POST` of a JSON array of `{"tag", "msg_id", "data"}` where `data` is a JSON string.
//! Headers `app-id` (must be our `app_key` when present) and `event-sign =
//! hex(md5(app_key + body + app_secret))`; when the delivery says `sign-method: hmac-sha256`
//! the sign is `hex(hmac_sha256(app_secret, app_key + body + app_secret))` (the doudian SDK's
//! HMAC over the same string). The comparison is constant-time and case-insensitive on the hex.
//! The reply is `{"code":0,"msg":"success"}`.
//!
//! | tag | message (data fields, as the public SDKs define them) | event | key |
//! | --- | --- | --- | --- |
//! | 101 | order paid (`biz`, `order_status`, `order_type`, `p_id`, `pay_amount` fen, `pay_time` Unix s, `pay_type`, `s_ids`, `shop_id`: no product, author, room or units) | `order-notice` (awaiting detail) | `msg_id` |
//! | 206 | refund succeeded (`aftersale_id`, `aftersale_status`, `aftersale_type`, `p_id`, `s_id`, `reason_code`, `refund_amount` fen, `refund_post_amount`, `refund_voucher_num`, `shop_id`, `success_time` Unix s, `update_time`) | `order-refunded` (refund id `aftersale_id`, at `success_time`) | `msg_id` |
//! | 100 created, 102 shipped, 103 completed, 104 logistics changed, 105 address changed, 106 cancelled, 108 partly shipped, 109 amount changed, 110 paid pending | `p_id`, `s_ids`, a time (`update_time`, `complete_time`, `cancel_time`, ...) | `order-status` | `msg_id` |
//! | 200 after-sale applied, 201 refund agreed, 202 return agreed, 203 returned, 204 refund refused, 205 return refused, 207 after-sale closed, 208 after-sale changed | `aftersale_id`, `p_id`, `s_id`, `update_time` / `apply_time` | `order-status` | `msg_id` |
//! | other | | none (acknowledged) | |
//!
//! Every event's platform status is its tag. A push is a notice: only the MCN pull (or the
//! shop's order detail) names product, author, room and units, and completes the order.
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
//! | `REFUND` | `order-paid`, `order-refunded` of `total_pay_amount` at `refund_time`, no refund id (`<order_id>:refund`) |
//! | `SETTLE` | `order-paid`, `order-settled` of `settled_goods_amount`, commission `real_commission`, platform fee `settled_tech_service_fee` (else `estimated_tech_service_fee`), at `settle_time` (`<order_id>:settle`) |
//! | other | none |
//!
//! Every event's platform status is the `flow_point`. `order-paid` from the pull: order `order_id`, item `product_id`, account `author_buyin_id`,
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
