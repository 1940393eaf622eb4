//! The deadline reports' maintained figures: what each stint adds to its agency's monthly
//! tallies, so that a report over a year adds up a few thousand rows instead of reading
//! every stint.
//!
//! A stint counts in up to three local months: the month it was received (received, and
//! the extensions granted during it), the month it ended (answered, on time or not and
//! after how many days; forwarded out; left without consideration) and, for an answer that
//! came late, the month its deadline fell in (the trend's missed deadlines). Each count goes
//! once into the row of each grouping, so every grouping of the report reads its own rows.
//! A change to a stint is written as the tallies of its new state minus those of its old
//! one, so the rows always equal the sum over the stints, which `murojiat reports rebuild`
//! recomputes. The days at either end of a period that are not whole months are read from
//! the stints themselves (see [`cover`]), as are the figures that depend on the moment of
//! asking (open, overdue, due soon).

use std::collections::BTreeMap;

use chrono::{Datelike, Months, NaiveDate};
use chrono_tz::Tz;
use uuid::Uuid;

use super::{Counts, Grouping, Stint, StintOutcome, day_number, local_day};

/// What a stint's appeal is grouped by besides agency and official. An appeal's category,
/// territory and kind never change after filing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dimensions<'a> {
    pub category: &'a str,
    pub territory: &'a str,
    pub kind: &'a str,
}

/// Which row a count goes to: one grouping's group at one agency in one local month, and,
/// for answers, how many days the answer took (the distribution behind the percentiles).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TallyKey {
    pub grouping: Grouping,
    /// The agency's id, the official's id (empty when unassigned), or the category,
    /// territory or kind code.
    pub group: String,
    pub agency_id: Uuid,
    /// The day number of the first day of the month.
    pub month: i32,
    /// Days from receipt to answer of the answers counted here; `None` on rows of
    /// everything else.
    pub answer_days: Option<i32>,
}

/// The counts of one row. Signed: a change is written as a difference.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub received: i64,
    pub extensions: i64,
    pub answered: i64,
    pub answered_on_time: i64,
    pub forwarded_out: i64,
    pub dismissed: i64,
    /// Answered after the deadline, counted in the month the deadline fell in.
    pub missed: i64,
}

impl Tally {
    fn add(&mut self, other: &Tally, sign: i64) {
        self.received += sign * other.received;
        self.extensions += sign * other.extensions;
        self.answered += sign * other.answered;
        self.answered_on_time += sign * other.answered_on_time;
        self.forwarded_out += sign * other.forwarded_out;
        self.dismissed += sign * other.dismissed;
        self.missed += sign * other.missed;
    }

    pub fn is_zero(&self) -> bool {
        *self == Tally::default()
    }

    /// The report's figures these counts make (sums of whole stints are never negative).
    pub fn counts(&self) -> Counts {
        let n = |value: i64| u64::try_from(value).unwrap_or(0);
        Counts {
            received: n(self.received),
            answered: n(self.answered),
            answered_on_time: n(self.answered_on_time),
            forwarded_out: n(self.forwarded_out),
            dismissed: n(self.dismissed),
            extensions_granted: n(self.extensions),
            ..Counts::default()
        }
    }
}

/// Tallies being added up, by row, in key order (the order rows are written in, so that
/// concurrent writers lock shared rows in the same order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tallies {
    rows: BTreeMap<TallyKey, Tally>,
}

impl Tallies {
    /// Adds what `stint` counts (`sign` 1), or takes it away (`sign` -1); local months are
    /// taken in `tz`, its agency's time zone.
    pub fn count(&mut self, stint: &Stint, dimensions: Dimensions<'_>, tz: Tz, sign: i64) {
        let month_of = |at| month_start(local_day(at, tz));
        let mut counted = vec![(
            month_of(stint.received_at),
            None,
            Tally { received: 1, extensions: i64::from(stint.extensions), ..Tally::default() },
        )];
        if let (Some(outcome), Some(ended_at)) = (stint.outcome, stint.ended_at) {
            let ended = month_of(ended_at);
            match outcome {
                StintOutcome::Answered => {
                    let on_time = stint.answered_on_time() == Some(true);
                    let answer =
                        Tally { answered: 1, answered_on_time: i64::from(on_time), ..Tally::default() };
                    counted.push((ended, stint.days_to_answer(tz), answer));
                    if !on_time {
                        counted.push((month_of(stint.due_at), None, Tally { missed: 1, ..Tally::default() }));
                    }
                }
                StintOutcome::Forwarded => {
                    counted.push((ended, None, Tally { forwarded_out: 1, ..Tally::default() }))
                }
                StintOutcome::Dismissed => {
                    counted.push((ended, None, Tally { dismissed: 1, ..Tally::default() }))
                }
                StintOutcome::Withdrawn | StintOutcome::Abandoned => {}
            }
        }
        let official = stint.official_id.map(|id| id.to_string()).unwrap_or_default();
        let groups = [
            (Grouping::Agency, stint.agency_id.to_string()),
            (Grouping::Official, official),
            (Grouping::Category, dimensions.category.to_owned()),
            (Grouping::Territory, dimensions.territory.to_owned()),
            (Grouping::Kind, dimensions.kind.to_owned()),
        ];
        for (grouping, group) in groups {
            for (month, answer_days, tally) in &counted {
                let key = TallyKey {
                    grouping,
                    group: group.clone(),
                    agency_id: stint.agency_id,
                    month: day_number(*month),
                    answer_days: *answer_days,
                };
                self.rows.entry(key).or_default().add(tally, sign);
            }
        }
    }

    /// How many rows are held (a bulk writer flushes past some number).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Adds another set of tallies to these.
    pub fn merge(&mut self, other: Tallies) {
        for (key, tally) in other.rows {
            self.rows.entry(key).or_default().add(&tally, 1);
        }
    }

    /// The rows that change anything, in key order.
    pub fn into_rows(self) -> impl Iterator<Item = (TallyKey, Tally)> {
        self.rows.into_iter().filter(|(_, tally)| !tally.is_zero())
    }
}

/// The first day of the month holding `day`.
pub fn month_start(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// Where the figures of one stretch of a period come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    /// Whole months, from the tallies: the first days of the first and the last month.
    Months(NaiveDate, NaiveDate),
    /// Single days, from the stints: the first and the last day.
    Days(NaiveDate, NaiveDate),
}

/// Splits the local dates `from..=to` into the whole months inside it and the days before
/// and after them: together they cover each day once.
pub fn cover(from: NaiveDate, to: NaiveDate) -> Vec<Piece> {
    if from > to {
        return Vec::new();
    }
    let first_whole =
        if from.day() == 1 { Some(from) } else { month_start(from).checked_add_months(Months::new(1)) };
    // The first day after the last whole month.
    let after_whole = match to.succ_opt() {
        Some(next) if next.day() == 1 => next,
        _ => month_start(to),
    };
    match first_whole {
        Some(first) if first < after_whole => {
            let mut pieces = Vec::with_capacity(3);
            if let Some(before) = first.pred_opt().filter(|_| from < first) {
                pieces.push(Piece::Days(from, before));
            }
            let last = after_whole.pred_opt().map_or(after_whole, month_start);
            pieces.push(Piece::Months(first, last));
            if after_whole <= to {
                pieces.push(Piece::Days(after_whole, to));
            }
            pieces
        }
        _ => vec![Piece::Days(from, to)],
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Days, TimeZone, Utc};

    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn days(from: &str, to: &str) -> Piece {
        Piece::Days(date(from), date(to))
    }

    fn months(from: &str, to: &str) -> Piece {
        Piece::Months(date(from), date(to))
    }

    #[test]
    fn a_period_is_split_into_whole_months_and_the_days_around_them() {
        let cases = [
            (("2026-01-01", "2026-12-31"), vec![months("2026-01-01", "2026-12-01")]),
            (
                ("2026-01-01", "2026-12-01"),
                vec![months("2026-01-01", "2026-11-01"), days("2026-12-01", "2026-12-01")],
            ),
            (
                ("2026-01-15", "2026-03-10"),
                vec![
                    days("2026-01-15", "2026-01-31"),
                    months("2026-02-01", "2026-02-01"),
                    days("2026-03-01", "2026-03-10"),
                ],
            ),
            (("2026-02-01", "2026-02-28"), vec![months("2026-02-01", "2026-02-01")]),
            (("2026-02-02", "2026-02-28"), vec![days("2026-02-02", "2026-02-28")]),
            (("2026-01-20", "2026-02-10"), vec![days("2026-01-20", "2026-02-10")]),
            (("2026-03-05", "2026-03-05"), vec![days("2026-03-05", "2026-03-05")]),
            (("2025-12-01", "2026-01-31"), vec![months("2025-12-01", "2026-01-01")]),
        ];
        for ((from, to), expected) in cases {
            assert_eq!(cover(date(from), date(to)), expected, "{from}..{to}");
        }
        assert_eq!(cover(date("2026-03-02"), date("2026-03-01")), vec![]);
    }

    #[test]
    fn the_pieces_cover_every_day_of_any_period_once() {
        let start = date("2025-11-20");
        for offset in 0..80 {
            for length in 0..100 {
                let from = start + Days::new(offset);
                let to = from + Days::new(length);
                let mut covered = Vec::new();
                for piece in cover(from, to) {
                    match piece {
                        Piece::Days(a, b) => covered.extend(a.iter_days().take_while(|d| *d <= b)),
                        Piece::Months(a, b) => {
                            assert_eq!((a.day(), b.day()), (1, 1));
                            let end = b.checked_add_months(Months::new(1)).unwrap();
                            covered.extend(a.iter_days().take_while(|d| *d < end));
                        }
                    }
                }
                let expected: Vec<NaiveDate> = from.iter_days().take_while(|d| *d <= to).collect();
                assert_eq!(covered, expected, "{from}..{to}");
            }
        }
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn stint(received: &str, due: &str) -> Stint {
        Stint {
            seq: 1,
            agency_id: Uuid::from_u128(7),
            official_id: None,
            received_at: at(received),
            due_at: at(due),
            paused_at: None,
            ended_at: None,
            outcome: None,
            extensions: 0,
        }
    }

    const DIMENSIONS: Dimensions<'static> =
        Dimensions { category: "water", territory: "sino", kind: "complaint" };

    fn rows(tallies: Tallies, grouping: Grouping) -> Vec<(String, NaiveDate, Option<i32>, Tally)> {
        tallies
            .into_rows()
            .filter(|(key, _)| key.grouping == grouping)
            .map(|(key, tally)| (key.group, super::super::date_of_day(key.month), key.answer_days, tally))
            .collect()
    }

    #[test]
    fn a_late_answer_counts_where_it_was_received_answered_and_due_in_local_months() {
        let dushanbe: Tz = "Asia/Dushanbe".parse().unwrap();
        // Received 1 March 01:00 in Dushanbe (still February in UTC), due 31 March, answered
        // 2 April: late by two days.
        let mut late = stint("2026-02-28T20:00:00Z", "2026-03-31T18:59:59Z");
        late.official_id = Some(Uuid::from_u128(9));
        late.extensions = 1;
        late.outcome = Some(StintOutcome::Answered);
        late.ended_at = Some(at("2026-04-02T06:00:00Z"));
        let mut tallies = Tallies::default();
        tallies.count(&late, DIMENSIONS, dushanbe, 1);
        let official = Uuid::from_u128(9).to_string();
        assert_eq!(
            rows(tallies.clone(), Grouping::Official),
            vec![
                (
                    official.clone(),
                    date("2026-03-01"),
                    None,
                    Tally { received: 1, extensions: 1, missed: 1, ..Tally::default() }
                ),
                (official, date("2026-04-01"), Some(32), Tally { answered: 1, ..Tally::default() }),
            ]
        );
        assert_eq!(rows(tallies.clone(), Grouping::Kind)[0].0, "complaint");
        assert_eq!(tallies.len(), 10, "two rows for each of the five groupings");
    }

    #[test]
    fn a_change_is_its_new_counts_minus_its_old_and_nothing_when_nothing_changed() {
        let tz = Tz::UTC;
        let open = stint("2026-03-02T10:00:00Z", "2026-03-20T23:59:59Z");
        let mut answered = open.clone();
        answered.outcome = Some(StintOutcome::Answered);
        answered.ended_at = Some(at("2026-03-10T10:00:00Z"));
        answered.official_id = Some(Uuid::from_u128(9));

        let mut same = Tallies::default();
        same.count(&open, DIMENSIONS, tz, 1);
        same.count(&open, DIMENSIONS, tz, -1);
        assert_eq!(same.into_rows().count(), 0);

        let mut change = Tallies::default();
        change.count(&answered, DIMENSIONS, tz, 1);
        change.count(&open, DIMENSIONS, tz, -1);
        let by_official = rows(change.clone(), Grouping::Official);
        assert_eq!(
            by_official,
            vec![
                (String::new(), date("2026-03-01"), None, Tally { received: -1, ..Tally::default() }),
                (
                    Uuid::from_u128(9).to_string(),
                    date("2026-03-01"),
                    None,
                    Tally { received: 1, ..Tally::default() }
                ),
                (
                    Uuid::from_u128(9).to_string(),
                    date("2026-03-01"),
                    Some(8),
                    Tally { answered: 1, answered_on_time: 1, ..Tally::default() }
                ),
            ]
        );
        // The agency's own row moves only by the answer: it received the appeal either way.
        assert_eq!(
            rows(change, Grouping::Agency),
            vec![(
                Uuid::from_u128(7).to_string(),
                date("2026-03-01"),
                Some(8),
                Tally { answered: 1, answered_on_time: 1, ..Tally::default() }
            )]
        );
    }

    #[test]
    fn a_forwarded_or_dismissed_stay_counts_its_end_and_a_withdrawn_one_only_its_receipt() {
        let received = Utc.with_ymd_and_hms(2026, 5, 5, 9, 0, 0).unwrap();
        let ended = Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap();
        let mut stay = stint("2026-05-05T09:00:00Z", "2026-05-25T23:59:59Z");
        stay.ended_at = Some(ended);
        let expected = [
            (StintOutcome::Forwarded, Some(Tally { forwarded_out: 1, ..Tally::default() })),
            (StintOutcome::Dismissed, Some(Tally { dismissed: 1, ..Tally::default() })),
            (StintOutcome::Withdrawn, None),
            (StintOutcome::Abandoned, None),
        ];
        for (outcome, at_end) in expected {
            stay.outcome = Some(outcome);
            let mut tallies = Tallies::default();
            tallies.count(&stay, DIMENSIONS, Tz::UTC, 1);
            let mut want = vec![(
                DIMENSIONS.category.to_owned(),
                date("2026-05-01"),
                None,
                Tally { received: 1, ..Tally::default() },
            )];
            want.extend(at_end.map(|t| (DIMENSIONS.category.to_owned(), date("2026-06-01"), None, t)));
            assert_eq!(rows(tallies, Grouping::Category), want, "{outcome:?} received {received}");
        }
    }
}
