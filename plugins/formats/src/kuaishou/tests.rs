use super::api::{self, Credentials, SignMethod};
use super::fixtures::*;
use super::push;
use crate::fixtures::SampleOrder;
use crate::{Error, EventBody, PollCursor};

const APP: &str = "ks669064233797003102";

fn key() -> String {
    sample_message_key("kuaishou-test")
}

#[test]
fn known_answer_decryption_and_signatures() {
    // `printf '{"test":true}' | openssl enc -aes-128-cbc -K 000102..0f -iv 0 -base64`
    let k = push::message_key("AAECAwQFBgcICQoLDA0ODw==").unwrap();
    assert_eq!(
        push::decrypt(&k, b"vftmsTE4kncTlrYRCUwCMg==").unwrap(),
        r#"{"test":true}"#
    );
    assert_eq!(
        encrypt("AAECAwQFBgcICQoLDA0ODw==", br#"{"test":true}"#),
        "vftmsTE4kncTlrYRCUwCMg=="
    );
    let params = [
        ("access_token", "t"),
        ("appkey", "ks1"),
        ("method", "m"),
        ("param", "{}"),
        ("signMethod", "MD5"),
        ("timestamp", "1"),
        ("version", "1"),
    ];
    assert_eq!(
        api::sign(&params, "ss", SignMethod::Md5),
        "e41515271e7587a942dc02a5c2baaf7d"
    );
    let mut params = params;
    params[4].1 = "HMAC_SHA256";
    assert_eq!(
        api::sign(&params, "ss", SignMethod::HmacSha256),
        "s7YIAeRPd/hsChag2Adg9WjsFG/jd2V4J9x3iTiHmpU="
    );
}

#[test]
fn valid_deliveries_parse() {
    let k = push::message_key(&key()).unwrap();
    let o = SampleOrder::new(1);
    let at = o.paid_at * 1000 + 3_600_000;
    for (status, want) in [(30, "paid"), (40, "paid"), (60, "settled"), (80, "void")] {
        let d = delivery(
            &key(),
            &order_message(APP, "267_2345_147402", &o, status, at),
        );
        push::verify(APP, &k, &d.body).unwrap();
        let p = push::parse(APP, &k, &d.body).unwrap();
        assert_eq!(p.reply.body, r#"{"result":1}"#);
        assert_eq!(p.events.len(), 1);
        assert_eq!(p.events[0].key, "267_2345_147402");
        match (&p.events[0].body, want) {
            (EventBody::OrderPaid(e), "paid") => {
                assert_eq!(e.platform_order_id, o.order_id);
                assert_eq!(e.item_id, o.item_id);
                assert_eq!(e.account_id.as_deref(), Some(o.account_id.as_str()));
                assert_eq!(e.units, 2);
                assert_eq!(e.paid_fen, 29_900);
                assert_eq!(e.commission_bp, Some(2_000));
                assert_eq!(e.paid_at, "2024-05-20T06:00:00Z");
            }
            (EventBody::OrderSettled(e), "settled") => {
                assert_eq!(e.settled_fen, 29_900);
                assert_eq!(e.commission_fen, Some(5_980));
                assert_eq!(e.settled_at, "2024-05-20T07:00:00Z");
            }
            (EventBody::OrderRefunded(e), "void") => {
                assert_eq!(e.refunded_fen, 29_900);
                assert_eq!(e.refund_id.as_deref(), Some("void"));
            }
            (other, w) => panic!("{w}: {other:?}"),
        }
    }
    // The heartbeat: acknowledged, no events.
    let d = delivery(&key(), &heartbeat());
    push::verify(APP, &k, &d.body).unwrap();
    assert!(push::parse(APP, &k, &d.body).unwrap().events.is_empty());
    // A seller's paid-order message: a notice of the order (no amount), keyed by eventId.
    let d = delivery(&key(), &seller_order_message(APP, "1_2_3", &o));
    let parsed = push::parse(APP, &k, &d.body).unwrap();
    assert_eq!(parsed.events.len(), 1);
    assert_eq!(parsed.events[0].key, "1_2_3");
    assert_eq!(
        parsed.events[0].platform_status.as_deref(),
        Some("kwaishop_order_paySuccess:30")
    );
    match &parsed.events[0].body {
        EventBody::OrderNotice(n) => {
            assert_eq!(n.platform_order_id, o.order_id);
            assert_eq!(n.paid_fen, None);
            assert!(n.paid_at.is_some());
        }
        other => panic!("{other:?}"),
    }
    // An after-sale message: the order's status history gets the refund id and status.
    let d = delivery(
        &key(),
        &aftersale_message(
            APP,
            "1_2_4",
            "kwaishop_aftersales_addRefund",
            &o,
            99,
            10,
            o.paid_at * 1000,
        ),
    );
    let parsed = push::parse(APP, &k, &d.body).unwrap();
    assert_eq!(
        parsed.events[0].platform_status.as_deref(),
        Some("aftersales_addRefund:99:10")
    );
    assert!(
        matches!(&parsed.events[0].body, EventBody::OrderStatus(s) if s.platform_order_id == o.order_id)
    );
}

#[test]
fn other_key_tampering_truncation_are_unauthorized() {
    let k = push::message_key(&key()).unwrap();
    let other = push::message_key(&sample_message_key("another")).unwrap();
    let d = delivery(
        &key(),
        &order_message(APP, "e1", &SampleOrder::new(2), 30, 1),
    );
    assert!(matches!(
        push::verify(APP, &other, &d.body),
        Err(Error::Unauthorized(_))
    ));
    // Flipping a bit of the last block breaks the padding.
    let mut raw =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &d.body).unwrap();
    let n = raw.len();
    raw[n - 1] ^= 0x55;
    let tampered = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &raw);
    assert!(matches!(
        push::verify(APP, &k, tampered.as_bytes()),
        Err(Error::Unauthorized(_))
    ));
    // Cut ciphertext, not base64, empty.
    assert!(matches!(
        push::verify(APP, &k, &d.body[..d.body.len() - 8]),
        Err(Error::Unauthorized(_))
    ));
    assert!(matches!(
        push::verify(APP, &k, b"{\"test\":true}"),
        Err(Error::Unauthorized(_))
    ));
    assert!(matches!(
        push::verify(APP, &k, b""),
        Err(Error::Unauthorized(_))
    ));
    // Another app's message, correctly encrypted with our key.
    let theirs = delivery(
        &key(),
        &order_message("ks-other", "e1", &SampleOrder::new(2), 30, 1),
    );
    assert!(
        matches!(push::verify(APP, &k, &theirs.body), Err(Error::Unauthorized(m)) if m.contains("ks-other"))
    );
}

#[test]
fn malformed_plaintexts() {
    let k = push::message_key(&key()).unwrap();
    let good = order_message(APP, "e1", &SampleOrder::new(3), 30, 1).to_string();
    let truncated = encrypted(&key(), &good.as_bytes()[..good.len() - 3]);
    push::verify(APP, &k, &truncated.body).unwrap();
    assert!(matches!(
        push::parse(APP, &k, &truncated.body),
        Err(Error::Malformed(_))
    ));
    for plain in [
        r#"{"eventId":"e","info":"{\"cpsOrderStatus\":30}"}"#,
        r#"{"eventId":"e","info":"not json"}"#,
        r#"{"info":"{}"}"#,
        r#"{"eventId":"e","info":"{\"oid\":1,\"cpsOrderStatus\":30,\"orderTradeAmount\":-1,\"payTime\":1}"}"#,
    ] {
        let d = encrypted(&key(), plain.as_bytes());
        assert!(
            matches!(push::parse(APP, &k, &d.body), Err(Error::Malformed(_))),
            "{plain}"
        );
    }
    assert!(matches!(
        push::message_key("not base64!"),
        Err(Error::Config(_))
    ));
    assert!(matches!(push::message_key("AAEC"), Err(Error::Config(_))));
}

#[test]
fn pull_request_signed_and_pages_parsed() {
    for m in [SignMethod::Md5, SignMethod::HmacSha256] {
        let c = Credentials {
            api_base: "http://127.0.0.1:9",
            app_key: APP,
            sign_secret: "sign-secret",
            access_token: "token",
            sign_method: m,
        };
        let cursor = PollCursor::start(1_716_184_800_000, 3_600_000).next("pc1".into());
        let req = api::order_request(&c, &cursor, 1_716_184_800_123);
        assert_eq!(req.method, "GET");
        let query = req.url.split_once('?').unwrap().1;
        assert!(req.url.starts_with(
            "http://127.0.0.1:9/open/distribution/cps/distributor/order/cursor/list?"
        ));
        let param = verify_api_request(APP, "sign-secret", "token", query).unwrap();
        assert_eq!(param["pcursor"], "pc1");
        assert_eq!(param["beginTime"], 1_716_181_200_000i64);
        assert!(verify_api_request(APP, "wrong", "token", query).is_err());
        assert!(verify_api_request(APP, "sign-secret", "other", query).is_err());
        let tampered = query.replace("pc1", "pc2");
        assert!(verify_api_request(APP, "sign-secret", "token", &tampered).is_err());
    }
    let o = SampleOrder::new(4);
    let page = api::parse_order_page(
        200,
        &order_page_response(
            &[
                order_view(&o, 30, 1),
                order_view(&SampleOrder::new(5), 60, o.paid_at * 1000),
                order_view(&SampleOrder::new(6), 80, o.paid_at * 1000),
                order_view(&SampleOrder::new(7), 10, 0),
            ],
            "pc2",
        ),
    )
    .unwrap();
    assert_eq!(page.next_page.as_deref(), Some("pc2"));
    let keys: Vec<String> = page.events.iter().map(|e| e.key.clone()).collect();
    let (o5, o6) = (SampleOrder::new(5).order_id, SampleOrder::new(6).order_id);
    assert_eq!(
        keys,
        [
            format!("{}:paid", o.order_id),
            format!("{o5}:paid"),
            format!("{o5}:settled"),
            format!("{o6}:paid"),
            format!("{o6}:void")
        ]
    );
    let last = api::parse_order_page(
        200,
        &order_page_response(&[order_view(&o, 50, 1)], "nomore"),
    )
    .unwrap();
    assert_eq!(last.next_page, None);
    assert!(
        matches!(api::parse_order_page(200, &error_response(28, "签名校验失败")), Err(Error::Upstream(m)) if m.contains("签名"))
    );
    assert!(matches!(
        api::parse_order_page(500, b"oops"),
        Err(Error::Upstream(_))
    ));
    assert!(matches!(
        api::parse_order_page(
            200,
            b"{\"result\":1,\"data\":{\"orderView\":[{\"oid\":1}]}}"
        ),
        Err(Error::Malformed(_))
    ));
}
