//! Testing a strategy on a fixture from the command line (`kolhost script test FILE --fixture
//! FILE`): run, validate, and print what happened.

use std::collections::HashMap;
use std::fmt;

use crate::domain::allocation::AllocationContext;

use super::error::ScriptError;
use super::limits::ScriptLimits;
use super::runtime::{Preview, preview};

/// The outcome of [`test_script`]; `Display` prints it for a terminal.
#[derive(Debug, Clone)]
pub struct Report {
    pub script: String,
    pub ctx: AllocationContext,
    pub preview: Preview,
}

impl Report {
    /// No violations: the allocation could be applied.
    pub fn passed(&self) -> bool {
        self.preview.result.violations.is_empty()
    }
}

/// Parses `fixture_json` (an allocation ctx: `products`, `kols`, `contracts`, `sessions`,
/// `params`), runs `allocate(ctx)` of `source` under `limits` and validates the result. A script
/// that fails is an `Err`; a script that runs but breaks rules is an `Ok` report with violations.
pub fn test_script(
    source: &str,
    name: &str,
    fixture_json: &str,
    limits: &ScriptLimits,
) -> Result<Report, ScriptError> {
    let de = &mut serde_json::Deserializer::from_str(fixture_json);
    let ctx: AllocationContext = serde_path_to_error::deserialize(de).map_err(|e| {
        ScriptError::InvalidContext(format!("fixture: {}: {}", e.path(), e.inner()))
    })?;
    let preview = preview(source, name, &ctx, limits)?;
    Ok(Report {
        script: name.to_string(),
        ctx,
        preview,
    })
}

fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let a = fen.unsigned_abs();
    format!("{sign}¥{}.{:02}", a / 100, a % 100)
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.preview.result;
        let s = &self.preview.stats;
        let products: HashMap<&str, _> = self
            .ctx
            .products
            .iter()
            .map(|p| (p.id.as_str(), p))
            .collect();
        let kols: HashMap<&str, _> = self.ctx.kols.iter().map(|k| (k.id.as_str(), k)).collect();
        writeln!(
            f,
            "{}: {} assignments, {} violations, {} notes ({:.1} ms{}, {:.1} MiB Lua memory)",
            self.script,
            r.assignments.len(),
            r.violations.len(),
            r.notes.len(),
            s.elapsed.as_secs_f64() * 1000.0,
            s.instructions
                .map(|n| format!(", ~{n} instructions"))
                .unwrap_or_default(),
            s.memory_bytes as f64 / (1024.0 * 1024.0)
        )?;
        if !r.notes.is_empty() {
            writeln!(f, "\nnotes:")?;
            for n in &r.notes {
                writeln!(f, "  - {n}")?;
            }
        }
        if !self.preview.logs.is_empty() {
            writeln!(f, "\nlog:")?;
            for l in &self.preview.logs {
                writeln!(f, "  {l}")?;
            }
        }
        if !r.assignments.is_empty() {
            writeln!(f, "\nassignments:")?;
            writeln!(
                f,
                "  {:>4}  {:<16} {:<8} {:<22} {:<6} {:<38} {:>7} {:>11}",
                "#", "sku", "role", "kol", "tier", "session", "units", "live price"
            )?;
            for (i, a) in r.assignments.iter().enumerate() {
                let p = products.get(a.product_id.as_str());
                let k = kols.get(a.kol_id.as_str());
                writeln!(
                    f,
                    "  {:>4}  {:<16} {:<8} {:<22} {:<6} {:<38} {:>7} {:>11}",
                    i,
                    p.map_or(a.product_id.as_str(), |p| p.sku.as_str()),
                    p.map_or("?", |p| p.role.as_str()),
                    k.map_or(a.kol_id.as_str(), |k| k.name.as_str()),
                    k.map_or("?", |k| k.tier.as_str()),
                    a.session_id,
                    a.units,
                    yuan(a.live_price_fen)
                )?;
            }
        }
        if r.violations.is_empty() {
            writeln!(f, "\nvalidation: passed, no violations")?;
        } else {
            writeln!(f, "\nviolations:")?;
            for v in &r.violations {
                writeln!(f, "  - {} [{}]: {}", v.field, v.code.as_str(), v.message)?;
            }
            writeln!(f, "\nvalidation: FAILED, {} violations", r.violations.len())?;
        }
        Ok(())
    }
}
