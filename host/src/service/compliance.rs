//! `/api/v1/compliance`: the checks of design §6a on the writes that carry marketing text or
//! prices, their rules and modes, and the findings.
//!
//! Product copy (on create, and on update when it changes) and session outlines and lineups
//! (on create, and on update when they change, including lineups written by an applied
//! allocation) are checked inside the write's transaction, as is a product's floor price when
//! it rises above live prices in lineups of sessions not yet ended. A finding under a rule in
//! `block` mode rejects the write with 422 and its findings (the write changes nothing); in
//! `warn` mode the write goes through and the findings are stored. Findings are never deleted
//! by the application, so the records outlive the three years the design asks for.
//!
//! Lineups are also validated by the session rules (a live price under the floor price is
//! always refused there); the `floor_price` rule adds what those cannot see: a floor price
//! raised after the lineup was set.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::{Error, Result};
use super::sessions::LineupSlot;
use super::visibility;
use super::{Page, PageRequest};
use crate::domain::actor::{Actor, MANAGERS, STAFF};
use crate::domain::compliance::{self as rules, Finding, Mode, OtherSlot, PricedSlot};
use crate::domain::{FieldError, Role, Validator};
use crate::store::entities::{
    compliance_finding, compliance_rule, compliance_term, contract, product, session, session_slot,
};
use crate::store::{self, audit};

/// A lowest-price clause's contract period, `[starts_at, ends_at)`.
type Clause = (DateTime<Utc>, DateTime<Utc>);

/// The audit trail's id for the compliance configuration.
pub const CONFIG_ID: Uuid = Uuid::from_u128(0x636f6d706c69616e6365);

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Rule {
    /// `banned_term`, `floor_price` or `lowest_price`.
    pub rule: String,
    pub mode: Mode,
    pub description: String,
    pub updated_by: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// The rules with their modes, and the banned terms.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ComplianceConfig {
    pub rules: Vec<Rule>,
    pub banned_terms: Vec<String>,
}

/// Changes to the configuration: modes of the rules named, and/or the whole term list.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigChange {
    pub rules: Option<Vec<RuleMode>>,
    /// Each 1 to 50 characters, no blanks at either end, listed once.
    #[schema(
        value_type = Option<std::collections::BTreeSet<String>>,
        max_items = 1000,
        max_length = 50,
        pattern = r"^[^\s\u0000-\u001F](?:[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*[^\s\u0000-\u001F])?$"
    )]
    pub banned_terms: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleMode {
    #[schema(pattern = "^(banned_term|floor_price|lowest_price)$")]
    pub rule: String,
    pub mode: Mode,
}

/// A stored finding.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StoredFinding {
    pub id: Uuid,
    /// `product` or `session`.
    pub entity_type: String,
    pub entity_id: Uuid,
    pub rule: String,
    /// What exactly was found (see `domain::compliance::Finding::code`).
    pub code: String,
    /// The values the message names.
    #[schema(value_type = Object)]
    pub params: serde_json::Map<String, serde_json::Value>,
    /// The rule's mode when found (stored findings are from `warn`).
    pub mode: Mode,
    pub field: String,
    pub term: Option<String>,
    pub char_offset: Option<i64>,
    pub message: String,
    pub related_id: Option<Uuid>,
    /// For a lineup slot: the slot's contract.
    pub contract_id: Option<Uuid>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// Where its review stands: `open`, `acknowledged` (someone owns it) or `resolved`.
    pub status: Review,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// What was done about it.
    pub resolution_note: Option<String>,
}

/// A finding's review: open, acknowledged (someone owns it), resolved (with a note).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Review {
    Open,
    Acknowledged,
    Resolved,
}

impl Review {
    pub fn as_str(self) -> &'static str {
        match self {
            Review::Open => "open",
            Review::Acknowledged => "acknowledged",
            Review::Resolved => "resolved",
        }
    }

    fn parse(s: &str) -> Review {
        match s {
            "acknowledged" => Review::Acknowledged,
            "resolved" => Review::Resolved,
            _ => Review::Open,
        }
    }
}

/// A step of a finding's review.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewStep {
    /// What was done (required to resolve; at most 2,000 characters).
    #[serde(default)]
    #[schema(max_length = 2000, pattern = "\\S")]
    pub note: Option<String>,
}

/// Which findings to list.
#[derive(Debug, Default)]
pub struct FindingQuery {
    pub entity_id: Option<Uuid>,
    pub rule: Option<String>,
    pub status: Option<Review>,
}

/// Findings, oldest first (brand and KOL tokens: on their own products and sessions).
pub async fn findings(
    db: &DatabaseConnection,
    actor: &Actor,
    query: FindingQuery,
    page: PageRequest,
) -> Result<Page<StoredFinding>> {
    let mut q = compliance_finding::Entity::find();
    if let Some(e) = query.entity_id {
        q = q.filter(compliance_finding::Column::EntityId.eq(e));
    }
    if let Some(r) = &query.rule {
        if !rules::RULES.iter().any(|(name, _)| name == r) {
            return Err(Error::BadRequest(format!(
                "rule must be one of {}",
                rule_names()
            )));
        }
        q = q.filter(compliance_finding::Column::Rule.eq(r.as_str()));
    }
    if let Some(r) = query.status {
        q = q.filter(compliance_finding::Column::Status.eq(r.as_str()));
    }
    let view = visibility::findings_view(db, actor.scope()).await?;
    if let Some(view) = &view {
        q = q.filter(view.condition());
    }
    let page = page.fetch(db, q, compliance_finding::Column::Id).await?;
    let page = page.map(finding_view);

    Ok(match &view {
        Some(view) => page.map(|f| view.redact(f)),
        None => page,
    })
}

fn finding_view(m: compliance_finding::Model) -> StoredFinding {
    StoredFinding {
        id: m.id,
        entity_type: m.entity_type,
        entity_id: m.entity_id,
        code: m.code,
        params: m
            .params
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or_default(),
        rule: m.rule,
        mode: Mode::parse(&m.mode).unwrap_or(Mode::Warn),
        field: m.field,
        term: m.term,
        char_offset: m.char_offset,
        message: m.message,
        related_id: m.related_id,
        contract_id: m.contract_id,
        created_by: m.created_by,
        created_at: m.created_at,
        status: Review::parse(&m.status),
        acknowledged_by: m.acknowledged_by,
        acknowledged_at: m.acknowledged_at,
        resolved_by: m.resolved_by,
        resolved_at: m.resolved_at,
        resolution_note: m.resolution_note,
    }
}

/// Moves a finding on in its review (admins and managers): `acknowledged` from `open`;
/// `resolved`, with a note of what was done, from `open` or `acknowledged`. Audited; a finding
/// already past that step is a 409.
pub async fn review(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    to: Review,
    step: ReviewStep,
) -> Result<StoredFinding> {
    actor.require(MANAGERS)?;
    let note = step
        .note
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    let mut v = Validator::new();
    if to == Review::Resolved {
        match &note {
            None => v.error_code(
                "note",
                "required",
                "say what was done to resolve the finding",
            ),
            Some(n) => v.non_empty(n, "note", 2_000),
        }
    } else if let Some(n) = &note {
        v.non_empty(n, "note", 2_000);
    }
    v.finish()?;
    let txn = store::write_txn(db).await?;
    let row = compliance_finding::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(Error::NotFound("finding"))?;
    let before = finding_view(row.clone());
    let allowed = match to {
        Review::Acknowledged => before.status == Review::Open,
        Review::Resolved => before.status != Review::Resolved,
        Review::Open => false,
    };
    if !allowed {
        return Err(Error::conflict(
            "status_transition",
            format!(
                "the finding is {}: it cannot become {}",
                before.status.as_str(),
                to.as_str()
            ),
        )
        .with_param("from", before.status.as_str())
        .with_param("to", to.as_str()));
    }
    let now = Utc::now();
    let mut am: compliance_finding::ActiveModel = row.into();
    am.status = Set(to.as_str().into());
    match to {
        Review::Acknowledged => {
            am.acknowledged_by = Set(Some(actor.name.clone()));
            am.acknowledged_at = Set(Some(now));
        }
        _ => {
            am.resolved_by = Set(Some(actor.name.clone()));
            am.resolved_at = Set(Some(now));
            am.resolution_note = Set(note);
        }
    }
    let after = finding_view(am.update(&txn).await?);
    let action = match to {
        Review::Acknowledged => "finding.acknowledge",
        _ => "finding.resolve",
    };
    audit::changed(
        &txn,
        actor,
        action,
        ("compliance_finding", id),
        &before,
        &after,
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

impl visibility::Redact for StoredFinding {
    fn related_id(&self) -> Option<Uuid> {
        self.related_id
    }

    fn redact(&mut self) {
        self.message = match self.rule.as_str() {
            "lowest_price" => {
                "the live price conflicts with a lowest-price promise in a session of another party"
                    .into()
            }
            "floor_price" => {
                "the floor price conflicts with a live price in a session of another party".into()
            }
            _ => "the finding concerns a record of another party".into(),
        };
        self.code = "other_party".into();
        self.params = crate::domain::params([("rule", self.rule.as_str().into())]);
        self.related_id = None;
        // What was done about another party's record is theirs too.
        self.resolution_note = None;
    }
}

/// The rules with their modes, and the banned terms (staff).
pub async fn config(db: &DatabaseConnection, actor: &Actor) -> Result<ComplianceConfig> {
    actor.require(STAFF)?;
    load_config(db).await
}

/// Sets rules' modes (`block` or `warn`) and/or replaces the banned-term list (admin).
pub async fn configure(
    db: &DatabaseConnection,
    actor: &Actor,
    change: ConfigChange,
) -> Result<ComplianceConfig> {
    actor.require(&[Role::Admin])?;
    let mut v = Validator::new();
    for (i, r) in change.rules.iter().flatten().enumerate() {
        v.check_with(rules::RULES.iter().any(|(name, _)| *name == r.rule), || {
            let names: Vec<&str> = rules::RULES.iter().map(|(n, _)| *n).collect();
            FieldError::one_of(format!("rules[{i}].rule"), &names)
        });
    }
    if let Some(terms) = &change.banned_terms {
        v.max_items(terms.len(), "banned_terms", 1000);
        for (i, t) in terms.iter().enumerate() {
            v.check(
                rules::valid_term(t),
                format!("banned_terms[{i}]"),
                "bad_term",
                "must be 1 to 50 characters without leading or trailing blanks",
            );
            if terms[..i]
                .iter()
                .any(|u| u.to_lowercase() == t.to_lowercase())
            {
                v.error_code(format!("banned_terms[{i}]"), "duplicate", "is listed twice");
            }
        }
    }
    v.finish()?;
    let txn = store::write_txn(db).await?;
    let before = load_config(&txn).await?;
    let now = Utc::now();
    for r in change.rules.iter().flatten() {
        compliance_rule::ActiveModel {
            rule: Set(r.rule.clone()),
            mode: Set(r.mode.as_str().into()),
            updated_by: Set(Some(actor.name.clone())),
            updated_at: Set(Some(now)),
        }
        .update(&txn)
        .await?;
    }
    if let Some(terms) = &change.banned_terms {
        compliance_term::Entity::delete_many().exec(&txn).await?;
        for (i, t) in terms.iter().enumerate() {
            compliance_term::ActiveModel {
                term: Set(t.clone()),
                position: Set(i as i32),
            }
            .insert(&txn)
            .await?;
        }
    }
    let after = load_config(&txn).await?;
    audit::changed(
        &txn,
        actor,
        "compliance.rules.update",
        ("compliance_config", CONFIG_ID),
        &before,
        &after,
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

fn rule_names() -> String {
    rules::RULES
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

pub async fn load_config<C: ConnectionTrait>(db: &C) -> Result<ComplianceConfig> {
    let stored: HashMap<String, compliance_rule::Model> = compliance_rule::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.rule.clone(), r))
        .collect();
    let rules = rules::RULES
        .iter()
        .map(|(name, description)| {
            let row = stored.get(*name);
            Rule {
                rule: (*name).into(),
                mode: row.and_then(|r| Mode::parse(&r.mode)).unwrap_or(Mode::Warn),
                description: (*description).into(),
                updated_by: row.and_then(|r| r.updated_by.clone()),
                updated_at: row.and_then(|r| r.updated_at),
            }
        })
        .collect();
    let banned_terms = compliance_term::Entity::find()
        .order_by_asc(compliance_term::Column::Position)
        .all(db)
        .await?
        .into_iter()
        .map(|t| t.term)
        .collect();
    Ok(ComplianceConfig {
        rules,
        banned_terms,
    })
}

/// Applies the rules' modes to `findings` about an entity: any under a blocking rule rejects
/// the write (422 listing them all); otherwise they are stored, in the caller's transaction.
async fn settle_findings<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    config: &ComplianceConfig,
    entity_type: &str,
    entity_id: Uuid,
    findings: Vec<Finding>,
) -> Result<()> {
    if findings.is_empty() {
        return Ok(());
    }
    let mode_of = |rule: &str| {
        config
            .rules
            .iter()
            .find(|r| r.rule == rule)
            .map_or(Mode::Warn, |r| r.mode)
    };
    if findings.iter().any(|f| mode_of(&f.rule) == Mode::Block) {
        let errors = findings
            .iter()
            .map(|f| FieldError {
                field: f.field.clone(),
                code: f.code.clone(),
                message: format!("{}: {}", f.rule, f.message),
                params: f.params.clone(),
            })
            .collect();
        let listed: Vec<serde_json::Value> = findings
            .iter()
            .map(|f| {
                let mut v = serde_json::to_value(f).unwrap_or_default();
                v["mode"] = mode_of(&f.rule).as_str().into();
                v
            })
            .collect();
        let mut extensions = serde_json::Map::new();
        extensions.insert("code".into(), "compliance_blocked".into());
        extensions.insert("findings".into(), listed.into());
        return Err(Error::Rejected {
            detail: format!(
                "the {entity_type} breaks compliance rules set to block; nothing was written"
            ),
            errors,
            extensions,
        });
    }
    let now = Utc::now();
    for f in findings {
        compliance_finding::ActiveModel {
            id: Set(Uuid::now_v7()),
            entity_type: Set(entity_type.into()),
            entity_id: Set(entity_id),
            rule: Set(f.rule.clone()),
            code: Set(f.code),
            params: Set(Some(serde_json::Value::Object(f.params).to_string())),
            mode: Set(mode_of(&f.rule).as_str().into()),
            field: Set(f.field),
            term: Set(f.term),
            char_offset: Set(f.char_offset),
            message: Set(f.message),
            related_id: Set(f.related_id),
            contract_id: Set(f.contract_id),
            created_by: Set(actor.name.clone()),
            created_at: Set(now),
            status: Set(Review::Open.as_str().into()),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// The check of a product write: `copy` when it is new or changed, and `raised_floor` (the new
/// floor price) when the floor price went up.
pub async fn check_product<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    product_id: Uuid,
    copy: Option<&str>,
    raised_floor: Option<i64>,
) -> Result<()> {
    if copy.is_none_or(str::is_empty) && raised_floor.is_none() {
        return Ok(());
    }
    let config = load_config(db).await?;
    let mut findings = Vec::new();
    if let Some(text) = copy {
        findings.extend(rules::banned_terms("copy", text, &config.banned_terms));
    }
    if let Some(floor) = raised_floor {
        let slots = session_slot::Entity::find()
            .filter(session_slot::Column::ProductId.eq(product_id))
            .filter(session_slot::Column::LivePriceFen.lt(floor))
            .all(db)
            .await?;
        let open = open_sessions(db, slots.iter().map(|s| s.session_id)).await?;
        for s in slots {
            if let Some(sess) = open.get(&s.session_id) {
                findings.push(Finding {
                    rule: "floor_price".into(),
                    code: "floor_above_live".into(),
                    params: crate::domain::params([
                        ("floor_price_fen", floor.into()),
                        ("live_price_fen", s.live_price_fen.into()),
                        ("session_id", sess.id.to_string().into()),
                        ("starts_at", sess.starts_at.to_rfc3339().into()),
                    ]),
                    field: "floor_price_fen".into(),
                    term: None,
                    char_offset: None,
                    message: format!(
                        "the new floor price {} is above the live price {} in session {} (starting {})",
                        crate::domain::money::fen(floor),
                        crate::domain::money::fen(s.live_price_fen),
                        sess.id,
                        sess.starts_at.to_rfc3339()
                    ),
                    related_id: Some(sess.id),
                    contract_id: Some(s.contract_id),
                });
            }
        }
    }
    settle_findings(db, actor, &config, "product", product_id, findings).await
}

/// The check of a session write: `outline` when new or changed, `lineup` when new or changed.
pub async fn check_session<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    session_id: Uuid,
    starts_at: DateTime<Utc>,
    outline: Option<&str>,
    lineup: Option<&[LineupSlot]>,
) -> Result<()> {
    let lineup = lineup.filter(|l| !l.is_empty());
    if outline.is_none_or(str::is_empty) && lineup.is_none() {
        return Ok(());
    }
    let config = load_config(db).await?;
    let mut findings = Vec::new();
    if let Some(text) = outline {
        findings.extend(rules::banned_terms("outline", text, &config.banned_terms));
    }
    if let Some(slots) = lineup {
        findings.extend(lineup_findings(db, session_id, starts_at, slots).await?);
    }
    settle_findings(db, actor, &config, "session", session_id, findings).await
}

/// What the price rules find in `slots` as the lineup of session `session_id` (not stored here):
/// a session write stores them, an allocation preview shows them before anything is applied.
pub async fn lineup_findings<C: ConnectionTrait>(
    db: &C,
    session_id: Uuid,
    starts_at: DateTime<Utc>,
    slots: &[LineupSlot],
) -> Result<Vec<Finding>> {
    let product_ids: Vec<Uuid> = slots.iter().map(|s| s.product_id).collect();
    let floors: HashMap<Uuid, i64> = product::Entity::find()
        .filter(product::Column::Id.is_in(product_ids.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.floor_price_fen))
        .collect();
    let others = session_slot::Entity::find()
        .filter(session_slot::Column::ProductId.is_in(product_ids))
        .filter(session_slot::Column::SessionId.ne(session_id))
        .all(db)
        .await?;
    let sessions = open_or_done_sessions(db, others.iter().map(|s| s.session_id)).await?;
    let contract_ids: BTreeSet<Uuid> = slots
        .iter()
        .map(|s| s.contract_id)
        .chain(others.iter().map(|s| s.contract_id))
        .collect();
    let clauses: HashMap<Uuid, Option<Clause>> = contract::Entity::find()
        .filter(contract::Column::Id.is_in(contract_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|c| {
            let clause = c.lowest_price_clause.then_some((c.starts_at, c.ends_at));
            (c.id, clause)
        })
        .collect();
    let mine: Vec<PricedSlot> = slots
        .iter()
        .enumerate()
        .map(|(i, s)| PricedSlot {
            index: i,
            product_id: s.product_id,
            live_price_fen: s.live_price_fen,
            floor_price_fen: floors.get(&s.product_id).copied().unwrap_or(0),
            clause: clauses.get(&s.contract_id).copied().flatten(),
            contract_id: s.contract_id,
        })
        .collect();
    let theirs: Vec<OtherSlot> = others
        .iter()
        .filter_map(|o| {
            let sess = sessions.get(&o.session_id)?;
            Some(OtherSlot {
                session_id: o.session_id,
                session_starts_at: sess.starts_at,
                product_id: o.product_id,
                live_price_fen: o.live_price_fen,
                contract_id: o.contract_id,
                clause: clauses.get(&o.contract_id).copied().flatten(),
            })
        })
        .collect();
    Ok(rules::prices(starts_at, &mine, &theirs))
}

/// Sessions among `ids` that are scheduled or live (their lineups can still change).
async fn open_sessions<C: ConnectionTrait>(
    db: &C,
    ids: impl Iterator<Item = Uuid>,
) -> Result<HashMap<Uuid, session::Model>> {
    sessions_in(db, ids, &["scheduled", "live"]).await
}

/// Sessions among `ids` that are not cancelled (their prices were or will be offered).
async fn open_or_done_sessions<C: ConnectionTrait>(
    db: &C,
    ids: impl Iterator<Item = Uuid>,
) -> Result<HashMap<Uuid, session::Model>> {
    sessions_in(db, ids, &["scheduled", "live", "ended"]).await
}

async fn sessions_in<C: ConnectionTrait>(
    db: &C,
    ids: impl Iterator<Item = Uuid>,
    statuses: &[&str],
) -> Result<HashMap<Uuid, session::Model>> {
    let ids: BTreeSet<Uuid> = ids.collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(session::Entity::find()
        .filter(session::Column::Id.is_in(ids))
        .filter(session::Column::Status.is_in(statuses.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect())
}
