//! Escalations: the record that an appeal missed a deadline and its agency's supervisors
//! were alerted. One row per (appeal, agency, missed due instant): an agency that receives
//! an appeal already late is told once too. `notified_at` is when the alert
//! emails were queued, in the same transaction (the outbox sends them); it stays empty when
//! there was no one to alert (no active supervisor or assignee, and no agency address), so
//! an operator can find the missed deadlines nobody was told about.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict, SelectStatement};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TryInsertResult,
};
use uuid::Uuid;

use super::StoreError;
use super::bulk::OnDuplicate;
use super::entity::escalation;

pub use escalation::Model as Escalation;

/// Records that the appeal missed the deadline `due_at` at `agency_id`; `false` when that was
/// recorded before (so escalating twice is impossible).
pub async fn record(
    db: &impl ConnectionTrait,
    appeal_id: Uuid,
    agency_id: Uuid,
    due_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let row = escalation::ActiveModel {
        id: Set(Uuid::now_v7()),
        appeal_id: Set(appeal_id),
        agency_id: Set(agency_id),
        due_at: Set(due_at),
        escalated_at: Set(now),
        notified_at: Set(None),
    };
    let on_conflict = OnConflict::columns([
        escalation::Column::AppealId,
        escalation::Column::AgencyId,
        escalation::Column::DueAt,
    ])
    .do_nothing()
    .to_owned();
    let written = escalation::Entity::insert(row)
        .on_conflict(on_conflict)
        .try_insert()
        .exec_without_returning(db)
        .await?;
    Ok(matches!(written, TryInsertResult::Inserted(n) if n > 0))
}

/// A missed deadline to record with [`record_many`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewEscalation {
    pub appeal_id: Uuid,
    pub agency_id: Uuid,
    pub due_at: DateTime<Utc>,
    /// Whether alert emails were queued with it (`notified_at` is then the escalation's time).
    pub alerted: bool,
}

/// The missed deadlines already recorded for these appeals, as (appeal, agency, due
/// instant), in one query.
pub async fn recorded(
    db: &impl ConnectionTrait,
    appeal_ids: &[Uuid],
) -> Result<HashSet<(Uuid, Uuid, DateTime<Utc>)>, StoreError> {
    let mut seen = HashSet::new();
    for chunk in appeal_ids.chunks(1_000) {
        let rows: Vec<(Uuid, Uuid, DateTime<Utc>)> = escalation::Entity::find()
            .select_only()
            .column(escalation::Column::AppealId)
            .column(escalation::Column::AgencyId)
            .column(escalation::Column::DueAt)
            .filter(escalation::Column::AppealId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        seen.extend(rows);
    }
    Ok(seen)
}

/// Records many missed deadlines at once; returns how many rows were written, which is
/// fewer than given when some were recorded before (those are left as they are).
pub async fn record_many(
    db: &impl ConnectionTrait,
    new: &[NewEscalation],
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    // Only (appeal, agency, due time) can repeat: the ids are new.
    let rows = new
        .iter()
        .map(|e| escalation::ActiveModel {
            id: Set(Uuid::now_v7()),
            appeal_id: Set(e.appeal_id),
            agency_id: Set(e.agency_id),
            due_at: Set(e.due_at),
            escalated_at: Set(now),
            notified_at: Set(e.alerted.then_some(now)),
        })
        .collect();
    super::bulk::insert(db, rows, OnDuplicate::Skip).await
}

/// Records that the alert emails about the appeal's missed deadline `due_at` at `agency_id`
/// were queued at `now` (see [`record`], which leaves `notified_at` empty).
pub async fn mark_notified(
    db: &impl ConnectionTrait,
    appeal_id: Uuid,
    agency_id: Uuid,
    due_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    escalation::Entity::update_many()
        .col_expr(escalation::Column::NotifiedAt, Expr::value(now))
        .filter(escalation::Column::AppealId.eq(appeal_id))
        .filter(escalation::Column::AgencyId.eq(agency_id))
        .filter(escalation::Column::DueAt.eq(due_at))
        .exec(db)
        .await?;
    Ok(())
}

/// How many escalations nobody was alerted to: `idx_escalations_unalerted`, as long as
/// what it counts.
pub async fn count_unalerted(db: &impl ConnectionTrait) -> Result<u64, StoreError> {
    super::count_of(db, &counting_unalerted()).await
}

/// The statement [`count_unalerted`] runs.
pub fn counting_unalerted() -> SelectStatement {
    super::counting(escalation::Entity, Condition::all().add(escalation::Column::NotifiedAt.is_null()))
}

/// An appeal's escalations, oldest first.
pub async fn of_appeal(db: &impl ConnectionTrait, appeal_id: Uuid) -> Result<Vec<Escalation>, StoreError> {
    Ok(escalation::Entity::find()
        .filter(escalation::Column::AppealId.eq(appeal_id))
        .order_by_asc(escalation::Column::EscalatedAt)
        .all(db)
        .await?)
}
