//! The language of error answers (design §3: `detail` and messages follow `Accept-Language`,
//! zh-CN by default, en on request). Every layer writes its problems in English with a stable
//! `code` and `params`; [`super::error::uniform`] hands each problem answer to [`localize`] once,
//! which rewrites `title`, `detail` and field `message`s in Chinese from this catalogue wherever it
//! knows the code. A code the catalogue does not know keeps its English text, so nothing is lost.

use axum::http::HeaderMap;
use axum::http::header::ACCEPT_LANGUAGE;
use serde_json::{Map, Value};

/// The languages answers are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// The `Content-Language` of an answer in this language.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

/// The language a request asks for (RFC 9110 §12.5.4: the supported range of highest weight;
/// ties go to the first named), Chinese when it names neither.
pub fn negotiate(headers: &HeaderMap) -> Lang {
    let Some(value) = headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()) else {
        return Lang::Zh;
    };
    let mut best: Option<(u16, Lang)> = None;
    for item in value.split(',') {
        let mut parts = item.split(';');
        let range = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let weight = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .map_or(1000, quality);
        let lang = match range.split('-').next().unwrap_or("") {
            "zh" => Lang::Zh,
            "en" => Lang::En,
            _ => continue,
        };
        if weight > 0 && best.is_none_or(|(w, _)| weight > w) {
            best = Some((weight, lang));
        }
    }
    best.map_or(Lang::Zh, |(_, l)| l)
}

/// A quality value (`0.8`) in thousandths; anything unreadable counts as 0.
fn quality(q: &str) -> u16 {
    let (whole, frac) = q.trim().split_once('.').unwrap_or((q.trim(), ""));
    let frac: String = format!("{frac:0<3}").chars().take(3).collect();
    match (whole, frac.parse::<u16>()) {
        ("1", Ok(0)) => 1000,
        ("0", Ok(f)) => f,
        _ => 0,
    }
}

/// Rewrites a problem body (RFC 9457 JSON) in `lang`.
pub fn localize(problem: &mut Value, lang: Lang) {
    if lang == Lang::En {
        return;
    }
    let empty = Map::new();
    let code = problem["code"].as_str().unwrap_or("").to_owned();
    let params = problem["params"].as_object().unwrap_or(&empty).clone();
    if let Some(status) = problem["status"].as_u64()
        && let Some(title) = title_zh(status)
    {
        problem["title"] = title.into();
    }
    let errors = problem["errors"].as_array().map_or(0, Vec::len);
    if let Some(detail) = detail_zh(&code, &params, errors) {
        problem["detail"] = detail.into();
    }
    // `get_mut`, not `[]`: indexing a missing key for writing would add it as null.
    if let Some(list) = problem.get_mut("errors").and_then(Value::as_array_mut) {
        for e in list {
            let code = e["code"].as_str().unwrap_or("").to_owned();
            let params = e["params"].as_object().unwrap_or(&empty).clone();
            if let Some(m) = message_zh(&code, &params) {
                e["message"] = m.into();
            }
        }
    }
}

fn title_zh(status: u64) -> Option<&'static str> {
    Some(match status {
        400 => "请求有误",
        401 => "未认证",
        403 => "无权访问",
        404 => "未找到",
        405 => "方法不允许",
        406 => "无法提供所需格式",
        408 => "请求超时",
        409 => "状态冲突",
        411 => "需要内容长度",
        413 => "请求体过大",
        414 => "请求地址过长",
        415 => "不支持的内容类型",
        422 => "无法处理的请求",
        429 => "请求过多",
        431 => "请求头过大",
        500 => "服务器内部错误",
        501 => "尚未实现",
        503 => "服务暂不可用",
        504 => "上游超时",
        505 => "不支持的 HTTP 版本",
        _ => return None,
    })
}

/// The Chinese name of a record kind a 404 names (`params.what`).
fn noun_zh(what: &str) -> Option<&'static str> {
    Some(match what {
        "brand" => "品牌",
        "KOL" | "kol" => "主播",
        "product" => "商品",
        "contract" => "合同",
        "settlement" => "结算单",
        "session" => "直播场次",
        "order" => "订单",
        "script" => "脚本",
        "plugin" => "插件",
        "platform plugin" => "平台插件",
        "platform" => "平台",
        "token" => "令牌",
        "route" => "接口",
        "finding" => "合规记录",
        "delivery" | "webhook delivery" => "推送记录",
        _ => return None,
    })
}

fn param<'a>(params: &'a Map<String, Value>, name: &str) -> Option<String> {
    params.get(name).map(|v| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// The problem's `detail` in Chinese, where the code says all there is to say.
fn detail_zh(code: &str, params: &Map<String, Value>, errors: usize) -> Option<String> {
    Some(match code {
        "bad_request" => "请求无法解析，请检查请求格式".into(),
        "unauthorized" => "需要有效的访问令牌（Authorization: Bearer …）".into(),
        "not_authentic" => "推送未通过验证：签名不符或无法解密".into(),
        "forbidden" => "当前令牌的角色无权执行此操作".into(),
        "not_found" => match param(params, "what").as_deref().and_then(noun_zh) {
            Some(noun) => format!("{noun}不存在，或当前令牌无权查看"),
            None => return None,
        },
        "method_not_allowed" => "该地址不支持此请求方法".into(),
        "payload_too_large" => "请求体超过服务器允许的大小".into(),
        "request_timeout" => "请求未在规定时间内完整送达".into(),
        "unsupported_media_type" => {
            "不支持的内容类型：JSON 请求须带 Content-Type: application/json".into()
        }
        "request_header_fields_too_large" => "请求头过大".into(),
        "uri_too_long" => "请求地址过长".into(),
        "too_many_requests" => match param(params, "retry_after_secs") {
            Some(s) => format!("请求过于频繁，请在 {s} 秒后重试"),
            None => "请求过于频繁，请稍后重试".into(),
        },
        "validation_failed" => format!("请求有 {errors} 处不符合规则，详见 errors"),
        "unavailable" => "服务暂时不可用，请稍后重试".into(),
        "internal_error" => "服务器内部错误，请稍后重试或联系管理员".into(),
        "four_eyes" => "结算单须由计算人以外的另一位管理员或经理审批（四眼原则）".into(),
        "import_rejected" => match param(params, "rows_with_errors") {
            Some(n) => format!("商品表有 {n} 行存在错误，未导入任何数据，详见 row_errors"),
            None => "商品表存在错误，未导入任何数据，详见 row_errors".into(),
        },
        "script_unpublished" => "该脚本尚无已发布版本，请先发布一个版本".into(),
        _ => return None,
    })
}

/// A field error's `message` in Chinese, where its code and params say all there is to say.
fn message_zh(code: &str, params: &Map<String, Value>) -> Option<String> {
    Some(match code {
        "required" => "不能为空".into(),
        "too_long" => match param(params, "max") {
            Some(max) => format!("不能超过 {max} 个字符"),
            None => "过长".into(),
        },
        "out_of_range" => match (param(params, "min"), param(params, "max")) {
            (Some(min), Some(max)) => format!("须在 {min} 到 {max} 之间"),
            _ => "超出允许范围".into(),
        },
        "control_characters" => "不能包含控制字符（仅允许制表符、换行和回车）".into(),
        "taken" => "已被其他记录占用".into(),
        "duplicate" => "重复填写".into(),
        "floor_above_list" => "最低价不能高于标价".into(),
        "missing_column" => match param(params, "column") {
            Some(c) => format!("表头缺少列：{c}"),
            None => return None,
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use serde_json::json;

    fn lang_of(value: &str) -> Lang {
        let mut h = HeaderMap::new();
        h.insert(ACCEPT_LANGUAGE, HeaderValue::from_str(value).unwrap());
        negotiate(&h)
    }

    #[test]
    fn accept_language_is_negotiated() {
        assert_eq!(negotiate(&HeaderMap::new()), Lang::Zh);
        assert_eq!(lang_of("en"), Lang::En);
        assert_eq!(lang_of("en-US,en;q=0.9"), Lang::En);
        assert_eq!(lang_of("zh-CN,zh;q=0.9,en;q=0.8"), Lang::Zh);
        assert_eq!(lang_of("fr-FR, en;q=0.5, zh;q=0.7"), Lang::Zh);
        assert_eq!(lang_of("de, en;q=0.1"), Lang::En);
        assert_eq!(lang_of("en;q=0, zh;q=0.2"), Lang::Zh);
        assert_eq!(lang_of("fr"), Lang::Zh);
        assert_eq!(lang_of("EN-gb"), Lang::En);
    }

    #[test]
    fn known_codes_are_rewritten_unknown_ones_kept() {
        let mut p = json!({
            "status": 422, "title": "Unprocessable Entity", "code": "validation_failed",
            "detail": "the request breaks 2 rule(s)",
            "errors": [
                {"field": "name", "code": "too_long", "message": "must be at most 200 characters", "params": {"max": 200}},
                {"field": "x", "code": "invalid", "message": "some rule"}
            ]
        });
        localize(&mut p, Lang::Zh);
        assert_eq!(p["title"], "无法处理的请求");
        assert_eq!(p["detail"], "请求有 2 处不符合规则，详见 errors");
        assert_eq!(p["errors"][0]["message"], "不能超过 200 个字符");
        assert_eq!(p["errors"][1]["message"], "some rule");
        let mut p = json!({"status": 404, "code": "not_found", "detail": "contract not found", "params": {"what": "contract"}});
        localize(&mut p, Lang::Zh);
        assert_eq!(p["detail"], "合同不存在，或当前令牌无权查看");
        let mut en = json!({"status": 404, "code": "not_found", "detail": "contract not found"});
        let before = en.clone();
        localize(&mut en, Lang::En);
        assert_eq!(en, before);
        // A problem without field errors gains none.
        let mut p = json!({"status": 401, "code": "unauthorized", "detail": "a valid bearer token is required"});
        localize(&mut p, Lang::Zh);
        assert!(p.get("errors").is_none(), "{p}");
    }
}
