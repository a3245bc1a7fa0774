//! The opaque `poll` cursor the plugins hand to the host: a time window and the platform's own
//! position inside it, as JSON (`{"from_ms":..,"to_ms":..,"page":"..","page_no":2}`).
//!
//! A poll without a cursor starts the window `[now - window, now]` at its first page; each page
//! with more after it returns a cursor for the next page; the last page returns none, so the next
//! poll starts a fresh window ending at its own `now`. Windows overlap on purpose: event keys are
//! stable, and the host drops repeats.

use crate::Error;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollCursor {
    /// Window start, Unix milliseconds (inclusive).
    pub from_ms: i64,
    /// Window end, Unix milliseconds.
    pub to_ms: i64,
    /// The platform's position of the page to fetch (none: the first page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    /// 1-based page number (Taobao `page_no`).
    #[serde(default = "one")]
    pub page_no: u32,
}

fn one() -> u32 {
    1
}

impl PollCursor {
    /// The first page of the window ending at `now_ms`.
    pub fn start(now_ms: i64, window_ms: i64) -> PollCursor {
        PollCursor {
            from_ms: now_ms - window_ms,
            to_ms: now_ms,
            page: None,
            page_no: 1,
        }
    }

    /// Reads a cursor this crate wrote.
    pub fn parse(s: &str) -> Result<PollCursor, Error> {
        let c: PollCursor = serde_json::from_str(s)
            .map_err(|e| Error::Malformed(format!("poll cursor `{s}`: {e}")))?;
        if c.from_ms < 0 || c.to_ms < c.from_ms || c.page_no == 0 {
            return Err(Error::Malformed(format!(
                "poll cursor `{s}` has a bad window"
            )));
        }
        Ok(c)
    }

    /// The same window, at the given next page.
    pub fn next(&self, page: String) -> PollCursor {
        PollCursor {
            page: Some(page),
            page_no: self.page_no + 1,
            ..self.clone()
        }
    }

    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("a cursor serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_validation() {
        let c = PollCursor::start(10_000_000, 3_600_000);
        assert_eq!(c.from_ms, 6_400_000);
        assert_eq!(PollCursor::parse(&c.encode()).unwrap(), c);
        let n = c.next("abc".into());
        assert_eq!(n.page_no, 2);
        assert_eq!(PollCursor::parse(&n.encode()).unwrap(), n);
        for bad in [
            "",
            "{}",
            "not json",
            r#"{"from_ms":5,"to_ms":1}"#,
            r#"{"from_ms":0,"to_ms":1,"page_no":0}"#,
            r#"{"from_ms":0,"to_ms":1,"x":1}"#,
        ] {
            assert!(PollCursor::parse(bad).is_err(), "{bad}");
        }
    }
}
