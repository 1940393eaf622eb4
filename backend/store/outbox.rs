//! The outbox: emails written in the same transaction as the change that caused them, then
//! claimed, sent and recorded by the delivery worker.
//!
//! A row's `next_attempt_at` is when it is next due: for a pending or failed row its next
//! attempt, for a row being sent the end of the sender's lease. Claiming moves a due row to
//! `sending` and its `next_attempt_at` to the end of the lease, so a sender that dies
//! mid-send leaves the row to be claimed again once the lease runs out; the re-send carries
//! the same Message-ID (it is derived from the row id).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{
    Alias, Expr, ExprTrait, InsertStatement, LockBehavior, LockType, OnConflict, Order, Query,
    SelectStatement, UnionType,
};

use super::bulk::OnDuplicate;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, Set,
};
use uuid::Uuid;

use super::entity::outbox_message::{self as row, Column};
use super::{Backend, Db, StoreError};
use crate::domain::appeal::vocabulary;

pub use row::Model as OutboxMessage;

vocabulary! {
    /// Where a message is on its way out.
    DeliveryStatus {
        /// Waiting for its first attempt.
        Pending = "pending",
        /// Claimed by a sender whose lease has not yet run out.
        Sending = "sending",
        /// Accepted by the mail server (or written to a file).
        Sent = "sent",
        /// The last attempt failed for a reason worth retrying; tried again at `next_attempt_at`.
        Failed = "failed",
        /// Every attempt failed, or the failure was permanent. Re-queued only by an administrator.
        Dead = "dead",
        /// A non-essential message over the recipient's hourly cap; never sent.
        Dropped = "dropped",
    }
}

/// The statuses a sender may claim once `next_attempt_at` has come.
const CLAIMABLE: [DeliveryStatus; 3] =
    [DeliveryStatus::Pending, DeliveryStatus::Failed, DeliveryStatus::Sending];

/// `status IN ('pending', 'failed', 'sending')`, with the statuses written into the SQL
/// rather than bound: only then can either database see that the condition is the one of
/// the partial index `idx_outbox_claimable` (migration 13) and read the due messages from it
/// in order. The statuses are this module's own constants, never a client's input.
fn claimable() -> Expr {
    status_in(&CLAIMABLE)
}

/// `status <> 'sent'`, written into the SQL as [`claimable`] is: the condition of the partial
/// index `idx_outbox_unsent` (migration 14), which holds every message not sent.
fn unsent() -> Expr {
    Expr::cust(format!("\"status\" <> '{}'", DeliveryStatus::Sent.as_str()))
}

/// `status IN (...)` with the statuses written into the SQL (they are this module's own
/// vocabulary, never a client's text); false for no status.
fn status_in(statuses: &[DeliveryStatus]) -> Expr {
    if statuses.is_empty() {
        return Expr::cust("1 = 0");
    }
    let statuses: Vec<String> = statuses.iter().map(|s| format!("'{}'", s.as_str())).collect();
    Expr::cust(format!("\"status\" IN ({})", statuses.join(", ")))
}

/// A message to be sent.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub id: Uuid,
    /// The cause and the recipient, e.g. `event:<event id>:<address>`; a second write with
    /// the same key is ignored.
    pub dedupe_key: String,
    pub recipient_email: String,
    pub recipient_name: String,
    pub locale: String,
    pub time_zone: String,
    pub template: String,
    pub data: serde_json::Value,
    pub essential: bool,
    pub appeal_id: Option<Uuid>,
    pub message_id: String,
    pub now: DateTime<Utc>,
}

/// Writes `message` unless one with its dedupe key exists; true when it was written.
pub async fn enqueue(db: &impl ConnectionTrait, message: NewMessage) -> Result<bool, StoreError> {
    Ok(db.execute(&enqueuing(message)).await?.rows_affected() > 0)
}

/// The statement [`enqueue`] runs, to run later with other writes (see
/// [`super::deferred`]).
pub fn enqueuing(message: NewMessage) -> InsertStatement {
    row::Entity::insert(new_row(message))
        .on_conflict(OnConflict::column(Column::DedupeKey).do_nothing().to_owned())
        .into_query()
}

/// [`enqueue`] for many messages, a statement per thousand; returns how many were written.
pub async fn enqueue_many(db: &impl ConnectionTrait, messages: Vec<NewMessage>) -> Result<u64, StoreError> {
    // Only the dedupe key can repeat: the ids are new.
    let rows = messages.into_iter().map(new_row).collect();
    super::bulk::insert(db, rows, OnDuplicate::Skip).await
}

fn new_row(message: NewMessage) -> row::ActiveModel {
    row::ActiveModel {
        id: Set(message.id),
        dedupe_key: Set(message.dedupe_key),
        recipient_email: Set(message.recipient_email),
        recipient_name: Set(message.recipient_name),
        locale: Set(message.locale),
        time_zone: Set(message.time_zone),
        template: Set(message.template),
        data: Set(message.data.to_string()),
        essential: Set(message.essential),
        appeal_id: Set(message.appeal_id),
        status: Set(DeliveryStatus::Pending.as_str().to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(message.now),
        last_error: Set(None),
        message_id: Set(message.message_id),
        created_at: Set(message.now),
        sent_at: Set(None),
    }
}

/// Claims up to `limit` due messages, oldest due first, for a sender whose lease ends at
/// `lease_until`; counts the attempt. The claim's commit does not wait for its flush
/// ([`Db::write_unflushed`]): a claim a crash undoes only sends its messages again, as a
/// crash in mid-batch does anyway.
pub async fn claim_due(
    db: &Db,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<OutboxMessage>, StoreError> {
    let txn = db.write_unflushed().await?;
    let due = due_messages(db.backend(), now, limit);
    let mut claimed = row::Entity::update_many()
        .col_expr(Column::Status, Expr::value(DeliveryStatus::Sending.as_str()))
        .col_expr(Column::NextAttemptAt, Expr::value(lease_until))
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
        .filter(Column::Id.in_subquery(due))
        .exec_with_returning(&txn)
        .await?;
    txn.commit().await?;
    claimed.sort_by_key(|m| (m.created_at, m.id));
    Ok(claimed)
}

/// The ids a claim takes: up to `limit` messages due at `now`, earliest due first, read in
/// that order from the partial index `idx_outbox_claimable`.
pub fn due_messages(backend: Backend, now: DateTime<Utc>, limit: u64) -> SelectStatement {
    let mut due = Query::select();
    due.column(Column::Id)
        .from(row::Entity)
        .and_where(claimable())
        .and_where(Expr::col(Column::NextAttemptAt).lte(now))
        .order_by(Column::NextAttemptAt, sea_orm::Order::Asc)
        .limit(limit);
    lock_claimed_rows(backend, &mut due);
    due
}

/// PostgreSQL: concurrent senders skip each other's rows instead of waiting for them.
/// SQLite: the write transaction already holds the only write lock, so there is nothing to
/// skip.
fn lock_claimed_rows(backend: Backend, select: &mut SelectStatement) {
    if backend == Backend::Postgres {
        select.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
}

/// Records the messages of a batch as sent at `now`, each with whether its data (e.g. a
/// one-time code) is to be replaced with `{}`: one statement per thousand.
pub async fn mark_all_sent(
    db: &impl ConnectionTrait,
    sent: &[(Uuid, bool)],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    for chunk in sent.chunks(1000) {
        let scrubbed: Vec<Uuid> = chunk.iter().filter(|(_, scrub)| *scrub).map(|(id, _)| *id).collect();
        let mut update = row::Entity::update_many()
            .col_expr(Column::Status, Expr::value(DeliveryStatus::Sent.as_str()))
            .col_expr(Column::SentAt, Expr::value(now))
            .col_expr(Column::LastError, Expr::value(Option::<String>::None))
            .filter(Column::Id.is_in(chunk.iter().map(|(id, _)| *id)));
        if !scrubbed.is_empty() {
            let data =
                Expr::case(Column::Id.is_in(scrubbed), Expr::value("{}")).finally(Expr::col(Column::Data));
            update = update.col_expr(Column::Data, data.into());
        }
        update.exec(db).await?;
    }
    Ok(())
}

/// Records a failed attempt: retried at `retry_at`, or dead when there is none.
pub async fn mark_failed(
    db: &impl ConnectionTrait,
    id: Uuid,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    let mut update =
        row::Entity::update_many().col_expr(Column::LastError, Expr::value(error)).filter(Column::Id.eq(id));
    update = match retry_at {
        Some(at) => update
            .col_expr(Column::Status, Expr::value(DeliveryStatus::Failed.as_str()))
            .col_expr(Column::NextAttemptAt, Expr::value(at)),
        None => update.col_expr(Column::Status, Expr::value(DeliveryStatus::Dead.as_str())),
    };
    update.exec(db).await?;
    Ok(())
}

/// Puts claimed messages back to wait, each until its own time, without counting the
/// attempt (their recipients' hourly caps are full): one statement per 500 messages.
pub async fn postpone_all(
    db: &impl ConnectionTrait,
    until: &[(Uuid, DateTime<Utc>)],
) -> Result<(), StoreError> {
    for chunk in until.chunks(500) {
        let Some(((first, first_at), rest)) = chunk.split_first() else { continue };
        let mut when = Expr::case(Column::Id.eq(*first), Expr::value(*first_at));
        for (id, at) in rest {
            when = when.case(Column::Id.eq(*id), Expr::value(*at));
        }
        row::Entity::update_many()
            .col_expr(Column::Status, Expr::value(DeliveryStatus::Pending.as_str()))
            .col_expr(Column::NextAttemptAt, when.finally(Expr::col(Column::NextAttemptAt)).into())
            .col_expr(Column::Attempts, Expr::col(Column::Attempts).sub(1))
            .filter(Column::Id.is_in(chunk.iter().map(|(id, _)| *id)))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Drops claimed non-essential messages for good, saying why: one statement per thousand.
pub async fn drop_all(db: &impl ConnectionTrait, ids: &[Uuid], reason: &str) -> Result<(), StoreError> {
    for chunk in ids.chunks(1000) {
        row::Entity::update_many()
            .col_expr(Column::Status, Expr::value(DeliveryStatus::Dropped.as_str()))
            .col_expr(Column::LastError, Expr::value(reason))
            .filter(Column::Id.is_in(chunk.iter().copied()))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// For each of `emails` (as written in the messages), the send times of the latest `limit`
/// messages sent to it since `since`, in no particular order; addresses with none are
/// missing. One
/// query per hundred addresses, each address read by a descent of its index that stops after
/// `limit` rows.
pub async fn latest_sent_to_each(
    db: &impl ConnectionTrait,
    emails: &[String],
    since: DateTime<Utc>,
    limit: u64,
) -> Result<HashMap<String, Vec<DateTime<Utc>>>, StoreError> {
    let mut latest: HashMap<String, Vec<DateTime<Utc>>> = HashMap::new();
    for chunk in emails.chunks(100) {
        let member = |email: &String| {
            let newest = Query::select()
                .columns([Column::RecipientEmail, Column::SentAt])
                .from(row::Entity)
                .and_where(Column::RecipientEmail.eq(email.as_str()))
                .and_where(Column::SentAt.gt(since))
                .order_by(Column::SentAt, Order::Desc)
                .limit(limit)
                .to_owned();
            // Each address's LIMIT inside its own subquery: SQLite allows none on a member
            // of a compound select.
            Query::select()
                .columns([Column::RecipientEmail, Column::SentAt])
                .from_subquery(newest, Alias::new("newest"))
                .to_owned()
        };
        let Some((first, rest)) = chunk.split_first() else { continue };
        let mut query = member(first);
        for email in rest {
            query.union(UnionType::All, member(email));
        }
        let rows = db.query_all(&query).await?;
        for row in rows {
            let email: String = row.try_get("", "recipient_email")?;
            if let Some(sent_at) = row.try_get::<Option<DateTime<Utc>>>("", "sent_at")? {
                latest.entry(email).or_default().push(sent_at);
            }
        }
    }
    Ok(latest)
}

/// How many messages are waiting to go out (pending, failed and being sent).
pub async fn backlog(db: &impl ConnectionTrait) -> Result<u64, StoreError> {
    Ok(row::Entity::find().filter(claimable()).count(db).await?)
}

/// How many messages not sent are in each status (statuses with none are missing), read
/// from the partial index `idx_outbox_unsent`: as many entries as there are such messages,
/// however many were sent.
pub async fn count_unsent_by_status(db: &impl ConnectionTrait) -> Result<HashMap<String, u64>, StoreError> {
    let backend = db.get_database_backend();
    let rows = db.query_all_raw(backend.build(&counting_unsent())).await?;
    rows.iter()
        .map(|row| {
            let status: String = row.try_get("", "status")?;
            let n: i64 = row.try_get("", "n")?;
            Ok((status, u64::try_from(n).unwrap_or(0)))
        })
        .collect()
}

/// The statement [`count_unsent_by_status`] runs.
pub fn counting_unsent() -> SelectStatement {
    Query::select()
        .column(Column::Status)
        .expr_as(Expr::col(Column::Id).count(), "n")
        .from(row::Entity)
        .and_where(unsent())
        .group_by_col(Column::Status)
        .to_owned()
}

pub async fn by_id(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<OutboxMessage>, StoreError> {
    Ok(row::Entity::find_by_id(id).one(db).await?)
}

/// The messages in any of `statuses` after the cursor `after` (by id), up to `limit`; read
/// from `idx_outbox_unsent` in id order unless sent messages are asked for.
pub async fn list(
    db: &impl ConnectionTrait,
    statuses: &[DeliveryStatus],
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<OutboxMessage>, StoreError> {
    let backend = db.get_database_backend();
    let statement = backend.build(&listing(statuses, after, limit));
    Ok(row::Entity::find().from_raw_sql(statement).all(db).await?)
}

/// The statement [`list`] runs.
pub fn listing(statuses: &[DeliveryStatus], after: Option<Uuid>, limit: u64) -> SelectStatement {
    let mut query = row::Entity::find().filter(status_in(statuses)).order_by_asc(Column::Id).limit(limit);
    if !statuses.contains(&DeliveryStatus::Sent) {
        // Said outright, so that SQLite too reads the messages from `idx_outbox_unsent`.
        query = query.filter(unsent());
    }
    if let Some(after) = after {
        query = query.filter(Column::Id.gt(after));
    }
    query.into_query()
}

/// Puts every dead message back in the queue for an attempt now, with a fresh attempt
/// count (after an outage outlasted the retries); how many.
pub async fn requeue_dead(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, StoreError> {
    let updated = row::Entity::update_many()
        .col_expr(Column::Status, Expr::value(DeliveryStatus::Pending.as_str()))
        .col_expr(Column::NextAttemptAt, Expr::value(now))
        .col_expr(Column::Attempts, Expr::value(0))
        .filter(unsent())
        .filter(Column::Status.eq(DeliveryStatus::Dead.as_str()))
        .exec(db)
        .await?;
    Ok(updated.rows_affected)
}

/// Puts a failed, dead or dropped message back in the queue for an attempt now, with a
/// fresh attempt count. [`StoreError::NotFound`] when there is no such message in one of
/// those statuses.
pub async fn requeue(db: &impl ConnectionTrait, id: Uuid, now: DateTime<Utc>) -> Result<(), StoreError> {
    let requeueable = [DeliveryStatus::Failed, DeliveryStatus::Dead, DeliveryStatus::Dropped];
    let updated = row::Entity::update_many()
        .col_expr(Column::Status, Expr::value(DeliveryStatus::Pending.as_str()))
        .col_expr(Column::NextAttemptAt, Expr::value(now))
        .col_expr(Column::Attempts, Expr::value(0))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.is_in(requeueable.map(DeliveryStatus::as_str)))
        .exec(db)
        .await?;
    if updated.rows_affected == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
