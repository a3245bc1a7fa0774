//! Per-plugin call statistics: counts, consecutive failures, and a latency histogram for
//! p50/p99, lock-free. Rendered as Prometheus text by the registry, and also reported through
//! the `metrics` crate to whatever recorder the host installs.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Latency buckets: upper bounds in microseconds, roughly x1.25 apart, 1 us .. ~60 s.
fn bucket_bounds() -> &'static [u64] {
    static BOUNDS: std::sync::OnceLock<Vec<u64>> = std::sync::OnceLock::new();
    BOUNDS.get_or_init(|| {
        let mut v = Vec::new();
        let mut b = 1.0f64;
        while b < 60_000_000.0 {
            v.push(b.ceil() as u64);
            b *= 1.25;
        }
        v.push(u64::MAX);
        v.dedup();
        v
    })
}

#[derive(Debug)]
pub struct Stats {
    calls: AtomicU64,
    /// Calls that ended in an error the plugin returned (`err(..)`).
    errors: AtomicU64,
    /// Calls that the sandbox stopped (trap, timeout, limit, invalid output).
    failures: AtomicU64,
    consecutive_failures: AtomicU64,
    buckets: Vec<AtomicU64>,
    total_micros: AtomicU64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            calls: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            consecutive_failures: AtomicU64::new(0),
            buckets: bucket_bounds().iter().map(|_| AtomicU64::new(0)).collect(),
            total_micros: AtomicU64::new(0),
        }
    }
}

/// A point-in-time copy of [`Stats`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StatsSnapshot {
    pub calls: u64,
    pub errors: u64,
    pub failures: u64,
    pub consecutive_failures: u64,
    /// Latency percentiles in microseconds (upper bound of the histogram bucket), none before
    /// the first call.
    pub p50_us: Option<u64>,
    pub p99_us: Option<u64>,
    pub mean_us: Option<u64>,
}

/// How a call ended, for [`Stats::record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// The plugin answered `err(..)`.
    Error,
    /// The sandbox stopped it.
    Failure,
}

impl Stats {
    /// Records one call; returns the consecutive failures after it. A call that does not
    /// `count` (e.g. `verify-webhook` on unauthenticated input) is tallied but leaves the
    /// failures in a row as they were.
    pub fn record(&self, elapsed: Duration, outcome: Outcome, count: bool) -> u64 {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let us = elapsed.as_micros().min(u64::MAX as u128) as u64;
        self.total_micros.fetch_add(us, Ordering::Relaxed);
        let idx = bucket_bounds().partition_point(|b| *b < us);
        self.buckets[idx.min(self.buckets.len() - 1)].fetch_add(1, Ordering::Relaxed);
        match outcome {
            Outcome::Ok | Outcome::Error => {
                if outcome == Outcome::Error {
                    self.errors.fetch_add(1, Ordering::Relaxed);
                }
                if !count {
                    return self.consecutive_failures.load(Ordering::Relaxed);
                }
                self.consecutive_failures.store(0, Ordering::Relaxed);
                0
            }
            Outcome::Failure => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                if !count {
                    return self.consecutive_failures.load(Ordering::Relaxed);
                }
                self.consecutive_failures.fetch_add(1, Ordering::Relaxed) + 1
            }
        }
    }

    /// Counts a failure found after a call that returned (e.g. events the host refused):
    /// returns the consecutive failures after it.
    pub fn record_late_failure(&self) -> u64 {
        self.failures.fetch_add(1, Ordering::Relaxed);
        self.consecutive_failures.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub fn reset_consecutive_failures(&self) {
        self.consecutive_failures.store(0, Ordering::Relaxed);
    }

    fn percentile(&self, counts: &[u64], total: u64, q: f64) -> Option<u64> {
        if total == 0 {
            return None;
        }
        let rank = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(bucket_bounds()[i]);
            }
        }
        None
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        StatsSnapshot {
            calls: self.calls.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            consecutive_failures: self.consecutive_failures.load(Ordering::Relaxed),
            p50_us: self.percentile(&counts, total, 0.50),
            p99_us: self.percentile(&counts, total, 0.99),
            mean_us: (total > 0).then(|| self.total_micros.load(Ordering::Relaxed) / total),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_failures() {
        let s = Stats::default();
        for _ in 0..98 {
            s.record(Duration::from_micros(10), Outcome::Ok, true);
        }
        assert_eq!(
            s.record(Duration::from_millis(5), Outcome::Failure, true),
            1
        );
        assert_eq!(
            s.record(Duration::from_millis(5), Outcome::Failure, true),
            2
        );
        let snap = s.snapshot();
        assert_eq!(snap.calls, 100);
        assert_eq!(snap.failures, 2);
        assert_eq!(snap.consecutive_failures, 2);
        let p50 = snap.p50_us.unwrap();
        assert!((10..=13).contains(&p50), "{p50}");
        assert!(snap.p99_us.unwrap() >= 5000);
        s.record(Duration::from_micros(10), Outcome::Error, true);
        assert_eq!(s.snapshot().consecutive_failures, 0);
    }
}
