//! Rate limits on the functions an attacker would hammer: login, registration, refresh.
//! In memory per process; behind several processes each keeps its own count, which is an
//! upper bound multiplied by the number of processes (documented in docs/operations.md).

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use super::ServiceError;
use crate::config::{RateLimit, RateLimitSettings};

/// One keyed limiter per limited function.
pub struct RateLimits {
    pub login_per_ip: Limiter,
    pub login_per_account: Limiter,
    pub register_per_ip: Limiter,
    pub refresh_per_ip: Limiter,
    pub guest_lookup_per_ip: Limiter,
    pub account_mail_per_ip: Limiter,
    pub account_mail_per_address: Limiter,
}

impl RateLimits {
    pub fn new(settings: &RateLimitSettings) -> Self {
        Self {
            login_per_ip: Limiter::new(settings.login_per_ip),
            login_per_account: Limiter::new(settings.login_per_account),
            register_per_ip: Limiter::new(settings.register_per_ip),
            refresh_per_ip: Limiter::new(settings.refresh_per_ip),
            guest_lookup_per_ip: Limiter::new(settings.guest_lookup_per_ip),
            account_mail_per_ip: Limiter::new(settings.account_mail_per_ip),
            account_mail_per_address: Limiter::new(settings.account_mail_per_address),
        }
    }

    /// Forgets keys that have been quiet long enough to be full again, bounding memory.
    pub fn forget_idle(&self) {
        for limiter in [
            &self.login_per_ip,
            &self.login_per_account,
            &self.register_per_ip,
            &self.refresh_per_ip,
            &self.guest_lookup_per_ip,
            &self.account_mail_per_ip,
            &self.account_mail_per_address,
        ] {
            limiter.inner.retain_recent();
        }
    }
}

/// A token-bucket limiter keyed by a string (an address or an account).
pub struct Limiter {
    inner: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl Limiter {
    pub fn new(limit: RateLimit) -> Self {
        let burst = NonZeroU32::new(limit.burst.max(1)).unwrap_or(NonZeroU32::MIN);
        let period = Duration::from_secs(limit.per_secs.max(1)) / burst.get();
        let quota = Quota::with_period(period.max(Duration::from_millis(1)))
            .unwrap_or_else(|| Quota::per_second(burst))
            .allow_burst(burst);
        Self { inner: DefaultKeyedRateLimiter::keyed(quota), clock: DefaultClock::default() }
    }

    /// Takes one request's worth for `key`, or says how long to wait.
    pub fn check(&self, key: &str) -> Result<(), ServiceError> {
        self.inner.check_key(&key.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            ServiceError::RateLimited { retry_after_secs: wait.as_secs().max(1) }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused_with_a_wait() {
        let limiter = Limiter::new(RateLimit { burst: 3, per_secs: 60 });
        for _ in 0..3 {
            assert!(limiter.check("10.0.0.1").is_ok());
        }
        match limiter.check("10.0.0.1") {
            Err(ServiceError::RateLimited { retry_after_secs }) => {
                assert!((1..=20).contains(&retry_after_secs), "{retry_after_secs}")
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        // Another key has its own bucket.
        assert!(limiter.check("10.0.0.2").is_ok());
    }
}
