//! The example platform plugin's verify + parse, as an Extism plugin. Input: the `event-sign`
//! header, a newline, the body. Output: the events as JSON. `app_key` / `app_secret` come from
//! the plugin's config.

use extism_pdk::*;

#[plugin_fn]
pub fn verify_parse(input: Vec<u8>) -> FnResult<Vec<u8>> {
    let key = config::get("app_key")?.unwrap_or_default();
    let secret = config::get("app_secret")?.unwrap_or_default();
    let nl = input.iter().position(|b| *b == b'\n').unwrap_or(0);
    let (sign, body) = (std::str::from_utf8(&input[..nl])?, &input[nl + 1..]);
    douyin_push::verify(&key, &secret, Some(sign), body).map_err(|e| Error::msg(e.to_string()))?;
    let events = douyin_push::parse(body).map_err(|e| Error::msg(e.to_string()))?;
    let out: Vec<serde_json::Value> = events
        .into_iter()
        .map(|e| match e.kind {
            douyin_push::Kind::Paid { order_id, sub_order_id, item_id, author_id, room_id, units, paid_fen, paid_at } => {
                serde_json::json!({"key": e.key, "order_paid": {"platform_order_id": order_id, "sub_order_id": sub_order_id,
                    "item_id": item_id, "account_id": author_id, "room_id": room_id, "units": units,
                    "paid_fen": paid_fen, "paid_at": paid_at}})
            }
            douyin_push::Kind::Refunded { order_id, sub_order_id, refund_id, refunded_fen, refunded_at } => {
                serde_json::json!({"key": e.key, "order_refunded": {"platform_order_id": order_id,
                    "sub_order_id": sub_order_id, "refund_id": refund_id, "refunded_fen": refunded_fen,
                    "refunded_at": refunded_at}})
            }
        })
        .collect();
    Ok(serde_json::to_vec(&out)?)
}
