//! The append-only, hash-chained timeline of each appeal. Each event's hash covers the
//! previous event's hash and every stored field, so changing, removing or reordering a row
//! breaks the chain from that point on (`murojiat audit verify`).

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, InsertStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::StoreError;
use super::bulk::OnDuplicate;
use super::entity::appeal_event;

pub use appeal_event::Model as Event;

/// The chain's anchor: the "previous hash" of every appeal's first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An event to append. `at` should already be truncated to microseconds (what every backend
/// stores), so the hash computed now matches the row read back later.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub appeal_id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor_role: String,
    pub action: String,
    pub visibility: String,
    pub status_before: String,
    pub status_after: String,
    pub data: serde_json::Value,
}

/// Appends an event after the appeal's last one. The caller holds the appeal's row (it has
/// just inserted it or updated its version in this transaction), so no other writer can
/// append to the same appeal concurrently.
pub async fn append(db: &impl ConnectionTrait, new: NewEvent) -> Result<Event, StoreError> {
    let last = appeal_event::Entity::find()
        .filter(appeal_event::Column::AppealId.eq(new.appeal_id))
        .order_by_desc(appeal_event::Column::Seq)
        .one(db)
        .await?;
    let event = link(last.map(|last| Link { seq: last.seq, hash: last.hash }).as_ref(), new);
    Ok(appeal_event::ActiveModel::from(event).insert(db).await?)
}

/// Starts the chain of an appeal written in this same transaction (it has no events yet, so
/// there is no end of a chain to read): the event, and the statement that writes it, to run
/// with the appeal's other writes (see [`super::deferred`]).
pub fn first(new: NewEvent) -> (Event, InsertStatement) {
    let event = link(None, new);
    let statement = appeal_event::Entity::insert(appeal_event::ActiveModel::from(event.clone())).into_query();
    (event, statement)
}

/// The end of an appeal's chain: its last event's sequence number and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub seq: i32,
    pub hash: String,
}

/// The event `new` as it follows `last` (`None` for an appeal's first event), with its
/// sequence number, previous hash and hash set. Pure: for writing many events at once.
pub fn link(last: Option<&Link>, new: NewEvent) -> Event {
    let (seq, prev_hash) = match last {
        Some(last) => (last.seq + 1, last.hash.clone()),
        None => (1, GENESIS.to_owned()),
    };
    let mut event = Event {
        id: Uuid::now_v7(),
        appeal_id: new.appeal_id,
        seq,
        at: new.at,
        actor_id: new.actor_id,
        actor_role: new.actor_role,
        action: new.action,
        visibility: new.visibility,
        status_before: new.status_before,
        status_after: new.status_after,
        data: new.data.to_string(),
        prev_hash,
        hash: String::new(),
    };
    event.hash = chain_hash(&event);
    event
}

/// The end of each of these appeals' chains, in one query; appeals without events are
/// missing from the map. The caller holds the appeals' rows, so the ends cannot move.
pub async fn last_links(
    db: &impl ConnectionTrait,
    appeal_ids: &[Uuid],
) -> Result<HashMap<Uuid, Link>, StoreError> {
    let mut links = HashMap::with_capacity(appeal_ids.len());
    for chunk in appeal_ids.chunks(1_000) {
        // The greatest seq per appeal, each found by a descent of the (appeal_id, seq) index,
        // on both backends (SQLite has no DISTINCT ON).
        let last = Expr::cust(
            "appeal_events.seq = (SELECT max(m.seq) FROM appeal_events m \
             WHERE m.appeal_id = appeal_events.appeal_id)",
        );
        let rows: Vec<(Uuid, i32, String)> = appeal_event::Entity::find()
            .select_only()
            .column(appeal_event::Column::AppealId)
            .column(appeal_event::Column::Seq)
            .column(appeal_event::Column::Hash)
            .filter(appeal_event::Column::AppealId.is_in(chunk.iter().copied()))
            .filter(last)
            .into_tuple()
            .all(db)
            .await?;
        links.extend(rows.into_iter().map(|(appeal, seq, hash)| (appeal, Link { seq, hash })));
    }
    Ok(links)
}

/// The hash an event must carry, computed from its previous hash and its fields.
pub fn chain_hash(event: &Event) -> String {
    let mut hasher = Sha256::new();
    for part in [
        event.prev_hash.as_str(),
        &event.appeal_id.to_string(),
        &event.seq.to_string(),
        &event.at.to_rfc3339_opts(SecondsFormat::Micros, true),
        &event.actor_id.map(|a| a.to_string()).unwrap_or_default(),
        &event.actor_role,
        &event.action,
        &event.visibility,
        &event.status_before,
        &event.status_after,
        &event.data,
    ] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// An appeal's events in order; internal ones only when `include_internal`.
pub async fn of_appeal(
    db: &impl ConnectionTrait,
    appeal_id: Uuid,
    include_internal: bool,
) -> Result<Vec<Event>, StoreError> {
    let mut query = appeal_event::Entity::find()
        .filter(appeal_event::Column::AppealId.eq(appeal_id))
        .order_by_asc(appeal_event::Column::Seq);
    if !include_internal {
        query = query.filter(appeal_event::Column::Visibility.eq("public"));
    }
    Ok(query.all(db).await?)
}

/// Every event of the given appeals, by appeal and in order.
pub async fn of_appeals(db: &impl ConnectionTrait, appeal_ids: &[Uuid]) -> Result<Vec<Event>, StoreError> {
    Ok(appeal_event::Entity::find()
        .filter(appeal_event::Column::AppealId.is_in(appeal_ids.iter().copied()))
        .order_by_asc(appeal_event::Column::AppealId)
        .order_by_asc(appeal_event::Column::Seq)
        .all(db)
        .await?)
}

/// Where a chain first breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    pub appeal_id: Uuid,
    pub seq: i32,
    pub reason: &'static str,
}

/// What a walk over every chain checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Verified {
    /// Appeals with at least one event.
    pub appeals: u64,
    pub events: u64,
}

/// Walks every appeal's chain in batches, in (appeal, seq) order; returns what it checked, or
/// the first broken link.
pub async fn verify_all(db: &impl ConnectionTrait) -> Result<Result<Verified, BrokenLink>, StoreError> {
    const BATCH: u64 = 5_000;
    let mut checked = Verified::default();
    let mut previous: Option<Event> = None;
    loop {
        // Keyset pagination over (appeal_id, seq), so the walk stays linear on large tables.
        let mut query = appeal_event::Entity::find()
            .order_by_asc(appeal_event::Column::AppealId)
            .order_by_asc(appeal_event::Column::Seq)
            .limit(BATCH);
        if let Some(p) = &previous {
            // A row-value comparison, which both backends answer from the (appeal_id, seq)
            // index; the equivalent OR of two conditions makes PostgreSQL filter from the
            // start of the index on every batch, so the walk grew quadratically.
            query = query.filter(
                Expr::tuple([
                    Expr::col(appeal_event::Column::AppealId),
                    Expr::col(appeal_event::Column::Seq),
                ])
                .gt(Expr::tuple([Expr::value(p.appeal_id), Expr::value(p.seq)])),
            );
        }
        let batch = query.all(db).await?;
        if batch.is_empty() {
            break;
        }
        for event in batch {
            let continues = previous.as_ref().filter(|p| p.appeal_id == event.appeal_id);
            let (expected_seq, expected_prev) = match continues {
                Some(p) => (p.seq + 1, p.hash.as_str()),
                None => (1, GENESIS),
            };
            let broken = |reason| BrokenLink { appeal_id: event.appeal_id, seq: event.seq, reason };
            if event.seq != expected_seq {
                return Ok(Err(broken("an event is missing or out of order")));
            }
            if event.prev_hash != expected_prev {
                return Ok(Err(broken("the link to the previous event does not match")));
            }
            if chain_hash(&event) != event.hash {
                return Ok(Err(broken("the event's content does not match its hash")));
            }
            if expected_seq == 1 {
                checked.appeals += 1;
            }
            checked.events += 1;
            previous = Some(event);
        }
    }
    Ok(Ok(checked))
}

/// Inserts whole chains at once (bulk loads): the caller has set `seq`, `prev_hash` and
/// `hash` with [`chain_hash`], so `verify_all` accepts them.
pub async fn insert_chains(db: &impl ConnectionTrait, rows: Vec<Event>) -> Result<(), StoreError> {
    let rows = rows.into_iter().map(appeal_event::ActiveModel::from).collect();
    super::bulk::insert(db, rows, OnDuplicate::Fail).await?;
    Ok(())
}
