//! Attachment records; the files themselves live on disk by content hash.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use super::StoreError;
use super::entity::attachment;

pub use attachment::Model as Attachment;

pub async fn insert(db: &impl ConnectionTrait, row: Attachment) -> Result<Attachment, StoreError> {
    Ok(attachment::ActiveModel::from(row).insert(db).await?)
}

pub async fn of_appeal(db: &impl ConnectionTrait, appeal: Uuid) -> Result<Vec<Attachment>, StoreError> {
    Ok(attachment::Entity::find()
        .filter(attachment::Column::AppealId.eq(appeal))
        .order_by_asc(attachment::Column::CreatedAt)
        .all(db)
        .await?)
}

pub async fn count_of_appeal(db: &impl ConnectionTrait, appeal: Uuid) -> Result<u64, StoreError> {
    Ok(attachment::Entity::find().filter(attachment::Column::AppealId.eq(appeal)).count(db).await?)
}

pub async fn by_id(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Attachment>, StoreError> {
    Ok(attachment::Entity::find_by_id(id).one(db).await?)
}
