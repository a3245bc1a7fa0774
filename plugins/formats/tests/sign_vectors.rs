//! Signature test vectors computed from the platforms' public signing rules, independently of
//! this crate (Python's `hashlib` / `hmac` / `base64` over the strings written out below), so a
//! change in how a signature is assembled fails here.
//!
//! - Doudian open API (`v=2`): `md5(secret + "app_key" + k + "method" + m + "param_json" + p +
//!   "timestamp" + t + "v2" + secret)` in lower-case hex; `hmac-sha256` is the HMAC keyed with
//!   the secret over the same string.
//! - Kuaishou open API: the parameters sorted by name, `k=v` joined by `&`, then
//!   `&signSecret=<secret>`; `MD5` is lower-case hex, `HMAC_SHA256` base64 of the HMAC keyed
//!   with the sign secret.
//! - TOP (Taobao): the parameters sorted by name, `k` + `v` concatenated (then the body);
//!   `md5(secret + s + secret)`, `hmac` = HMAC-MD5 and `hmac-sha256` keyed with the secret, all
//!   upper-case hex.

use kolhost_platform_formats::{douyin, kuaishou, taobao};

const DY_KEY: &str = "7012345678901234567";
const DY_SECRET: &str = "d1c5a8f2-secret";
const DY_PARAM: &str = r#"{"cursor":"0","end_time":"2024-05-20 14:00:00","size":50,"start_time":"2024-05-20 13:00:00","time_type":"update"}"#;

#[test]
fn doudian_md5_and_hmac_sha256() {
    use douyin::api::{SignMethod, sign};
    assert_eq!(
        sign(
            DY_KEY,
            DY_SECRET,
            "buyin.instituteOrderMCN",
            DY_PARAM,
            "1716184800",
            SignMethod::Md5
        ),
        "a93b8a55cd4d1ed7de25391c99412037"
    );
    assert_eq!(
        sign(
            DY_KEY,
            DY_SECRET,
            "buyin.instituteOrderMCN",
            DY_PARAM,
            "1716184800",
            SignMethod::HmacSha256
        ),
        "00d0517802f7981ba61192653363163a67f0481ec9f55b52e5c7fd3382e3ab3a"
    );
}

fn ks_params(sign_method: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("appkey", "ks699183844582124027"),
        (
            "method",
            "open.distribution.cps.distributor.order.cursor.list",
        ),
        ("version", "1"),
        ("param", r#"{"pcursor":""}"#),
        ("access_token", "ChFvYXV0aC5hY2Nlc3NUb2tlbg"),
        ("timestamp", "1716184800000"),
        ("signMethod", sign_method),
    ]
}

#[test]
fn kuaishou_md5_hex_and_hmac_sha256_base64() {
    use kuaishou::api::{SignMethod, sign};
    let secret = "ks-sign-secret-0001";
    assert_eq!(
        sign(&ks_params("MD5"), secret, SignMethod::Md5),
        "2f695f89d74f97e0107efe8e7707be06"
    );
    assert_eq!(
        sign(&ks_params("HMAC_SHA256"), secret, SignMethod::HmacSha256),
        "T/5YTpp7R+o5LYcz2W/P8kdNDtaQo3UMA5m1NKIiMrs="
    );
    // `sign` itself never takes part in the string.
    let mut with_sign = ks_params("MD5");
    with_sign.push(("sign", "anything"));
    assert_eq!(
        sign(&with_sign, secret, SignMethod::Md5),
        "2f695f89d74f97e0107efe8e7707be06"
    );
}

fn top_params(sign_method: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("method", "taobao.tbk.order.details.get"),
        ("app_key", "12345678"),
        ("timestamp", "2024-05-20 14:00:00"),
        ("v", "2.0"),
        ("sign_method", sign_method),
        ("format", "json"),
        ("query_type", "4"),
    ]
}

#[test]
fn top_md5_hmac_and_hmac_sha256_upper_case_hex() {
    use taobao::{SignMethod, sign};
    let secret = "top-app-secret-0001";
    assert_eq!(
        sign(&top_params("md5"), b"", secret, SignMethod::Md5),
        "C9353CE8DCD6F909A85891DBA0A2041E"
    );
    assert_eq!(
        sign(&top_params("hmac"), b"", secret, SignMethod::HmacMd5),
        "307B9F628146FC52D18458005A471E62"
    );
    assert_eq!(
        sign(
            &top_params("hmac-sha256"),
            b"",
            secret,
            SignMethod::HmacSha256
        ),
        "9C144E6C10EEA33E899964082C4E97B5E8F98042637BFA544DC61A8E1DEBDBF6"
    );
}
