//! Which territories each agency covers: what routing's `agency_of_kind` resolves against.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use super::StoreError;
use super::entity::agency_territory;

/// Every (agency id, territory code) pair, ordered by agency then territory.
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<(Uuid, String)>, StoreError> {
    Ok(agency_territory::Entity::find()
        .order_by_asc(agency_territory::Column::AgencyId)
        .order_by_asc(agency_territory::Column::TerritoryCode)
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.agency_id, row.territory_code))
        .collect())
}

/// Replaces the territories `agency` covers with `codes`.
pub async fn replace(db: &impl ConnectionTrait, agency: Uuid, codes: &[String]) -> Result<(), StoreError> {
    agency_territory::Entity::delete_many()
        .filter(agency_territory::Column::AgencyId.eq(agency))
        .exec(db)
        .await?;
    if codes.is_empty() {
        return Ok(());
    }
    let rows = codes.iter().map(|code| agency_territory::ActiveModel {
        agency_id: Set(agency),
        territory_code: Set(code.clone()),
    });
    agency_territory::Entity::insert_many(rows).exec(db).await?;
    Ok(())
}
