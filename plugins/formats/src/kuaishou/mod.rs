//! Kuaishou (Kwaixiaodian message push, distribution CPS orders).
//!
//! **Push.** The body is the standard base64 of `AES/CBC/PKCS5Padding(message)` with a zero IV
//! and the app's message key: the base64 "private key" shown in the app's console (decoded, 16,
//! 24 or 32 bytes), as in the platform's `PlatformEventSecurityUtil.decode`. There is no
//! signature header: a body that does not decrypt (bad base64, not whole blocks, bad padding,
//! not UTF-8) is not authentic. A decrypted message whose `appKey` is not ours is refused too.
//! The message is one JSON object `{eventId, bizId, userId, openId, appKey, event, info,
//! createTime, test}` (`info` a JSON string). The reply is `{"result":1}`; deliveries are
//! at-least-once, so repeats carry the same `eventId`.
//!
//! | message | events (key) |
//! | --- | --- |
//! | `test: true` (the heartbeat `{"test":true}`) | none |
//! | `info` is a distribution order view (it has `oid`, `cpsOrderStatus`, `orderTradeAmount`, as the CPS order list returns) | the status's event below (`eventId`) |
//! | `kwaishop_order_paySuccess` (`oid`, `sellerId`, `status`, `updateTime`: no amount, item or distributor) | `order-notice` (`eventId`), completed by the pull |
//! | other `kwaishop_order_*` (`addOrder`, `delivering`, `deliverySuccess`, `orderSuccess`, `orderFail`, `totalFeeChange`) | `order-status` (`<event>:<status>`) |
//! | `kwaishop_aftersales_*` (`orderId`, `refundId`, `handlingWay`, `status`, `updateTime`: no amount) | `order-status` (`aftersales_<name>:<refundId>:<status>`); the refunded amount comes from the pull (80) |
//! | other events | none |
//!
//! **Pull.** `open.distribution.cps.distributor.order.cursor.list` (the KOL's CPS orders, by
//! update time): `GET {api_base}/open/distribution/cps/distributor/order/cursor/list?appkey=..
//! &method=..&version=1&param=<json>&access_token=..&timestamp=<Unix ms>&signMethod=..&sign=..`.
//! The signature is over the parameters sorted by name, `k=v` joined by `&`, then
//! `&signSecret=<sign_secret>`: `MD5` gives lower-case hex of the MD5, `HMAC_SHA256` the base64
//! of `hmac_sha256(sign_secret, string)`. Pages follow `pcursor` until `nomore`.
//!
//! | `cpsOrderStatus` | pull: events (key) | push: event |
//! | --- | --- | --- |
//! | 30 paid, 40 shipped, 50 received | `order-paid` (`<oid>:paid`) | `order-paid` |
//! | 60 settled | `order-paid`, `order-settled` of `settlementAmount` (or `orderTradeAmount`), commission the sum of `estimatedIncome`, at `settlementSuccessTime` (`<oid>:settled`) | `order-settled` |
//! | 80 void | `order-paid`, `order-refunded` of `orderTradeAmount`, refund id `void`, at `updateTime` (`<oid>:void`) | `order-refunded` |
//! | other | none | none |
//!
//! `order-paid`: order `oid`, account `distributorId`, item the first
//! `cpsOrderProductView[].itemId`, units the sum of `num`, paid `orderTradeAmount` (fen),
//! commission the first product's `commissionRate` (per mille, x10 to basis points), at `payTime`
//! (Unix ms).

pub mod api;
pub mod fixtures;
mod order;
pub mod push;
#[cfg(test)]
mod tests;

/// The real open-API host (`api_base` default).
pub const DEFAULT_API_BASE: &str = "https://openapi.kwaixiaodian.com";
