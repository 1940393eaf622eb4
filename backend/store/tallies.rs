//! The deadline reports' monthly tallies (`domain::report::tally`): added to as differences
//! in the transaction that changes the stints they count, and summed by the reports.

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, InsertStatement, OnConflict, Query, SimpleExpr};
use sea_orm::{ConnectionTrait, EntityTrait, QueryResult, QueryTrait};

use super::StoreError;
use super::entity::report_tally::{self as row, Column};
use super::stints::Reach;
use crate::domain::report::Grouping;
use crate::domain::report::tally::{Tallies, Tally, TallyKey};

/// What `answer_days` holds on rows that count no answer (a key column is never NULL).
const NO_ANSWER: i32 = -1;

/// The counted columns, in the order of [`Tally`]'s fields.
const COUNTED: [Column; 7] = [
    Column::Received,
    Column::Extensions,
    Column::Answered,
    Column::AnsweredOnTime,
    Column::ForwardedOut,
    Column::Dismissed,
    Column::Missed,
];

/// Adds the tallies to their rows (creating missing ones), in key order: two transactions
/// adding to the same rows lock them in the same order and so never deadlock.
pub async fn add(db: &impl ConnectionTrait, tallies: Tallies) -> Result<(), StoreError> {
    for statement in adding(tallies) {
        db.execute(&statement).await?;
    }
    Ok(())
}

/// The statements [`add`] runs (none for no tallies), to run later with other writes (see
/// [`super::deferred`]).
pub fn adding(tallies: Tallies) -> Vec<InsertStatement> {
    let rows: Vec<row::ActiveModel> = tallies.into_rows().map(|(key, tally)| to_row(key, &tally)).collect();
    let mut on_conflict = OnConflict::columns([
        Column::Grouping,
        Column::Month,
        Column::AgencyId,
        Column::GroupKey,
        Column::AnswerDays,
    ]);
    for column in COUNTED {
        on_conflict
            .value(column, Expr::col((row::Entity, column)).add(Expr::col((Alias::new("excluded"), column))));
    }
    // 12 columns a row: under both backends' limits on bound parameters per statement.
    let mut statements = Vec::new();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<row::ActiveModel> = rows.by_ref().take(1000).collect();
        statements.push(row::Entity::insert_many(chunk).on_conflict(on_conflict.clone()).into_query());
    }
    statements
}

/// Removes every tally (before a rebuild).
pub async fn delete_all(db: &impl ConnectionTrait) -> Result<u64, StoreError> {
    Ok(row::Entity::delete_many().exec(db).await?.rows_affected)
}

fn to_row(key: TallyKey, tally: &Tally) -> row::ActiveModel {
    use sea_orm::ActiveValue::Set;
    // Differences of one change, and sums of a month's stints at one agency: far inside i32.
    let narrow = |n: i64| i32::try_from(n).unwrap_or(if n < 0 { i32::MIN } else { i32::MAX });
    row::ActiveModel {
        grouping: Set(key.grouping.as_str().to_owned()),
        month: Set(key.month),
        agency_id: Set(key.agency_id),
        group_key: Set(key.group),
        answer_days: Set(key.answer_days.unwrap_or(NO_ANSWER)),
        received: Set(narrow(tally.received)),
        extensions: Set(narrow(tally.extensions)),
        answered: Set(narrow(tally.answered)),
        answered_on_time: Set(narrow(tally.answered_on_time)),
        forwarded_out: Set(narrow(tally.forwarded_out)),
        dismissed: Set(narrow(tally.dismissed)),
        missed: Set(narrow(tally.missed)),
    }
}

/// One group's sums over a range of months, for one number of days to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSum {
    /// As in [`TallyKey::group`].
    pub group: String,
    pub answer_days: Option<i32>,
    pub tally: Tally,
}

/// The sums of `grouping`'s tallies at `agencies` over the months whose first days are the
/// day numbers `first..=last`, by group and days to answer.
pub async fn by_group(
    db: &impl ConnectionTrait,
    grouping: Grouping,
    agencies: &Reach,
    (first, last): (i32, i32),
) -> Result<Vec<GroupSum>, StoreError> {
    let mut query = Query::select();
    query
        .from(row::Entity)
        .column(Column::GroupKey)
        .column(Column::AnswerDays)
        .and_where(Expr::col(Column::Grouping).eq(grouping.as_str()))
        .and_where(Expr::col(Column::Month).between(first, last))
        .cond_where(agencies.on(Column::AgencyId))
        .group_by_columns([Column::GroupKey, Column::AnswerDays]);
    select_sums(&mut query);
    let mut found = Vec::new();
    for r in db.query_all(&query).await? {
        let answer_days: i32 = r.try_get("", "answer_days")?;
        found.push(GroupSum {
            group: r.try_get("", "group_key")?,
            answer_days: (answer_days != NO_ANSWER).then_some(answer_days),
            tally: tally_of(&r)?,
        });
    }
    Ok(found)
}

/// The sums at `agencies` per month over the months `first..=last` (day numbers of their
/// first days), from the agency grouping's rows (each stint counts once in every grouping).
pub async fn by_month(
    db: &impl ConnectionTrait,
    agencies: &Reach,
    (first, last): (i32, i32),
) -> Result<Vec<(i32, Tally)>, StoreError> {
    let mut query = Query::select();
    query
        .from(row::Entity)
        .column(Column::Month)
        .and_where(Expr::col(Column::Grouping).eq(Grouping::Agency.as_str()))
        .and_where(Expr::col(Column::Month).between(first, last))
        .cond_where(agencies.on(Column::AgencyId))
        .group_by_col(Column::Month);
    select_sums(&mut query);
    let mut found = Vec::new();
    for r in db.query_all(&query).await? {
        found.push((r.try_get("", "month")?, tally_of(&r)?));
    }
    Ok(found)
}

fn select_sums(query: &mut sea_orm::sea_query::SelectStatement) {
    for column in COUNTED {
        let sum: SimpleExpr = Func::sum(Expr::col(column)).into();
        query.expr_as(sum, column);
    }
}

/// Reads the sums: a SUM of integers is a BIGINT on PostgreSQL and an INTEGER on SQLite,
/// both read as i64.
fn tally_of(r: &QueryResult) -> Result<Tally, sea_orm::DbErr> {
    let sum = |column: Column| -> Result<i64, sea_orm::DbErr> {
        Ok(r.try_get::<Option<i64>>("", sea_orm::IdenStatic::as_str(&column))?.unwrap_or(0))
    };
    Ok(Tally {
        received: sum(Column::Received)?,
        extensions: sum(Column::Extensions)?,
        answered: sum(Column::Answered)?,
        answered_on_time: sum(Column::AnsweredOnTime)?,
        forwarded_out: sum(Column::ForwardedOut)?,
        dismissed: sum(Column::Dismissed)?,
        missed: sum(Column::Missed)?,
    })
}
