//! How mail leaves the process: which transport, who it is from, and how failed deliveries
//! back off. Deserialized from the `[mail]` table of the configuration.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::smtp::SmtpSettings;

/// Where rendered messages go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransportKind {
    /// `.eml` files in [`MailSettings::file_dir`]; the embedded default, needs no server.
    File,
    /// A real SMTP server described by [`MailSettings::smtp`].
    Smtp,
}

/// The `[mail]` settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailSettings {
    /// Which transport delivers mail (`"file"` or `"smtp"`).
    pub transport: TransportKind,
    /// The sender address every message carries in `From`.
    pub from_address: String,
    /// The sender's display name; may be non-ASCII (it is RFC 2047 encoded).
    pub from_name: String,
    /// The right-hand side of every `Message-ID` (`<outbox-id@domain>`).
    pub message_id_domain: String,
    /// The directory the file transport writes `.eml` files into.
    pub file_dir: PathBuf,
    /// SMTP connection settings; only read when `transport = "smtp"`.
    pub smtp: SmtpSettings,
    /// How failed deliveries are retried.
    pub retry: RetrySchedule,
    /// The outbox worker's batch, lease and pace, and the per-recipient cap.
    pub outbox: OutboxSettings,
}

/// How the outbox is drained (the `[mail.outbox]` table).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboxSettings {
    /// Whether this `serve` process sends the outbox's mail. Only `serve` sends mail
    /// (`murojiat worker` never does), so at least one running `serve` must keep it on.
    pub deliver: bool,
    /// How often the worker looks for due messages, in milliseconds.
    pub poll_interval_ms: u64,
    /// How many messages one pass claims.
    pub batch_size: u64,
    /// How long a claimed message is reserved for its sender before another may take it.
    pub lease_secs: u64,
    /// How many messages of a batch are sent at once (at most the SMTP pool's size helps).
    pub concurrency: usize,
    /// At most this many messages to one address per hour (OWASP API4). Non-essential
    /// messages over the cap are dropped; legal notices wait until the hour allows them.
    pub hourly_cap_per_recipient: u32,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self {
            deliver: true,
            poll_interval_ms: 1000,
            batch_size: 50,
            lease_secs: 120,
            concurrency: 8,
            hourly_cap_per_recipient: 20,
        }
    }
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            transport: TransportKind::File,
            from_address: "no-reply@murojiat.localhost".to_owned(),
            from_name: "Murojiat".to_owned(),
            message_id_domain: "murojiat.localhost".to_owned(),
            file_dir: PathBuf::from("data/mail"),
            smtp: SmtpSettings::default(),
            retry: RetrySchedule::default(),
            outbox: OutboxSettings::default(),
        }
    }
}

/// The back-off between delivery attempts, then dead-lettering.
///
/// The defaults are about 1 min, 5 min, 30 min, 2 h and 6 h, each moved by up to ±20%, so
/// that messages which failed together do not all retry in the same second.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetrySchedule {
    /// The nominal wait after the 1st, 2nd, ... failed attempt, in seconds. After the last
    /// one fails the message is dead.
    pub delays_secs: Vec<u64>,
    /// How far a delay may move either way, as a fraction of it (0.2 = ±20%); clamped to
    /// `[0, 1]`.
    pub jitter_fraction: f64,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        Self { delays_secs: vec![60, 5 * 60, 30 * 60, 2 * 3600, 6 * 3600], jitter_fraction: 0.2 }
    }
}

impl RetrySchedule {
    /// How long to wait after delivery attempt number `attempt` (counting from 1) failed, or
    /// `None` when that was the last allowed attempt and the message is dead.
    ///
    /// `jitter` is a random draw in `[0, 1)` supplied by the caller (so this stays pure and
    /// testable): 0 gives the shortest delay (nominal × (1 − fraction)), 0.5 the nominal one,
    /// and values near 1 the longest. Out-of-range or non-finite draws are clamped.
    /// `attempt = 0` is treated as 1.
    pub fn next_attempt_delay(&self, attempt: u32, jitter: f64) -> Option<Duration> {
        let index = usize::try_from(attempt.max(1) - 1).ok()?;
        let nominal = *self.delays_secs.get(index)? as f64;
        let jitter = if jitter.is_finite() { jitter.clamp(0.0, 1.0) } else { 0.5 };
        let fraction =
            if self.jitter_fraction.is_finite() { self.jitter_fraction.clamp(0.0, 1.0) } else { 0.0 };
        let factor = 1.0 + fraction * (2.0 * jitter - 1.0);
        Some(Duration::from_secs_f64(nominal * factor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(d: Option<Duration>) -> Option<u64> {
        d.map(|d| d.as_secs())
    }

    #[test]
    fn default_schedule_backs_off_then_gives_up() {
        let schedule = RetrySchedule::default();
        let nominal: Vec<_> = (1..=6).map(|a| secs(schedule.next_attempt_delay(a, 0.5))).collect();
        assert_eq!(nominal, [Some(60), Some(300), Some(1800), Some(7200), Some(21600), None]);
    }

    #[test]
    fn jitter_moves_a_delay_by_at_most_twenty_percent() {
        let schedule = RetrySchedule::default();
        assert_eq!(secs(schedule.next_attempt_delay(2, 0.0)), Some(240));
        let longest = schedule.next_attempt_delay(2, 0.999_999).map(|d| d.as_secs_f64());
        assert!(longest.is_some_and(|s| s > 359.9 && s < 360.0), "{longest:?}");
        for draw in [-3.0, 7.0, f64::NAN, f64::INFINITY] {
            let d = secs(schedule.next_attempt_delay(1, draw));
            assert!(d.is_some_and(|s| (48..=72).contains(&s)), "{draw}: {d:?}");
        }
    }

    #[test]
    fn attempt_zero_is_the_first_and_the_schedule_is_configurable() {
        let schedule = RetrySchedule { delays_secs: vec![10, 20], jitter_fraction: 0.0 };
        assert_eq!(secs(schedule.next_attempt_delay(0, 0.9)), Some(10));
        assert_eq!(secs(schedule.next_attempt_delay(2, 0.9)), Some(20));
        assert_eq!(schedule.next_attempt_delay(3, 0.9), None);
    }

    #[test]
    fn settings_deserialize_with_defaults() {
        let settings: MailSettings = serde_json::from_value(serde_json::json!({
            "transport": "smtp",
            "smtp": { "host": "mail.example.tj", "port": 465, "security": "tls" },
            "retry": { "delays_secs": [30] }
        }))
        .expect("valid settings");
        assert_eq!(settings.transport, TransportKind::Smtp);
        assert_eq!(settings.file_dir, PathBuf::from("data/mail"));
        assert_eq!(settings.smtp.port, 465);
        assert_eq!(settings.retry.jitter_fraction, 0.2);
        assert_eq!(settings.retry.delays_secs, [30]);
    }
}
