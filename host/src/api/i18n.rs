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
        "plugin version" => "插件版本",
        "platform plugin" => "平台插件",
        "platform" => "平台",
        "token" => "令牌",
        "route" => "接口",
        "finding" => "合规记录",
        "delivery" | "webhook delivery" => "推送记录",
        "allocator plugin" => "分配插件",
        _ => return None,
    })
}

/// The Chinese name of a status, platform or field a message names; itself when unknown.
fn term_zh(value: &str) -> String {
    match value {
        "draft" => "草稿",
        "proposed" => "已提议",
        "signed" => "已签署",
        "active" => "履约中",
        "completed" => "已完成",
        "cancelled" => "已取消",
        "terminated" => "已终止",
        "scheduled" => "待开播",
        "live" => "直播中",
        "ended" => "已结束",
        "open" => "待处理",
        "acknowledged" => "处理中",
        "resolved" => "已解决",
        "approved" => "已审批",
        "taobao" => "淘宝",
        "douyin" => "抖音",
        "kuaishou" => "快手",
        "starts_at" => "开始时间",
        "period_start" => "结算期开始",
        "from" => "起始时间",
        "resident_id_card" => "居民身份证",
        "passport" => "护照",
        _ => return value.to_owned(),
    }
    .to_owned()
}

/// A param in Chinese terms (`term_zh`).
fn param_zh(params: &Map<String, Value>, name: &str) -> Option<String> {
    param(params, name).map(|v| term_zh(&v))
}

/// An amount in fen as yuan, exactly: 19990 -> ¥199.90.
fn yuan(params: &Map<String, Value>, name: &str) -> Option<String> {
    Some(crate::domain::money::cny(params.get(name)?.as_i64()?))
}

fn param(params: &Map<String, Value>, name: &str) -> Option<String> {
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
        "effective_before_settled" => {
            "修订的生效时间早于已审批结算单覆盖的期间：已审批的结算不因修订而改变，请从该期间结束之后生效".into()
        }
        "period_in_future" => "结算期尚未结束：结算期的结束时间不能晚于现在".into(),
        "tax_identity_missing" => {
            "该主播按个人代扣个税，但缺少姓名或证件号码，请先补全其税务身份".into()
        }
        "compliance_blocked" => "内容违反了设为「拦截」的合规规则，未写入任何数据".into(),
        "allocation_rejected" => match param(params, "violations") {
            Some(n) => format!("分配方案有 {n} 处违规，未应用任何排品"),
            None => "分配方案有违规，未应用任何排品".into(),
        },
        "duplicate_key" => "已存在唯一键相同的记录".into(),
        "referenced" => "该记录被其他记录引用，或引用了其他记录".into(),
        "status_transition" => match (param_zh(params, "from"), param_zh(params, "to")) {
            (Some(from), Some(to)) => format!("状态不能从「{from}」变为「{to}」"),
            _ => "不允许这一状态变更".into(),
        },
        "session_closed" => match param_zh(params, "status") {
            Some(s) => format!("场次{s}：排期和排品已定，不能再修改"),
            None => "场次已结束或已取消：排期和排品不能再修改".into(),
        },
        "terms_signed" => match param_zh(params, "status") {
            Some(s) => format!("合同{s}：条款只能通过修订（amendments）变更"),
            None => "合同已签署：条款只能通过修订（amendments）变更".into(),
        },
        "amend_unsigned" => "合同尚未签署，不需修订：请直接编辑其条款".into(),
        "contract_closed" => "合同已结束，不能再修订".into(),
        "revoke_self" => "令牌不能吊销自己：请用另一个管理员令牌或 kolhost token revoke".into(),
        "poller_elsewhere" => match param(params, "holder") {
            Some(h) => format!("该平台的拉单任务正在另一台主机（{h}）上运行"),
            None => "该平台的拉单任务正在另一台主机上运行".into(),
        },
        "no_previous_version" => "插件没有比当前版本更早的版本".into(),
        "unknown_version" => "插件没有该版本".into(),
        "active_version" => match param(params, "version") {
            Some(v) => format!("版本 {v} 是插件当前启用的版本，不能删除：请先启用其他版本"),
            None => "这是插件当前启用的版本，不能删除：请先启用其他版本".into(),
        },
        "version_does_not_load" => match param(params, "version") {
            Some(v) => format!("插件版本 {v} 无法加载"),
            None => "该插件版本无法加载".into(),
        },
        "version_not_loaded" => "该插件版本尚未加载，请重试".into(),
        "never_signed" => "合同从未签署，没有可结算的内容".into(),
        "not_draft" => "结算单已不是草稿：只有草稿可以审批，已审批的结算单不再改变".into(),
        "period_settled" => {
            "该合同的这一期间已有已审批的结算单；已审批的结算单不变，之后的退款计入下一期".into()
        }
        "settlement_stale" => {
            "自本结算单计算以来，另一张已审批的结算单已计入其中部分订单、退款或保量，请重新计算".into()
        }
        "allocation_stale" => "分配运行之后机构数据已有变化，请重新运行".into(),
        "script_syntax_error" => script_zh("语法错误", params),
        "script_runtime_error" => script_zh("运行出错", params),
        "script_instruction_budget_exceeded" => script_zh("超出指令预算", params),
        "script_deadline_exceeded" => script_zh("超出运行时限", params),
        "script_memory_limit_exceeded" => "脚本超出内存上限".into(),
        "script_missing_allocate" => "脚本没有定义 allocate(ctx) 函数".into(),
        "script_invalid_result" => "脚本返回的结果不符合约定格式，详见 errors".into(),
        _ => return None,
    })
}

/// A message whose cause is a tool's own text (a TOML parser, wasmtime, a spreadsheet reader):
/// said in Chinese, the cause quoted as the tool wrote it.
fn with_reason(what: &str, params: &Map<String, Value>) -> String {
    match param(params, "reason") {
        Some(reason) => format!("{what}：{reason}"),
        None => what.to_owned(),
    }
}

/// A script problem's detail: what happened and, when known, where.
fn script_zh(what: &str, params: &Map<String, Value>) -> String {
    match param(params, "line") {
        Some(line) => format!("脚本第 {line} 行{what}"),
        None => format!("脚本{what}"),
    }
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
        "repeated_column" => "表头有重复的列".into(),
        "unreadable_sheet" => with_reason("无法读取该表格文件（须为 XLSX 或 CSV）", params),
        "empty_sheet" => "表格为空".into(),
        "export_too_large" => match param(params, "max") {
            Some(max) => format!("商品超过 {max} 个，请按品牌分别导出"),
            None => "商品过多，请按品牌分别导出".into(),
        },
        "invalid_category" => "不是有效的类目：请用 食品、家纺、女装、美妆，或小写英文标识".into(),
        "invalid_role" => "不是有效的角色：请用 首发、引流 或 利润".into(),
        "invalid_price" => "不是有效的价格（例如 199 或 199.90，最多两位小数）".into(),
        "invalid_number" => "须为整数件数".into(),
        "duplicate_sku" => "SKU 与表中前面的行重复".into(),
        "duplicate_listing" => "平台商品 ID 与表中前面的行重复".into(),
        "not_positive" => "须大于 0".into(),
        "too_many" => match param(params, "max") {
            Some(max) => format!("最多 {max} 项"),
            None => "项数过多".into(),
        },
        "too_large" => match param(params, "max_bytes") {
            Some(max) => format!("不能超过 {max} 字节"),
            None => "过大".into(),
        },
        "not_after" => match param_zh(params, "other") {
            Some(other) => format!("须晚于{other}"),
            None => "时间先后不对".into(),
        },
        "not_slug" => "须为 1 到 40 位小写字母、数字或下划线".into(),
        "unknown" => match param(params, "what").as_deref().and_then(noun_zh) {
            Some(noun) => format!("{noun}不存在"),
            None => "引用的记录不存在".into(),
        },
        "not_one_of" => match param(params, "allowed") {
            Some(list) => format!("须为以下之一：{list}"),
            None => "不是允许的取值".into(),
        },
        "bad_format" => match param(params, "example") {
            Some(example) => format!("格式不正确，例如 {example}"),
            None => "格式不正确".into(),
        },
        "unknown_field" => match param(params, "allowed") {
            Some(list) if !list.is_empty() => format!("未知字段（可用字段：{list}）"),
            _ => "未知字段".into(),
        },
        "wrong_type" => match param(params, "expected") {
            Some(expected) => format!("类型不正确，应为 {expected}"),
            None => "类型不正确".into(),
        },
        "not_object" => "须为 JSON 对象".into(),
        "over_capacity" => match (param(params, "slots"), param(params, "capacity")) {
            (Some(n), Some(cap)) => format!("排品 {n} 个，超过本场的 {cap} 个坑位"),
            _ => "排品数超过本场坑位数".into(),
        },
        "price_below_floor" => match yuan(params, "floor_price_fen") {
            Some(floor) => format!("低于商品控价 {floor}"),
            None => "低于商品控价".into(),
        },
        "price_above_list" => match yuan(params, "list_price_fen") {
            Some(list) => format!("高于商品标价 {list}"),
            None => "高于商品标价".into(),
        },
        "over_stock" => match param(params, "stock_units") {
            Some(n) => format!("超过商品库存 {n} 件"),
            None => "超过商品库存".into(),
        },
        "contract_other_brand" => "该合同不是与此商品的品牌签订的".into(),
        "contract_other_kol" => "该合同不是与本场主播签订的".into(),
        "contract_other_platform" => "该合同属于其他平台".into(),
        "contract_not_in_force" => match param_zh(params, "status") {
            Some(s) => format!("合同状态为「{s}」：只有已签署或履约中的合同可以排品"),
            None => "只有已签署或履约中的合同可以排品".into(),
        },
        "contract_not_covering" => "合同期限不覆盖本场开播时间".into(),
        "remedy_required" => "设置了保量，须选择未达保量的补偿方式".into(),
        "remedy_without_guarantee" => "未设置保量时，补偿方式须为「无」".into(),
        "too_long_session" => match param(params, "max_hours") {
            Some(h) => format!("单场直播最长 {h} 小时"),
            None => "直播时长过长".into(),
        },
        "no_account" => match param_zh(params, "platform") {
            Some(p) => format!("该主播没有{p}账号"),
            None => "该主播在此平台没有账号".into(),
        },
        "id_format" => match param_zh(params, "id_type") {
            Some(t) => format!("{t}号码格式不正确"),
            None => "证件号码格式不正确".into(),
        },
        "id_birth_date" => "身份证号码中的出生日期无效".into(),
        "id_check_digit" => "身份证号码的校验位不正确".into(),
        "no_change" => "修订须至少变更一项条款".into(),
        "before_previous_version" => match param(params, "version") {
            Some(v) => format!("不能早于第 {v} 版的生效时间"),
            None => "不能早于上一版的生效时间".into(),
        },
        "window_too_long" => match param(params, "max_days") {
            Some(d) => format!("时间窗口最长 {d} 天"),
            None => "时间窗口过长".into(),
        },
        "before_contract" => "结算期在合同开始之前就已结束".into(),
        "unknown_version" => match param(params, "version") {
            Some(v) => format!("没有第 {v} 版"),
            None => "没有该版本".into(),
        },
        "ctx_on_apply" => "显式 ctx 只用于试运行；正式应用基于机构的实际数据".into(),
        "period_too_long" => match param(params, "max_years") {
            Some(y) => format!("结算期最长 {y} 年"),
            None => "结算期过长".into(),
        },
        "bad_key" => "键名须为 1 到 64 位小写字母、数字、下划线或连字符".into(),
        "bad_term" => "须为 1 到 50 个字符，首尾不能有空白".into(),
        "bad_manifest" => with_reason("插件清单（manifest）无效", params),
        "version_exists" => "该插件已有这个版本号，请提高版本号后再上传".into(),
        "bad_component" => with_reason("无法加载该 WebAssembly 组件", params),
        "not_platform" => "只有平台插件会拉取订单".into(),
        "four_eyes" => "须由计算人以外的另一人审批".into(),
        // Allocation violations (`domain::allocation::ViolationCode`).
        "unknown_product" => "商品不存在".into(),
        "unknown_kol" => "主播不存在".into(),
        "unknown_session" => "场次不存在".into(),
        "session_kol_mismatch" => "该场次不属于此主播".into(),
        "no_contract" => "该主播与此商品的品牌在此平台没有已签署或履约中的合同".into(),
        "non_positive_units" => "件数须大于 0".into(),
        "stock_exceeded" => match param(params, "stock_units") {
            Some(n) => format!("分配件数合计超过商品库存 {n} 件"),
            None => "分配件数合计超过商品库存".into(),
        },
        "session_capacity_exceeded" => match param(params, "capacity") {
            Some(n) => format!("场次的 {n} 个坑位已满"),
            None => "场次坑位已满".into(),
        },
        "duplicate_product_in_session" => "同一场次重复排入此商品".into(),
        "lowest_price_clause" => match yuan(params, "lowest_price_fen") {
            Some(low) => format!("合同有全网最低价条款：本次分配中另有更低的直播价 {low}"),
            None => "违反全网最低价条款".into(),
        },
        // Compliance rules set to block (`domain::compliance`).
        "banned_term" => match param(params, "term") {
            Some(term) => format!("含有广告法禁用的绝对化用语「{term}」"),
            None => "含有广告法禁用的绝对化用语".into(),
        },
        "floor_above_live" => match (
            yuan(params, "floor_price_fen"),
            yuan(params, "live_price_fen"),
        ) {
            (Some(floor), Some(live)) => format!("新控价 {floor} 高于已排场次的直播价 {live}"),
            _ => "新控价高于已排场次的直播价".into(),
        },
        "above_promised_lowest" => match (
            yuan(params, "live_price_fen"),
            yuan(params, "lowest_price_fen"),
        ) {
            (Some(live), Some(low)) => {
                format!("合同承诺全网最低价，但直播价 {live} 高于同期另一场的 {low}")
            }
            _ => "合同承诺全网最低价，但同期另一场的直播价更低".into(),
        },
        "undercuts_promised_lowest" => match (
            yuan(params, "live_price_fen"),
            yuan(params, "promised_price_fen"),
        ) {
            (Some(live), Some(promised)) => {
                format!("直播价 {live} 低于另一份合同承诺为全网最低价的 {promised}")
            }
            _ => "直播价低于另一份合同承诺的全网最低价".into(),
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
