//! Small tables read on almost every request (the agency hierarchy, the categories and
//! territories) are kept by each process for `appeals.reference_cache_secs` of the injected
//! clock. A process's own changes clear its copy at once; another process's show after at
//! most that long.

use std::sync::{Arc, PoisonError, RwLock};

use chrono::{DateTime, TimeDelta, Utc};

use crate::app::App;

/// One value as last read by this process, and when it was read.
#[derive(Debug)]
pub struct Cached<T: ?Sized> {
    current: RwLock<Option<(DateTime<Utc>, Arc<T>)>>,
}

impl<T: ?Sized> Default for Cached<T> {
    fn default() -> Self {
        Self { current: RwLock::new(None) }
    }
}

impl<T: ?Sized> Cached<T> {
    /// Forgets the value, so the next read loads it again: call after changing what it holds.
    pub fn invalidate(&self) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// The value as this process last read it, while that was less than
    /// `appeals.reference_cache_secs` ago on the injected clock; otherwise what `load` reads
    /// now, kept from now on.
    pub(crate) async fn get_or_load<E>(
        &self,
        app: &App,
        load: impl Future<Output = Result<Arc<T>, E>>,
    ) -> Result<Arc<T>, E> {
        let now = app.clock.now();
        let ttl =
            TimeDelta::seconds(i64::try_from(app.settings.appeals.reference_cache_secs).unwrap_or(i64::MAX));
        if let Some(value) = self.fresh(now, ttl) {
            return Ok(value);
        }
        let value = load.await?;
        self.put(now, value.clone());
        Ok(value)
    }

    /// The value if it was read less than `ttl` before `now` (and not after it: a clock
    /// moved back makes it stale).
    fn fresh(&self, now: DateTime<Utc>, ttl: TimeDelta) -> Option<Arc<T>> {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        current.as_ref().filter(|(at, _)| *at <= now && now - *at < ttl).map(|(_, value)| value.clone())
    }

    fn put(&self, now: DateTime<Utc>, value: Arc<T>) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some((now, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn a_value_is_fresh_for_its_time_to_live_and_not_after_invalidation() {
        let cache: Cached<str> = Cached::default();
        let ttl = TimeDelta::seconds(5);
        assert!(cache.fresh(at(0), ttl).is_none());
        cache.put(at(0), Arc::from("agencies"));
        assert_eq!(cache.fresh(at(4), ttl).as_deref(), Some("agencies"));
        assert!(cache.fresh(at(5), ttl).is_none(), "stale once its time to live has passed");
        assert!(cache.fresh(at(-1), ttl).is_none(), "a clock moved back makes it stale");
        cache.invalidate();
        assert!(cache.fresh(at(1), ttl).is_none());
    }

    #[test]
    fn a_zero_time_to_live_caches_nothing() {
        let cache: Cached<str> = Cached::default();
        cache.put(at(0), Arc::from("agencies"));
        assert!(cache.fresh(at(0), TimeDelta::zero()).is_none());
    }
}
