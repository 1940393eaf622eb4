//! Deferred writes (`store::deferred`) on the backend under test: nothing is written before
//! the flush, everything at it (on PostgreSQL as one statement), and a write that fails
//! takes the others with it.

use chrono::SubsecRound;
use murojiat::clock::Clock;
use murojiat::store::deferred::Deferred;
use murojiat::store::entity::{appeal_event, job};
use murojiat::store::events::{self, NewEvent};
use murojiat::store::jobs::{self, NewJob};
use murojiat::store::{StoreError, tallies};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

use crate::support::spawn_app;

fn new_job(key: &str, at: chrono::DateTime<chrono::Utc>) -> NewJob {
    NewJob {
        kind: "deadline".to_owned(),
        appeal_id: None,
        run_at: at,
        dedupe_key: key.to_owned(),
        payload: json!({}),
    }
}

/// A system note on `appeal_id` at `at`.
pub(crate) fn event_of(appeal_id: Uuid, at: chrono::DateTime<chrono::Utc>) -> NewEvent {
    NewEvent {
        appeal_id,
        at,
        actor_id: None,
        actor_role: "system".to_owned(),
        action: "note".to_owned(),
        visibility: "internal".to_owned(),
        status_before: "registered".to_owned(),
        status_after: "registered".to_owned(),
        data: json!({}),
    }
}

async fn jobs_keyed(db: &impl sea_orm::ConnectionTrait, prefix: &str) -> Vec<job::Model> {
    job::Entity::find().filter(job::Column::DedupeKey.starts_with(prefix)).all(db).await.unwrap()
}

#[tokio::test]
async fn deferred_writes_are_made_at_the_flush_all_of_them() {
    let app = spawn_app().await;
    let now = app.clock.now().trunc_subsecs(6);
    let txn = app.db.write().await.unwrap();
    jobs::schedule_all(&txn, vec![new_job("deferred:old", now)], now).await.unwrap();

    let mut writes = Deferred::new();
    writes.extend(jobs::scheduling(vec![new_job("deferred:a", now), new_job("deferred:b", now)], now));
    writes.push(
        Query::update()
            .table(job::Entity)
            .value(job::Column::Status, "superseded")
            .and_where(job::Column::DedupeKey.eq("deferred:old"))
            .to_owned(),
    );
    writes.extend(tallies::adding(Default::default()));
    assert_eq!(writes.len(), 2, "no tallies, no statement");
    let before = jobs_keyed(&txn, "deferred:").await;
    assert_eq!(before.len(), 1, "nothing is written before the flush");

    writes.flush(&txn).await.unwrap();
    let after = jobs_keyed(&txn, "deferred:").await;
    let mut states: Vec<(String, String)> =
        after.iter().map(|j| (j.dedupe_key.clone(), j.status.clone())).collect();
    states.sort();
    assert_eq!(
        states,
        [
            ("deferred:a".to_owned(), "pending".to_owned()),
            ("deferred:b".to_owned(), "pending".to_owned()),
            ("deferred:old".to_owned(), "superseded".to_owned()),
        ]
    );
    txn.commit().await.unwrap();
}

#[tokio::test]
async fn a_deferred_write_that_fails_takes_the_others_with_it() {
    let app = spawn_app().await;
    let now = app.clock.now().trunc_subsecs(6);
    let events_before = appeal_event::Entity::find().count(app.db.conn()).await.unwrap();
    let txn = app.db.write().await.unwrap();
    let mut writes = Deferred::new();
    writes.extend(jobs::scheduling(vec![new_job("doomed:a", now)], now));
    // An event of an appeal that does not exist: the foreign key refuses it.
    let (_, orphan) = events::first(event_of(Uuid::now_v7(), now));
    writes.push(orphan);
    let failed = writes.flush(&txn).await;
    assert!(matches!(failed, Err(StoreError::MissingReference(_))), "{failed:?}");
    txn.rollback().await.unwrap();

    assert!(jobs_keyed(app.db.conn(), "doomed:").await.is_empty());
    assert_eq!(appeal_event::Entity::find().count(app.db.conn()).await.unwrap(), events_before);
}
