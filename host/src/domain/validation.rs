//! Field-level validation that collects every problem of an input at once, so a client
//! sees all of them in one RFC 9457 response instead of fixing them one round-trip at a time.

use serde::Serialize;
use utoipa::ToSchema;

/// One broken rule, named by the JSON path of the field that breaks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    /// A stable name of the rule: `required`, `too_long`, `out_of_range`,
    /// `control_characters`, `invalid`, or a rule's own code (`price_below_floor`, ...).
    pub code: String,
    /// The message in English; a client shows its own text for `code` and `params`, and the
    /// server translates it for `Accept-Language` where it knows the code.
    pub message: String,
    /// The values the message names (`max` of `too_long`, `min` and `max` of `out_of_range`).
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    #[schema(value_type = Object)]
    pub params: serde_json::Map<String, serde_json::Value>,
}

impl FieldError {
    pub fn new(
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        FieldError {
            field: field.into(),
            code: code.into(),
            message: message.into(),
            params: serde_json::Map::new(),
        }
    }

    /// A reference to a record that does not exist (`unknown`, naming its kind as `what`:
    /// `product`, `contract`, `brand`, `KOL`, ...).
    pub fn unknown(field: impl Into<String>, what: &'static str) -> Self {
        FieldError::new(field, "unknown", format!("no such {what}")).with_param("what", what)
    }

    /// A value that is not one of `allowed` (`not_one_of`, naming them).
    pub fn one_of(field: impl Into<String>, allowed: &[&str]) -> Self {
        let list = allowed.join(", ");
        FieldError::new(field, "not_one_of", format!("must be one of {list}"))
            .with_param("allowed", list)
    }

    /// Text that is not in the expected form (`bad_format`, with an `example`).
    pub fn format(field: impl Into<String>, expected: &str, example: &str) -> Self {
        FieldError::new(
            field,
            "bad_format",
            format!("must be {expected}, e.g. {example}"),
        )
        .with_param("example", example)
    }

    /// A value that must come after the one of `other` (`not_after`).
    pub fn not_after(field: impl Into<String>, other: &str) -> Self {
        FieldError::new(field, "not_after", format!("must be after {other}"))
            .with_param("other", other)
    }

    /// A JSON value of the wrong shape, from serde's message: `required` (a missing field),
    /// `unknown_field`, `not_one_of` (`allowed`), `wrong_type` (`expected`), else `bad_format`.
    /// serde's wording is the one source of these facts; the English message is kept.
    pub fn from_serde(field: impl Into<String>, message: &str) -> Self {
        let quoted = |s: &str| -> Vec<String> {
            s.split('`').skip(1).step_by(2).map(str::to_owned).collect()
        };
        let field = field.into();
        let (code, params): (&str, Vec<(&str, String)>) = if message.starts_with("missing field") {
            ("required", vec![])
        } else if let Some(rest) = message.strip_prefix("unknown field") {
            let names = quoted(rest);
            (
                "unknown_field",
                vec![("allowed", names[1.min(names.len())..].join(", "))],
            )
        } else if let Some(rest) = message.strip_prefix("unknown variant") {
            let names = quoted(rest);
            (
                "not_one_of",
                vec![("allowed", names[1.min(names.len())..].join(", "))],
            )
        } else if let Some((_, expected)) = message
            .strip_prefix("invalid type:")
            .and_then(|rest| rest.rsplit_once(", expected "))
        {
            ("wrong_type", vec![("expected", expected.to_owned())])
        } else {
            ("bad_format", vec![])
        };
        params
            .into_iter()
            .fold(FieldError::new(field, code, message), |e, (name, value)| {
                e.with_param(name, value)
            })
    }

    /// The same error naming `value` as `name` in its `params`.
    pub fn with_param(mut self, name: &str, value: impl Into<serde_json::Value>) -> Self {
        self.params.insert(name.to_owned(), value.into());
        self
    }
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

    /// Records a broken rule with its own stable `code`.
    pub fn error_code(
        &mut self,
        field: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) {
        self.errors.push(FieldError::new(field, code, message));
    }

    /// Records an error built elsewhere (one with `params`).
    pub fn push(&mut self, error: FieldError) {
        self.errors.push(error);
    }

    /// Records `message` under `code` against `field` unless `ok` holds.
    pub fn check(
        &mut self,
        ok: bool,
        field: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) {
        if !ok {
            self.error_code(field, code, message);
        }
    }

    /// Records the error `make` builds unless `ok` holds (for an error that names values).
    pub fn check_with(&mut self, ok: bool, make: impl FnOnce() -> FieldError) {
        if !ok {
            self.errors.push(make());
        }
    }

    /// `value` within `min..=max` (`out_of_range`, naming both).
    pub fn in_range(&mut self, value: i64, field: impl Into<String>, min: i64, max: i64) {
        if !(min..=max).contains(&value) {
            self.errors.push(
                FieldError::new(
                    field,
                    "out_of_range",
                    format!("must be between {min} and {max}"),
                )
                .with_param("min", min)
                .with_param("max", max),
            );
        }
    }

    /// A count or amount above zero (`not_positive`).
    pub fn positive(&mut self, value: i64, field: impl Into<String>) {
        self.check(value > 0, field, "not_positive", "must be positive");
    }

    /// Text of at most `max` characters (`too_long`); empty is allowed.
    pub fn max_chars(&mut self, value: &str, field: impl Into<String>, max: usize) {
        if value.chars().count() > max {
            self.errors.push(
                FieldError::new(
                    field,
                    "too_long",
                    format!("must be at most {max} characters"),
                )
                .with_param("max", max),
            );
        }
    }

    /// A list of at most `max` items (`too_many`).
    pub fn max_items(&mut self, len: usize, field: impl Into<String>, max: usize) {
        if len > max {
            self.errors.push(
                FieldError::new(field, "too_many", format!("at most {max} items"))
                    .with_param("max", max),
            );
        }
    }

    /// `later` strictly after `earlier`, the value of the field named `earlier_field`
    /// (`not_after`).
    pub fn after<T: PartialOrd>(
        &mut self,
        later: T,
        earlier: T,
        field: impl Into<String>,
        earlier_field: &str,
    ) {
        if later <= earlier {
            self.errors
                .push(FieldError::not_after(field, earlier_field));
        }
    }

    /// A lowercase slug of a-z, 0-9 and `_`, 1 to 40 characters (`not_slug`).
    pub fn slug(&mut self, value: &str, field: impl Into<String>) {
        self.check(
            is_slug(value),
            field,
            "not_slug",
            "must be a lowercase slug of a-z, 0-9 and _ (1 to 40 characters)",
        );
    }

    /// Records a value outside `min..=max`.
    fn out_of_range(&mut self, field: &str, min: i64, max: i64, message: impl Into<String>) {
        self.errors.push(
            FieldError::new(field, "out_of_range", message)
                .with_param("min", min)
                .with_param("max", max),
        );
    }

    pub fn non_empty(&mut self, value: &str, field: &str, max_chars: usize) {
        let len = value.trim().chars().count();
        if len == 0 {
            self.error_code(field, "required", "must not be empty");
        } else if value.chars().count() > max_chars {
            self.errors.push(
                FieldError::new(
                    field,
                    "too_long",
                    format!("must be at most {max_chars} characters"),
                )
                .with_param("max", max_chars),
            );
        }
    }

    pub fn fen(&mut self, value: i64, field: &str) {
        // 10^13 fen is 100 billion yuan: far above any real price, far below i64 overflow when summed.
        if !(0..=MAX_FEN).contains(&value) {
            self.out_of_range(
                field,
                0,
                MAX_FEN,
                format!("must be an amount in fen between 0 and {MAX_FEN}"),
            );
        }
    }

    pub fn basis_points(&mut self, value: i64, field: &str) {
        if !(0..=10_000).contains(&value) {
            self.out_of_range(
                field,
                0,
                10_000,
                "must be in basis points between 0 and 10000 (100%)",
            );
        }
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

/// A short lowercase name (`food`, `home_textiles`, a script's name): 1 to 40 of a-z, 0-9, `_`.
pub fn is_slug(s: &str) -> bool {
    (1..=40).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Largest money amount accepted anywhere, in fen.
pub const MAX_FEN: i64 = 10_000_000_000_000;

/// Why a piece of text cannot be stored: a C0 control character other than tab, line feed and
/// carriage return (a NUL would be refused by PostgreSQL and kept by SQLite; none of them has a
/// place in a name, a title or a filter).
pub fn text_problem(value: &str) -> Option<&'static str> {
    value
        .chars()
        .any(|c| c < ' ' && !matches!(c, '\t' | '\n' | '\r'))
        .then_some("must not contain control characters (only tab, line feed and carriage return are allowed)")
}

/// Earliest and latest year of a timestamp this server stores (both databases hold them alike).
pub const MIN_YEAR: i64 = 1970;
pub const MAX_YEAR: i64 = 9999;

/// Why a string that reads as a date-time (`YYYY-MM-DDT...`, or an expanded `+YYYYYY-...`)
/// cannot be stored: its year is outside [`MIN_YEAR`]..=[`MAX_YEAR`].
pub fn timestamp_problem(value: &str) -> Option<String> {
    let (sign, rest) = match value.as_bytes().first() {
        Some(b'+') => (1, &value[1..]),
        Some(b'-') => (-1, &value[1..]),
        _ => (1, value),
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let tail = &rest.as_bytes()[digits..];
    let looks_like_datetime = digits >= 4
        && tail.len() >= 7
        && tail[0] == b'-'
        && tail[1..3].iter().all(u8::is_ascii_digit)
        && tail[3] == b'-'
        && tail[4..6].iter().all(u8::is_ascii_digit)
        && matches!(tail[6], b'T' | b't' | b' ');
    if !looks_like_datetime {
        return None;
    }
    let year = rest[..digits]
        .parse::<i64>()
        .map(|y| y * sign)
        .unwrap_or(i64::MAX);
    (!(MIN_YEAR..=MAX_YEAR).contains(&year))
        .then(|| format!("must be a time between the years {MIN_YEAR} and {MAX_YEAR}"))
}

/// Every string of a JSON document (keys included) checked by [`text_problem`] and
/// [`timestamp_problem`], each problem named by its JSON path (`name`, `lineup[0].title`).
pub fn json_text_problems(value: &serde_json::Value) -> Vec<FieldError> {
    fn walk(value: &serde_json::Value, path: &str, out: &mut Vec<FieldError>) {
        match value {
            serde_json::Value::String(s) => {
                let name = if path.is_empty() { "." } else { path };
                if let Some(m) = text_problem(s) {
                    out.push(FieldError::new(name, "control_characters", m));
                } else if let Some(m) = timestamp_problem(s) {
                    out.push(FieldError::new(name, "out_of_range", m));
                }
            }
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, &format!("{path}[{i}]"), out);
                }
            }
            serde_json::Value::Object(map) => {
                for (key, item) in map {
                    let field = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    if let Some(m) = text_problem(key) {
                        out.push(FieldError::new(
                            field.escape_debug().to_string(),
                            "control_characters",
                            format!("the field name {m}"),
                        ));
                        continue;
                    }
                    walk(item, &field, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, "", &mut out);
    out
}

#[cfg(test)]
mod text_tests {
    use super::*;

    #[test]
    fn controls_are_refused_but_whitespace_is_kept() {
        assert!(text_problem("a\u{0}b").is_some());
        assert!(text_problem("a\u{1b}b").is_some());
        assert!(text_problem("line\nnext\r\n\tindent").is_none());
        assert!(text_problem("禾田优选").is_none());
    }

    #[test]
    fn timestamps_outside_the_years_are_refused() {
        assert!(timestamp_problem("2026-01-01T00:00:00Z").is_none());
        assert!(timestamp_problem("1970-01-01T00:00:00Z").is_none());
        assert!(timestamp_problem("9999-12-31T23:59:59Z").is_none());
        assert!(timestamp_problem("1969-12-31T23:59:59Z").is_some());
        assert!(timestamp_problem("0000-01-01T00:00:00Z").is_some());
        assert!(timestamp_problem("+10000-01-01T00:00:00Z").is_some());
        assert!(timestamp_problem("-0001-01-01T00:00:00Z").is_some());
        assert!(
            timestamp_problem("2026-01-01").is_none(),
            "a date is not a time"
        );
        assert!(timestamp_problem("12345-678").is_none());
    }

    #[test]
    fn problems_are_named_by_their_path() {
        let v = serde_json::json!({"name": "ok", "lineup": [{"title": "x\u{0}"}], "at": "1900-01-01T00:00:00Z"});
        let fields: Vec<_> = json_text_problems(&v)
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["at", "lineup[0].title"]);
    }
}
