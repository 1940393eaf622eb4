//! Reference data: territories and categories. Administrators manage them under
//! `/api/v1/admin/{territories,categories}`; anyone reads the active ones for filing forms
//! at `/api/v1/{territories,categories}`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Authenticated, Params, Valid};
use super::pagination::{ListParams, Page};
use super::problem::ApiError;
use super::views::double_option;
use crate::app::App;
use crate::services::reference::{self, NodeInput};
use crate::store::reference::{Node, Table};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(active_territories))
        .routes(routes!(active_categories))
        .routes(routes!(list_territories, create_territory))
        .routes(routes!(get_territory, update_territory, delete_territory))
        .routes(routes!(list_categories, create_category))
        .routes(routes!(get_category, update_category, delete_category))
}

/// A territory: a region (top level) or a district or city within one.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TerritoryView {
    pub code: String,
    /// The code of the region it belongs to; null for a region.
    pub parent: Option<String>,
    /// region, city, district, ...
    pub kind: String,
    pub name_tg: String,
    pub name_ru: String,
    pub name_en: String,
    pub active: bool,
}

impl From<Node> for TerritoryView {
    fn from(n: Node) -> Self {
        Self {
            code: n.code,
            parent: n.parent_code,
            kind: n.kind.unwrap_or_default(),
            name_tg: n.name_tg,
            name_ru: n.name_ru,
            name_en: n.name_en,
            active: n.active,
        }
    }
}

/// A category of appeals; a child narrows its parent (water supply under utilities).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CategoryView {
    pub code: String,
    /// The code of the broader category; null at the top level.
    pub parent: Option<String>,
    pub name_tg: String,
    pub name_ru: String,
    pub name_en: String,
    pub active: bool,
}

impl From<Node> for CategoryView {
    fn from(n: Node) -> Self {
        Self {
            code: n.code,
            parent: n.parent_code,
            name_tg: n.name_tg,
            name_ru: n.name_ru,
            name_en: n.name_en,
            active: n.active,
        }
    }
}

/// A new territory.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTerritoryRequest {
    /// Permanent, lower-case letters, digits and hyphens.
    pub code: String,
    /// The region's code; absent or null for a region.
    pub parent: Option<String>,
    pub kind: String,
    pub name_tg: String,
    pub name_ru: String,
    pub name_en: String,
    /// Default true.
    pub active: Option<bool>,
}

/// A new category.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCategoryRequest {
    /// Permanent, lower-case letters, digits and hyphens.
    pub code: String,
    /// The broader category's code; absent or null at the top level.
    pub parent: Option<String>,
    pub name_tg: String,
    pub name_ru: String,
    pub name_en: String,
    /// Default true.
    pub active: Option<bool>,
}

/// Changes to a territory; absent fields stay, `null` parent makes it top-level.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTerritoryRequest {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub parent: Option<Option<String>>,
    pub kind: Option<String>,
    pub name_tg: Option<String>,
    pub name_ru: Option<String>,
    pub name_en: Option<String>,
    /// `false` deactivates it: existing appeals keep it, new ones cannot use it.
    pub active: Option<bool>,
}

/// Changes to a category; absent fields stay, `null` parent makes it top-level.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCategoryRequest {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub parent: Option<Option<String>>,
    pub name_tg: Option<String>,
    pub name_ru: Option<String>,
    pub name_en: Option<String>,
    /// `false` deactivates it: existing appeals keep it, new ones cannot use it.
    pub active: Option<bool>,
}

/// Every active territory, ordered by code, in one page: build the tree from `parent`.
#[utoipa::path(get, path = "/api/v1/territories", tag = "reference",
    responses((status = 200, description = "All active territories", body = Page<TerritoryView>)))]
async fn active_territories(State(app): State<App>) -> Result<Json<Page<TerritoryView>>, ApiError> {
    let items = reference::active(&app, Table::Territories).await?;
    Ok(Json(Page { items: items.into_iter().map(Into::into).collect(), next_cursor: None }))
}

/// Every active category, ordered by code, in one page: build the tree from `parent`.
#[utoipa::path(get, path = "/api/v1/categories", tag = "reference",
    responses((status = 200, description = "All active categories", body = Page<CategoryView>)))]
async fn active_categories(State(app): State<App>) -> Result<Json<Page<CategoryView>>, ApiError> {
    let items = reference::active(&app, Table::Categories).await?;
    Ok(Json(Page { items: items.into_iter().map(Into::into).collect(), next_cursor: None }))
}

/// List territories, active or not, ordered by code.
#[utoipa::path(get, path = "/api/v1/admin/territories", tag = "admin", security(("bearer" = [])),
    params(ListParams),
    responses((status = 200, description = "A page of territories", body = Page<TerritoryView>)))]
async fn list_territories(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Params(params): Params<ListParams>,
) -> Result<Json<Page<TerritoryView>>, ApiError> {
    let limit = params.limit()?;
    let after: Option<String> = params.cursor()?;
    let rows = reference::page(&app, &caller, Table::Territories, after.as_deref(), limit + 1).await?;
    Ok(Json(Page::from_rows(rows, limit, |n| n.code.clone(), TerritoryView::from)))
}

/// Create a territory.
#[utoipa::path(post, path = "/api/v1/admin/territories", tag = "admin", security(("bearer" = [])),
    request_body = CreateTerritoryRequest,
    responses((status = 201, description = "Created", body = TerritoryView)))]
async fn create_territory(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Valid(req): Valid<CreateTerritoryRequest>,
) -> Result<(StatusCode, Json<TerritoryView>), ApiError> {
    let input = NodeInput {
        code: Some(req.code),
        parent: Some(req.parent),
        name_tg: Some(req.name_tg),
        name_ru: Some(req.name_ru),
        name_en: Some(req.name_en),
        kind: Some(req.kind),
        active: req.active,
    };
    let node = reference::create(&app, &caller, Table::Territories, input).await?;
    Ok((StatusCode::CREATED, Json(node.into())))
}

/// One territory.
#[utoipa::path(get, path = "/api/v1/admin/territories/{code}", tag = "admin", security(("bearer" = [])),
    params(("code" = String, Path, description = "Territory code")),
    responses((status = 200, description = "The territory", body = TerritoryView)))]
async fn get_territory(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(code): Path<String>,
) -> Result<Json<TerritoryView>, ApiError> {
    Ok(Json(reference::get(&app, &caller, Table::Territories, &code).await?.into()))
}

/// Change a territory (its code is permanent); `active: false` deactivates it.
#[utoipa::path(patch, path = "/api/v1/admin/territories/{code}", tag = "admin", security(("bearer" = [])),
    params(("code" = String, Path, description = "Territory code")),
    request_body = UpdateTerritoryRequest,
    responses((status = 200, description = "Changed", body = TerritoryView)))]
async fn update_territory(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(code): Path<String>,
    Valid(req): Valid<UpdateTerritoryRequest>,
) -> Result<Json<TerritoryView>, ApiError> {
    let input = NodeInput {
        code: None,
        parent: req.parent,
        name_tg: req.name_tg,
        name_ru: req.name_ru,
        name_en: req.name_en,
        kind: req.kind,
        active: req.active,
    };
    Ok(Json(reference::update(&app, &caller, Table::Territories, &code, input).await?.into()))
}

/// Delete a territory nothing refers to; one with districts or appeals answers 409 and should
/// be deactivated instead.
#[utoipa::path(delete, path = "/api/v1/admin/territories/{code}", tag = "admin", security(("bearer" = [])),
    params(("code" = String, Path, description = "Territory code")),
    responses((status = 204, description = "Deleted")))]
async fn delete_territory(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(code): Path<String>,
) -> Result<StatusCode, ApiError> {
    reference::delete(&app, &caller, Table::Territories, &code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List categories, active or not, ordered by code.
#[utoipa::path(get, path = "/api/v1/admin/categories", tag = "admin", security(("bearer" = [])),
    params(ListParams),
    responses((status = 200, description = "A page of categories", body = Page<CategoryView>)))]
async fn list_categories(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Params(params): Params<ListParams>,
) -> Result<Json<Page<CategoryView>>, ApiError> {
    let limit = params.limit()?;
    let after: Option<String> = params.cursor()?;
    let rows = reference::page(&app, &caller, Table::Categories, after.as_deref(), limit + 1).await?;
    Ok(Json(Page::from_rows(rows, limit, |n| n.code.clone(), CategoryView::from)))
}

/// Create a category.
#[utoipa::path(post, path = "/api/v1/admin/categories", tag = "admin", security(("bearer" = [])),
    request_body = CreateCategoryRequest,
    responses((status = 201, description = "Created", body = CategoryView)))]
async fn create_category(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Valid(req): Valid<CreateCategoryRequest>,
) -> Result<(StatusCode, Json<CategoryView>), ApiError> {
    let input = NodeInput {
        code: Some(req.code),
        parent: Some(req.parent),
        name_tg: Some(req.name_tg),
        name_ru: Some(req.name_ru),
        name_en: Some(req.name_en),
        kind: None,
        active: req.active,
    };
    let node = reference::create(&app, &caller, Table::Categories, input).await?;
    Ok((StatusCode::CREATED, Json(node.into())))
}

/// One category.
#[utoipa::path(get, path = "/api/v1/admin/categories/{code}", tag = "admin", security(("bearer" = [])),
    params(("code" = String, Path, description = "Category code")),
    responses((status = 200, description = "The category", body = CategoryView)))]
async fn get_category(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(code): Path<String>,
) -> Result<Json<CategoryView>, ApiError> {
    Ok(Json(reference::get(&app, &caller, Table::Categories, &code).await?.into()))
}

/// Change a category (its code is permanent); `active: false` deactivates it.
#[utoipa::path(patch, path = "/api/v1/admin/categories/{code}", tag = "admin", security(("bearer" = [])),
    params(("code" = String, Path, description = "Category code")),
    request_body = UpdateCategoryRequest,
    responses((status = 200, description = "Changed", body = CategoryView)))]
async fn update_category(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(code): Path<String>,
    Valid(req): Valid<UpdateCategoryRequest>,
) -> Result<Json<CategoryView>, ApiError> {
    let input = NodeInput {
        code: None,
        parent: req.parent,
        name_tg: req.name_tg,
        name_ru: req.name_ru,
        name_en: req.name_en,
        kind: None,
        active: req.active,
    };
    Ok(Json(reference::update(&app, &caller, Table::Categories, &code, input).await?.into()))
}

/// Delete a category nothing refers to; one with sub-categories or appeals answers 409 and
/// should be deactivated instead.
#[utoipa::path(delete, path = "/api/v1/admin/categories/{code}", tag = "admin", security(("bearer" = [])),
    params(("code" = String, Path, description = "Category code")),
    responses((status = 204, description = "Deleted")))]
async fn delete_category(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(code): Path<String>,
) -> Result<StatusCode, ApiError> {
    reference::delete(&app, &caller, Table::Categories, &code).await?;
    Ok(StatusCode::NO_CONTENT)
}
