//! Rate limits (GCRA, from the `governor` crate), one keyed limiter per kind of caller:
//! failed authentications per client address, requests per token, webhook deliveries per
//! platform. Only failures count against an address, so a flood of bad tokens from one place
//! never slows a valid token, even from the same place. Each limit is set in `Config`; a rate
//! of 0 turns it off.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use uuid::Uuid;

use super::error::{Error, Result};

/// One limit: `per_period` events per `period`, up to `burst` at once.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub per_period: u32,
    pub period: Duration,
    pub burst: u32,
}

impl Rate {
    /// No limit.
    pub const OFF: Rate = Rate {
        per_period: 0,
        period: Duration::from_secs(1),
        burst: 1,
    };

    fn quota(self) -> Option<Quota> {
        let n = NonZeroU32::new(self.per_period)?;
        let burst = NonZeroU32::new(self.burst.max(1))?;
        let every = self
            .period
            .checked_div(n.get())?
            .max(Duration::from_nanos(1));
        Some(Quota::with_period(every)?.allow_burst(burst))
    }
}

/// A limiter over keys of one kind; none when its rate is 0.
struct Keyed<K: Hash + Eq + Clone> {
    limiter: Option<DefaultKeyedRateLimiter<K>>,
    checks: AtomicU64,
    name: &'static str,
}

impl<K: Hash + Eq + Clone> Keyed<K> {
    fn new(rate: Rate, name: &'static str) -> Self {
        Keyed {
            limiter: rate.quota().map(DefaultKeyedRateLimiter::keyed),
            checks: AtomicU64::new(0),
            name,
        }
    }

    /// Counts one event of `key`; `TooManyRequests` with the time to wait when over the limit.
    fn check(&self, key: &K) -> Result<()> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        // Keys whose state is back to full are dropped now and then, so the map stays small.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            metrics::counter!("kolhost_rate_limited_total", "limit" => self.name).increment(1);
            Error::TooManyRequests {
                retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
            }
        })
    }
}

/// The server's limits.
pub struct Limits {
    failed_auth: Keyed<IpAddr>,
    per_token: Keyed<Uuid>,
    webhooks: Keyed<String>,
    refused_rows: Keyed<String>,
}

impl Limits {
    pub fn new(failed_auth: Rate, per_token: Rate, webhooks: Rate) -> Self {
        Limits {
            failed_auth: Keyed::new(failed_auth, "failed_auth"),
            per_token: Keyed::new(per_token, "token"),
            webhooks: Keyed::new(webhooks, "webhook"),
            refused_rows: Keyed::new(Rate::OFF, "refused_delivery_rows"),
        }
    }

    /// With a cap on the refused deliveries stored per platform.
    pub fn with_refused_rows(mut self, rate: Rate) -> Self {
        self.refused_rows = Keyed::new(rate, "refused_delivery_rows");
        self
    }

    /// A refused delivery of `platform` about to be stored; over the cap it is only counted.
    pub fn refused_delivery(&self, platform: &str) -> Result<()> {
        self.refused_rows.check(&platform.to_owned())
    }

    /// A failed authentication from `addr` (unknown: counted together); over the limit, the
    /// answer is 429 instead of 401.
    pub fn failed_auth(&self, addr: Option<IpAddr>) -> Result<()> {
        let addr = addr.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        self.failed_auth.check(&addr)
    }

    /// A request made with token `id`.
    pub fn request(&self, token: Uuid) -> Result<()> {
        self.per_token.check(&token)
    }

    /// A delivery to `/webhooks/{platform}` (a platform with a plugin; others share one key).
    pub fn delivery(&self, platform: &str) -> Result<()> {
        self.webhooks.check(&platform.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_refusals_with_a_wait() {
        let rate = Rate {
            per_period: 2,
            period: Duration::from_secs(60),
            burst: 3,
        };
        let off = Rate {
            per_period: 0,
            period: Duration::from_secs(1),
            burst: 1,
        };
        let limits = Limits::new(rate, off, off);
        let a = Some(IpAddr::from([10, 0, 0, 1]));
        let b = Some(IpAddr::from([10, 0, 0, 2]));
        for _ in 0..3 {
            limits.failed_auth(a).unwrap();
        }
        match limits.failed_auth(a) {
            Err(Error::TooManyRequests { retry_after_secs }) => {
                assert!((1..=30).contains(&retry_after_secs), "{retry_after_secs}")
            }
            other => panic!("{other:?}"),
        }
        limits
            .failed_auth(b)
            .expect("another address has its own budget");
        for _ in 0..10_000 {
            limits.request(Uuid::nil()).expect("a rate of 0 is off");
        }
    }
}
