//! The typed error of a strategy run.

use std::time::Duration;

/// Why a script run failed. `line` is the line in the script's source where it is known.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScriptError {
    #[error("{script}:{}: syntax error: {message}", fmt_line(*.line))]
    Syntax {
        script: String,
        line: Option<u32>,
        message: String,
    },
    #[error("{script}:{}: {message}", fmt_line(*.line))]
    Runtime {
        script: String,
        line: Option<u32>,
        message: String,
        traceback: String,
    },
    #[error("{script}:{}: instruction budget of {limit} exceeded", fmt_line(*.line))]
    InstructionBudget {
        script: String,
        line: Option<u32>,
        limit: u64,
    },
    #[error("{script}:{}: wall-clock deadline of {} ms exceeded", fmt_line(*.line), .limit.as_millis())]
    Deadline {
        script: String,
        line: Option<u32>,
        limit: Duration,
    },
    #[error("{script}: memory limit of {limit} bytes exceeded")]
    Memory { script: String, limit: usize },
    #[error("{script}: the script does not define a global function `allocate(ctx)`")]
    MissingAllocate { script: String },
    #[error("{script}: invalid result: {path}: {message}")]
    InvalidResult {
        script: String,
        path: String,
        message: String,
    },
    #[error("invalid context: {0}")]
    InvalidContext(String),
    #[error("internal scripting error: {0}")]
    Internal(String),
}

fn fmt_line(line: Option<u32>) -> String {
    line.map_or_else(|| "?".to_string(), |l| l.to_string())
}

impl ScriptError {
    /// Stable snake_case code, for problem+json bodies and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Syntax { .. } => "script_syntax_error",
            Self::Runtime { .. } => "script_runtime_error",
            Self::InstructionBudget { .. } => "script_instruction_budget_exceeded",
            Self::Deadline { .. } => "script_deadline_exceeded",
            Self::Memory { .. } => "script_memory_limit_exceeded",
            Self::MissingAllocate { .. } => "script_missing_allocate",
            Self::InvalidResult { .. } => "script_invalid_result",
            Self::InvalidContext(_) => "invalid_context",
            Self::Internal(_) => "internal",
        }
    }

    /// The script line the error points at, if known.
    pub fn line(&self) -> Option<u32> {
        match self {
            Self::Syntax { line, .. }
            | Self::Runtime { line, .. }
            | Self::InstructionBudget { line, .. }
            | Self::Deadline { line, .. } => *line,
            _ => None,
        }
    }

    /// Whether the fault is the script's (HTTP 422) rather than the host's (500).
    pub fn is_script_fault(&self) -> bool {
        !matches!(self, Self::Internal(_))
    }
}
