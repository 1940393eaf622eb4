//! Sequential registration numbers per agency and year, as a records office keeps them.

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use uuid::Uuid;

use super::StoreError;
use super::entity::registration_counter as counter;

/// Takes the next number for `agency` in `year`. Inside the caller's transaction the
/// counter row stays locked until commit, so numbers are never skipped or repeated.
pub async fn next_registration(
    db: &impl ConnectionTrait,
    agency: Uuid,
    year: i32,
) -> Result<i64, StoreError> {
    reserve_registrations(db, agency, year, 1).await
}

/// Reserves `count` consecutive registration numbers of an agency for a year at once (for
/// bulk loads) and returns the first; the caller numbers its appeals from there. One
/// statement: the upsert returns the counter's new value (SQLite has RETURNING since 3.35).
pub async fn reserve_registrations(
    db: &impl ConnectionTrait,
    agency: Uuid,
    year: i32,
    count: i64,
) -> Result<i64, StoreError> {
    let upsert = Query::insert()
        .into_table(counter::Entity)
        .columns([counter::Column::AgencyId, counter::Column::Year, counter::Column::Last])
        .values_panic([agency.into(), year.into(), count.into()])
        .on_conflict(
            OnConflict::columns([counter::Column::AgencyId, counter::Column::Year])
                .value(counter::Column::Last, Expr::col((counter::Entity, counter::Column::Last)).add(count))
                .to_owned(),
        )
        .returning_col(counter::Column::Last)
        .to_owned();
    let row = db.query_one(&upsert).await?.ok_or(StoreError::NotFound)?;
    let last: i64 = row.try_get("", "last")?;
    Ok(last - count + 1)
}
