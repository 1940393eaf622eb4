//! Single-use tokens for the account flows that go through email (verification, password
//! reset). Only a SHA-256 hash is stored.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::StoreError;
use super::entity::account_token::{self as row, Column};

pub use row::Model as AccountToken;

/// Stores a token's hash for `user` and `purpose`, valid until `expires_at`.
pub async fn insert(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    purpose: &str,
    token_hash: String,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<AccountToken, StoreError> {
    Ok(row::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        purpose: Set(purpose.to_owned()),
        token_hash: Set(token_hash),
        expires_at: Set(expires_at),
        used_at: Set(None),
        created_at: Set(now),
    }
    .insert(db)
    .await?)
}

/// Uses up the unused, unexpired token with this hash and purpose, and returns it; `None`
/// when there is no such token (unknown, expired, or already used — even by a concurrent
/// request, since the update is conditional).
pub async fn consume(
    db: &impl ConnectionTrait,
    purpose: &str,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<AccountToken>, StoreError> {
    let Some(token) = row::Entity::find()
        .filter(Column::TokenHash.eq(token_hash))
        .filter(Column::Purpose.eq(purpose))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if token.used_at.is_some() || token.expires_at <= now {
        return Ok(None);
    }
    let used = row::Entity::update_many()
        .col_expr(Column::UsedAt, Expr::value(now))
        .filter(Column::Id.eq(token.id))
        .filter(Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok((used.rows_affected == 1).then_some(token))
}

/// Uses up every open token of `user` for `purpose` (a newer one replaces them).
pub async fn expire_open(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    purpose: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    row::Entity::update_many()
        .col_expr(Column::UsedAt, Expr::value(now))
        .filter(Column::UserId.eq(user_id))
        .filter(Column::Purpose.eq(purpose))
        .filter(Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}
