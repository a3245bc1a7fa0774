//! The bundled douyin plugin's verify + parse (`kolhost_platform_formats::douyin::push`), as an
//! Extism plugin. Input: the `app-id` header, a newline, the `event-sign` header, a newline,
//! the body. Output: the events as JSON. `app_key` / `app_secret` come from the plugin's
//! config.

use extism_pdk::*;
use kolhost_platform_formats::EventBody;
use kolhost_platform_formats::douyin::push;
use serde_json::json;

fn line(input: &[u8]) -> Result<(&str, &[u8]), Error> {
    let nl = input
        .iter()
        .position(|b| *b == b'\n')
        .ok_or_else(|| Error::msg("input: a header line is missing"))?;
    Ok((std::str::from_utf8(&input[..nl])?, &input[nl + 1..]))
}

#[plugin_fn]
pub fn verify_parse(input: Vec<u8>) -> FnResult<Vec<u8>> {
    let key = config::get("app_key")?.unwrap_or_default();
    let secret = config::get("app_secret")?.unwrap_or_default();
    let (app_id, rest) = line(&input)?;
    let (sign, body) = line(rest)?;
    let headers = [
        ("app-id".to_string(), app_id.to_string()),
        ("event-sign".to_string(), sign.to_string()),
    ];
    push::verify(&key, &secret, &headers, body).map_err(|e| Error::msg(e.to_string()))?;
    let parsed = push::parse(body).map_err(|e| Error::msg(e.to_string()))?;
    let out: Vec<serde_json::Value> = parsed
        .events
        .into_iter()
        .map(|e| match e.body {
            EventBody::OrderNotice(n) => json!({"key": e.key, "status": e.platform_status,
                "order_notice": {
                "platform_order_id": n.platform_order_id, "sub_order_ids": n.sub_order_ids,
                "paid_fen": n.paid_fen, "paid_at": n.paid_at}}),
            EventBody::OrderStatus(s) => json!({"key": e.key, "status": e.platform_status,
                "order_status": {
                "platform_order_id": s.platform_order_id, "sub_order_id": s.sub_order_id,
                "at": s.at}}),
            EventBody::OrderPaid(p) => json!({"key": e.key, "order_paid": {
                "platform_order_id": p.platform_order_id, "sub_order_id": p.sub_order_id,
                "item_id": p.item_id, "account_id": p.account_id, "room_id": p.room_id,
                "units": p.units, "paid_fen": p.paid_fen, "commission_bp": p.commission_bp,
                "paid_at": p.paid_at}}),
            EventBody::OrderRefunded(r) => json!({"key": e.key, "order_refunded": {
                "platform_order_id": r.platform_order_id, "sub_order_id": r.sub_order_id,
                "refund_id": r.refund_id, "refunded_fen": r.refunded_fen,
                "refunded_at": r.refunded_at}}),
            EventBody::OrderSettled(s) => json!({"key": e.key, "order_settled": {
                "platform_order_id": s.platform_order_id, "sub_order_id": s.sub_order_id,
                "settled_fen": s.settled_fen, "commission_fen": s.commission_fen,
                "platform_fee_fen": s.platform_fee_fen, "settled_at": s.settled_at}}),
            EventBody::LiveStats(s) => json!({"key": e.key, "live_stats": {
                "room_id": s.room_id, "account_id": s.account_id, "at": s.at,
                "viewers": s.viewers, "gmv_fen": s.gmv_fen, "orders": s.orders}}),
        })
        .collect();
    Ok(serde_json::to_vec(&out)?)
}
