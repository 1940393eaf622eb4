//! Idempotency keys: the first result of a create request, kept so a retry with the same key
//! gets the same answer instead of a second appeal.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{InsertStatement, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryTrait};

use super::StoreError;
use super::entity::idempotency_key;

pub use idempotency_key::Model as IdempotencyRecord;

pub async fn find(
    db: &impl ConnectionTrait,
    scope: &str,
    key: &str,
) -> Result<Option<IdempotencyRecord>, StoreError> {
    Ok(idempotency_key::Entity::find_by_id((scope.to_owned(), key.to_owned())).one(db).await?)
}

/// Deletes the keys recorded before `cutoff`; returns how many. A retry after that is a new
/// request.
pub async fn delete_recorded_before(
    db: &impl ConnectionTrait,
    cutoff: DateTime<Utc>,
) -> Result<u64, StoreError> {
    Ok(idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::CreatedAt.lt(cutoff))
        .exec(db)
        .await?
        .rows_affected)
}

/// Records a key unless it is taken; false when it is. On PostgreSQL a request that holds the
/// same key in an uncommitted transaction makes this wait for its outcome.
pub async fn claim(db: &impl ConnectionTrait, record: IdempotencyRecord) -> Result<bool, StoreError> {
    Ok(db.execute(&claiming(record)).await?.rows_affected() > 0)
}

/// The statement [`claim`] runs: the insert, skipped when the key is taken.
pub fn claiming(record: IdempotencyRecord) -> InsertStatement {
    idempotency_key::Entity::insert(idempotency_key::ActiveModel::from(record))
        .on_conflict(
            OnConflict::columns([idempotency_key::Column::Scope, idempotency_key::Column::Key])
                .do_nothing()
                .to_owned(),
        )
        .into_query()
}
