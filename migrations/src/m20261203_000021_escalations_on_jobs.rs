//! A missed deadline is recorded on the deadline job that escalated it, not in a row of its
//! own. The job's dedupe key is already one per appeal, agency and due instant, and a done
//! job is never scheduled again, so the escalations table only repeated, with a row, four
//! index entries and two foreign-key checks per missed deadline, what the completed job
//! already guarantees; the scheduler's pass pays for every one of them.
//!
//! Every done job now records what it did in `jobs.outcome`: `applied`, `moot`, or
//! `unalerted` for a missed deadline nobody could be told about (what
//! `murojiat_escalations_unalerted` counts, from the partial index `idx_jobs_unalerted`).
//! Going up, each recorded escalation marks its deadline job (`applied` when its alert was
//! queued, `unalerted` when not) and the table is dropped; jobs done before this migration
//! otherwise keep no outcome. Going down, the table and its indexes come back, refilled
//! from the deadline jobs that escalated, and the column goes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::prelude::{ChronoDateTimeUtc, Uuid};
use sea_orm_migration::sea_orm::{ConnectionTrait, QueryResult};

use super::m20261130_000001_accounts::Agencies;
use super::m20261130_000002_appeals::Appeals;
use super::m20261201_000005_jobs::{Escalations, Jobs};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000021_escalations_on_jobs"
    }
}

/// Rows read and written per statement while carrying records over.
const CHUNK: u64 = 1_000;

const APPLIED: &str = "applied";
const UNALERTED: &str = "unalerted";

#[derive(DeriveIden)]
enum Outcome {
    #[sea_orm(iden = "outcome")]
    Column,
}

/// The `id` column of either table, by which rows are read in pages.
#[derive(DeriveIden)]
enum Id {
    #[sea_orm(iden = "id")]
    Column,
}

/// The keys the deadline job of an escalation may have, as the scheduler wrote them: per
/// agency since migration 19, per appeal before.
fn deadline_keys(appeal: Uuid, agency: Uuid, due: ChronoDateTimeUtc) -> [String; 2] {
    let due = due.timestamp_micros();
    [format!("deadline:{appeal}:{agency}:{due}"), format!("deadline:{appeal}:{due}")]
}

/// The agency (if the key names one) and due instant of a deadline job's key.
fn deadline_of_key(key: &str) -> Option<(Option<Uuid>, ChronoDateTimeUtc)> {
    let parts: Vec<&str> = key.strip_prefix("deadline:")?.split(':').collect();
    let (agency, due) = match parts.as_slice() {
        [_, agency, due] => (Some(agency.parse().ok()?), due),
        [_, due] => (None, due),
        _ => return None,
    };
    Some((agency, ChronoDateTimeUtc::from_timestamp_micros(due.parse().ok()?)?))
}

/// The rows of `select` after the id `after` of `table` (keyset pages in id order), at most
/// [`CHUNK`].
async fn page(
    manager: &SchemaManager<'_>,
    mut select: SelectStatement,
    table: impl IntoIden,
    after: Option<Uuid>,
) -> Result<Vec<QueryResult>, DbErr> {
    let id = (table.into_iden(), Id::Column.into_iden());
    if let Some(after) = after {
        select.and_where(Expr::col(id.clone()).gt(after));
    }
    select.order_by(id, Order::Asc).limit(CHUNK);
    let db = manager.get_connection();
    db.query_all_raw(db.get_database_backend().build(&select)).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Jobs::Table).add_column(string_len_null(Outcome::Column, 16)).to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let select = Query::select()
            .columns([Escalations::Id, Escalations::AppealId, Escalations::AgencyId, Escalations::DueAt])
            .expr_as(Expr::col(Escalations::NotifiedAt).is_not_null(), "alerted")
            .from(Escalations::Table)
            .to_owned();
        let mut after = None;
        loop {
            let rows = page(manager, select.clone(), Escalations::Table, after).await?;
            let Some(last) = rows.last() else { break };
            after = Some(last.try_get::<Uuid>("", "id")?);
            let (mut applied, mut unalerted) = (Vec::new(), Vec::new());
            for row in &rows {
                let keys = deadline_keys(
                    row.try_get("", "appeal_id")?,
                    row.try_get("", "agency_id")?,
                    row.try_get("", "due_at")?,
                );
                if row.try_get::<bool>("", "alerted")? {
                    applied.extend(keys)
                } else {
                    unalerted.extend(keys)
                }
            }
            for (outcome, keys) in [(APPLIED, applied), (UNALERTED, unalerted)] {
                if keys.is_empty() {
                    continue;
                }
                let update = Query::update()
                    .table(Jobs::Table)
                    .value(Outcome::Column, outcome)
                    .and_where(Expr::col(Jobs::DedupeKey).is_in(keys))
                    .to_owned();
                db.execute(&update).await?;
            }
        }
        db.execute_unprepared("CREATE INDEX idx_jobs_unalerted ON jobs (id) WHERE outcome = 'unalerted'")
            .await?;
        manager.drop_table(Table::drop().table(Escalations::Table).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Escalations::Table)
                    .col(pk_uuid(Escalations::Id))
                    .col(uuid(Escalations::AppealId))
                    .col(uuid(Escalations::AgencyId))
                    .col(timestamp_with_time_zone(Escalations::DueAt))
                    .col(timestamp_with_time_zone(Escalations::EscalatedAt))
                    .col(timestamp_with_time_zone_null(Escalations::NotifiedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Escalations::Table, Escalations::AppealId)
                            .to(Appeals::Table, Appeals::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Escalations::Table, Escalations::AgencyId)
                            .to(Agencies::Table, Agencies::Id),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        // A key from before migration 19 names no agency: the appeal's stands in.
        let select = Query::select()
            .columns([(Jobs::Table, Jobs::Id), (Jobs::Table, Jobs::AppealId), (Jobs::Table, Jobs::DedupeKey)])
            .columns([(Jobs::Table, Jobs::DoneAt)])
            .column((Jobs::Table, Outcome::Column))
            .expr_as(Expr::col((Appeals::Table, Appeals::AgencyId)), "appeal_agency_id")
            .from(Jobs::Table)
            .inner_join(
                Appeals::Table,
                Expr::col((Appeals::Table, Appeals::Id)).equals((Jobs::Table, Jobs::AppealId)),
            )
            .and_where(Expr::col((Jobs::Table, Jobs::Kind)).eq("deadline"))
            .and_where(Expr::col((Jobs::Table, Outcome::Column)).is_in([APPLIED, UNALERTED]))
            .and_where(Expr::col((Jobs::Table, Jobs::DoneAt)).is_not_null())
            .to_owned();
        let mut after = None;
        loop {
            let rows = page(manager, select.clone(), Jobs::Table, after).await?;
            let Some(last) = rows.last() else { break };
            after = Some(last.try_get::<Uuid>("", "id")?);
            let mut insert = Query::insert()
                .into_table(Escalations::Table)
                .columns([
                    Escalations::Id,
                    Escalations::AppealId,
                    Escalations::AgencyId,
                    Escalations::DueAt,
                    Escalations::EscalatedAt,
                    Escalations::NotifiedAt,
                ])
                .to_owned();
            let mut any = false;
            for row in &rows {
                let key: String = row.try_get("", "dedupe_key")?;
                let Some((agency, due)) = deadline_of_key(&key) else { continue };
                let appeal: Uuid = row.try_get("", "appeal_id")?;
                let agency = match agency {
                    Some(agency) => agency,
                    None => row.try_get("", "appeal_agency_id")?,
                };
                let done: ChronoDateTimeUtc = row.try_get("", "done_at")?;
                let alerted = row.try_get::<String>("", "outcome")? == APPLIED;
                let id: Uuid = row.try_get("", "id")?;
                insert.values_panic([
                    id.into(),
                    appeal.into(),
                    agency.into(),
                    due.into(),
                    done.into(),
                    alerted.then_some(done).into(),
                ]);
                any = true;
            }
            if any {
                db.execute(&insert).await?;
            }
        }
        for statement in [
            "CREATE UNIQUE INDEX idx_escalations_once_per_agency ON escalations (appeal_id, agency_id, due_at)",
            "CREATE INDEX idx_escalations_agency ON escalations (agency_id, escalated_at)",
            "CREATE INDEX idx_escalations_unalerted ON escalations (id) WHERE notified_at IS NULL",
            "DROP INDEX idx_jobs_unalerted",
        ] {
            db.execute_unprepared(statement).await?;
        }
        manager.alter_table(Table::alter().table(Jobs::Table).drop_column(Outcome::Column).to_owned()).await
    }
}
