//! The business calendar as data in the database: seeded from config/calendar on first
//! start, listed and edited per year by administrators, and put in force at once in this
//! process. Every process also reads the stored calendar again every
//! `appeals.reference_cache_secs` ([`watch`], [`refresh`]), so an edit made through another
//! process is in force here within that time. A deadline another process sets in that time
//! is on the calendar before the edit; the edit's recheck, `appeals.calendar_recheck_secs`
//! later, moves it ([`run_due_rechecks`]).

use chrono::{DateTime, Datelike, TimeDelta, Utc};

use super::accounts::require_admin;
use super::appeals::recompute::{self, Recomputed};
use super::{Caller, ServiceError};
use crate::app::App;
use crate::domain::calendar::{BusinessCalendar, CalendarEntry, YEARS, YearListing, YearTable};
use crate::domain::field::FieldError;
use crate::store::{StoreError, calendar};

/// A calendar edit's recheck that ran: the year edited and what it moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rechecked {
    pub year: i32,
    pub recomputed: Recomputed,
}

/// Loads the calendar from the database into the process's cache, first seeding an empty
/// database with the years of the configuration files.
pub async fn load(app: &App) -> Result<(), ServiceError> {
    let txn = app.db.write().await?;
    calendar::lock(&txn, app.db.backend()).await?;
    let tables = tables_seeded(app, &txn).await?;
    txn.commit().await?;
    put_in_force(app, tables)
}

/// Reads the stored calendar and puts it in force if it differs from the one in force here
/// (an administrator edited it through another process); true when it did. A database whose
/// calendar was emptied is left to the next start, which seeds it again from the files.
pub async fn refresh(app: &App) -> Result<bool, ServiceError> {
    let tables = calendar::tables(app.db.conn()).await?;
    if tables.is_empty() || app.jurisdiction.calendar.holds(&tables) {
        return Ok(false);
    }
    put_in_force(app, tables)?;
    tracing::info!("the business calendar changed in the database; the new one is in force");
    Ok(true)
}

/// Runs [`refresh`] every `appeals.reference_cache_secs` (at least every second) until `stop`
/// turns true; `serve` and `worker` run it beside their other work.
pub async fn watch(app: App, mut stop: tokio::sync::watch::Receiver<bool>) {
    let every = std::time::Duration::from_secs(app.settings.appeals.reference_cache_secs.max(1));
    while !super::paused_until_stopped(every, &mut stop).await {
        if let Err(error) = refresh(&app).await {
            tracing::warn!(%error, "reading the business calendar failed; the one in force stays");
        }
    }
}

fn put_in_force(app: &App, tables: Vec<YearTable>) -> Result<(), ServiceError> {
    let built = stored_calendar(app, tables.clone())?;
    app.jurisdiction.calendar.replace_stored(built, tables);
    Ok(())
}

/// The calendar that stored `tables` make under the jurisdiction's rules; stored tables that
/// do not hold together are the server's fault, not the caller's.
fn stored_calendar(app: &App, tables: Vec<YearTable>) -> Result<BusinessCalendar, ServiceError> {
    BusinessCalendar::new(app.jurisdiction.calendar.rules(), tables)
        .map_err(|e| ServiceError::Internal(format!("the stored calendar is inconsistent: {e}")))
}

async fn tables_seeded(app: &App, txn: &sea_orm::DatabaseTransaction) -> Result<Vec<YearTable>, StoreError> {
    if calendar::count(txn).await? == 0 {
        let now = app.clock.now();
        for table in app.jurisdiction.calendar.file_tables() {
            calendar::replace_year(txn, table, now).await?;
        }
    }
    calendar::tables(txn).await
}

/// One year as an administrator sees it: every entry, declared and derived, and which of
/// them were declared. Empty when the year has no entry.
#[derive(Debug, Clone)]
pub struct YearView {
    pub listing: YearListing,
    pub declared: Vec<CalendarEntry>,
    /// What an edit did to the stored deadlines; `None` on a read.
    pub recomputed: Option<Recomputed>,
}

/// Lists `year` (reloading the calendar from the database first).
pub async fn year(app: &App, caller: &Caller, year: i32) -> Result<YearView, ServiceError> {
    require_admin(caller)?;
    check_year(year)?;
    load(app).await?;
    Ok(view(app, year, None).await?)
}

/// Replaces the declared entries of `year` (holidays, working days and days off by decree),
/// checks the whole calendar still holds together, stores it and puts it in force.
pub async fn set_year(
    app: &App,
    caller: &Caller,
    year: i32,
    entries: Vec<CalendarEntry>,
) -> Result<YearView, ServiceError> {
    require_admin(caller)?;
    check_year(year)?;
    if let Some((index, entry)) = entries.iter().enumerate().find(|(_, e)| e.date.year() != year) {
        return Err(FieldError::new(
            format!("entries[{index}].date"),
            "outside_year",
            format!("{} is not in {year}", entry.date),
        )
        .into());
    }
    let txn = app.db.write().await?;
    calendar::lock(&txn, app.db.backend()).await?;
    let mut tables = tables_seeded(app, &txn).await?;
    // The calendar as stored before the edit (another process may have edited it since this
    // one last read it), which the stored deadlines were computed on.
    let before = stored_calendar(app, tables.clone())?;
    let year_before =
        tables.iter().find(|t| t.year == year).cloned().unwrap_or(YearTable { year, entries: Vec::new() });
    tables.retain(|t| t.year != year);
    let table = YearTable { year, entries };
    let mut stored = table.clone();
    stored.entries.sort_by_key(|e| e.date);
    tables.push(stored);
    // As the database lists them: years in order, each year's entries by date.
    tables.sort_by_key(|t| t.year);
    let built = BusinessCalendar::new(app.jurisdiction.calendar.rules(), tables.clone())
        .map_err(|e| FieldError::new("entries", "inconsistent", e.to_string()))?;
    let now = app.clock.now();
    calendar::replace_year(&txn, &table, now).await?;
    let recomputed = match recompute::first_changed_day(&before, &built, year) {
        Some(from) => {
            let moved =
                recompute::after_calendar_edit(app, &txn, &before, &built, from, caller.id, now).await?;
            calendar::schedule_recheck(&txn, &year_before, caller.id, now + recheck_delay(app), now).await?;
            moved
        }
        None => Recomputed::default(),
    };
    txn.commit().await?;
    app.jurisdiction.calendar.replace_stored(built, tables);
    if recomputed != Recomputed::default() {
        log_moved(year, &recomputed, "the calendar edit moved deadlines");
    }
    Ok(YearView { recomputed: Some(recomputed), ..view(app, year, Some(table.entries)).await? })
}

/// Logs in one line what an edit of `year`, or its recheck, replayed and moved.
fn log_moved(year: i32, recomputed: &Recomputed, message: &str) {
    tracing::info!(
        year,
        replayed = recomputed.replayed,
        moved = recomputed.moved,
        windows_moved = recomputed.windows_moved,
        forwarding_windows_moved = recomputed.forwarding_windows_moved,
        reminders_moved = recomputed.reminders_moved,
        unexplained = recomputed.unexplained,
        "{message}"
    );
}

/// How long after an edit its recheck runs: `appeals.calendar_recheck_secs`.
fn recheck_delay(app: &App) -> TimeDelta {
    TimeDelta::seconds(i64::try_from(app.settings.appeals.calendar_recheck_secs).unwrap_or(i64::MAX))
}

/// Runs the rechecks of calendar edits due at `now`, oldest first, each in its own
/// transaction, and returns what each moved.
///
/// Another process puts an edit in force only when it next reads the calendar (within
/// `appeals.reference_cache_secs`); a deadline or window it sets in between is on the
/// calendar before the edit, after the edit's own recompute ran. A recheck replays the open
/// appeals again, from the edit's first changed day, with the year as it was before that
/// edit as the old calendar and the stored calendar of now as the new one: what was set on
/// the old calendar meanwhile moves as the edit moved the rest (with its event and email,
/// in the name of the administrator who edited); what is already on the new calendar stays.
/// One that fails (an appeal changed under it) runs again after the scheduler's backoff,
/// and ends `failed` after `scheduler.max_attempts`.
///
/// The scheduler's background loop calls this with its chores (after a pass that found no
/// job due, and once per poll interval while passes keep finding some); tests call it after
/// moving their clock. Safe in any number of processes: a transaction takes the calendar's
/// lock or leaves the rechecks to whoever holds it.
pub async fn run_due_rechecks(app: &App, now: DateTime<Utc>) -> Result<Vec<Rechecked>, ServiceError> {
    let mut ran = Vec::new();
    // Nearly always nothing is due: found out without a write transaction (which, on
    // SQLite, would wait for and hold up the one writer).
    while calendar::due_recheck(app.db.conn(), now).await?.is_some() {
        let txn = app.db.write().await?;
        let claimed = if calendar::try_lock(&txn, app.db.backend()).await? {
            calendar::due_recheck(&txn, now).await?
        } else {
            None
        };
        let Some(recheck) = claimed else {
            txn.rollback().await?;
            break;
        };
        match recheck_in(app, &txn, &recheck, now).await {
            Ok(recomputed) => {
                let outcome = serde_json::to_string(&recomputed).unwrap_or_default();
                calendar::finish_recheck(&txn, recheck.id, &outcome, now).await?;
                txn.commit().await?;
                log_moved(recheck.year, &recomputed, "the recheck of a calendar edit ran");
                ran.push(Rechecked { year: recheck.year, recomputed });
            }
            Err(error) => {
                txn.rollback().await?;
                let retry_at =
                    crate::services::scheduler::retry_at(&app.settings.scheduler, recheck.attempts + 1, now);
                tracing::warn!(
                    year = recheck.year,
                    %error,
                    retry_at = ?retry_at,
                    "the recheck of a calendar edit failed"
                );
                calendar::recheck_failed(app.db.conn(), recheck.id, &error.to_string(), retry_at).await?;
            }
        }
    }
    Ok(ran)
}

/// One recheck in `txn`, which holds the calendar's lock: the edited year as it was before
/// the edit against the calendar stored now.
async fn recheck_in(
    app: &App,
    txn: &sea_orm::DatabaseTransaction,
    recheck: &calendar::Recheck,
    now: DateTime<Utc>,
) -> Result<Recomputed, ServiceError> {
    let year_before: YearTable = serde_json::from_str(&recheck.entries_before).map_err(|e| {
        ServiceError::Internal(format!("the recheck's year before the edit is unreadable: {e}"))
    })?;
    let tables = calendar::tables(txn).await?;
    let mut old = tables.clone();
    old.retain(|t| t.year != recheck.year);
    // As the database keeps a year: only with entries.
    if !year_before.entries.is_empty() {
        old.push(year_before);
    }
    old.sort_by_key(|t| t.year);
    let (before, after) = (stored_calendar(app, old)?, stored_calendar(app, tables)?);
    match recompute::first_changed_day(&before, &after, recheck.year) {
        Some(from) => {
            recompute::after_calendar_edit(app, txn, &before, &after, from, recheck.edited_by, now).await
        }
        // Edited back as it was since: nothing was set on another calendar than this one.
        None => Ok(Recomputed::default()),
    }
}

async fn view(app: &App, year: i32, declared: Option<Vec<CalendarEntry>>) -> Result<YearView, StoreError> {
    let current = app.jurisdiction.calendar.current();
    let rules = current.rules();
    let listing = current.year(year).unwrap_or_else(|| YearListing {
        year,
        time_zone: rules.time_zone.name().to_owned(),
        weekend: rules.weekend.days().map(|d| crate::domain::calendar::weekday_name(d).to_owned()).collect(),
        entries: Vec::new(),
    });
    let declared = match declared {
        Some(d) => d,
        None => calendar::tables(app.db.conn())
            .await?
            .into_iter()
            .find(|t| t.year == year)
            .map(|t| t.entries)
            .unwrap_or_default(),
    };
    Ok(YearView { listing, declared, recomputed: None })
}

fn check_year(year: i32) -> Result<(), ServiceError> {
    if YEARS.contains(&year) {
        Ok(())
    } else {
        let (first, last) = (YEARS.start(), YEARS.end());
        Err(FieldError::new("year", "out_of_range", format!("must be between {first} and {last}")).into())
    }
}
