//! Appeal stints (one row per stay of an appeal at an agency) and the report queries over
//! them. See `domain::report` for what a stint is, and the migration for the columns.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::{
    Asterisk, Expr, ExprTrait, Func, InsertStatement, IntoColumnRef, OnConflict, Query, SimpleExpr,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QueryResult, QuerySelect, QueryTrait,
};
use uuid::Uuid;

use super::entity::appeal_stint::{self as row, Column};
use super::{StoreError, tallies};
use crate::domain::report::tally::{Dimensions, Tallies};
use crate::domain::report::{Counts, Grouping, Stint, StintOutcome, day_number, local_day};

/// What a stint row repeats of its appeal, for grouping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StintAppeal {
    pub id: Uuid,
    pub category_code: String,
    pub territory_code: String,
    pub kind: String,
}

impl StintAppeal {
    pub fn dimensions(&self) -> Dimensions<'_> {
        Dimensions { category: &self.category_code, territory: &self.territory_code, kind: &self.kind }
    }
}

/// The appeal's last stint (at its current agency), if it has one.
pub async fn last(db: &impl ConnectionTrait, appeal_id: Uuid) -> Result<Option<Stint>, StoreError> {
    let found =
        row::Entity::find().filter(Column::AppealId.eq(appeal_id)).order_by_desc(Column::Seq).one(db).await?;
    Ok(found.map(from_row))
}

/// Every stint of the given appeals, by appeal then in order.
pub async fn of_appeals(
    db: &impl ConnectionTrait,
    appeal_ids: &[Uuid],
) -> Result<Vec<(Uuid, Stint)>, StoreError> {
    let rows = row::Entity::find()
        .filter(Column::AppealId.is_in(appeal_ids.iter().copied()))
        .order_by_asc(Column::AppealId)
        .order_by_asc(Column::Seq)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.appeal_id, from_row(r))).collect())
}

/// The writes for the stints of one appeal that a change touched (new ones inserted, known
/// ones by (appeal, seq) updated) and for moving the monthly tallies by the difference, to
/// run with the change's other writes (see [`super::deferred`]): `before` is the
/// stored state of the stints in `after` that existed (the last one, as [`last`] read it).
/// `tz_of` gives each agency's time zone, in which the local dates are taken.
pub fn saving(
    appeal: &StintAppeal,
    before: Option<&Stint>,
    after: &[Stint],
    tz_of: impl Fn(Uuid) -> Tz,
) -> Vec<InsertStatement> {
    if after.is_empty() {
        return Vec::new();
    }
    let mut change = Tallies::default();
    for stint in after {
        change.count(stint, appeal.dimensions(), tz_of(stint.agency_id), 1);
    }
    if let Some(stint) = before {
        change.count(stint, appeal.dimensions(), tz_of(stint.agency_id), -1);
    }
    let rows = after.iter().map(|s| to_row(appeal, s, tz_of(s.agency_id)));
    let on_conflict = OnConflict::columns([Column::AppealId, Column::Seq])
        .update_columns([
            Column::AgencyId,
            Column::OfficialId,
            Column::ReceivedAt,
            Column::ReceivedDay,
            Column::DueAt,
            Column::DueDay,
            Column::PausedAt,
            Column::EndedAt,
            Column::EndedDay,
            Column::Outcome,
            Column::OnTime,
            Column::AnswerDays,
            Column::Extensions,
        ])
        .to_owned();
    let mut statements = vec![row::Entity::insert_many(rows).on_conflict(on_conflict).into_query()];
    // Last: the tally rows are shared with every other change at the same agency and month,
    // so their locks are held for as short a time as the transaction allows.
    statements.extend(tallies::adding(change));
    statements
}

/// Inserts the stints of many appeals with multi-row statements (rebuilds and bulk loads)
/// and returns what they count, which the caller must add (`tallies::add`) in the same
/// transaction, at once or together with later batches.
#[must_use = "the stints' tallies must be added in the same transaction"]
pub async fn insert_many(
    db: &impl ConnectionTrait,
    stints: &[(StintAppeal, Stint)],
    tz_of: impl Fn(Uuid) -> Tz,
) -> Result<Tallies, StoreError> {
    let mut counted = Tallies::default();
    // 20 columns a row: under both backends' limits on bound parameters per statement.
    for chunk in stints.chunks(1000) {
        let rows = chunk.iter().map(|(appeal, s)| to_row(appeal, s, tz_of(s.agency_id)));
        row::Entity::insert_many(rows).exec_without_returning(db).await?;
        for (appeal, stint) in chunk {
            counted.count(stint, appeal.dimensions(), tz_of(stint.agency_id), 1);
        }
    }
    Ok(counted)
}

/// Removes every stint and every tally (before a rebuild).
pub async fn delete_all(db: &impl ConnectionTrait) -> Result<u64, StoreError> {
    tallies::delete_all(db).await?;
    Ok(row::Entity::delete_many().exec(db).await?.rows_affected)
}

fn to_row(appeal: &StintAppeal, s: &Stint, tz: Tz) -> row::ActiveModel {
    use sea_orm::ActiveValue::Set;
    let day = |at: DateTime<Utc>| day_number(local_day(at, tz));
    row::ActiveModel {
        appeal_id: Set(appeal.id),
        seq: Set(s.seq),
        agency_id: Set(s.agency_id),
        official_id: Set(s.official_id),
        category_code: Set(appeal.category_code.clone()),
        territory_code: Set(appeal.territory_code.clone()),
        kind: Set(appeal.kind.clone()),
        received_at: Set(s.received_at),
        received_day: Set(day(s.received_at)),
        due_at: Set(s.due_at),
        due_day: Set(day(s.due_at)),
        paused_at: Set(s.paused_at),
        ended_at: Set(s.ended_at),
        ended_day: Set(s.ended_at.map(day)),
        outcome: Set(s.outcome.map(|o| o.as_str().to_owned())),
        on_time: Set(s.answered_on_time()),
        answer_days: Set(s.days_to_answer(tz)),
        extensions: Set(s.extensions),
    }
}
fn from_row(r: row::Model) -> Stint {
    Stint {
        seq: r.seq,
        agency_id: r.agency_id,
        official_id: r.official_id,
        received_at: r.received_at,
        due_at: r.due_at,
        paused_at: r.paused_at,
        ended_at: r.ended_at,
        outcome: r.outcome.and_then(|o| o.parse::<StintOutcome>().ok()),
        extensions: r.extensions,
    }
}

/// Which agencies' stints and tallies a report counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// Every agency, with no filter at all. Spelled out, a long list of agency ids keeps
    /// PostgreSQL 15 off the period indexes (it would search them once per id): the flows of
    /// one month over 62 agencies took a 180 ms sequential scan instead of 50 ms.
    Everywhere,
    /// These agencies only.
    Only(Vec<Uuid>),
}

impl Reach {
    /// The condition on an agency column (none for every agency).
    pub(crate) fn on(&self, column: impl IntoColumnRef) -> Condition {
        match self {
            Reach::Everywhere => Condition::all(),
            Reach::Only(ids) => Condition::all().add(Expr::col(column).is_in(ids.iter().copied())),
        }
    }
}

/// The deadline report's query: agencies, the period as local dates (inclusive), and the
/// instants that decide "overdue" and "due soon" now.
#[derive(Debug, Clone)]
pub struct DeadlineQuery {
    pub agencies: Reach,
    pub grouping: Grouping,
    /// Day numbers (`domain::report::day_number`), both included.
    pub from: i32,
    pub to: i32,
    /// An open stint due at or before this is overdue (one second before now).
    pub overdue_cutoff: DateTime<Utc>,
    /// An open stint due after `overdue_cutoff` and at or before this is due soon.
    pub due_soon_until: DateTime<Utc>,
}

/// One aggregated row: a group, a number of days to answer (for the percentiles), and the
/// counts of stints sharing both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineRow {
    pub key: Option<String>,
    pub answer_days: Option<i32>,
    pub counts: Counts,
}

/// The deadline report's flows per group over the local days `from..=to` (day numbers):
/// one pass over the stints received or ended then at the agencies, grouped by what decides
/// each figure (so each row costs a hash lookup, not a dozen conditional sums). Whole months
/// come from the tallies instead; this reads the days around them. Rows with the same key
/// are to be added up by the caller.
pub async fn flow_rows(
    db: &impl ConnectionTrait,
    q: &DeadlineQuery,
    (from, to): (i32, i32),
) -> Result<Vec<DeadlineRow>, StoreError> {
    let key = group_column(q.grouping);
    let received = Expr::col(Column::ReceivedDay).between(from, to);
    let ended = Expr::col(Column::EndedDay).between(from, to);
    let mut flows = Query::select();
    flows
        .from(row::Entity)
        .expr_as(Expr::col(key), "key")
        .expr_as(Expr::col(Column::AnswerDays), "answer_days")
        .expr_as(Expr::col(Column::Outcome), "outcome")
        .expr_as(Expr::col(Column::OnTime), "on_time")
        .expr_as(received.clone(), "in_received")
        .expr_as(ended.clone(), "in_ended")
        .expr_as(rows(), "n")
        .expr_as(Func::sum(Expr::col(Column::Extensions)), "extensions")
        .cond_where(q.agencies.on(Column::AgencyId))
        .cond_where(Condition::any().add(received).add(ended))
        .add_group_by(by_position(6));
    let mut found = Vec::new();
    for r in db.query_all(&flows).await? {
        let n = count(&r, "n")?;
        // A comparison with a NULL day is NULL: not in the period.
        let flag = |name: &str| r.try_get::<Option<bool>>("", name).map(|b| b == Some(true));
        let (in_received, in_ended) = (flag("in_received")?, flag("in_ended")?);
        let outcome: Option<String> = r.try_get("", "outcome")?;
        let ended_as = |wanted: StintOutcome| in_ended && outcome.as_deref() == Some(wanted.as_str());
        let answered = ended_as(StintOutcome::Answered);
        let on_time = answered && r.try_get::<Option<bool>>("", "on_time")? == Some(true);
        let counts = Counts {
            received: if in_received { n } else { 0 },
            answered: if answered { n } else { 0 },
            answered_on_time: if on_time { n } else { 0 },
            forwarded_out: if ended_as(StintOutcome::Forwarded) { n } else { 0 },
            dismissed: if ended_as(StintOutcome::Dismissed) { n } else { 0 },
            extensions_granted: if in_received { count(&r, "extensions")? } else { 0 },
            ..Counts::default()
        };
        found.push(DeadlineRow {
            key: group_key(&r, q.grouping)?,
            answer_days: if answered { r.try_get("", "answer_days")? } else { None },
            counts,
        });
    }
    Ok(found)
}

/// The deadline report's figures of the moment per group: the stints received in the
/// period that are still open, how many of them are overdue and how many due soon. Reads
/// only open stints (a partial index holds them).
pub async fn open_rows(db: &impl ConnectionTrait, q: &DeadlineQuery) -> Result<Vec<DeadlineRow>, StoreError> {
    let overdue = overdue_now(q.overdue_cutoff);
    let due_soon = Expr::col(Column::PausedAt)
        .is_null()
        .and(Expr::col(Column::DueAt).gt(q.overdue_cutoff))
        .and(Expr::col(Column::DueAt).lte(q.due_soon_until));
    let mut still_open = Query::select();
    still_open
        .from(row::Entity)
        .expr_as(Expr::col(group_column(q.grouping)), "key")
        .expr_as(overdue, "overdue")
        .expr_as(due_soon, "due_soon")
        .expr_as(rows(), "n")
        .cond_where(q.agencies.on(Column::AgencyId))
        .and_where(Expr::col(Column::ReceivedDay).between(q.from, q.to))
        .and_where(Expr::col(Column::EndedAt).is_null())
        .add_group_by(by_position(3));
    let mut found = Vec::new();
    for r in db.query_all(&still_open).await? {
        let n = count(&r, "n")?;
        let counts = Counts {
            open: n,
            open_overdue: if r.try_get::<Option<bool>>("", "overdue")? == Some(true) { n } else { 0 },
            due_soon: if r.try_get::<Option<bool>>("", "due_soon")? == Some(true) { n } else { 0 },
            ..Counts::default()
        };
        found.push(DeadlineRow { key: group_key(&r, q.grouping)?, answer_days: None, counts });
    }
    Ok(found)
}

fn group_column(grouping: Grouping) -> Column {
    match grouping {
        Grouping::Agency => Column::AgencyId,
        Grouping::Official => Column::OfficialId,
        Grouping::Category => Column::CategoryCode,
        Grouping::Territory => Column::TerritoryCode,
        Grouping::Kind => Column::Kind,
    }
}

/// `COUNT(*)`: counting a column would make an index-only scan read the table for it.
fn rows() -> SimpleExpr {
    Expr::col(Asterisk).count()
}

/// `GROUP BY 1, 2, …, n`: the first `n` selected expressions. By position, because a
/// comparison with bound values is a new expression to PostgreSQL each time it is written.
fn by_position(n: usize) -> Vec<SimpleExpr> {
    (1..=n).map(|i| Expr::cust(i.to_string())).collect()
}

/// The group's key as text: ids for agencies and officials, codes otherwise.
fn group_key(r: &QueryResult, grouping: Grouping) -> Result<Option<String>, sea_orm::DbErr> {
    match grouping {
        Grouping::Agency | Grouping::Official => {
            Ok(r.try_get::<Option<Uuid>>("", "key")?.map(|id| id.to_string()))
        }
        _ => r.try_get::<Option<String>>("", "key"),
    }
}

/// A COUNT or SUM: a BIGINT on PostgreSQL and an INTEGER on SQLite, both read as i64.
fn count(r: &QueryResult, name: &str) -> Result<u64, sea_orm::DbErr> {
    let value: Option<i64> = r.try_get("", name)?;
    Ok(u64::try_from(value.unwrap_or(0)).unwrap_or(0))
}

/// An open stint's deadline has passed: by the cutoff, or before its clock was paused.
fn overdue_now(cutoff: DateTime<Utc>) -> SimpleExpr {
    let running = Expr::col(Column::PausedAt).is_null().and(Expr::col(Column::DueAt).lte(cutoff));
    let paused_late = Expr::col(Column::PausedAt)
        .is_not_null()
        .and(Expr::col(Column::DueAt).lt(Expr::col(Column::PausedAt)));
    running.or(paused_late)
}

/// Which daily series of the trend report to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Series {
    /// Stints received, by local day received.
    Received,
    /// Stints answered, by local day answered.
    Answered,
    /// Stints whose deadline passed without a timely answer, by local day due.
    Overdue { cutoff: DateTime<Utc> },
    /// The open part of `Overdue`: stints still open past their deadline, by local day due
    /// (the answered part of whole months comes from the tallies).
    OpenOverdue { cutoff: DateTime<Utc> },
}

/// One daily count of a series.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct DailyCount {
    /// A day number (`domain::report::day_number`).
    pub day: i32,
    pub count: i64,
}

/// How many stints of the series fell on each local day in `[from, to]` at the agencies.
pub async fn daily(
    db: &impl ConnectionTrait,
    agencies: &Reach,
    series: Series,
    from: i32,
    to: i32,
) -> Result<Vec<DailyCount>, StoreError> {
    let day = match series {
        Series::Received => Column::ReceivedDay,
        Series::Answered => Column::EndedDay,
        Series::Overdue { .. } | Series::OpenOverdue { .. } => Column::DueDay,
    };
    let mut query = row::Entity::find()
        .select_only()
        .column_as(day, "day")
        .column_as(rows(), "count")
        .filter(agencies.on(Column::AgencyId))
        .filter(Expr::col(day).between(from, to))
        .group_by(day);
    match series {
        Series::Received => {}
        Series::Answered => query = query.filter(Column::Outcome.eq(StintOutcome::Answered.as_str())),
        Series::Overdue { cutoff } => {
            let open_past_due = Expr::col(Column::EndedAt).is_null().and(overdue_now(cutoff));
            let answered_late = Expr::col(Column::Outcome)
                .eq(StintOutcome::Answered.as_str())
                .and(Expr::col(Column::OnTime).eq(false));
            query = query.filter(Condition::any().add(open_past_due).add(answered_late));
        }
        Series::OpenOverdue { cutoff } => {
            query = query.filter(Expr::col(Column::EndedAt).is_null().and(overdue_now(cutoff)));
        }
    }
    Ok(query.into_model::<DailyCount>().all(db).await?)
}
