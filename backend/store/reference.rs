//! Reference data: territories (regions and their districts) and appeal categories.

use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, QueryOrder};

use super::StoreError;
use super::entity::{category, territory};

pub use category::Model as Category;
pub use territory::Model as Territory;

pub async fn territories(db: &impl ConnectionTrait) -> Result<Vec<Territory>, StoreError> {
    Ok(territory::Entity::find().order_by_asc(territory::Column::Code).all(db).await?)
}

pub async fn categories(db: &impl ConnectionTrait) -> Result<Vec<Category>, StoreError> {
    Ok(category::Entity::find().order_by_asc(category::Column::Code).all(db).await?)
}

pub async fn territory(db: &impl ConnectionTrait, code: &str) -> Result<Option<Territory>, StoreError> {
    Ok(territory::Entity::find_by_id(code.to_owned()).one(db).await?)
}

pub async fn category(db: &impl ConnectionTrait, code: &str) -> Result<Option<Category>, StoreError> {
    Ok(category::Entity::find_by_id(code.to_owned()).one(db).await?)
}

pub async fn insert_territory(db: &impl ConnectionTrait, row: Territory) -> Result<Territory, StoreError> {
    Ok(territory::ActiveModel::from(row).insert(db).await?)
}

pub async fn insert_category(db: &impl ConnectionTrait, row: Category) -> Result<Category, StoreError> {
    Ok(category::ActiveModel::from(row).insert(db).await?)
}

pub async fn update_territory(
    db: &impl ConnectionTrait,
    change: territory::ActiveModel,
) -> Result<Territory, StoreError> {
    Ok(change.update(db).await?)
}

pub async fn update_category(
    db: &impl ConnectionTrait,
    change: category::ActiveModel,
) -> Result<Category, StoreError> {
    Ok(change.update(db).await?)
}
