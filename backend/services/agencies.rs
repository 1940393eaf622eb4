//! Administering agencies: the hierarchy of state bodies that receive appeals. An agency is
//! never hard-deleted while anything refers to it; it is deactivated instead.

use sea_orm::Set;
use uuid::Uuid;

use super::accounts::require_admin;
use super::{Caller, ServiceError};
use crate::app::App;
use crate::domain::field::{FieldError, FieldErrors};
use crate::store::StoreError;
use crate::store::agencies::{self, Agency, NewAgency};
use crate::store::entity::agency::ActiveModel as AgencyChange;

/// The descriptive fields of an agency, as an administrator sends them.
#[derive(Debug, Clone, Default)]
pub struct AgencyInput {
    pub code: Option<String>,
    pub kind: Option<String>,
    pub name_tg: Option<String>,
    pub name_ru: Option<String>,
    pub name_en: Option<String>,
    /// `Some(None)` makes it a top-level agency.
    pub parent: Option<Option<String>>,
    /// `Some(None)` removes the address.
    pub email: Option<Option<String>>,
    pub time_zone: Option<String>,
    pub active: Option<bool>,
}

pub async fn create(app: &App, caller: &Caller, input: AgencyInput) -> Result<Agency, ServiceError> {
    require_admin(caller)?;
    let mut errors = FieldErrors::default();
    let code = errors.take(required(&input.code, "code").and_then(|c| parse_code("code", c)));
    let kind = errors.take(required(&input.kind, "kind").and_then(|k| parse_code("kind", k)));
    let names = [("name_tg", &input.name_tg), ("name_ru", &input.name_ru), ("name_en", &input.name_en)]
        .map(|(field, value)| errors.take(required(value, field).and_then(|v| parse_name(field, v))));
    let time_zone = errors.take(parse_time_zone(input.time_zone.as_deref().unwrap_or("Asia/Dushanbe")));
    let email = errors.take(parse_email(input.email.clone().flatten()));
    let parent = errors.take(resolve_parent(app, input.parent.clone().flatten(), None).await?);
    errors.finish()?;
    let [Some(name_tg), Some(name_ru), Some(name_en)] = names else { unreachable!("names parsed") };
    let (Some(code), Some(kind), Some(time_zone), Some(email), Some(parent)) =
        (code, kind, time_zone, email, parent)
    else {
        unreachable!("every field parsed when there are no errors");
    };
    let txn = app.db.write().await?;
    let agency = agencies::insert(
        &txn,
        NewAgency {
            id: Uuid::now_v7(),
            code,
            kind,
            name_tg,
            name_ru,
            name_en,
            parent_id: parent,
            email,
            time_zone,
            now: app.clock.now(),
        },
    )
    .await?;
    txn.commit().await?;
    app.directory.invalidate();
    Ok(agency)
}

pub async fn get(app: &App, caller: &Caller, id: Uuid) -> Result<Agency, ServiceError> {
    require_admin(caller)?;
    agencies::by_id(app.db.conn(), id).await?.ok_or(ServiceError::NotFound)
}

pub async fn page(
    app: &App,
    caller: &Caller,
    after_code: Option<&str>,
    limit: u64,
) -> Result<Vec<Agency>, ServiceError> {
    require_admin(caller)?;
    Ok(agencies::page(app.db.conn(), after_code, limit).await?)
}

/// Changes an agency; the code is permanent once created.
pub async fn update(
    app: &App,
    caller: &Caller,
    id: Uuid,
    input: AgencyInput,
) -> Result<Agency, ServiceError> {
    require_admin(caller)?;
    let current = agencies::by_id(app.db.conn(), id).await?.ok_or(ServiceError::NotFound)?;
    let mut errors = FieldErrors::default();
    if input.code.as_deref().is_some_and(|c| c != current.code) {
        errors.push(FieldError::new("code", "immutable", "an agency's code cannot change"));
    }
    let kind = input.kind.as_deref().map(|k| errors.take(parse_code("kind", k)));
    let names = [("name_tg", &input.name_tg), ("name_ru", &input.name_ru), ("name_en", &input.name_en)]
        .map(|(field, value)| value.as_deref().map(|v| errors.take(parse_name(field, v))));
    let time_zone = input.time_zone.as_deref().map(|tz| errors.take(parse_time_zone(tz)));
    let email = input.email.clone().map(|e| errors.take(parse_email(e)));
    let parent = match input.parent.clone() {
        Some(parent) => Some(errors.take(resolve_parent(app, parent, Some(id)).await?)),
        None => None,
    };
    errors.finish()?;
    let mut change: AgencyChange = current.into();
    if let Some(Some(kind)) = kind {
        change.kind = Set(kind);
    }
    let [tg, ru, en] = names;
    if let Some(Some(v)) = tg {
        change.name_tg = Set(v);
    }
    if let Some(Some(v)) = ru {
        change.name_ru = Set(v);
    }
    if let Some(Some(v)) = en {
        change.name_en = Set(v);
    }
    if let Some(Some(tz)) = time_zone {
        change.time_zone = Set(tz);
    }
    if let Some(Some(email)) = email {
        change.email = Set(email);
    }
    if let Some(Some(parent)) = parent {
        change.parent_id = Set(parent);
    }
    if let Some(active) = input.active {
        change.active = Set(active);
    }
    change.updated_at = Set(app.clock.now());
    let txn = app.db.write().await?;
    let agency = agencies::update(&txn, change).await?;
    txn.commit().await?;
    app.directory.invalidate();
    Ok(agency)
}

/// Deletes an agency that nothing refers to; otherwise 409 (users or sub-agencies, checked
/// first for a precise answer; appeals and the rest, by the foreign keys), and the agency
/// should be deactivated instead.
pub async fn delete(app: &App, caller: &Caller, id: Uuid) -> Result<(), ServiceError> {
    require_admin(caller)?;
    let txn = app.db.write().await?;
    agencies::by_id(&txn, id).await?.ok_or(ServiceError::NotFound)?;
    if agencies::is_referenced(&txn, id).await? {
        return Err(ServiceError::Conflict(
            "the agency has users or sub-agencies; deactivate it instead".into(),
        ));
    }
    match agencies::delete(&txn, id).await {
        // Appeals or their records (stays, report tallies) still name it: the
        // foreign keys refuse (its territories go with it), and the transaction, aborted on
        // PostgreSQL, is rolled back on return.
        Err(StoreError::MissingReference(_)) => {
            return Err(ServiceError::Conflict(
                "appeals or their records refer to the agency; deactivate it instead".into(),
            ));
        }
        deleted => deleted?,
    }
    txn.commit().await?;
    app.directory.invalidate();
    Ok(())
}

fn required<'a>(value: &'a Option<String>, field: &str) -> Result<&'a str, FieldError> {
    value.as_deref().ok_or_else(|| FieldError::new(field, "required", "is required"))
}

/// Codes are lower-case ASCII slugs, 2 to 64 characters: letters, digits and hyphens.
fn parse_code(field: &str, raw: &str) -> Result<String, FieldError> {
    let valid = (2..=64).contains(&raw.len())
        && raw.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !raw.starts_with('-')
        && !raw.ends_with('-');
    if valid {
        Ok(raw.to_owned())
    } else {
        Err(FieldError::invalid(field, "must be 2-64 lower-case letters, digits or hyphens"))
    }
}

fn parse_name(field: &str, raw: &str) -> Result<String, FieldError> {
    let name = raw.trim();
    match name.chars().count() {
        0 => Err(FieldError::empty(field)),
        n if n > 300 => Err(FieldError::too_long(field, 300)),
        _ => Ok(name.to_owned()),
    }
}

fn parse_time_zone(raw: &str) -> Result<String, FieldError> {
    raw.parse::<chrono_tz::Tz>()
        .map(|tz| tz.name().to_owned())
        .map_err(|_| FieldError::invalid("time_zone", "must be an IANA time zone such as Asia/Dushanbe"))
}

fn parse_email(raw: Option<String>) -> Result<Option<String>, FieldError> {
    raw.map(|e| crate::domain::account::Email::parse("email", &e).map(|e| e.into_string())).transpose()
}

/// Finds the parent by code and refuses a loop (an agency under its own descendant).
async fn resolve_parent(
    app: &App,
    code: Option<String>,
    child: Option<Uuid>,
) -> Result<Result<Option<Uuid>, FieldError>, ServiceError> {
    let Some(code) = code else { return Ok(Ok(None)) };
    let Some(parent) = agencies::by_code(app.db.conn(), &code).await? else {
        return Ok(Err(FieldError::unknown("parent", "agency")));
    };
    if let Some(child) = child
        && agencies::would_cycle(app.db.conn(), child, parent.id).await?
    {
        return Ok(Err(FieldError::new(
            "parent",
            "cycle",
            "an agency cannot sit under itself or its sub-agencies",
        )));
    }
    Ok(Ok(Some(parent.id)))
}
