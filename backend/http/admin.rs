//! Administration of agencies and user accounts: `/api/v1/admin/*`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::extract::{Authenticated, Params, PathId, Valid};
use super::pagination::{ListParams, Page};
use super::problem::ApiError;
use super::views::{AgencyView, UserView, double_option};
use crate::app::App;
use crate::domain::locale::Locale;
use crate::domain::role::Role;
use crate::services::accounts::{self, AccountChange, NewAccount};
use crate::services::agencies::{self, AgencyInput};
use crate::store::users::UserSearch;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_agencies, create_agency))
        .routes(routes!(get_agency, update_agency, delete_agency))
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user))
}

/// A new agency.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgencyRequest {
    /// Permanent, lower-case letters, digits and hyphens.
    pub code: String,
    pub kind: String,
    pub name_tg: String,
    pub name_ru: String,
    pub name_en: String,
    /// The code of the agency this one belongs to.
    pub parent: Option<String>,
    pub email: Option<String>,
    /// IANA time zone; default Asia/Dushanbe.
    pub time_zone: Option<String>,
}

/// Changes to an agency; absent fields stay as they are, `null` clears `parent` or `email`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAgencyRequest {
    pub kind: Option<String>,
    pub name_tg: Option<String>,
    pub name_ru: Option<String>,
    pub name_en: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub parent: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    pub time_zone: Option<String>,
    /// `false` deactivates the agency: it keeps its history but receives nothing new.
    pub active: Option<bool>,
}

/// List agencies, ordered by code.
#[utoipa::path(get, path = "/api/v1/admin/agencies", tag = "admin", security(("bearer" = [])),
    params(ListParams),
    responses((status = 200, description = "A page of agencies", body = Page<AgencyView>)))]
async fn list_agencies(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Params(params): Params<ListParams>,
) -> Result<Json<Page<AgencyView>>, ApiError> {
    let limit = params.limit()?;
    let after: Option<String> = params.cursor()?;
    let rows = agencies::page(&app, &caller, after.as_deref(), limit + 1).await?;
    Ok(Json(Page::from_rows(rows, limit, |a| a.code.clone(), AgencyView::from)))
}

/// Create an agency.
#[utoipa::path(post, path = "/api/v1/admin/agencies", tag = "admin", security(("bearer" = [])),
    request_body = CreateAgencyRequest,
    responses((status = 201, description = "Created", body = AgencyView)))]
async fn create_agency(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Valid(req): Valid<CreateAgencyRequest>,
) -> Result<(StatusCode, Json<AgencyView>), ApiError> {
    let input = AgencyInput {
        code: Some(req.code),
        kind: Some(req.kind),
        name_tg: Some(req.name_tg),
        name_ru: Some(req.name_ru),
        name_en: Some(req.name_en),
        parent: Some(req.parent),
        email: Some(req.email),
        time_zone: req.time_zone,
        active: None,
    };
    let agency = agencies::create(&app, &caller, input).await?;
    Ok((StatusCode::CREATED, Json(agency.into())))
}

/// One agency.
#[utoipa::path(get, path = "/api/v1/admin/agencies/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Agency id")),
    responses((status = 200, description = "The agency", body = AgencyView)))]
async fn get_agency(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    PathId(id): PathId,
) -> Result<Json<AgencyView>, ApiError> {
    Ok(Json(agencies::get(&app, &caller, id).await?.into()))
}

/// Change an agency (its code is permanent).
#[utoipa::path(patch, path = "/api/v1/admin/agencies/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Agency id")),
    request_body = UpdateAgencyRequest,
    responses((status = 200, description = "Changed", body = AgencyView)))]
async fn update_agency(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    PathId(id): PathId,
    Valid(req): Valid<UpdateAgencyRequest>,
) -> Result<Json<AgencyView>, ApiError> {
    let input = AgencyInput {
        code: None,
        kind: req.kind,
        name_tg: req.name_tg,
        name_ru: req.name_ru,
        name_en: req.name_en,
        parent: req.parent,
        email: req.email,
        time_zone: req.time_zone,
        active: req.active,
    };
    Ok(Json(agencies::update(&app, &caller, id, input).await?.into()))
}

/// Delete an agency nothing refers to; one with users, sub-agencies, appeals or their records
/// answers 409 and should be deactivated instead.
#[utoipa::path(delete, path = "/api/v1/admin/agencies/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Agency id")),
    responses((status = 204, description = "Deleted")))]
async fn delete_agency(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    agencies::delete(&app, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How to search accounts.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserListParams {
    /// Text found in the email or the name.
    pub q: Option<String>,
    pub role: Option<Role>,
    pub agency_id: Option<Uuid>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List and search accounts, ordered by email.
#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", security(("bearer" = [])),
    params(UserListParams),
    responses((status = 200, description = "A page of accounts", body = Page<UserView>)))]
async fn list_users(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Params(params): Params<UserListParams>,
) -> Result<Json<Page<UserView>>, ApiError> {
    let paging = ListParams { limit: params.limit, cursor: params.cursor };
    let limit = paging.limit()?;
    let query = UserSearch {
        text: params.q,
        role: params.role.map(|r| r.as_str().to_owned()),
        agency_id: params.agency_id,
        after_email: paging.cursor()?,
        limit: limit + 1,
    };
    let rows = accounts::search(&app, &caller, query).await?;
    Ok(Json(Page::from_rows(rows, limit, |u| u.email.clone(), UserView::from)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    pub email: String,
    pub full_name: String,
    pub role: Role,
    /// The agency code, required for officials and supervisors.
    pub agency: Option<String>,
    pub locale: Option<Locale>,
    /// When absent, a password is generated and returned once.
    pub password: Option<String>,
}

/// An account just created.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedUserView {
    pub user: UserView,
    /// The generated password, shown only in this response.
    pub generated_password: Option<String>,
}

/// Create an account of any role.
#[utoipa::path(post, path = "/api/v1/admin/users", tag = "admin", security(("bearer" = [])),
    request_body = CreateUserRequest,
    responses((status = 201, description = "Created", body = CreatedUserView)))]
async fn create_user(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Valid(req): Valid<CreateUserRequest>,
) -> Result<(StatusCode, Json<CreatedUserView>), ApiError> {
    let created = accounts::create_account_as(
        &app,
        &caller,
        NewAccount {
            email: req.email,
            full_name: req.full_name,
            role: req.role,
            agency: req.agency,
            locale: req.locale,
            password: req.password,
        },
    )
    .await?;
    let view = CreatedUserView { user: created.user.into(), generated_password: created.generated_password };
    Ok((StatusCode::CREATED, Json(view)))
}

/// One account.
#[utoipa::path(get, path = "/api/v1/admin/users/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    responses((status = 200, description = "The account", body = UserView)))]
async fn get_user(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    PathId(id): PathId,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(accounts::get(&app, &caller, id).await?.into()))
}

/// Changes to an account; `disabled: true` ends all its sessions at once.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    pub full_name: Option<String>,
    pub role: Option<Role>,
    /// An agency code; `null` removes the agency.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub agency: Option<Option<String>>,
    pub locale: Option<Locale>,
    pub disabled: Option<bool>,
}

/// Change an account's role, agency, language or name, or disable it.
#[utoipa::path(patch, path = "/api/v1/admin/users/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    request_body = UpdateUserRequest,
    responses((status = 200, description = "Changed", body = UserView)))]
async fn update_user(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    PathId(id): PathId,
    Valid(req): Valid<UpdateUserRequest>,
) -> Result<Json<UserView>, ApiError> {
    let change = AccountChange {
        full_name: req.full_name,
        role: req.role,
        agency: req.agency,
        locale: req.locale,
        disabled: req.disabled,
    };
    Ok(Json(accounts::update(&app, &caller, id, change).await?.into()))
}
