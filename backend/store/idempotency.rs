//! Idempotency keys: the first result of a create request, kept so a retry with the same key
//! gets the same answer instead of a second appeal.

use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait};

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

/// Records a key. A concurrent request that recorded the same key first makes this fail
/// with [`StoreError::Conflict`]; the caller then reads that request's record.
pub async fn record(db: &impl ConnectionTrait, record: IdempotencyRecord) -> Result<(), StoreError> {
    idempotency_key::ActiveModel::from(record).insert(db).await?;
    Ok(())
}
