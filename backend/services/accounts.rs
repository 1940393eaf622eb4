//! User accounts: citizens registering and keeping their profile, administrators managing
//! staff accounts.

use rand::Rng;
use rand::distr::Alphanumeric;
use sea_orm::Set;
use uuid::Uuid;

use super::appeals::actions::{Release, release_assigned};
use super::{Caller, ServiceError, account_mail};
use crate::app::App;
use crate::auth::password::Verdict;
use crate::domain::account::{Email, FullName, Password};
use crate::domain::field::{FieldError, FieldErrors};
use crate::domain::locale::Locale;
use crate::domain::role::Role;
use crate::store::appeals::Appeal;
use crate::store::entity::user::ActiveModel as UserChange;
use crate::store::users::{self, NewUser, User, UserSearch};
use crate::store::{agencies, refresh_tokens};

/// What a citizen sends to register.
#[derive(Debug, Clone)]
pub struct Registration {
    pub email: String,
    pub password: String,
    pub full_name: String,
    pub locale: Option<Locale>,
}

/// Creates a citizen account.
pub async fn register(app: &App, client: &str, input: Registration) -> Result<User, ServiceError> {
    app.limits.register_per_ip.check(client)?;
    let mut errors = FieldErrors::default();
    let email = errors.take(Email::parse("email", &input.email));
    let password = errors.take(parse_password(app, "password", &input.password, email.as_ref()));
    let full_name = errors.take(FullName::parse("full_name", &input.full_name));
    errors.finish()?;
    let (Some(email), Some(password), Some(full_name)) = (email, password, full_name) else {
        unreachable!("every field parsed when there are no errors");
    };
    let hash = app.hasher.hash(password.expose()).await?;
    let locale = input.locale.unwrap_or(app.settings.server.default_locale);
    insert_user(app, email, hash, full_name, Role::Citizen, None, locale, Origin::SelfRegistered).await
}

/// The caller's own account.
pub async fn profile(app: &App, caller: &Caller) -> Result<User, ServiceError> {
    users::by_id(app.db.conn(), caller.id).await?.ok_or(ServiceError::NotFound)
}

/// What a user may change about their own account; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProfileChange {
    pub full_name: Option<String>,
    pub locale: Option<Locale>,
    pub optional_mail: Option<bool>,
}

/// Changes the caller's own name, language or mail preference.
pub async fn update_profile(app: &App, caller: &Caller, wanted: ProfileChange) -> Result<User, ServiceError> {
    let ProfileChange { full_name, locale, optional_mail } = wanted;
    let full_name = full_name.map(|n| FullName::parse("full_name", &n)).transpose()?;
    let txn = app.db.write().await?;
    let user = users::by_id(&txn, caller.id).await?.ok_or(ServiceError::NotFound)?;
    let mut change: UserChange = user.into();
    if let Some(name) = full_name {
        change.full_name = Set(name.into_string());
    }
    if let Some(locale) = locale {
        change.locale = Set(locale.as_str().to_owned());
    }
    if let Some(optional_mail) = optional_mail {
        change.optional_mail = Set(optional_mail);
    }
    change.updated_at = Set(app.clock.now());
    let user = users::update(&txn, change).await?;
    txn.commit().await?;
    Ok(user)
}

/// Changes the caller's password after checking the current one, and ends every session
/// the account has (all refresh tokens are revoked).
pub async fn change_password(
    app: &App,
    caller: &Caller,
    current: &str,
    new: &str,
) -> Result<(), ServiceError> {
    let user = users::by_id(app.db.conn(), caller.id).await?.ok_or(ServiceError::NotFound)?;
    let new = parse_password(app, "new_password", new, Some(&Email::parse("email", &user.email)?))?;
    if app.hasher.verify(current, Some(&user.password_hash)).await? == Verdict::Mismatch {
        return Err(ServiceError::field(FieldError::new(
            "current_password",
            "mismatch",
            "is not the current password",
        )));
    }
    let hash = app.hasher.hash(new.expose()).await?;
    let now = app.clock.now();
    let txn = app.db.write().await?;
    let mut change: UserChange = user.into();
    change.password_hash = Set(hash);
    change.updated_at = Set(now);
    users::update(&txn, change).await?;
    refresh_tokens::revoke_user(&txn, caller.id, now).await?;
    txn.commit().await?;
    Ok(())
}

/// What an administrator sends to create an account.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub email: String,
    pub full_name: String,
    pub role: Role,
    pub agency: Option<String>,
    pub locale: Option<Locale>,
    /// When absent, a password is generated and returned once.
    pub password: Option<String>,
}

/// An account just created, with the generated password if one was generated.
#[derive(Debug)]
pub struct CreatedAccount {
    pub user: User,
    pub generated_password: Option<String>,
}

/// Creates an account of any role. Officials and supervisors need an agency; citizens and
/// administrators must not have one. Used by the admin API and by `murojiat users create`.
pub async fn create_account(app: &App, input: NewAccount) -> Result<CreatedAccount, ServiceError> {
    let mut errors = FieldErrors::default();
    let email = errors.take(Email::parse("email", &input.email));
    let full_name = errors.take(FullName::parse("full_name", &input.full_name));
    let (password, generated) = match &input.password {
        Some(given) => (errors.take(parse_password(app, "password", given, email.as_ref())), None),
        None => {
            let generated = generate_password();
            (Some(Password::parse("password", &generated, 8, 128, None)?), Some(generated))
        }
    };
    let agency_id = errors.take(resolve_agency(app, input.role, input.agency.as_deref()).await?);
    errors.finish()?;
    let (Some(email), Some(full_name), Some(password), Some(agency_id)) =
        (email, full_name, password, agency_id)
    else {
        unreachable!("every field parsed when there are no errors");
    };
    let hash = app.hasher.hash(password.expose()).await?;
    let locale = input.locale.unwrap_or(app.settings.server.default_locale);
    let user =
        insert_user(app, email, hash, full_name, input.role, agency_id, locale, Origin::StaffCreated).await?;
    Ok(CreatedAccount { user, generated_password: generated })
}

/// Creates an account on an administrator's behalf.
pub async fn create_account_as(
    app: &App,
    caller: &Caller,
    input: NewAccount,
) -> Result<CreatedAccount, ServiceError> {
    require_admin(caller)?;
    create_account(app, input).await
}

/// Lists accounts for an administrator.
pub async fn search(app: &App, caller: &Caller, query: UserSearch) -> Result<Vec<User>, ServiceError> {
    require_admin(caller)?;
    Ok(users::search(app.db.conn(), &query).await?)
}

pub async fn get(app: &App, caller: &Caller, id: Uuid) -> Result<User, ServiceError> {
    require_admin(caller)?;
    users::by_id(app.db.conn(), id).await?.ok_or(ServiceError::NotFound)
}

/// What an administrator may change on an account.
#[derive(Debug, Clone, Default)]
pub struct AccountChange {
    pub full_name: Option<String>,
    pub role: Option<Role>,
    /// `Some(None)` removes the agency.
    pub agency: Option<Option<String>>,
    pub locale: Option<Locale>,
    pub disabled: Option<bool>,
}

/// Changes an account. Disabling it revokes its refresh tokens, and its access tokens stop
/// working at once because every request reloads the account. Disabling it, moving it to
/// another agency or giving it a role that works no appeals unassigns its open appeals
/// (those at its new agency stay), in the same transaction.
pub async fn update(
    app: &App,
    caller: &Caller,
    id: Uuid,
    change: AccountChange,
) -> Result<User, ServiceError> {
    require_admin(caller)?;
    let now = app.clock.now();
    let user = users::by_id(app.db.conn(), id).await?.ok_or(ServiceError::NotFound)?;
    if change.disabled == Some(true) && id == caller.id {
        return Err(ServiceError::Conflict("administrators cannot disable their own account".into()));
    }
    let mut errors = FieldErrors::default();
    let full_name = change.full_name.map(|n| errors.take(FullName::parse("full_name", &n)));
    let role = change.role.unwrap_or(user.role.parse().unwrap_or(Role::Citizen));
    let agency_code = match &change.agency {
        Some(code) => code.clone(),
        None => match user.agency_id {
            Some(agency) => agencies::by_id(app.db.conn(), agency).await?.map(|a| a.code),
            None => None,
        },
    };
    let agency_id = errors.take(resolve_agency(app, role, agency_code.as_deref()).await?);
    errors.finish()?;
    let txn = app.db.write().await?;
    let (was_disabled, was_staff, old_agency) =
        (user.disabled, user.role.parse().is_ok_and(|r: Role| r.is_staff()), user.agency_id);
    let mut update: UserChange = user.into();
    if let Some(Some(name)) = full_name {
        update.full_name = Set(name.into_string());
    }
    update.role = Set(role.as_str().to_owned());
    update.agency_id = Set(agency_id.flatten());
    if let Some(locale) = change.locale {
        update.locale = Set(locale.as_str().to_owned());
    }
    if let Some(disabled) = change.disabled {
        update.disabled = Set(disabled);
        if disabled {
            refresh_tokens::revoke_user(&txn, id, now).await?;
        }
    }
    update.updated_at = Set(now);
    let user = users::update(&txn, update).await?;
    // Appeals the account can no longer work go back to their agencies' queues.
    let new_agency = user.agency_id;
    let release = if user.disabled && !was_disabled {
        Some(Release::AccountDisabled)
    } else if was_staff && !role.is_staff() {
        Some(Release::RoleChanged)
    } else if new_agency != old_agency {
        Some(Release::AgencyChanged)
    } else {
        None
    };
    if let Some(reason) = release {
        let keep = |appeal: &Appeal| reason == Release::AgencyChanged && Some(appeal.agency_id) == new_agency;
        release_assigned(app, &txn, caller.id, user.id, keep, reason, now).await?;
    }
    txn.commit().await?;
    Ok(user)
}

pub(crate) fn require_admin(caller: &Caller) -> Result<(), ServiceError> {
    if caller.role == Role::Admin { Ok(()) } else { Err(ServiceError::Forbidden) }
}

fn parse_password(app: &App, field: &str, raw: &str, email: Option<&Email>) -> Result<Password, FieldError> {
    let auth = &app.settings.auth;
    Password::parse(field, raw, auth.min_password_chars, auth.max_password_chars, email.map(Email::as_str))
}

/// Checks that the role and the agency fit together and finds the agency's id.
async fn resolve_agency(
    app: &App,
    role: Role,
    code: Option<&str>,
) -> Result<Result<Option<Uuid>, FieldError>, ServiceError> {
    Ok(match (role.is_staff(), code) {
        (true, None) => {
            Err(FieldError::new("agency", "required", "officials and supervisors belong to an agency"))
        }
        (false, Some(_)) => Err(FieldError::new(
            "agency",
            "not_allowed",
            "only officials and supervisors belong to an agency",
        )),
        (false, None) => Ok(None),
        (true, Some(code)) => match agencies::by_code(app.db.conn(), code).await? {
            Some(agency) if agency.active => Ok(Some(agency.id)),
            Some(_) => Err(FieldError::new("agency", "inactive", "the agency is deactivated")),
            None => Err(FieldError::unknown("agency", "agency")),
        },
    })
}

/// How an account came to be, which decides whether its address still needs confirming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// A citizen registered themselves: a verification link goes out with the account.
    SelfRegistered,
    /// An administrator (or the CLI) created it and vouches for the address.
    StaffCreated,
}

#[allow(clippy::too_many_arguments)]
async fn insert_user(
    app: &App,
    email: Email,
    password_hash: String,
    full_name: FullName,
    role: Role,
    agency_id: Option<Uuid>,
    locale: Locale,
    origin: Origin,
) -> Result<User, ServiceError> {
    let txn = app.db.write().await?;
    // A taken email is a unique-constraint conflict, answered as 409 by the HTTP layer.
    let user = users::insert(
        &txn,
        NewUser {
            id: Uuid::now_v7(),
            email: email.into_string(),
            password_hash,
            full_name: full_name.into_string(),
            role: role.as_str().to_owned(),
            agency_id,
            locale: locale.as_str().to_owned(),
            email_verified: origin == Origin::StaffCreated,
            now: app.clock.now(),
        },
    )
    .await?;
    if origin == Origin::SelfRegistered {
        account_mail::send_verification(app, &txn, &user).await?;
    }
    txn.commit().await?;
    Ok(user)
}

/// Twenty letters and digits: about 119 bits, shown once to whoever creates the account.
fn generate_password() -> String {
    rand::rng().sample_iter(&Alphanumeric).take(20).map(char::from).collect()
}
