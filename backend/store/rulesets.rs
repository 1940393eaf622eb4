//! Queries on routing rulesets: drafts get the next version number, and activation retires
//! the active version and activates the new one in one write transaction. A partial unique
//! index (migration 000004) guarantees that at most one version is ever active.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::entity::ruleset;
use super::{Backend, StoreError};

pub use ruleset::Model as StoredRuleset;

/// The lifecycle of a ruleset version.
pub const DRAFT: &str = "draft";
pub const ACTIVE: &str = "active";
pub const RETIRED: &str = "retired";

/// A new draft; its version number is chosen on insert.
#[derive(Debug, Clone)]
pub struct NewRuleset {
    pub author_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub source: String,
    /// `toml` or `json`.
    pub format: String,
    pub description: Option<String>,
}

/// Inserts a draft with the next version number. Call it in a write transaction, so two
/// drafts cannot take the same number (the unique index refuses it anyway).
pub async fn insert_draft(db: &impl ConnectionTrait, new: NewRuleset) -> Result<StoredRuleset, StoreError> {
    let version = latest_version(db).await?.unwrap_or(0) + 1;
    Ok(ruleset::ActiveModel {
        id: Set(Uuid::now_v7()),
        version: Set(version),
        status: Set(DRAFT.to_owned()),
        author_id: Set(new.author_id),
        created_at: Set(new.created_at),
        activated_at: Set(None),
        source: Set(new.source),
        format: Set(new.format),
        description: Set(new.description),
    }
    .insert(db)
    .await?)
}

async fn latest_version(db: &impl ConnectionTrait) -> Result<Option<i32>, StoreError> {
    let latest: Option<Option<i32>> = ruleset::Entity::find()
        .select_only()
        .column_as(ruleset::Column::Version.max(), "latest")
        .into_tuple()
        .one(db)
        .await?;
    Ok(latest.flatten())
}

pub async fn by_version(
    db: &impl ConnectionTrait,
    version: i32,
) -> Result<Option<StoredRuleset>, StoreError> {
    Ok(ruleset::Entity::find().filter(ruleset::Column::Version.eq(version)).one(db).await?)
}

/// The active ruleset, if any.
pub async fn active(db: &impl ConnectionTrait) -> Result<Option<StoredRuleset>, StoreError> {
    Ok(ruleset::Entity::find().filter(ruleset::Column::Status.eq(ACTIVE)).one(db).await?)
}

/// The active version number: the one indexed query every filing makes.
pub async fn active_version(db: &impl ConnectionTrait) -> Result<Option<i32>, StoreError> {
    Ok(ruleset::Entity::find()
        .select_only()
        .column(ruleset::Column::Version)
        .filter(ruleset::Column::Status.eq(ACTIVE))
        .into_tuple()
        .one(db)
        .await?)
}

/// One page of rulesets, newest version first, below `before_version`.
pub async fn page(
    db: &impl ConnectionTrait,
    before_version: Option<i32>,
    limit: u64,
) -> Result<Vec<StoredRuleset>, StoreError> {
    let mut query = ruleset::Entity::find().order_by_desc(ruleset::Column::Version);
    if let Some(before) = before_version {
        query = query.filter(ruleset::Column::Version.lt(before));
    }
    Ok(query.limit(limit).all(db).await?)
}

pub async fn count(db: &impl ConnectionTrait) -> Result<u64, StoreError> {
    use sea_orm::PaginatorTrait;
    Ok(ruleset::Entity::find().count(db).await?)
}

/// Makes draft `version` the active one and retires the version active before, in `txn`.
/// [`StoreError::NotFound`] when `version` is not a draft; nothing changes then.
pub async fn activate(
    txn: &DatabaseTransaction,
    backend: Backend,
    version: i32,
    now: DateTime<Utc>,
) -> Result<StoredRuleset, StoreError> {
    lock_for_activation(txn, backend).await?;
    let is_draft = by_version(txn, version).await?.is_some_and(|r| r.status == DRAFT);
    if !is_draft {
        return Err(StoreError::NotFound);
    }
    ruleset::Entity::update_many()
        .col_expr(ruleset::Column::Status, Expr::value(RETIRED))
        .filter(ruleset::Column::Status.eq(ACTIVE))
        .exec(txn)
        .await?;
    ruleset::Entity::update_many()
        .col_expr(ruleset::Column::Status, Expr::value(ACTIVE))
        .col_expr(ruleset::Column::ActivatedAt, Expr::value(now))
        .filter(ruleset::Column::Version.eq(version))
        .filter(ruleset::Column::Status.eq(DRAFT))
        .exec(txn)
        .await?;
    by_version(txn, version).await?.ok_or(StoreError::NotFound)
}

/// Serialises activations. SQLite write transactions begin IMMEDIATE and already hold the
/// only write lock; PostgreSQL needs a table lock that conflicts with itself (but not with
/// the readers that filings are), so a second activation waits instead of failing on the
/// one-active index.
async fn lock_for_activation(txn: &DatabaseTransaction, backend: Backend) -> Result<(), StoreError> {
    match backend {
        Backend::Sqlite => Ok(()),
        Backend::Postgres => {
            txn.execute_unprepared("LOCK TABLE rulesets IN SHARE ROW EXCLUSIVE MODE").await?;
            Ok(())
        }
    }
}
