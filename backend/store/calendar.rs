//! The business calendar's declared entries (holidays, working days and days off moved by
//! decree), one row per date. Transfers of weekend holidays are derived, never stored.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set, Statement,
};
use uuid::Uuid;

use super::entity::{calendar_entry, calendar_recheck};
use super::{Backend, StoreError};
use crate::domain::calendar::{CalendarEntry, EntryKind, Names, YearTable};

/// Every stored year, as tables, in year order.
pub async fn tables(db: &impl ConnectionTrait) -> Result<Vec<YearTable>, StoreError> {
    let rows = calendar_entry::Entity::find().order_by_asc(calendar_entry::Column::Date).all(db).await?;
    let mut tables: Vec<YearTable> = Vec::new();
    for row in rows {
        let entry = CalendarEntry {
            date: row.date,
            kind: parse_kind(&row.kind),
            names: Names { tg: row.name_tg, ru: row.name_ru, en: row.name_en },
            provisional: row.provisional,
            moved_from: row.moved_from,
        };
        match tables.last_mut() {
            Some(table) if table.year == row.year => table.entries.push(entry),
            _ => tables.push(YearTable { year: row.year, entries: vec![entry] }),
        }
    }
    Ok(tables)
}

fn parse_kind(name: &str) -> EntryKind {
    match name {
        "working_day" => EntryKind::WorkingDay,
        "day_off" => EntryKind::DayOff,
        _ => EntryKind::Holiday,
    }
}

/// How many entries are stored (zero before the first seed).
pub async fn count(db: &impl ConnectionTrait) -> Result<u64, StoreError> {
    Ok(calendar_entry::Entity::find().count(db).await?)
}

/// Replaces every entry of `table.year` with the table's entries.
pub async fn replace_year(
    db: &impl ConnectionTrait,
    table: &YearTable,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    calendar_entry::Entity::delete_many()
        .filter(calendar_entry::Column::Year.eq(table.year))
        .exec(db)
        .await?;
    if table.entries.is_empty() {
        return Ok(());
    }
    let rows = table.entries.iter().map(|e| calendar_entry::ActiveModel {
        date: Set(e.date),
        year: Set(table.year),
        kind: Set(e.kind.as_str().to_owned()),
        name_tg: Set(e.names.tg.clone()),
        name_ru: Set(e.names.ru.clone()),
        name_en: Set(e.names.en.clone()),
        provisional: Set(e.provisional),
        moved_from: Set(e.moved_from),
        updated_at: Set(now),
    });
    calendar_entry::Entity::insert_many(rows).exec_without_returning(db).await?;
    Ok(())
}

/// Makes `db`'s transaction the only one, until it ends, that writes the calendar or looks
/// again at deadlines after an edit: each reads the calendar as the one before it left it.
/// PostgreSQL: a transaction-scoped advisory lock, waited for. SQLite: nothing, its write
/// transaction is already the only writer.
pub async fn lock(db: &impl ConnectionTrait, backend: Backend) -> Result<(), StoreError> {
    if backend == Backend::Postgres {
        db.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({CALENDAR_LOCK})")).await?;
    }
    Ok(())
}

/// [`lock`] if no other transaction holds it, without waiting; whether it was taken.
pub async fn try_lock(db: &impl ConnectionTrait, backend: Backend) -> Result<bool, StoreError> {
    if backend == Backend::Sqlite {
        return Ok(true);
    }
    let statement = Statement::from_string(
        DbBackend::Postgres,
        format!("SELECT pg_try_advisory_xact_lock({CALENDAR_LOCK}) AS taken"),
    );
    let row = db.query_one_raw(statement).await?;
    Ok(row.map(|r| r.try_get::<bool>("", "taken")).transpose()?.unwrap_or(false))
}

/// The advisory lock key of [`lock`]: "calendar" in ASCII, so it is told apart from any
/// other key in `pg_locks`.
const CALENDAR_LOCK: i64 = 0x6361_6c65_6e64_6172;

/// A recheck's status: not yet run (see `services::calendar::run_due_rechecks`), run, or
/// given up after the scheduler's attempts.
pub const RECHECK_PENDING: &str = "pending";
pub const RECHECK_DONE: &str = "done";
pub const RECHECK_FAILED: &str = "failed";

/// A calendar edit's second look at the deadlines, as stored.
pub type Recheck = calendar_recheck::Model;

/// Records that the deadlines set after the edit of `before.year` by `edited_by` are to be
/// looked at again at `due_at`; `before` is the year's declared entries before the edit.
pub async fn schedule_recheck(
    db: &impl ConnectionTrait,
    before: &YearTable,
    edited_by: Uuid,
    due_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let entries =
        serde_json::to_string(before).map_err(|e| StoreError::Db(sea_orm::DbErr::Custom(e.to_string())))?;
    calendar_recheck::ActiveModel {
        id: Set(Uuid::now_v7()),
        year: Set(before.year),
        entries_before: Set(entries),
        edited_by: Set(edited_by),
        due_at: Set(due_at),
        status: Set(RECHECK_PENDING.to_owned()),
        attempts: Set(0),
        last_error: Set(None),
        outcome: Set(None),
        done_at: Set(None),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The pending recheck due soonest at `now`. Read it in a transaction that holds the
/// calendar's lock ([`try_lock`]), which no other recheck then holds.
pub async fn due_recheck(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<Option<Recheck>, StoreError> {
    Ok(calendar_recheck::Entity::find()
        .filter(calendar_recheck::Column::Status.eq(RECHECK_PENDING))
        .filter(calendar_recheck::Column::DueAt.lte(super::comparable(now)))
        .order_by_asc(calendar_recheck::Column::DueAt)
        .order_by_asc(calendar_recheck::Column::Id)
        .one(db)
        .await?)
}

/// The recheck `id` is done, having moved what `outcome` says.
pub async fn finish_recheck(
    db: &impl ConnectionTrait,
    id: Uuid,
    outcome: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    calendar_recheck::Entity::update_many()
        .col_expr(calendar_recheck::Column::Status, Expr::value(RECHECK_DONE))
        .col_expr(calendar_recheck::Column::Attempts, Expr::col(calendar_recheck::Column::Attempts).add(1))
        .col_expr(calendar_recheck::Column::Outcome, Expr::value(outcome))
        .col_expr(calendar_recheck::Column::DoneAt, Expr::value(now))
        .filter(calendar_recheck::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// The recheck `id` failed with `error`: it runs again at `retry_at`, or, with none, it
/// has used up its attempts and ends `failed`.
pub async fn recheck_failed(
    db: &impl ConnectionTrait,
    id: Uuid,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    let mut update = calendar_recheck::Entity::update_many()
        .col_expr(calendar_recheck::Column::Attempts, Expr::col(calendar_recheck::Column::Attempts).add(1))
        .col_expr(calendar_recheck::Column::LastError, Expr::value(error));
    update = match retry_at {
        Some(at) => update.col_expr(calendar_recheck::Column::DueAt, Expr::value(at)),
        None => update.col_expr(calendar_recheck::Column::Status, Expr::value(RECHECK_FAILED)),
    };
    update.filter(calendar_recheck::Column::Id.eq(id)).exec(db).await?;
    Ok(())
}

/// How many rechecks gave up (for `/metrics`): a scan of a table of one row per edit.
pub async fn count_failed_rechecks(db: &impl ConnectionTrait) -> Result<u64, StoreError> {
    Ok(calendar_recheck::Entity::find()
        .filter(calendar_recheck::Column::Status.eq(RECHECK_FAILED))
        .count(db)
        .await?)
}

/// Every recheck, oldest first (for tests and operators).
pub async fn rechecks(db: &impl ConnectionTrait) -> Result<Vec<Recheck>, StoreError> {
    Ok(calendar_recheck::Entity::find()
        .order_by_asc(calendar_recheck::Column::CreatedAt)
        .order_by_asc(calendar_recheck::Column::Id)
        .all(db)
        .await?)
}
