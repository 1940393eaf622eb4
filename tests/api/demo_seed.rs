//! `murojiat demo seed --appeals N`: bulk demo appeals that the audit accepts, numbered the
//! way the agencies' records offices would number them.

use std::collections::{BTreeMap, HashSet};

use murojiat::demo::appeals::seed_appeals;
use murojiat::domain::deadline;
use murojiat::services::audit::{self, AuditReport};
use murojiat::services::reports;
use murojiat::services::scheduler::{self, Scheduler};
use murojiat::store::entity::{appeal, job, registration_counter};
use murojiat::store::{events, jobs, users};
use sea_orm::{EntityTrait, QueryOrder};

use crate::support::reports::{stored_stints, stored_tallies};
use crate::support::spawn_app;

#[tokio::test]
async fn seeded_appeals_verify_and_are_numbered_per_agency_and_year_without_gaps() {
    let app = spawn_app().await;
    let config = app.app.settings.config_dir.clone();
    let first = seed_appeals(&app.app, &config, 150, 7, &|_| {}).await.unwrap();
    let second = seed_appeals(&app.app, &config, 90, 8, &|_| {}).await.unwrap();
    assert_eq!((first.appeals, second.appeals), (150, 90));
    assert_eq!(
        audit::verify(&app.app).await.unwrap(),
        AuditReport::Intact { appeals: 240, events: first.events + second.events }
    );

    let rows = appeal::Entity::find()
        .order_by_asc(appeal::Column::CreatedAt)
        .order_by_asc(appeal::Column::Id)
        .all(app.db.conn())
        .await
        .unwrap();
    assert_eq!(rows.len(), 240);

    // The seeder writes the report figures the timelines make: a rebuild changes nothing.
    let seeded = (stored_stints(&app).await, stored_tallies(&app).await);
    assert!(seeded.0.len() >= 240 && seeded.1.len() > 100, "stays and tallies are written");
    let rebuilt = reports::rebuild(&app.app).await.unwrap();
    assert_eq!(rebuilt.appeals, 240);
    assert_eq!((stored_stints(&app).await, stored_tallies(&app).await), seeded);
    let tracking: HashSet<&str> = rows.iter().map(|a| a.tracking_number.as_str()).collect();
    assert_eq!(tracking.len(), 240, "tracking numbers are unique");
    assert!(rows.iter().any(|a| a.language == "tg") && rows.iter().any(|a| a.language == "ru"));
    assert!(rows.iter().map(|a| a.status.as_str()).collect::<HashSet<_>>().len() >= 4, "statuses vary");
    assert!(rows.iter().map(|a| a.agency_id).collect::<HashSet<_>>().len() >= 5, "agencies vary");

    // Per agency and year, the numbers run 1, 2, 3, ... and the counter stands at the last.
    let mut numbers: BTreeMap<(uuid::Uuid, String), Vec<u64>> = BTreeMap::new();
    for a in &rows {
        let number = a.registration_number.as_deref().expect("every seeded appeal is registered");
        let mut parts = number.rsplitn(3, '-');
        let seq: u64 = parts.next().unwrap().parse().unwrap();
        let year = parts.next().unwrap().to_owned();
        numbers.entry((a.agency_id, year)).or_default().push(seq);
    }
    let counters = registration_counter::Entity::find().all(app.db.conn()).await.unwrap();
    for ((agency, year), mut seqs) in numbers {
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "agency {agency} in {year}");
        let counter = counters.iter().find(|c| c.agency_id == agency && c.year.to_string() == year).unwrap();
        assert_eq!(counter.last as usize, seqs.len());
    }
}

/// The seeded appeals have the jobs a lived history would have left ahead of them, and none
/// that is due: a scheduler started on the seeded database reminds and escalates as the
/// deadlines come, and alerts nobody about the past. A deadline an open appeal missed is
/// recorded as escalated when it was missed, as the scheduler records it: an internal
/// `overdue` event in its place in the timeline, and the deadline job done.
#[tokio::test]
async fn seeded_appeals_have_their_jobs_ahead_and_none_due() {
    let app = spawn_app().await;
    let config = app.app.settings.config_dir.clone();
    let seeded = seed_appeals(&app.app, &config, 400, 11, &|_| {}).await.unwrap();
    let now = app.app.clock.now();
    let rows = appeal::Entity::find().all(app.db.conn()).await.unwrap();
    let (all, done): (Vec<job::Model>, Vec<job::Model>) = job::Entity::find()
        .all(app.db.conn())
        .await
        .unwrap()
        .into_iter()
        .partition(|j| j.status != jobs::DONE);
    assert_eq!((all.len() as u64, done.len() as u64), (seeded.jobs, seeded.escalations));
    assert!(all.iter().all(|j| j.status == jobs::PENDING && j.run_at > now), "nothing due, nothing run");
    let supervisor = users::by_email(app.db.conn(), "supervisor@demo.murojiat.tj").await.unwrap().unwrap();
    let mut to_the_supervisor = 0;

    let of = |appeal: &appeal::Model, kind: &str| -> Vec<job::Model> {
        all.iter().filter(|j| j.appeal_id == Some(appeal.id) && j.kind == kind).cloned().collect()
    };
    let mut watched = 0;
    for a in &rows {
        let deadline = of(a, "deadline");
        let open_and_running =
            matches!(a.status.as_str(), "registered" | "in_progress") && a.paused_at.is_none();
        if open_and_running && deadline::overdue_at(a.due_at) > now {
            watched += 1;
            assert_eq!(deadline.len(), 1, "{}: {deadline:?}", a.id);
            assert_eq!(deadline[0].run_at, deadline::overdue_at(a.due_at));
            assert!(of(a, "reminder").iter().all(|r| r.run_at < a.due_at));
        } else if open_and_running {
            // Missed before now: escalated then, once, and nothing left to run.
            let [escalation] = &scheduler::escalations_of(app.db.conn(), a.id).await.unwrap()[..] else {
                panic!("{}: one escalation", a.id)
            };
            assert_eq!((escalation.agency_id, escalation.due_at), (Some(a.agency_id), a.due_at));
            assert_eq!(escalation.escalated_at, deadline::overdue_at(a.due_at));
            assert!(deadline.is_empty() && of(a, "reminder").is_empty(), "{}", a.id);
            let timeline = events::of_appeal(app.db.conn(), a.id, true).await.unwrap();
            let overdue: Vec<_> = timeline.iter().filter(|e| e.action == "overdue").collect();
            let [overdue] = overdue[..] else { panic!("{}: one overdue event", a.id) };
            assert_eq!((overdue.at, overdue.visibility.as_str()), (escalation.escalated_at, "internal"));
            assert!(timeline.windows(2).all(|w| w[0].at <= w[1].at), "{}: in time order", a.id);
            let data: serde_json::Value = serde_json::from_str(&overdue.data).unwrap();
            if data["escalated_to"] == serde_json::json!([supervisor.id]) {
                to_the_supervisor += 1;
                assert!(escalation.alerted);
            }
            assert_eq!(a.version as usize, timeline.len(), "{}: staff count every event", a.id);
        } else {
            assert!(
                deadline.is_empty() && of(a, "reminder").is_empty(),
                "{}: {} {}",
                a.id,
                a.status,
                a.due_at
            );
        }
        let windows = ["forwarding_window", "citizen_reply", "contest_window"].map(|kind| of(a, kind).len());
        let may_have = match a.status.as_str() {
            "registered" => [1, 0, 0],
            "awaiting_citizen" => [0, 1, 0],
            "answered" => [0, 0, 1],
            _ => [0, 0, 0],
        };
        assert!(
            windows.iter().zip(may_have).all(|(has, may)| *has <= may),
            "{}: {} {windows:?}",
            a.id,
            a.status
        );
    }
    assert!(watched > 0, "some seeded deadlines are still ahead");
    assert!(
        seeded.escalations > 0 && to_the_supervisor > 0,
        "some were missed, some at the supervisor's agency"
    );
    assert_eq!(done.len() as u64, seeded.escalations);
    assert!(all.iter().any(|j| j.kind == "contest_window"), "some answers can still be contested");

    let report = Scheduler::new(app.app.clone()).run_due(now).await.unwrap();
    assert_eq!(report.claimed, 0, "a scheduler started now has nothing to catch up on");
}
