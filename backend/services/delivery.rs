//! Draining the outbox: claim the due messages, render and send each, record the outcome.
//!
//! Delivery is at least once. A message is marked sent only after the transport accepted
//! it, together with the rest of its batch once the batch is through (one statement, one
//! commit, instead of one per message); a process that dies in between leaves the rows
//! claimed until their lease runs out, and the next pass sends them again with the same
//! Message-IDs, so receivers can drop the copies.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use futures::StreamExt;
use rand::Rng;

use uuid::Uuid;

use super::accounts::require_admin;
use super::notices::is_secret;
use super::{Caller, ServiceError};
use crate::app::App;
use crate::domain::locale::Locale;
use crate::notify::{
    Correspondent, LoadError, MailSettings, Mailer, MessageKind, SmtpConfigError, Templates, build_email,
    mailer_from_settings,
};
use crate::store::StoreError;
use crate::store::outbox::{self, DeliveryStatus, OutboxMessage};

/// The templates and the transport, built once at start, and how many messages this
/// process has handed over.
pub struct Postman {
    mailer: Arc<dyn Mailer>,
    templates: Templates,
    /// Messages this process's sender had accepted by the transport and recorded as sent.
    sent: AtomicU64,
}

/// Why mail cannot be set up at start.
#[derive(Debug, thiserror::Error)]
pub enum PostmanError {
    #[error("mail transport: {0}")]
    Transport(#[from] SmtpConfigError),
    #[error("email templates: {0}")]
    Templates(#[from] LoadError),
}

impl Postman {
    /// The transport `settings` ask for, with the templates under `templates_dir`.
    pub fn from_settings(settings: &MailSettings, templates_dir: &Path) -> Result<Self, PostmanError> {
        Ok(Self::new(mailer_from_settings(settings)?, Templates::load(templates_dir)?))
    }

    pub fn new(mailer: Arc<dyn Mailer>, templates: Templates) -> Self {
        Self { mailer, templates, sent: AtomicU64::new(0) }
    }

    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    /// How many messages this process has sent since it started (a Prometheus counter:
    /// summed over the processes, and read as a rate).
    pub fn sent_total(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Messages claimed.
    pub claimed: usize,
    /// Accepted by the transport.
    pub sent: usize,
    /// Failed, to be retried later.
    pub failed: usize,
    /// Failed for good (permanent error or out of attempts).
    pub dead: usize,
    /// Held back by the recipient's hourly cap (legal notices).
    pub postponed: usize,
    /// Dropped by the recipient's hourly cap (optional messages).
    pub dropped: usize,
}

/// What became of one message.
enum Outcome {
    /// Accepted by the transport; written with the batch's others, `scrub` saying whether
    /// the message's data is a secret to forget.
    Sent {
        scrub: bool,
    },
    Failed,
    Dead,
    /// Held back until then by the hourly cap; written with the batch's others.
    Postponed(DateTime<Utc>),
    /// Dropped by the hourly cap; written with the batch's others.
    Dropped,
}

/// Delivers every message due now, batch by batch, until none is due. The background worker
/// and the tests ("run due jobs now") call this.
pub async fn deliver_due(app: &App) -> Result<DeliveryReport, ServiceError> {
    let mut total = DeliveryReport::default();
    loop {
        let pass = deliver_batch(app).await?;
        let done = pass.claimed == 0;
        total.claimed += pass.claimed;
        total.sent += pass.sent;
        total.failed += pass.failed;
        total.dead += pass.dead;
        total.postponed += pass.postponed;
        total.dropped += pass.dropped;
        if done {
            return Ok(total);
        }
    }
}

/// Claims one batch of due messages and delivers it. The recipients' hourly allowances are
/// read for the whole batch at once, and the outcomes (sent, held back or dropped by the
/// caps) are written together at the end: a few statements per batch rather than one or
/// two per message. Only failures are written one by one, as they happen.
pub async fn deliver_batch(app: &App) -> Result<DeliveryReport, ServiceError> {
    let settings = &app.settings.mail.outbox;
    let now = app.clock.now();
    let lease_until = now + TimeDelta::seconds(i64::try_from(settings.lease_secs).unwrap_or(i64::MAX / 2));
    let batch = outbox::claim_due(&app.db, now, lease_until, settings.batch_size.max(1)).await?;
    let mut report = DeliveryReport { claimed: batch.len(), ..Default::default() };
    // Each send waits on the mail server's replies, so several recipients are served at
    // once; one recipient's messages go one after the other, so their hourly cap holds.
    let mut by_recipient: BTreeMap<String, Vec<OutboxMessage>> = BTreeMap::new();
    for message in batch {
        by_recipient.entry(message.recipient_email.to_lowercase()).or_default().push(message);
    }
    let mut allowances = allowances(app, &by_recipient, now).await?;
    let groups: Vec<Vec<(Uuid, Result<Outcome, ServiceError>)>> =
        futures::stream::iter(by_recipient.into_iter().map(|(recipient, messages)| {
            let allowance = allowances.remove(&recipient).unwrap_or_else(|| Allowance::new(0, Vec::new()));
            (messages, allowance)
        }))
        .map(|(messages, mut allowance)| async move {
            let mut outcomes = Vec::with_capacity(messages.len());
            for message in &messages {
                outcomes.push((message.id, deliver(app, message, &mut allowance, now).await));
            }
            outcomes
        })
        .buffer_unordered(settings.concurrency.max(1))
        .collect()
        .await;
    let mut sent = Vec::new();
    let mut postponed = Vec::new();
    let mut dropped = Vec::new();
    let mut first_error = None;
    for (id, outcome) in groups.into_iter().flatten() {
        match outcome {
            Ok(Outcome::Sent { scrub }) => sent.push((id, scrub)),
            Ok(Outcome::Failed) => report.failed += 1,
            Ok(Outcome::Dead) => report.dead += 1,
            Ok(Outcome::Postponed(until)) => postponed.push((id, until)),
            Ok(Outcome::Dropped) => dropped.push(id),
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    let db = app.db.conn();
    outbox::mark_all_sent(db, &sent, now).await?;
    app.postman.sent.fetch_add(sent.len() as u64, Ordering::Relaxed);
    outbox::postpone_all(db, &postponed).await?;
    outbox::drop_all(db, &dropped, "over the recipient's hourly cap").await?;
    report.sent = sent.len();
    report.postponed = postponed.len();
    report.dropped = dropped.len();
    match first_error {
        Some(error) => Err(error),
        None => Ok(report),
    }
}

async fn deliver(
    app: &App,
    message: &OutboxMessage,
    allowance: &mut Allowance,
    now: DateTime<Utc>,
) -> Result<Outcome, ServiceError> {
    let db = app.db.conn();
    if let Some(free_at) = allowance.full_until() {
        return Ok(if message.essential { Outcome::Postponed(free_at) } else { Outcome::Dropped });
    }
    let email = match compose(app, message) {
        Ok(email) => email,
        Err(reason) => {
            tracing::error!(outbox_id = %message.id, %reason, "message cannot be built; dead-lettered");
            outbox::mark_failed(db, message.id, &reason, None).await?;
            return Ok(Outcome::Dead);
        }
    };
    match app.postman.mailer.send(&email).await {
        Ok(()) => {
            allowance.record(now);
            let kind = message.template.parse::<MessageKind>().ok();
            Ok(Outcome::Sent { scrub: kind.is_some_and(is_secret) })
        }
        Err(error) => {
            let attempt = u32::try_from(message.attempts).unwrap_or(u32::MAX);
            let retry = error
                .is_transient()
                .then(|| app.settings.mail.retry.next_attempt_delay(attempt, rand::rng().random::<f64>()))
                .flatten()
                .and_then(|delay| TimeDelta::from_std(delay).ok())
                .map(|delay| now + delay);
            tracing::warn!(outbox_id = %message.id, %error, retry_at = ?retry, "delivery failed");
            outbox::mark_failed(db, message.id, &error.to_string(), retry).await?;
            Ok(if retry.is_some() { Outcome::Failed } else { Outcome::Dead })
        }
    }
}

/// Each recipient's hourly allowance (keyed as `by_recipient` is), from one read of the
/// latest sends to every address of the batch.
async fn allowances(
    app: &App,
    by_recipient: &BTreeMap<String, Vec<OutboxMessage>>,
    now: DateTime<Utc>,
) -> Result<HashMap<String, Allowance>, ServiceError> {
    let cap = app.settings.mail.outbox.hourly_cap_per_recipient as usize;
    if cap == 0 {
        return Ok(HashMap::new());
    }
    let mut addresses: Vec<String> =
        by_recipient.values().flatten().map(|message| message.recipient_email.clone()).collect();
    addresses.sort_unstable();
    addresses.dedup();
    let latest = outbox::latest_sent_to_each(app.db.conn(), &addresses, now - HOUR, cap as u64).await?;
    Ok(by_recipient
        .iter()
        .map(|(recipient, messages)| {
            // The addresses of one recipient, however they were written.
            let mut spellings: Vec<&str> = messages.iter().map(|m| m.recipient_email.as_str()).collect();
            spellings.sort_unstable();
            spellings.dedup();
            let sent =
                spellings.iter().filter_map(|address| latest.get(*address)).flatten().copied().collect();
            (recipient.clone(), Allowance::new(cap, sent))
        })
        .collect())
}

const HOUR: TimeDelta = TimeDelta::hours(1);

/// A recipient's hourly allowance through one batch: their latest sends within the hour
/// before the batch (at most `cap`, newest first), with the batch's own sends added as they
/// happen.
#[derive(Debug, Clone, PartialEq)]
struct Allowance {
    /// 0: no cap.
    cap: usize,
    sent: Vec<DateTime<Utc>>,
}

impl Allowance {
    fn new(cap: usize, mut sent: Vec<DateTime<Utc>>) -> Self {
        sent.sort_unstable_by(|a, b| b.cmp(a));
        sent.truncate(cap);
        Self { cap, sent }
    }

    /// When there is room again, if the allowance is full: when the oldest of the last `cap`
    /// sends leaves the hour.
    fn full_until(&self) -> Option<DateTime<Utc>> {
        match self.cap {
            0 => None,
            cap => self.sent.get(cap - 1).map(|oldest| *oldest + HOUR),
        }
    }

    fn record(&mut self, at: DateTime<Utc>) {
        if self.cap > 0 {
            self.sent.insert(0, at);
            self.sent.truncate(self.cap);
        }
    }
}

/// Renders and builds the email for `message`, or says why it cannot be.
fn compose(app: &App, message: &OutboxMessage) -> Result<lettre::Message, String> {
    let kind: MessageKind = message.template.parse().map_err(|e| format!("{e}"))?;
    let locale: Locale = message.locale.parse().map_err(|e| format!("{e}"))?;
    let tz: Tz =
        message.time_zone.parse().map_err(|_| format!("unknown time zone {:?}", message.time_zone))?;
    let data: serde_json::Value = serde_json::from_str(&message.data).map_err(|e| e.to_string())?;
    let rendered = app.postman.templates.render(kind, locale, &data, tz).map_err(|e| e.to_string())?;
    let mail = &app.settings.mail;
    build_email(
        Correspondent { name: &mail.from_name, address: &mail.from_address },
        Correspondent { name: &message.recipient_name, address: &message.recipient_email },
        &rendered,
        message.id,
        message.created_at,
        &mail.message_id_domain,
    )
    .map_err(|e| e.to_string())
}

/// Runs [`deliver_due`] every poll interval until `stop` turns true.
pub async fn run_worker(app: App, mut stop: tokio::sync::watch::Receiver<bool>) {
    let interval = std::time::Duration::from_millis(app.settings.mail.outbox.poll_interval_ms.max(10));
    loop {
        match deliver_due(&app).await {
            Ok(report) if report.claimed > 0 => tracing::info!(?report, "outbox pass"),
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "outbox pass failed"),
        }
        if super::paused_until_stopped(interval, &mut stop).await {
            return;
        }
    }
}

/// The messages in `statuses` (administrators only), by id after `after`.
pub async fn messages(
    app: &App,
    caller: &Caller,
    statuses: &[DeliveryStatus],
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<OutboxMessage>, ServiceError> {
    require_admin(caller)?;
    Ok(outbox::list(app.db.conn(), statuses, after, limit).await?)
}

/// Puts a failed, dead or dropped message back in the queue for an attempt now
/// (administrators only). Not found when there is no such message in those states.
pub async fn requeue(app: &App, caller: &Caller, id: Uuid) -> Result<OutboxMessage, ServiceError> {
    require_admin(caller)?;
    let txn = app.db.write().await?;
    match outbox::requeue(&txn, id, app.clock.now()).await {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Err(ServiceError::NotFound),
        Err(other) => return Err(other.into()),
    }
    let message = outbox::by_id(&txn, id).await?.ok_or(ServiceError::NotFound)?;
    txn.commit().await?;
    Ok(message)
}

/// The messages that gave up (`dead`), oldest first, for an operator (`murojiat outbox
/// dead`).
pub async fn dead_messages(app: &App, limit: u64) -> Result<Vec<OutboxMessage>, ServiceError> {
    Ok(outbox::list(app.db.conn(), &[DeliveryStatus::Dead], None, limit).await?)
}

/// What [`requeue_many`] did.
#[derive(Debug, Default)]
pub struct Requeued {
    /// Messages put back in the queue.
    pub requeued: u64,
    /// Ids named that were not failed, dead or dropped (unknown, waiting or sent): unchanged.
    pub not_requeueable: Vec<Uuid>,
}

/// Puts messages back in the queue for an attempt now, with their attempts counted from
/// zero, for an operator (`murojiat outbox requeue`): those of `ids` that are failed, dead
/// or dropped, or with `None` every dead one. One transaction.
pub async fn requeue_many(app: &App, ids: Option<&[Uuid]>) -> Result<Requeued, ServiceError> {
    let now = app.clock.now();
    let txn = app.db.write().await?;
    let mut done = Requeued::default();
    match ids {
        None => done.requeued = outbox::requeue_dead(&txn, now).await?,
        Some(ids) => {
            for id in ids {
                match outbox::requeue(&txn, *id, now).await {
                    Ok(()) => done.requeued += 1,
                    Err(StoreError::NotFound) => done.not_requeueable.push(*id),
                    Err(other) => return Err(other.into()),
                }
            }
        }
    }
    txn.commit().await?;
    Ok(done)
}

/// What `/metrics` tells of the outbox.
pub struct OutboxCounts {
    /// How many messages are in each status but `sent`, zero included: the backlog
    /// (pending, sending, failed) and what needs an administrator (dead, dropped).
    pub unsent: Vec<(DeliveryStatus, u64)>,
    /// Messages this process has sent since it started ([`Postman::sent_total`]).
    pub sent_total: u64,
}

/// The outbox for the metrics endpoint. It reads only the messages not sent, from their own
/// index, so a scrape costs the same however many were ever sent; the sent ones are counted
/// by each process as it sends them.
pub async fn counts(app: &App) -> Result<OutboxCounts, ServiceError> {
    let counted = outbox::count_unsent_by_status(app.db.conn()).await?;
    let unsent = DeliveryStatus::ALL
        .iter()
        .filter(|status| **status != DeliveryStatus::Sent)
        .map(|status| (*status, counted.get(status.as_str()).copied().unwrap_or(0)))
        .collect();
    Ok(OutboxCounts { unsent, sent_total: app.postman.sent_total() })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 17, 10, minute, 0).unwrap()
    }

    #[test]
    fn an_allowance_fills_with_the_batchs_own_sends_and_frees_when_the_oldest_leaves_the_hour() {
        let mut allowance = Allowance::new(3, vec![at(5), at(20)]);
        assert_eq!(allowance.full_until(), None);
        allowance.record(at(30));
        assert_eq!(
            allowance.full_until(),
            Some(at(5) + HOUR),
            "three sends: full until the first is an hour old"
        );
        let mut spelled_twice = Allowance::new(2, vec![at(1), at(40), at(10)]);
        assert_eq!(spelled_twice.full_until(), Some(at(10) + HOUR), "the latest two count, however read");
        spelled_twice.record(at(50));
        assert_eq!(spelled_twice.full_until(), Some(at(40) + HOUR));
    }

    #[test]
    fn a_cap_of_zero_never_fills() {
        let mut allowance = Allowance::new(0, vec![at(1), at(2)]);
        allowance.record(at(3));
        assert_eq!(allowance.full_until(), None);
        assert!(allowance.sent.is_empty());
    }
}
