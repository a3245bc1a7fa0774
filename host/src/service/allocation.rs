//! Allocation (design §6): run a strategy (a stored Lua script or a WASM allocator plugin) on the
//! agency's data, validate every assignment, and with `apply` and no violations append the
//! assignments to the sessions' lineups in one transaction.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::{Error, Result};
use super::roster::{kols::with_accounts, products::with_listings};
use super::sessions::{LineupSlot, Session, check_lineup, replace_lineup, with_lineups};
use super::{compliance, scripts};
use crate::domain::actor::{Actor, MANAGERS, SCRIPTERS, Scope};
use crate::domain::allocation::{self, AllocationContext, AllocationResult, Assignment, Violation};
use crate::domain::{ContractStatus, FieldError, SessionStatus};
use crate::plugins::{self as wit, Registry, World};
use crate::scripting::{Preview, ScriptLimits};
use crate::store::entities::{contract, kol, product, session};
use crate::store::{self, audit};

/// Which strategy computes the allocation.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Strategy {
    /// A stored Lua script, by name (its newest version).
    Script(String),
    /// A WASM plugin of world `allocator`, by name.
    Plugin(String),
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllocationRequest {
    pub strategy: Strategy,
    /// Strategy parameters, handed to the script as `ctx.params`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
    /// Write the lineups (only when there are no violations).
    #[serde(default)]
    pub apply: bool,
    /// An explicit `ctx` for a dry run, instead of the database's (never applied).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub ctx: Option<serde_json::Value>,
    #[serde(default)]
    pub limits: Option<RunLimits>,
}

/// Tighter limits for one run. The server's defaults are the ceiling: a run may ask for less.
#[derive(Debug, Default, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunLimits {
    /// At most `ScriptLimits::MAX_INSTRUCTIONS`.
    #[schema(minimum = 1, maximum = 1000000000)]
    pub instructions: Option<u64>,
    /// At most the server's wall-clock limit (10 s).
    #[schema(minimum = 1, maximum = 10000)]
    pub wall_clock_ms: Option<u64>,
    /// At most the server's memory limit (64 MiB).
    #[schema(minimum = 1, maximum = 67108864)]
    pub memory_bytes: Option<usize>,
}

impl RunLimits {
    /// The limits of one run: those asked for, each at most the server's default.
    pub fn resolve(self) -> Result<ScriptLimits> {
        let max = ScriptLimits::default();
        let mut limits = max.clone();
        let mut errors = Vec::new();
        let mut take =
            |field: &str, asked: Option<u64>, ceiling: u64, set: &mut dyn FnMut(u64)| match asked {
                Some(n) if n == 0 || n > ceiling => errors.push(FieldError::new(
                    format!("limits.{field}"),
                    "out_of_range",
                    format!("must be between 1 and {ceiling}"),
                )),
                Some(n) => set(n),
                None => {}
            };
        take(
            "instructions",
            self.instructions,
            ScriptLimits::MAX_INSTRUCTIONS,
            &mut |n| limits.instructions = Some(n),
        );
        take(
            "wall_clock_ms",
            self.wall_clock_ms,
            max.wall_clock.as_millis() as u64,
            &mut |n| limits.wall_clock = Duration::from_millis(n),
        );
        take(
            "memory_bytes",
            self.memory_bytes.map(|m| m as u64),
            max.memory_bytes as u64,
            &mut |n| limits.memory_bytes = n as usize,
        );
        if errors.is_empty() {
            Ok(limits)
        } else {
            Err(Error::Validation(errors))
        }
    }
}

/// What a strategy proposed, what breaks the rules, and whether it was written.
#[derive(Debug, Serialize, ToSchema)]
pub struct AllocationOutcome {
    #[schema(value_type = Vec<Object>)]
    pub assignments: Vec<Assignment>,
    #[schema(value_type = Vec<Object>)]
    pub violations: Vec<Violation>,
    pub notes: Vec<String>,
    /// Lines the script logged with `kolhost.log`.
    pub logs: Vec<String>,
    #[schema(value_type = Object)]
    pub stats: serde_json::Value,
    /// The script version that ran.
    pub script_version: Option<i32>,
    pub applied: bool,
    /// What compliance would find in the sessions' lineups once these assignments join them
    /// (floor price, lowest-price promises both ways), so a preview shows it before applying.
    /// Computed on the agency's data (not for an explicit ctx), for up to
    /// [`MAX_FINDING_SESSIONS`] sessions; `findings_truncated` says when there were more.
    pub findings: Vec<SessionFinding>,
    pub findings_truncated: bool,
}

/// A compliance finding in the lineup of one session.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionFinding {
    pub session_id: Uuid,
    #[serde(flatten)]
    pub finding: crate::domain::compliance::Finding,
}

/// The most sessions whose findings a preview computes (each costs a few queries).
pub const MAX_FINDING_SESSIONS: usize = 500;

impl AllocationOutcome {
    pub fn from_preview(p: Preview, script_version: Option<i32>, applied: bool) -> Self {
        AllocationOutcome {
            assignments: p.result.assignments,
            violations: p.result.violations,
            notes: p.result.notes,
            logs: p.logs,
            stats: serde_json::to_value(&p.stats).unwrap_or_default(),
            script_version,
            applied,
            findings: Vec::new(),
            findings_truncated: false,
        }
    }
}

/// Computes an allocation with a strategy and previews it (scripters), or applies it to the
/// sessions' lineups (managers).
pub async fn allocate(
    db: &DatabaseConnection,
    plugins: &Registry,
    actor: &Actor,
    req: AllocationRequest,
) -> Result<AllocationOutcome> {
    actor.require(if req.apply { MANAGERS } else { SCRIPTERS })?;
    if req.apply && req.ctx.is_some() {
        return Err(FieldError::new(
            "ctx",
            "ctx_on_apply",
            "an explicit ctx is for dry runs; apply runs on the agency's data",
        )
        .into());
    }
    let limits = req.limits.unwrap_or_default().resolve()?;
    let on_agency_data = req.ctx.is_none();
    let ctx = Arc::new(build_context(db, req.ctx.into(), req.params).await?);
    let (preview, version) = match &req.strategy {
        Strategy::Script(name) => {
            // Allocations run the published version; a saved draft changes nothing here.
            let script = match store::scripts::published(db, name).await? {
                Some(s) => s,
                None if store::scripts::latest(db, name).await?.is_some() => {
                    return Err(Error::rule(
                        "script_unpublished",
                        Some("strategy.script"),
                        format!("script {name:?} has no published version; publish one first"),
                    ));
                }
                None => {
                    return Err(FieldError::unknown("strategy.script", "script").into());
                }
            };
            let version = script.version;
            let preview = scripts::run(script.source, name, ctx.clone(), limits).await?;
            (preview, Some(version))
        }
        Strategy::Plugin(name) => (run_plugin(plugins, name, &ctx).await?, None),
    };
    let mut outcome = AllocationOutcome::from_preview(preview, version, false);
    if !req.apply {
        if on_agency_data && outcome.violations.is_empty() {
            (outcome.findings, outcome.findings_truncated) =
                preview_findings(db, &ctx, &outcome.assignments).await?;
        }
        return Ok(outcome);
    }
    if !outcome.violations.is_empty() {
        return Err(rejected(&outcome));
    }
    apply(db, actor, &ctx, &outcome.assignments, &req.strategy).await?;
    outcome.applied = true;
    Ok(outcome)
}

/// Runs the named allocator plugin and validates what it proposes.
async fn run_plugin(plugins: &Registry, name: &str, ctx: &AllocationContext) -> Result<Preview> {
    if plugins
        .status(name)
        .is_none_or(|st| st.world != World::Allocator)
    {
        return Err(FieldError::unknown("strategy.plugin", "allocator plugin").into());
    }
    let out = plugins
        .allocate(name, &plugin_input(ctx))
        .await
        .map_err(|e| {
            let mut extensions = serde_json::Map::new();
            extensions.insert("code".into(), e.kind().into());
            Error::Rejected {
                detail: format!("plugin {name}: {e}"),
                errors: Vec::new(),
                extensions,
            }
        })?;
    let assignments: Vec<Assignment> = out
        .assignments
        .into_iter()
        .map(|a| Assignment {
            product_id: a.product_id,
            kol_id: a.kol_id,
            session_id: a.session_id.unwrap_or_default(),
            units: a.units,
            live_price_fen: a.live_price_fen,
            reason: a.reason,
        })
        .collect();
    let violations = allocation::validate(ctx, &assignments);
    Ok(Preview {
        result: AllocationResult {
            assignments,
            violations,
            notes: out.notes,
        },
        logs: Vec::new(),
        stats: Default::default(),
    })
}

/// The refusal of an allocation with violations, carrying them and the strategy's notes.
fn rejected(outcome: &AllocationOutcome) -> Error {
    let errors = outcome
        .violations
        .iter()
        .map(|v| FieldError {
            field: v.field.clone(),
            code: v.code.as_str().into(),
            message: v.message.clone(),
            params: v.params.clone(),
        })
        .collect();
    let mut extensions = serde_json::Map::new();
    extensions.insert(
        "violations".into(),
        serde_json::to_value(&outcome.violations).unwrap_or_default(),
    );
    extensions.insert("notes".into(), outcome.notes.clone().into());
    extensions.insert("code".into(), "allocation_rejected".into());
    extensions.insert(
        "params".into(),
        serde_json::json!({ "violations": outcome.violations.len() }),
    );
    Error::Rejected {
        detail: format!(
            "the allocation has {} violation(s); nothing was applied",
            outcome.violations.len()
        ),
        errors,
        extensions,
    }
}

/// Appends each session's assignments to its lineup, all sessions in one transaction. Every
/// lineup is checked again inside the transaction, so data changed since the run is caught.
async fn apply(
    db: &DatabaseConnection,
    actor: &Actor,
    ctx: &AllocationContext,
    assignments: &[Assignment],
    strategy: &Strategy,
) -> Result<()> {
    let action = match strategy {
        Strategy::Script(n) => format!("session.allocate.script.{n}"),
        Strategy::Plugin(n) => format!("session.allocate.plugin.{n}"),
    };
    let stale = || {
        Error::conflict(
            "allocation_stale",
            "the agency's data changed since the allocation ran; run it again",
        )
    };
    let txn = store::write_txn(db).await?;
    for (session_id, list) in by_session(assignments) {
        let id: Uuid = session_id.parse().map_err(|_| stale())?;
        let row = session::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or_else(stale)?;
        let before = with_lineups(&txn, vec![row], Scope::All).await?.remove(0);
        let lineup = joined_lineup(ctx, &before, &list).ok_or_else(stale)?;
        check_lineup(&txn, &before.facts(), &lineup).await?;
        replace_lineup(&txn, id, &lineup).await?;
        compliance::check_session(
            &txn,
            actor,
            id,
            before.starts_at,
            None,
            Some(lineup.as_slice()),
        )
        .await?;
        let mut after = before.clone();
        after.lineup = lineup;
        after.updated_at = Utc::now();
        audit::changed(&txn, actor, &action, ("session", id), &before, &after).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Assignments grouped by their session, in the order they come.
fn by_session(assignments: &[Assignment]) -> Vec<(&str, Vec<&Assignment>)> {
    let mut groups: Vec<(&str, Vec<&Assignment>)> = Vec::new();
    for a in assignments {
        match groups.iter_mut().find(|(id, _)| *id == a.session_id) {
            Some((_, list)) => list.push(a),
            None => groups.push((a.session_id.as_str(), vec![a])),
        }
    }
    groups
}

/// `session`'s lineup with `list` appended after its last slot, each under the contract in force
/// between the product's brand and the KOL on the session's platform (the lowest id when several
/// are); `None` when an assignment names what the data no longer has.
fn joined_lineup(
    ctx: &AllocationContext,
    session: &Session,
    list: &[&Assignment],
) -> Option<Vec<LineupSlot>> {
    let mut lineup = session.lineup.clone();
    let mut position = lineup.iter().map(|s| s.position).max().unwrap_or(0);
    for a in list {
        let brand = &ctx.products.iter().find(|p| p.id == a.product_id)?.brand_id;
        let contract = ctx
            .contracts
            .iter()
            .filter(|c| {
                c.brand_id == *brand
                    && c.kol_id == a.kol_id
                    && c.platform == session.platform.as_str()
                    && c.status.in_force()
                    && c.covers(session.starts_at, session.ends_at)
            })
            .min_by(|x, y| x.id.cmp(&y.id))?;
        position += 1;
        lineup.push(LineupSlot {
            product_id: a.product_id.parse().ok()?,
            contract_id: contract.id.parse().ok()?,
            position,
            live_price_fen: a.live_price_fen,
            units: a.units,
        });
    }
    Some(lineup)
}

/// The findings compliance would raise in each touched session's lineup once the assignments
/// join it, for up to [`MAX_FINDING_SESSIONS`] sessions (and whether there were more).
async fn preview_findings(
    db: &DatabaseConnection,
    ctx: &AllocationContext,
    assignments: &[Assignment],
) -> Result<(Vec<SessionFinding>, bool)> {
    let groups = by_session(assignments);
    let truncated = groups.len() > MAX_FINDING_SESSIONS;
    let groups: Vec<(Uuid, Vec<&Assignment>)> = groups
        .into_iter()
        .take(MAX_FINDING_SESSIONS)
        .filter_map(|(id, list)| Some((id.parse().ok()?, list)))
        .collect();
    // The touched sessions and their lineups in two queries, not two per session.
    let rows = session::Entity::find()
        .filter(session::Column::Id.is_in(groups.iter().map(|(id, _)| *id)))
        .all(db)
        .await?;
    let sessions: HashMap<Uuid, Session> = with_lineups(db, rows, Scope::All)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let mut out = Vec::new();
    for (id, list) in groups {
        let Some(session) = sessions.get(&id) else {
            continue;
        };
        let Some(lineup) = joined_lineup(ctx, session, &list) else {
            continue;
        };
        let found = compliance::lineup_findings(db, id, session.starts_at, &lineup).await?;
        out.extend(found.into_iter().map(|finding| SessionFinding {
            session_id: id,
            finding,
        }));
    }
    Ok((out, truncated))
}

/// The `ctx` as a WASM allocator receives it (WIT `allocator-types`).
fn plugin_input(ctx: &AllocationContext) -> wit::AllocateInput {
    use crate::domain::{ProductRole as R, Tier as T};
    wit::AllocateInput {
        products: ctx
            .products
            .iter()
            .map(|p| wit::Product {
                id: p.id.clone(),
                brand_id: p.brand_id.clone(),
                sku: p.sku.clone(),
                name: p.name.clone(),
                category: p.category.clone(),
                role: match p.role {
                    R::Launch => wit::ProductRole::Launch,
                    R::Traffic => wit::ProductRole::Traffic,
                    R::Profit => wit::ProductRole::Profit,
                },
                list_price_fen: p.list_price_fen,
                floor_price_fen: p.floor_price_fen,
                stock_units: p.stock_units,
            })
            .collect(),
        kols: ctx
            .kols
            .iter()
            .map(|k| wit::Kol {
                id: k.id.clone(),
                name: k.name.clone(),
                tier: match k.tier {
                    T::Head => wit::Tier::Head,
                    T::Waist => wit::Tier::Waist,
                    T::Tail => wit::Tier::Tail,
                },
                categories: k.categories.clone(),
                accounts: k
                    .accounts
                    .iter()
                    .map(|a| wit::Account {
                        platform: a.platform.clone(),
                        account_id: a.account_id.clone(),
                        followers: a.followers.max(0) as u64,
                    })
                    .collect(),
            })
            .collect(),
        contracts: ctx
            .contracts
            .iter()
            .map(|c| wit::Contract {
                id: c.id.clone(),
                brand_id: c.brand_id.clone(),
                kol_id: c.kol_id.clone(),
                platform: c.platform.clone(),
                status: c.status.as_str().to_owned(),
                slot_fee_fen: c.slot_fee_fen,
                commission_bp: c.commission_bp.clamp(0, 10_000) as u32,
                lowest_price_clause: c.lowest_price_clause,
                exclusive: c.exclusive,
                sessions_committed: 0,
            })
            .collect(),
        sessions: ctx
            .sessions
            .iter()
            .map(|s| wit::Session {
                id: s.id.clone(),
                kol_id: s.kol_id.clone(),
                platform: s.platform.clone(),
                room_id: String::new(),
                title: String::new(),
                starts_at: s.starts_at.to_rfc3339(),
                ends_at: s.ends_at.to_rfc3339(),
                status: s.status.clone(),
            })
            .collect(),
        params_json: ctx.params.to_string(),
    }
}

/// Where a run's `ctx` comes from.
pub enum ContextSource {
    /// The agency's products, KOLs, contracts in force, and upcoming scheduled sessions.
    Database,
    /// A `ctx` given in the request (dry runs).
    Explicit(serde_json::Value),
}

impl From<Option<serde_json::Value>> for ContextSource {
    /// A request's optional `ctx`: the database's when none is given.
    fn from(ctx: Option<serde_json::Value>) -> Self {
        ctx.map_or(ContextSource::Database, ContextSource::Explicit)
    }
}

/// Builds the `ctx` a strategy sees (design §6), in the API's field names.
pub async fn build_context(
    db: &DatabaseConnection,
    source: ContextSource,
    params: serde_json::Value,
) -> Result<AllocationContext> {
    let params = match params {
        serde_json::Value::Null => serde_json::json!({}),
        v @ serde_json::Value::Object(_) => v,
        _ => {
            return Err(FieldError::new("params", "not_object", "must be an object").into());
        }
    };
    let mut ctx = match source {
        ContextSource::Explicit(value) => {
            serde_path_to_error::deserialize::<_, AllocationContext>(value).map_err(|e| {
                FieldError::from_serde(format!("ctx.{}", e.path()), &e.inner().to_string())
            })?
        }
        ContextSource::Database => from_database(db).await?,
    };
    ctx.params = params;
    Ok(ctx)
}

async fn from_database(db: &DatabaseConnection) -> Result<AllocationContext> {
    let products = with_listings(db, product::Entity::find().all(db).await?).await?;
    let kols = with_accounts(db, kol::Entity::find().all(db).await?).await?;
    let contracts = contract::Entity::find()
        .filter(contract::Column::Status.is_in([
            ContractStatus::Signed.as_str(),
            ContractStatus::Active.as_str(),
        ]))
        .all(db)
        .await?;
    let sessions = session::Entity::find()
        .filter(session::Column::Status.eq(SessionStatus::Scheduled.as_str()))
        .filter(session::Column::StartsAt.gte(Utc::now()))
        .all(db)
        .await?;
    let sessions = with_lineups(db, sessions, Scope::All).await?;
    let contracts: Vec<super::contracts::Contract> =
        contracts.into_iter().map(Into::into).collect();
    // The API views serialise to exactly the names the strategies read.
    let value = serde_json::json!({
        "products": products,
        "kols": kols,
        "contracts": contracts,
        "sessions": sessions,
    });
    serde_json::from_value(value).map_err(|e| Error::Internal(anyhow::anyhow!("building ctx: {e}")))
}
