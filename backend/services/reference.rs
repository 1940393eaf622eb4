//! Administering reference data, the territories and categories appeals are filed under,
//! and reading the active ones for filing forms. A node that appeals or sub-nodes refer to
//! is never deleted; it is deactivated instead, which keeps old appeals readable.

use std::collections::HashMap;
use std::sync::Arc;

use super::accounts::require_admin;
use super::cache::Cached;
use super::{Caller, ServiceError};
use crate::app::App;
use crate::domain::field::{FieldError, FieldErrors};
use crate::store::reference::{self, Node, Table};

/// The fields of a territory or category as an administrator sends them; absent fields stay
/// as they are on update.
#[derive(Debug, Clone, Default)]
pub struct NodeInput {
    pub code: Option<String>,
    /// `Some(None)` makes it a top-level node.
    pub parent: Option<Option<String>>,
    pub name_tg: Option<String>,
    pub name_ru: Option<String>,
    pub name_en: Option<String>,
    /// Territories only: region, city, district, ...
    pub kind: Option<String>,
    pub active: Option<bool>,
}

/// Every category and territory, active or not, by code: what filing checks an appeal's
/// references against.
#[derive(Debug, Default)]
pub struct Known {
    categories: HashMap<String, Node>,
    territories: HashMap<String, Node>,
}

impl Known {
    pub fn category(&self, code: &str) -> Option<&Node> {
        self.categories.get(code)
    }

    pub fn territory(&self, code: &str) -> Option<&Node> {
        self.territories.get(code)
    }
}

/// The categories and territories as this process last read them (see
/// [`crate::services::cache`]).
pub type ReferenceCache = Cached<Known>;

/// The categories and territories from this process's cache, read through the pool when it
/// is stale.
pub async fn known(app: &App) -> Result<Arc<Known>, ServiceError> {
    let conn = app.db.conn();
    let by_code = |nodes: Vec<Node>| nodes.into_iter().map(|n| (n.code.clone(), n)).collect();
    app.reference
        .get_or_load(app, async {
            Ok(Arc::new(Known {
                categories: by_code(reference::nodes(conn, Table::Categories, false).await?),
                territories: by_code(reference::nodes(conn, Table::Territories, false).await?),
            }))
        })
        .await
}

/// The active nodes of a table, ordered by code, for anyone (filing forms need them before
/// sign-in).
pub async fn active(app: &App, table: Table) -> Result<Vec<Node>, ServiceError> {
    Ok(reference::nodes(app.db.conn(), table, true).await?)
}

/// One page of all nodes, active or not, ordered by code.
pub async fn page(
    app: &App,
    caller: &Caller,
    table: Table,
    after_code: Option<&str>,
    limit: u64,
) -> Result<Vec<Node>, ServiceError> {
    require_admin(caller)?;
    Ok(reference::page(app.db.conn(), table, after_code, limit).await?)
}

pub async fn get(app: &App, caller: &Caller, table: Table, code: &str) -> Result<Node, ServiceError> {
    require_admin(caller)?;
    reference::node(app.db.conn(), table, code).await?.ok_or(ServiceError::NotFound)
}

pub async fn create(
    app: &App,
    caller: &Caller,
    table: Table,
    input: NodeInput,
) -> Result<Node, ServiceError> {
    require_admin(caller)?;
    let mut errors = FieldErrors::default();
    let code = errors.take(required(&input.code, "code").and_then(|c| parse_code("code", c)));
    let names = [("name_tg", &input.name_tg), ("name_ru", &input.name_ru), ("name_en", &input.name_en)]
        .map(|(field, value)| errors.take(required(value, field).and_then(|v| parse_name(field, v))));
    let kind = match table {
        Table::Territories => errors.take(required(&input.kind, "kind").and_then(|k| parse_code("kind", k))),
        Table::Categories => None,
    };
    let txn = app.db.write().await?;
    let parent = match (&code, input.parent.clone().flatten()) {
        (Some(code), Some(parent)) => errors.take(check_parent(&txn, table, code, &parent).await?),
        _ => None,
    };
    errors.finish()?;
    let [Some(name_tg), Some(name_ru), Some(name_en)] = names else { unreachable!("names parsed") };
    let Some(code) = code else { unreachable!("the code parsed") };
    let node = Node {
        code,
        parent_code: parent,
        name_tg,
        name_ru,
        name_en,
        active: input.active.unwrap_or(true),
        kind,
    };
    let node = reference::insert_node(&txn, table, node).await?;
    txn.commit().await?;
    app.reference.invalidate();
    Ok(node)
}

/// Changes a node; its code is permanent once created.
pub async fn update(
    app: &App,
    caller: &Caller,
    table: Table,
    code: &str,
    input: NodeInput,
) -> Result<Node, ServiceError> {
    require_admin(caller)?;
    let txn = app.db.write().await?;
    let mut node = reference::node(&txn, table, code).await?.ok_or(ServiceError::NotFound)?;
    let mut errors = FieldErrors::default();
    for (field, value, slot) in [
        ("name_tg", &input.name_tg, &mut node.name_tg),
        ("name_ru", &input.name_ru, &mut node.name_ru),
        ("name_en", &input.name_en, &mut node.name_en),
    ] {
        if let Some(name) = value.as_deref().and_then(|v| errors.take(parse_name(field, v))) {
            *slot = name;
        }
    }
    if table == Table::Territories
        && let Some(kind) = input.kind.as_deref().and_then(|k| errors.take(parse_code("kind", k)))
    {
        node.kind = Some(kind);
    }
    match input.parent {
        Some(Some(parent)) => {
            if let Some(parent) = errors.take(check_parent(&txn, table, code, &parent).await?) {
                node.parent_code = Some(parent);
            }
        }
        Some(None) => node.parent_code = None,
        None => {}
    }
    if let Some(active) = input.active {
        node.active = active;
    }
    errors.finish()?;
    let node = reference::update_node(&txn, table, node).await?;
    txn.commit().await?;
    app.reference.invalidate();
    Ok(node)
}

/// Deletes a node nothing refers to; otherwise 409, and it should be deactivated instead.
pub async fn delete(app: &App, caller: &Caller, table: Table, code: &str) -> Result<(), ServiceError> {
    require_admin(caller)?;
    let txn = app.db.write().await?;
    reference::node(&txn, table, code).await?.ok_or(ServiceError::NotFound)?;
    if reference::is_referenced(&txn, table, code).await? {
        return Err(ServiceError::Conflict(format!(
            "'{code}' has sub-entries or appeals filed under it; deactivate it instead"
        )));
    }
    reference::delete_node(&txn, table, code).await?;
    txn.commit().await?;
    app.reference.invalidate();
    Ok(())
}

/// The parent must exist, and `code` must not be the parent itself or one of its ancestors.
async fn check_parent(
    db: &impl sea_orm::ConnectionTrait,
    table: Table,
    code: &str,
    parent: &str,
) -> Result<Result<String, FieldError>, ServiceError> {
    let mut cursor = reference::node(db, table, parent).await?;
    if cursor.is_none() {
        return Ok(Err(FieldError::unknown("parent", "parent")));
    }
    // Walk up from the parent; reaching `code` means the change would close a loop. The
    // step bound guards against a loop already in the data.
    let mut steps = 0;
    while let Some(node) = cursor {
        if node.code == code {
            return Ok(Err(FieldError::new("parent", "cycle", "cannot sit under itself or its descendants")));
        }
        steps += 1;
        cursor = match node.parent_code {
            Some(up) if steps < 64 => reference::node(db, table, &up).await?,
            _ => None,
        };
    }
    Ok(Ok(parent.to_owned()))
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
    use unicode_normalization::UnicodeNormalization;
    let name = raw.trim();
    match name.chars().count() {
        0 => Err(FieldError::empty(field)),
        n if n > 300 => Err(FieldError::too_long(field, 300)),
        _ => Ok(name.nfc().collect()),
    }
}
