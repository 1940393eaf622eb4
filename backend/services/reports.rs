//! Supervisors' deadline reports: who is late, where and why.
//!
//! The figures come from the appeals' stints (`domain::report`), kept in step with every
//! recorded event by [`track`] in the event's own transaction, and rebuilt from the
//! timelines by [`rebuild`]. Who may see what: a supervisor their agency and everything
//! below it, an official their own agency, an administrator every agency, a citizen
//! nothing. Naming an agency outside the caller's reach is a 404, as if it did not exist.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::appeals::Directory;
use super::{Caller, ServiceError};
use crate::app::App;
use crate::domain::appeal::AppealKind;
use crate::domain::calendar::YEARS;
use crate::domain::field::FieldError;
use crate::domain::lifecycle::Status;
use crate::domain::locale::Locale;
use crate::domain::report::tally::{self, Piece, Tallies};
use crate::domain::report::{
    self, Counts, Current, DaysHistogram, Grouping, Interval, Stint, StintEvent, bucket_of, buckets,
};
use crate::domain::role::Role;
use crate::store::agencies::Agency;
use crate::store::appeals::{self, Appeal};
use crate::store::deferred::Deferred;
use crate::store::events::{self, Event};
use crate::store::stints::{self, DeadlineQuery, DeadlineRow, Reach, Series, StintAppeal};
use crate::store::{StoreError, reference, tallies, users};

/// A report's period: local dates, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// The period a caller asks for: `to` defaults to today, `from` to the first of January of
/// the year `to` falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PeriodRequest {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// The figures of one row of the deadline report (or of its totals).
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub counts: Counts,
    pub answered_late: u64,
    /// Answered on time as a percentage of answered, to 0.1; `None` when none was answered.
    pub on_time_rate: Option<f64>,
    /// Calendar days from receipt to answer (local days), nearest-rank percentiles.
    pub median_days_to_answer: Option<i32>,
    pub p90_days_to_answer: Option<i32>,
}

impl Figures {
    fn of(counts: Counts, days: &DaysHistogram) -> Self {
        Self {
            answered_late: counts.answered_late(),
            on_time_rate: counts.on_time_rate(),
            median_days_to_answer: days.percentile(50),
            p90_days_to_answer: days.percentile(90),
            counts,
        }
    }
}

/// One row: the group's key (agency code, official id, category or territory code, kind)
/// and its name in the caller's language.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow {
    pub key: String,
    pub name: String,
    pub figures: Figures,
}

/// The deadline report.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadlineReport {
    pub period: Period,
    pub grouping: Grouping,
    /// The agencies counted (codes).
    pub agencies: Vec<String>,
    pub rows: Vec<ReportRow>,
    pub total: Figures,
}

/// An overdue appeal, as the overdue report lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct OverdueItem {
    pub appeal_id: Uuid,
    pub tracking_number: String,
    pub registration_number: Option<String>,
    pub agency_code: String,
    pub agency_name: String,
    pub assignee_id: Option<Uuid>,
    pub assignee_name: Option<String>,
    pub category_code: String,
    pub kind: AppealKind,
    pub status: Status,
    pub due_at: DateTime<Utc>,
    /// Whole local days since the due day.
    pub days_overdue: i64,
}

/// One point of the trend report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrendPoint {
    /// The first day of the week (Monday) or month.
    pub period_start: NaiveDate,
    pub received: u64,
    pub answered: u64,
    /// Deadlines that fell in this period and were missed (answered late, or still open).
    pub overdue: u64,
}

/// The deadline report for `period` (default: this year so far) over the agency `agency`
/// (default: the caller's own) and what the caller may see below it, with names in `locale`.
pub async fn deadlines(
    app: &App,
    caller: &Caller,
    locale: Locale,
    agency: Option<&str>,
    period: PeriodRequest,
    grouping: Grouping,
) -> Result<DeadlineReport, ServiceError> {
    let directory = Directory::load(app).await?;
    let agencies = scope(&directory, caller, agency)?;
    let now = app.clock.now();
    let period = period_or_default(app, period, now)?;
    let query = DeadlineQuery {
        agencies: reach(&directory, &agencies),
        grouping,
        from: report::day_number(period.from),
        to: report::day_number(period.to),
        overdue_cutoff: overdue_cutoff(now),
        due_soon_until: due_soon_until(app, now),
    };
    let txn = app.db.report().await?;
    let db = &txn;
    let mut found = stints::open_rows(db, &query).await?;
    for piece in tally::cover(period.from, period.to) {
        match piece {
            Piece::Days(from, to) => {
                let days = (report::day_number(from), report::day_number(to));
                found.extend(stints::flow_rows(db, &query, days).await?);
            }
            Piece::Months(first, last) => {
                let months = (report::day_number(first), report::day_number(last));
                let sums = tallies::by_group(db, grouping, &query.agencies, months).await?;
                found.extend(sums.into_iter().map(|sum| DeadlineRow {
                    key: Some(sum.group),
                    answer_days: sum.answer_days,
                    counts: sum.tally.counts(),
                }));
            }
        }
    }
    txn.commit().await?;
    let mut groups: BTreeMap<String, (Counts, DaysHistogram)> = BTreeMap::new();
    if grouping == Grouping::Agency {
        // Every agency in reach has a row, zeros included: silence is a figure too.
        groups.extend(agencies.iter().map(|id| (id.to_string(), Default::default())));
    }
    let mut total = (Counts::default(), DaysHistogram::default());
    for row in found {
        let (counts, days) = groups.entry(row.key.unwrap_or_default()).or_default();
        counts.add(&row.counts);
        total.0.add(&row.counts);
        if let Some(n) = row.answer_days {
            days.add(n, row.counts.answered);
            total.1.add(n, row.counts.answered);
        }
    }
    let names = Names::load(app, &directory, grouping, locale, groups.keys()).await?;
    let mut rows: Vec<ReportRow> = groups
        .into_iter()
        .map(|(key, (counts, days))| ReportRow {
            name: names.of(&key),
            key: names.display_key(&key),
            figures: Figures::of(counts, &days),
        })
        .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.key.cmp(&b.key)));
    let mut codes: Vec<String> =
        agencies.iter().filter_map(|id| directory.get(*id)).map(|a| a.code.clone()).collect();
    codes.sort_unstable();
    Ok(DeadlineReport { period, grouping, agencies: codes, rows, total: Figures::of(total.0, &total.1) })
}

/// The caller's open appeals past their deadline, most overdue first, after the keyset
/// `after` (due time, id), at most `limit`.
pub async fn overdue(
    app: &App,
    caller: &Caller,
    locale: Locale,
    agency: Option<&str>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> Result<Vec<OverdueItem>, ServiceError> {
    let directory = Directory::load(app).await?;
    let agencies = scope(&directory, caller, agency)?;
    let now = app.clock.now();
    let open: Vec<&str> = Status::ALL.iter().filter(|s| s.is_open()).map(|s| s.as_str()).collect();
    let found = appeals::overdue(app.db.conn(), &agencies, &open, overdue_cutoff(now), after, limit).await?;
    let assignee_ids: Vec<Uuid> = found.iter().filter_map(|a| a.assignee_id).collect();
    let assignees: HashMap<Uuid, String> =
        users::by_ids(app.db.conn(), &assignee_ids).await?.into_iter().map(|u| (u.id, u.full_name)).collect();
    let calendar = app.jurisdiction.calendar.current();
    let today = calendar.local_date(now);
    Ok(found
        .into_iter()
        .filter_map(|a| {
            let agency = directory.get(a.agency_id)?;
            Some(OverdueItem {
                appeal_id: a.id,
                tracking_number: a.tracking_number,
                registration_number: a.registration_number,
                agency_code: agency.code.clone(),
                agency_name: agency_name(agency, locale).to_owned(),
                assignee_name: a.assignee_id.and_then(|id| assignees.get(&id).cloned()),
                assignee_id: a.assignee_id,
                category_code: a.category_code,
                kind: a.kind.parse().ok()?,
                status: a.status.parse().ok()?,
                days_overdue: (today - calendar.local_date(a.due_at)).num_days().max(0),
                due_at: a.due_at,
            })
        })
        .collect())
}

/// Received, answered and missed deadlines per week or month of `period`.
pub async fn trend(
    app: &App,
    caller: &Caller,
    agency: Option<&str>,
    period: PeriodRequest,
    interval: Interval,
) -> Result<Vec<TrendPoint>, ServiceError> {
    let directory = Directory::load(app).await?;
    let agencies = scope(&directory, caller, agency)?;
    let now = app.clock.now();
    let period = period_or_default(app, period, now)?;
    let mut points: BTreeMap<NaiveDate, TrendPoint> = buckets(period.from, period.to, interval)
        .into_iter()
        .map(|start| (start, TrendPoint { period_start: start, received: 0, answered: 0, overdue: 0 }))
        .collect();
    let cutoff = overdue_cutoff(now);
    let reach = reach(&directory, &agencies);
    let txn = app.db.report().await?;
    let db = &txn;
    let mut count = |day: NaiveDate, received: i64, answered: i64, overdue: i64| {
        if let Some(point) = points.get_mut(&bucket_of(day, interval)) {
            let n = |value: i64| u64::try_from(value).unwrap_or(0);
            point.received += n(received);
            point.answered += n(answered);
            point.overdue += n(overdue);
        }
    };
    // Whole months only make whole points of a monthly trend.
    let pieces = match interval {
        Interval::Month => tally::cover(period.from, period.to),
        Interval::Week => vec![Piece::Days(period.from, period.to)],
    };
    for piece in pieces {
        let (series, from, to): (&[Series], _, _) = match piece {
            Piece::Days(from, to) => {
                (&[Series::Received, Series::Answered, Series::Overdue { cutoff }], from, to)
            }
            Piece::Months(first, last) => {
                let months = (report::day_number(first), report::day_number(last));
                for (month, sums) in tallies::by_month(db, &reach, months).await? {
                    count(report::date_of_day(month), sums.received, sums.answered, sums.missed);
                }
                let end = last.checked_add_months(chrono::Months::new(1)).and_then(|d| d.pred_opt());
                (&[Series::OpenOverdue { cutoff }], first, end.unwrap_or(last))
            }
        };
        for &series in series {
            let days = stints::daily(db, &reach, series, report::day_number(from), report::day_number(to));
            for daily in days.await? {
                let day = report::date_of_day(daily.day);
                match series {
                    Series::Received => count(day, daily.count, 0, 0),
                    Series::Answered => count(day, 0, daily.count, 0),
                    Series::Overdue { .. } | Series::OpenOverdue { .. } => count(day, 0, 0, daily.count),
                }
            }
        }
    }
    txn.commit().await?;
    Ok(points.into_values().collect())
}

/// The agencies the caller asks about and may see: `agency` (a code) and what lies below it
/// for supervisors and administrators; the caller's own agency by default.
fn scope(directory: &Directory, caller: &Caller, agency: Option<&str>) -> Result<Vec<Uuid>, ServiceError> {
    let asked = match agency {
        Some(code) => Some(directory.by_code(code).ok_or(ServiceError::NotFound)?.id),
        None => None,
    };
    match (caller.role, caller.agency_id) {
        (Role::Admin, _) => Ok(match asked {
            Some(root) => directory.subtree(root),
            None => directory.all().iter().map(|a| a.id).collect(),
        }),
        (Role::Supervisor, Some(own)) => {
            let root = asked.unwrap_or(own);
            if root != own && !directory.ancestors(root).contains(&own) {
                return Err(ServiceError::NotFound);
            }
            Ok(directory.subtree(root))
        }
        (Role::Official, Some(own)) => match asked {
            Some(other) if other != own => Err(ServiceError::NotFound),
            _ => Ok(vec![own]),
        },
        _ => Err(ServiceError::Forbidden),
    }
}

/// The agencies a query counts: every one, unfiltered, when the caller sees them all.
fn reach(directory: &Directory, agencies: &[Uuid]) -> Reach {
    if agencies.len() == directory.all().len() { Reach::Everywhere } else { Reach::Only(agencies.to_vec()) }
}

fn period_or_default(app: &App, asked: PeriodRequest, now: DateTime<Utc>) -> Result<Period, ServiceError> {
    let to = asked.to.unwrap_or_else(|| app.jurisdiction.calendar.current().local_date(now));
    let period = Period { from: asked.from.unwrap_or_else(|| to.with_ordinal(1).unwrap_or(to)), to };
    for (field, day) in [("to", period.to), ("from", period.from)] {
        if !YEARS.contains(&day.year()) {
            let (first, last) = (YEARS.start(), YEARS.end());
            return Err(FieldError::new(
                field,
                "out_of_range",
                format!("must be in the years {first} to {last}"),
            )
            .into());
        }
    }
    if period.from > period.to {
        return Err(FieldError::new("to", "out_of_range", "the period ends before it starts").into());
    }
    let longest = i64::from(app.settings.reports.max_period_days);
    if (period.to - period.from).num_days() >= longest {
        return Err(FieldError::new(
            "from",
            "out_of_range",
            format!("a report covers at most {longest} days"),
        )
        .into());
    }
    Ok(period)
}

/// An open appeal due at or before this instant is overdue now (see `deadline::overdue_at`).
fn overdue_cutoff(now: DateTime<Utc>) -> DateTime<Utc> {
    now - TimeDelta::seconds(1)
}

/// The end of the last of the next `due_soon_working_days` working days.
fn due_soon_until(app: &App, now: DateTime<Utc>) -> DateTime<Utc> {
    let calendar = app.jurisdiction.calendar.current();
    let today = calendar.local_date(now);
    let days = usize::try_from(app.settings.reports.due_soon_working_days).unwrap_or(usize::MAX);
    let last = match days.checked_sub(1) {
        None => today,
        Some(index) => calendar.working_days_after(today).nth(index).unwrap_or(NaiveDate::MAX),
    };
    calendar.end_of_day(last)
}

fn agency_name(agency: &Agency, locale: Locale) -> &str {
    locale.pick(&agency.name_tg, &agency.name_ru, &agency.name_en)
}

/// Names of a report's groups in the caller's language.
struct Names {
    grouping: Grouping,
    names: HashMap<String, String>,
    /// Agency ids to codes, for agency rows.
    codes: HashMap<String, String>,
    unassigned: &'static str,
}

impl Names {
    async fn load(
        app: &App,
        directory: &Directory,
        grouping: Grouping,
        locale: Locale,
        keys: impl Iterator<Item = &String>,
    ) -> Result<Self, ServiceError> {
        let mut names = HashMap::new();
        let mut codes = HashMap::new();
        let db = app.db.conn();
        match grouping {
            Grouping::Agency => {
                for agency in directory.all() {
                    names.insert(agency.id.to_string(), agency_name(agency, locale).to_owned());
                    codes.insert(agency.id.to_string(), agency.code.clone());
                }
            }
            Grouping::Official => {
                let ids: Vec<Uuid> = keys.filter_map(|k| k.parse().ok()).collect();
                for user in users::by_ids(db, &ids).await? {
                    names.insert(user.id.to_string(), user.full_name);
                }
            }
            Grouping::Category => {
                for c in reference::categories(db).await? {
                    names.insert(c.code.clone(), locale.pick(&c.name_tg, &c.name_ru, &c.name_en).to_owned());
                }
            }
            Grouping::Territory => {
                for t in reference::territories(db).await? {
                    names.insert(t.code.clone(), locale.pick(&t.name_tg, &t.name_ru, &t.name_en).to_owned());
                }
            }
            Grouping::Kind => {
                for kind in AppealKind::ALL {
                    names.insert(kind.as_str().to_owned(), kind.title(locale).to_owned());
                }
            }
        }
        let unassigned = locale.pick("Таъин нашуда", "Не назначено", "Unassigned");
        Ok(Self { grouping, names, codes, unassigned })
    }

    fn of(&self, key: &str) -> String {
        match self.names.get(key) {
            Some(name) => name.clone(),
            None if key.is_empty() && self.grouping == Grouping::Official => self.unassigned.to_owned(),
            None => key.to_owned(),
        }
    }

    /// Agencies are keyed by code in the report (ids are an internal matter).
    fn display_key(&self, key: &str) -> String {
        self.codes.get(key).cloned().unwrap_or_else(|| key.to_owned())
    }
}

/// Keeps the appeal's stints in step with an event just recorded in `txn` about it;
/// `appeal` is its row after the change. Events that change no figure are skipped. The
/// stints are read through `txn` and written through `writes`.
pub(crate) async fn track(
    txn: &impl ConnectionTrait,
    writes: &mut Deferred,
    agencies: &[Agency],
    appeal: &Appeal,
    event: &Event,
) -> Result<(), StoreError> {
    const TRACKED: &[&str] = &[
        "file",
        "forward",
        "reroute",
        "take",
        "assign",
        "request_info",
        "reply",
        "grant_extension",
        "answer",
        "dismiss",
        "withdraw",
        "abandon",
        "reopen",
        super::appeals::recompute::ACTION,
    ];
    if !TRACKED.contains(&event.action.as_str()) {
        return Ok(());
    }
    // An appeal's first event has no stay before it to read.
    let before = match event.seq {
        1 => None,
        _ => stints::last(txn, appeal.id).await?,
    };
    let mut found: Vec<Stint> = before.iter().cloned().collect();
    report::apply(&mut found, &stint_event(agencies, event));
    report::settle(&mut found, current(appeal));
    if found.first() == before.as_ref() && found.len() == 1 {
        return Ok(()); // nothing the figures count changed
    }
    writes
        .extend(stints::saving(&stint_appeal(appeal), before.as_ref(), &found, |id| time_zone(agencies, id)));
    Ok(())
}

/// An appeal's stints, folded from its whole timeline (oldest event first).
pub(crate) fn from_timeline(agencies: &[Agency], appeal: &Appeal, timeline: &[Event]) -> Vec<Stint> {
    let mut found = Vec::new();
    for event in timeline {
        report::apply(&mut found, &stint_event(agencies, event));
    }
    report::settle(&mut found, current(appeal));
    found
}

/// What a rebuild did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebuilt {
    pub appeals: u64,
    pub stints: u64,
}

/// Replaces every stint and tally with those folded from the timelines, in one transaction: readers
/// see the old figures or the new ones, never a mix.
pub async fn rebuild(app: &App) -> Result<Rebuilt, ServiceError> {
    const BATCH: u64 = 1_000;
    // Tallies are added up in memory across batches (each batch of appeals touches most
    // months' rows again) and written when this many rows are held, and at the end.
    const TALLY_ROWS_HELD: usize = 200_000;
    let txn = app.db.write().await?;
    let agencies = crate::store::agencies::all(&txn).await?;
    stints::delete_all(&txn).await?;
    let mut done = Rebuilt { appeals: 0, stints: 0 };
    let mut after = None;
    let mut counted = Tallies::default();
    loop {
        let batch = appeals::after_id(&txn, after, BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.id);
        let ids: Vec<Uuid> = batch.iter().map(|a| a.id).collect();
        let mut timelines: HashMap<Uuid, Vec<Event>> = HashMap::new();
        for event in events::of_appeals(&txn, &ids).await? {
            timelines.entry(event.appeal_id).or_default().push(event);
        }
        let mut rows = Vec::new();
        for appeal in &batch {
            let timeline = timelines.remove(&appeal.id).unwrap_or_default();
            let owner = stint_appeal(appeal);
            rows.extend(from_timeline(&agencies, appeal, &timeline).into_iter().map(|s| (owner.clone(), s)));
        }
        counted.merge(stints::insert_many(&txn, &rows, |id| time_zone(&agencies, id)).await?);
        if counted.len() >= TALLY_ROWS_HELD {
            tallies::add(&txn, std::mem::take(&mut counted)).await?;
        }
        done.appeals += batch.len() as u64;
        done.stints += rows.len() as u64;
    }
    tallies::add(&txn, counted).await?;
    txn.commit().await?;
    Ok(done)
}

pub(crate) fn stint_appeal(appeal: &Appeal) -> StintAppeal {
    StintAppeal {
        id: appeal.id,
        category_code: appeal.category_code.clone(),
        territory_code: appeal.district_code.clone().unwrap_or_else(|| appeal.region_code.clone()),
        kind: appeal.kind.clone(),
    }
}

/// An agency's time zone (validated when the agency was saved; UTC if it were unreadable).
pub(crate) fn time_zone(agencies: &[Agency], id: Uuid) -> Tz {
    agencies.iter().find(|a| a.id == id).and_then(|a| a.time_zone.parse().ok()).unwrap_or(Tz::UTC)
}

fn current(appeal: &Appeal) -> Current {
    Current {
        agency_id: appeal.agency_id,
        assignee_id: appeal.assignee_id,
        due_at: appeal.due_at,
        paused_at: appeal.paused_at,
    }
}

/// Reads what the fold needs from an event's stored data: the receiving agency (`agency`
/// as a code, or its `after`), the new assignee and the new deadline.
fn stint_event(agencies: &[Agency], event: &Event) -> StintEvent {
    let data: serde_json::Value = serde_json::from_str(&event.data).unwrap_or_default();
    let after = |field: &str| {
        let value = &data[field];
        if value.is_object() { value["after"].clone() } else { value.clone() }
    };
    let agency_id =
        after("agency").as_str().and_then(|code| agencies.iter().find(|a| a.code == code)).map(|a| a.id);
    StintEvent {
        action: event.action.clone(),
        status_after: event.status_after.clone(),
        at: event.at,
        actor_id: event.actor_id,
        agency_id,
        assignee_id: after("assignee").as_str().and_then(|id| id.parse().ok()),
        due_at: after("due_at").as_str().and_then(|at| at.parse().ok()),
    }
}
