//! Escalations: the record that an appeal missed a deadline and its agency's supervisors
//! were alerted. One row per (appeal, missed due instant); `notified_at` stays empty until
//! email delivery (the outbox) picks it up.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set, TryInsertResult};
use uuid::Uuid;

use super::StoreError;
use super::entity::escalation;

pub use escalation::Model as Escalation;

/// Records that the appeal missed the deadline `due_at`; `false` when that was recorded
/// before (so escalating twice is impossible).
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
    let on_conflict = OnConflict::columns([escalation::Column::AppealId, escalation::Column::DueAt])
        .do_nothing()
        .to_owned();
    let written = escalation::Entity::insert(row)
        .on_conflict(on_conflict)
        .try_insert()
        .exec_without_returning(db)
        .await?;
    Ok(matches!(written, TryInsertResult::Inserted(n) if n > 0))
}

/// An appeal's escalations, oldest first.
pub async fn of_appeal(db: &impl ConnectionTrait, appeal_id: Uuid) -> Result<Vec<Escalation>, StoreError> {
    Ok(escalation::Entity::find()
        .filter(escalation::Column::AppealId.eq(appeal_id))
        .order_by_asc(escalation::Column::EscalatedAt)
        .all(db)
        .await?)
}
