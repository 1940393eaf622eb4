//! Response bodies shared by several routes.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::domain::locale::Locale;
use crate::domain::role::Role;
use crate::store::agencies::Agency;
use crate::store::users::User;

/// A user account as its owner or an administrator sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub full_name: String,
    pub role: Role,
    /// The agency of an official or supervisor.
    pub agency_id: Option<Uuid>,
    pub locale: Locale,
    pub disabled: bool,
    pub email_verified: bool,
    /// Whether the account receives mail the law does not require (reminders, digests).
    /// Legal notices about one's appeals are always sent.
    pub optional_mail: bool,
    pub created_at: DateTime<Utc>,
}

impl From<User> for UserView {
    fn from(user: User) -> Self {
        Self {
            id: user.id,
            role: user.role.parse().unwrap_or(Role::Citizen),
            locale: user.locale.parse().unwrap_or(Locale::Tg),
            email: user.email,
            full_name: user.full_name,
            agency_id: user.agency_id,
            disabled: user.disabled,
            email_verified: user.email_verified_at.is_some(),
            optional_mail: user.optional_mail,
            created_at: user.created_at,
        }
    }
}

/// A state body that receives appeals.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgencyView {
    pub id: Uuid,
    pub code: String,
    /// What sort of body it is (ministry, district-hukumat, utility, ...); routing rules
    /// can address agencies by kind.
    pub kind: String,
    pub name_tg: String,
    pub name_ru: String,
    pub name_en: String,
    pub parent_id: Option<Uuid>,
    pub email: Option<String>,
    pub time_zone: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Agency> for AgencyView {
    fn from(a: Agency) -> Self {
        Self {
            id: a.id,
            code: a.code,
            kind: a.kind,
            name_tg: a.name_tg,
            name_ru: a.name_ru,
            name_en: a.name_en,
            parent_id: a.parent_id,
            email: a.email,
            time_zone: a.time_zone,
            active: a.active,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// Deserializes a field that may be absent (no change), null (remove) or a value (set).
pub fn double_option<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(de).map(Some)
}
