//! Sequential registration numbers per agency and year, as a records office keeps them.

use sea_orm::sea_query::{Alias, Expr, ExprTrait, InsertStatement, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};
use uuid::Uuid;

use super::entity::registration_counter as counter;
use super::idempotency::{self, IdempotencyRecord};
use super::{StoreError, deferred};

/// Takes the next number for `agency` in `year`. Inside the caller's transaction the
/// counter row stays locked until commit, so numbers are never skipped or repeated.
pub async fn next_registration(
    db: &impl ConnectionTrait,
    agency: Uuid,
    year: i32,
) -> Result<i64, StoreError> {
    reserve_registrations(db, agency, year, 1).await
}

/// Records an idempotency key and takes the next number for `agency` in `year`, both or
/// neither: `None` when the key is taken (see [`idempotency::claim`]), and then no number is
/// taken. PostgreSQL does both in one statement (the counter's upsert reads its row from the
/// key's insert, so it takes a number only when the key was written): one round trip where
/// filing made two. SQLite, in this process, runs the two one after the other.
pub async fn claim_then_next_registration(
    db: &impl ConnectionTrait,
    claim: IdempotencyRecord,
    agency: Uuid,
    year: i32,
) -> Result<Option<i64>, StoreError> {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let row = db.query_one_raw(claim_then_upsert(claim, agency, year)?).await?;
            row.map(|row| row.try_get::<i64>("", "last")).transpose().map_err(Into::into)
        }
        _ => match idempotency::claim(db, claim).await? {
            true => next_registration(db, agency, year).await.map(Some),
            false => Ok(None),
        },
    }
}

/// `WITH claimed AS (INSERT INTO idempotency_keys … ON CONFLICT DO NOTHING RETURNING 1)
/// INSERT INTO registration_counters … SELECT …, 1 FROM claimed ON CONFLICT … RETURNING last`.
fn claim_then_upsert(claim: IdempotencyRecord, agency: Uuid, year: i32) -> Result<Statement, StoreError> {
    let insert_claim =
        idempotency::claiming(claim).returning(Query::returning().expr(Expr::val(1))).to_owned();
    let mut upsert = upsert(1);
    upsert
        .select_from(
            Query::select()
                .exprs([Expr::val(agency), Expr::val(year), Expr::val(1i64)])
                .from(Alias::new("claimed"))
                .to_owned(),
        )
        .map_err(|err| StoreError::Db(DbErr::Custom(err.to_string())))?;
    let claimed = deferred::Write::from(insert_claim);
    Ok(deferred::with_parts([("claimed", &claimed)], &deferred::Write::from(upsert)))
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
    let upsert = upsert(count).values_panic([agency.into(), year.into(), count.into()]).to_owned();
    let row = db.query_one(&upsert).await?.ok_or(StoreError::NotFound)?;
    let last: i64 = row.try_get("", "last")?;
    Ok(last - count + 1)
}

/// The counter's upsert adding `count`, returning the new last number; the caller adds the
/// row (agency, year, `count`) it starts from.
fn upsert(count: i64) -> InsertStatement {
    Query::insert()
        .into_table(counter::Entity)
        .columns([counter::Column::AgencyId, counter::Column::Year, counter::Column::Last])
        .on_conflict(
            OnConflict::columns([counter::Column::AgencyId, counter::Column::Year])
                .value(counter::Column::Last, Expr::col((counter::Entity, counter::Column::Last)).add(count))
                .to_owned(),
        )
        .returning_col(counter::Column::Last)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn the_counter_takes_a_number_only_from_the_row_the_key_claim_returns() {
        let record = IdempotencyRecord {
            scope: "citizen:1".to_owned(),
            key: "k-1".to_owned(),
            request_hash: "h".to_owned(),
            response_status: 201,
            response_body: "{}".to_owned(),
            created_at: chrono::Utc.with_ymd_and_hms(2026, 3, 17, 10, 0, 0).unwrap(),
        };
        let statement = claim_then_upsert(record, Uuid::nil(), 2026).unwrap();
        let sql = statement.sql;
        assert!(sql.starts_with(r#"WITH claimed AS (INSERT INTO "idempotency_keys" "#), "{sql}");
        assert!(sql.contains(r#"ON CONFLICT ("scope", "key") DO NOTHING RETURNING $7) "#), "{sql}");
        assert!(
            sql.contains(r#"INSERT INTO "registration_counters" ("agency_id", "year", "last") SELECT $8, $9, $10 FROM "claimed" ON CONFLICT"#),
            "{sql}"
        );
        assert!(sql.ends_with(r#"RETURNING "last""#), "{sql}");
        assert_eq!(
            statement.values.map(|v| v.0.len()),
            Some(11),
            "seven for the claim, four for the counter"
        );
    }
}
