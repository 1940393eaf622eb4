//! Queries on agencies.

use std::collections::HashMap;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use super::StoreError;
use super::entity::{agency, user};

pub use agency::Model as Agency;

/// The fields of a new agency; ids and timestamps are the caller's.
#[derive(Debug, Clone)]
pub struct NewAgency {
    pub id: Uuid,
    pub code: String,
    pub kind: String,
    pub name_tg: String,
    pub name_ru: String,
    pub name_en: String,
    pub parent_id: Option<Uuid>,
    pub email: Option<String>,
    pub time_zone: String,
    pub now: chrono::DateTime<chrono::Utc>,
}

pub async fn insert(db: &impl ConnectionTrait, new: NewAgency) -> Result<Agency, StoreError> {
    Ok(agency::ActiveModel {
        id: Set(new.id),
        code: Set(new.code),
        kind: Set(new.kind),
        name_tg: Set(new.name_tg),
        name_ru: Set(new.name_ru),
        name_en: Set(new.name_en),
        parent_id: Set(new.parent_id),
        email: Set(new.email),
        time_zone: Set(new.time_zone),
        active: Set(true),
        created_at: Set(new.now),
        updated_at: Set(new.now),
    }
    .insert(db)
    .await?)
}

pub async fn by_id(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Agency>, StoreError> {
    Ok(agency::Entity::find_by_id(id).one(db).await?)
}

/// The agencies with these ids, in one query; missing ids are left out.
pub async fn by_ids(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<HashMap<Uuid, Agency>, StoreError> {
    let mut found = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(1_000) {
        let rows =
            agency::Entity::find().filter(agency::Column::Id.is_in(chunk.iter().copied())).all(db).await?;
        found.extend(rows.into_iter().map(|a| (a.id, a)));
    }
    Ok(found)
}

pub async fn by_code(db: &impl ConnectionTrait, code: &str) -> Result<Option<Agency>, StoreError> {
    Ok(agency::Entity::find().filter(agency::Column::Code.eq(code)).one(db).await?)
}

/// One page of agencies ordered by code, starting after `after_code`.
pub async fn page(
    db: &impl ConnectionTrait,
    after_code: Option<&str>,
    limit: u64,
) -> Result<Vec<Agency>, StoreError> {
    let mut query = agency::Entity::find().order_by_asc(agency::Column::Code);
    if let Some(after) = after_code {
        query = query.filter(agency::Column::Code.gt(after));
    }
    Ok(query.limit(limit).all(db).await?)
}

/// Every agency; the table is small (thousands at most) and read for hierarchy checks.
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<Agency>, StoreError> {
    Ok(agency::Entity::find().all(db).await?)
}

pub async fn count(db: &impl ConnectionTrait) -> Result<u64, StoreError> {
    Ok(agency::Entity::find().count(db).await?)
}

/// Saves a changed agency.
pub async fn update(db: &impl ConnectionTrait, changed: agency::ActiveModel) -> Result<Agency, StoreError> {
    Ok(changed.update(db).await?)
}

/// Whether any user or child agency points at this agency.
pub async fn is_referenced(db: &impl ConnectionTrait, id: Uuid) -> Result<bool, StoreError> {
    let users = user::Entity::find().filter(user::Column::AgencyId.eq(id)).count(db).await?;
    let children = agency::Entity::find().filter(agency::Column::ParentId.eq(id)).count(db).await?;
    Ok(users + children > 0)
}

/// Deletes an agency nothing refers to; the caller has checked `is_referenced` in the same
/// transaction, and the foreign keys make sure of it.
pub async fn delete(db: &impl ConnectionTrait, id: Uuid) -> Result<(), StoreError> {
    let deleted = agency::Entity::delete_by_id(id).exec(db).await?;
    if deleted.rows_affected == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// The ids of `root` and every agency below it.
pub async fn subtree(db: &impl ConnectionTrait, root: Uuid) -> Result<Vec<Uuid>, StoreError> {
    let all = all(db).await?;
    Ok(descendants(&all, root))
}

/// `root` followed by its descendants, found breadth-first in an in-memory list.
pub fn descendants(all: &[Agency], root: Uuid) -> Vec<Uuid> {
    let mut found = vec![root];
    let mut next = 0;
    while next < found.len() {
        let parent = found[next];
        found.extend(all.iter().filter(|a| a.parent_id == Some(parent)).map(|a| a.id));
        next += 1;
    }
    found
}

/// Whether making `parent` the parent of `child` would close a loop.
pub async fn would_cycle(db: &impl ConnectionTrait, child: Uuid, parent: Uuid) -> Result<bool, StoreError> {
    Ok(subtree(db, child).await?.contains(&parent))
}
