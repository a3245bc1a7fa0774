//! Field-level validation that collects every problem of an input at once, so a client
//! sees all of them in one RFC 9457 response instead of fixing them one round-trip at a time.

use serde::Serialize;
use utoipa::ToSchema;

/// One broken rule, named by the JSON path of the field that breaks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Collects [`FieldError`]s; `finish` turns them into a result.
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn error(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// Records `message` against `field` unless `ok` holds.
    pub fn check(&mut self, ok: bool, field: impl Into<String>, message: impl Into<String>) {
        if !ok {
            self.error(field, message);
        }
    }

    pub fn non_empty(&mut self, value: &str, field: &str, max_chars: usize) {
        let len = value.trim().chars().count();
        if len == 0 {
            self.error(field, "must not be empty");
        } else if value.chars().count() > max_chars {
            self.error(field, format!("must be at most {max_chars} characters"));
        }
    }

    pub fn fen(&mut self, value: i64, field: &str) {
        // 10^13 fen is 100 billion yuan: far above any real price, far below i64 overflow when summed.
        self.check(
            (0..=MAX_FEN).contains(&value),
            field,
            format!("must be an amount in fen between 0 and {MAX_FEN}"),
        );
    }

    pub fn basis_points(&mut self, value: i64, field: &str) {
        self.check(
            (0..=10_000).contains(&value),
            field,
            "must be in basis points between 0 and 10000 (100%)",
        );
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }
}

/// Largest money amount accepted anywhere, in fen.
pub const MAX_FEN: i64 = 10_000_000_000_000;
