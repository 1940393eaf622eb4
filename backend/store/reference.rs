//! Reference data: territories (regions and their districts) and appeal categories.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::StoreError;
use super::entity::{appeal, category, territory};

pub use category::Model as Category;
pub use territory::Model as Territory;

pub async fn territories(db: &impl ConnectionTrait) -> Result<Vec<Territory>, StoreError> {
    Ok(territory::Entity::find().order_by_asc(territory::Column::Code).all(db).await?)
}

pub async fn categories(db: &impl ConnectionTrait) -> Result<Vec<Category>, StoreError> {
    Ok(category::Entity::find().order_by_asc(category::Column::Code).all(db).await?)
}

pub async fn territory(db: &impl ConnectionTrait, code: &str) -> Result<Option<Territory>, StoreError> {
    Ok(territory::Entity::find_by_id(code.to_owned()).one(db).await?)
}

/// The territories with these codes, in one query (unknown codes are simply absent).
pub async fn territories_by_code(
    db: &impl ConnectionTrait,
    codes: &[&str],
) -> Result<Vec<Territory>, StoreError> {
    Ok(territory::Entity::find()
        .filter(territory::Column::Code.is_in(codes.iter().map(|c| (*c).to_owned())))
        .all(db)
        .await?)
}

pub async fn category(db: &impl ConnectionTrait, code: &str) -> Result<Option<Category>, StoreError> {
    Ok(category::Entity::find_by_id(code.to_owned()).one(db).await?)
}

pub async fn insert_territory(db: &impl ConnectionTrait, row: Territory) -> Result<Territory, StoreError> {
    Ok(territory::ActiveModel::from(row).insert(db).await?)
}

pub async fn insert_category(db: &impl ConnectionTrait, row: Category) -> Result<Category, StoreError> {
    Ok(category::ActiveModel::from(row).insert(db).await?)
}

pub async fn update_territory(
    db: &impl ConnectionTrait,
    change: territory::ActiveModel,
) -> Result<Territory, StoreError> {
    Ok(change.update(db).await?)
}

pub async fn update_category(
    db: &impl ConnectionTrait,
    change: category::ActiveModel,
) -> Result<Category, StoreError> {
    Ok(change.update(db).await?)
}

/// Which reference table a [`Node`] lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Territories,
    Categories,
}

/// A territory or a category: the two reference tables share their shape, except that a
/// territory has a `kind` (region, city, district, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub code: String,
    pub parent_code: Option<String>,
    pub name_tg: String,
    pub name_ru: String,
    pub name_en: String,
    pub active: bool,
    /// Always `Some` for territories, always `None` for categories.
    pub kind: Option<String>,
}

impl From<Territory> for Node {
    fn from(t: Territory) -> Self {
        Node {
            code: t.code,
            parent_code: t.parent_code,
            name_tg: t.name_tg,
            name_ru: t.name_ru,
            name_en: t.name_en,
            active: t.active,
            kind: Some(t.kind),
        }
    }
}

impl From<Category> for Node {
    fn from(c: Category) -> Self {
        Node {
            code: c.code,
            parent_code: c.parent_code,
            name_tg: c.name_tg,
            name_ru: c.name_ru,
            name_en: c.name_en,
            active: c.active,
            kind: None,
        }
    }
}

impl Node {
    fn territory(self) -> territory::Model {
        territory::Model {
            code: self.code,
            parent_code: self.parent_code,
            name_tg: self.name_tg,
            name_ru: self.name_ru,
            name_en: self.name_en,
            active: self.active,
            kind: self.kind.unwrap_or_default(),
        }
    }

    fn category(self) -> category::Model {
        category::Model {
            code: self.code,
            parent_code: self.parent_code,
            name_tg: self.name_tg,
            name_ru: self.name_ru,
            name_en: self.name_en,
            active: self.active,
        }
    }
}

/// One node by code.
pub async fn node(db: &impl ConnectionTrait, table: Table, code: &str) -> Result<Option<Node>, StoreError> {
    Ok(match table {
        Table::Territories => territory(db, code).await?.map(Node::from),
        Table::Categories => category(db, code).await?.map(Node::from),
    })
}

/// Every node of a table ordered by code; only active ones when `active_only`.
pub async fn nodes(
    db: &impl ConnectionTrait,
    table: Table,
    active_only: bool,
) -> Result<Vec<Node>, StoreError> {
    let mut rows: Vec<Node> = match table {
        Table::Territories => territories(db).await?.into_iter().map(Node::from).collect(),
        Table::Categories => categories(db).await?.into_iter().map(Node::from).collect(),
    };
    if active_only {
        rows.retain(|n| n.active);
    }
    Ok(rows)
}

/// One page of nodes ordered by code, starting after `after_code`.
pub async fn page(
    db: &impl ConnectionTrait,
    table: Table,
    after_code: Option<&str>,
    limit: u64,
) -> Result<Vec<Node>, StoreError> {
    Ok(match table {
        Table::Territories => {
            let mut query = territory::Entity::find().order_by_asc(territory::Column::Code).limit(limit);
            if let Some(after) = after_code {
                query = query.filter(territory::Column::Code.gt(after));
            }
            query.all(db).await?.into_iter().map(Node::from).collect()
        }
        Table::Categories => {
            let mut query = category::Entity::find().order_by_asc(category::Column::Code).limit(limit);
            if let Some(after) = after_code {
                query = query.filter(category::Column::Code.gt(after));
            }
            query.all(db).await?.into_iter().map(Node::from).collect()
        }
    })
}

/// Inserts a node; an existing code is a [`StoreError::Conflict`].
pub async fn insert_node(db: &impl ConnectionTrait, table: Table, node: Node) -> Result<Node, StoreError> {
    Ok(match table {
        Table::Territories => insert_territory(db, node.territory()).await?.into(),
        Table::Categories => insert_category(db, node.category()).await?.into(),
    })
}

/// Writes every field of an existing node (found by its code).
pub async fn update_node(db: &impl ConnectionTrait, table: Table, node: Node) -> Result<Node, StoreError> {
    Ok(match table {
        Table::Territories => {
            let change = territory::ActiveModel::from(node.territory()).reset_all();
            update_territory(db, change).await?.into()
        }
        Table::Categories => {
            let change = category::ActiveModel::from(node.category()).reset_all();
            update_category(db, change).await?.into()
        }
    })
}

/// Whether a sub-node or any appeal refers to the node.
pub async fn is_referenced(db: &impl ConnectionTrait, table: Table, code: &str) -> Result<bool, StoreError> {
    let (children, appeals) = match table {
        Table::Territories => (
            territory::Entity::find().filter(territory::Column::ParentCode.eq(code)).count(db).await?,
            appeal::Entity::find()
                .filter(
                    Condition::any()
                        .add(appeal::Column::RegionCode.eq(code))
                        .add(appeal::Column::DistrictCode.eq(code)),
                )
                .count(db)
                .await?,
        ),
        Table::Categories => (
            category::Entity::find().filter(category::Column::ParentCode.eq(code)).count(db).await?,
            appeal::Entity::find().filter(appeal::Column::CategoryCode.eq(code)).count(db).await?,
        ),
    };
    Ok(children + appeals > 0)
}

/// Deletes a node; the caller has checked [`is_referenced`] in the same transaction.
pub async fn delete_node(db: &impl ConnectionTrait, table: Table, code: &str) -> Result<(), StoreError> {
    let deleted = match table {
        Table::Territories => territory::Entity::delete_by_id(code.to_owned()).exec(db).await?,
        Table::Categories => category::Entity::delete_by_id(code.to_owned()).exec(db).await?,
    };
    if deleted.rows_affected == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
