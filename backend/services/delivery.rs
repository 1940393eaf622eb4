//! Draining the outbox: claim the due messages, render and send each, record the outcome.
//!
//! Delivery is at least once. A message is marked sent only after the transport accepted
//! it; a process that dies in between leaves the row claimed until its lease runs out, and
//! the next pass sends it again with the same Message-ID, so receivers can drop the copy.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

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

/// The templates and the transport, built once at start.
pub struct Postman {
    mailer: Arc<dyn Mailer>,
    templates: Templates,
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
        Self { mailer, templates }
    }

    pub fn templates(&self) -> &Templates {
        &self.templates
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
    Sent,
    Failed,
    Dead,
    Postponed,
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

/// Claims one batch of due messages and delivers it.
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
    let groups: Vec<Vec<Result<Outcome, ServiceError>>> = futures::stream::iter(by_recipient.into_values())
        .map(|messages| async move {
            let mut outcomes = Vec::with_capacity(messages.len());
            for message in &messages {
                outcomes.push(deliver(app, message, now).await);
            }
            outcomes
        })
        .buffer_unordered(settings.concurrency.max(1))
        .collect()
        .await;
    let outcomes = groups.into_iter().flatten();
    for outcome in outcomes {
        match outcome? {
            Outcome::Sent => report.sent += 1,
            Outcome::Failed => report.failed += 1,
            Outcome::Dead => report.dead += 1,
            Outcome::Postponed => report.postponed += 1,
            Outcome::Dropped => report.dropped += 1,
        }
    }
    Ok(report)
}

async fn deliver(app: &App, message: &OutboxMessage, now: DateTime<Utc>) -> Result<Outcome, ServiceError> {
    let db = app.db.conn();
    if let Some(free_at) = over_hourly_cap(app, message, now).await? {
        if message.essential {
            outbox::postpone(db, message.id, free_at).await?;
            return Ok(Outcome::Postponed);
        }
        outbox::drop_message(db, message.id, "over the recipient's hourly cap").await?;
        return Ok(Outcome::Dropped);
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
            let kind = message.template.parse::<MessageKind>().ok();
            outbox::mark_sent(db, message.id, now, kind.is_some_and(is_secret)).await?;
            Ok(Outcome::Sent)
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

/// When the recipient's hourly allowance has room again, if it is full now.
async fn over_hourly_cap(
    app: &App,
    message: &OutboxMessage,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, ServiceError> {
    let cap = app.settings.mail.outbox.hourly_cap_per_recipient;
    if cap == 0 {
        return Ok(None);
    }
    let hour = TimeDelta::hours(1);
    let latest =
        outbox::latest_sent_to(app.db.conn(), &message.recipient_email, now - hour, cap.into()).await?;
    // Full when the last `cap` sends all fell within the hour; then the oldest of them must
    // leave the window before one more fits.
    Ok(latest.get(cap as usize - 1).map(|oldest| *oldest + hour))
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
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.wait_for(|stop| *stop) => return,
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

/// How many messages are in each status, for the metrics endpoint.
pub async fn counts(app: &App) -> Result<Vec<(DeliveryStatus, u64)>, ServiceError> {
    let mut counts = Vec::with_capacity(DeliveryStatus::ALL.len());
    for status in DeliveryStatus::ALL {
        counts.push((*status, outbox::count_in(app.db.conn(), *status).await?));
    }
    Ok(counts)
}
