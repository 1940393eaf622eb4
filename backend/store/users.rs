//! Queries on user accounts.

use std::collections::HashSet;

use sea_orm::sea_query::{Condition, Expr, ExprTrait, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::StoreError;
use super::entity::user;

pub use user::Model as User;

/// The fields of a new account. `email` must already be normalised (lower-cased).
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub full_name: String,
    pub role: String,
    pub agency_id: Option<Uuid>,
    pub locale: String,
    /// Whether the address counts as confirmed from the start (accounts staff create).
    pub email_verified: bool,
    pub now: chrono::DateTime<chrono::Utc>,
}

pub async fn insert(db: &impl ConnectionTrait, new: NewUser) -> Result<User, StoreError> {
    Ok(user::ActiveModel {
        id: Set(new.id),
        email: Set(new.email),
        password_hash: Set(new.password_hash),
        full_name: Set(new.full_name),
        role: Set(new.role),
        agency_id: Set(new.agency_id),
        locale: Set(new.locale),
        disabled: Set(false),
        email_verified_at: Set(new.email_verified.then_some(new.now)),
        optional_mail: Set(true),
        created_at: Set(new.now),
        updated_at: Set(new.now),
    }
    .insert(db)
    .await?)
}

pub async fn by_id(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<User>, StoreError> {
    Ok(user::Entity::find_by_id(id).one(db).await?)
}

/// The accounts with the given ids (those that exist).
pub async fn by_ids(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<User>, StoreError> {
    Ok(user::Entity::find().filter(user::Column::Id.is_in(ids.iter().copied())).all(db).await?)
}

/// Looks an account up by its normalised (lower-cased) email.
pub async fn by_email(db: &impl ConnectionTrait, email: &str) -> Result<Option<User>, StoreError> {
    Ok(user::Entity::find().filter(user::Column::Email.eq(email)).one(db).await?)
}

/// What an administrator searches accounts by.
#[derive(Debug, Default, Clone)]
pub struct UserSearch {
    /// Matched against the email and the full name.
    pub text: Option<String>,
    pub role: Option<String>,
    pub agency_id: Option<Uuid>,
    /// Keyset cursor: the email of the last row of the previous page.
    pub after_email: Option<String>,
    pub limit: u64,
}

/// One page of accounts ordered by email.
pub async fn search(db: &impl ConnectionTrait, q: &UserSearch) -> Result<Vec<User>, StoreError> {
    let mut query = user::Entity::find().order_by_asc(user::Column::Email);
    if let Some(text) = q.text.as_deref().filter(|t| !t.is_empty()) {
        let pattern = format!("%{}%", escape_like(text));
        let lowered = format!("%{}%", escape_like(&text.to_lowercase()));
        // LIKE is case-sensitive on PostgreSQL and ASCII-case-insensitive on SQLite: compare
        // lower-cased names, and the name as typed for letters SQLite's lower() leaves alone.
        query = query.filter(
            Condition::any()
                .add(user::Column::Email.like(lowered.clone()))
                .add(user::Column::FullName.like(pattern))
                .add(Expr::expr(Func::lower(Expr::col(user::Column::FullName))).like(lowered)),
        );
    }
    if let Some(role) = &q.role {
        query = query.filter(user::Column::Role.eq(role.as_str()));
    }
    if let Some(agency) = q.agency_id {
        query = query.filter(user::Column::AgencyId.eq(agency));
    }
    if let Some(after) = &q.after_email {
        query = query.filter(user::Column::Email.gt(after.as_str()));
    }
    Ok(query.limit(q.limit).all(db).await?)
}

/// The accounts with `role` at any of these agencies, in email order, in one query.
pub async fn with_role_at(
    db: &impl ConnectionTrait,
    role: &str,
    agencies: &[Uuid],
) -> Result<Vec<User>, StoreError> {
    let mut found = Vec::new();
    for chunk in agencies.chunks(1_000) {
        let rows = user::Entity::find()
            .filter(user::Column::Role.eq(role))
            .filter(user::Column::AgencyId.is_in(chunk.iter().copied()))
            .order_by_asc(user::Column::Email)
            .all(db)
            .await?;
        found.extend(rows);
    }
    Ok(found)
}

/// Which of these normalised (lower-cased) addresses belong to accounts that turned off the
/// mail the law does not require.
pub async fn without_optional_mail(
    db: &impl ConnectionTrait,
    emails: &[String],
) -> Result<HashSet<String>, StoreError> {
    let mut found = HashSet::new();
    for chunk in emails.chunks(1_000) {
        let rows: Vec<String> = user::Entity::find()
            .select_only()
            .column(user::Column::Email)
            .filter(user::Column::Email.is_in(chunk.iter().cloned()))
            .filter(user::Column::OptionalMail.eq(false))
            .into_tuple()
            .all(db)
            .await?;
        found.extend(rows);
    }
    Ok(found)
}

/// Saves a changed account.
pub async fn update(db: &impl ConnectionTrait, changed: user::ActiveModel) -> Result<User, StoreError> {
    Ok(changed.update(db).await?)
}

/// Drops LIKE wildcards from user text, so a search cannot widen itself to every row.
fn escape_like(text: &str) -> String {
    text.replace(['\\', '%', '_'], "")
}
