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

/// The deadline job's key, as the scheduler wrote it when this migration was made.
fn deadline_key(appeal: Uuid, agency: Uuid, due: ChronoDateTimeUtc) -> String {
    format!("deadline:{appeal}:{agency}:{}", due.timestamp_micros())
}

/// The appeal, agency and due instant of a [`deadline_key`].
fn deadline_of_key(key: &str) -> Option<(Uuid, Uuid, ChronoDateTimeUtc)> {
    let mut parts = key.strip_prefix("deadline:")?.split(':');
    let appeal = parts.next()?.parse().ok()?;
    let agency = parts.next()?.parse().ok()?;
    let due = ChronoDateTimeUtc::from_timestamp_micros(parts.next()?.parse().ok()?)?;
    parts.next().is_none().then_some((appeal, agency, due))
}

/// The rows of `select` after the id `after` (keyset pages in id order), at most [`CHUNK`].
async fn page(
    manager: &SchemaManager<'_>,
    mut select: SelectStatement,
    after: Option<Uuid>,
) -> Result<Vec<QueryResult>, DbErr> {
    if let Some(after) = after {
        select.and_where(Expr::col(Id::Column).gt(after));
    }
    select.order_by(Id::Column, Order::Asc).limit(CHUNK);
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
            let rows = page(manager, select.clone(), after).await?;
            let Some(last) = rows.last() else { break };
            after = Some(last.try_get::<Uuid>("", "id")?);
            let (mut applied, mut unalerted) = (Vec::new(), Vec::new());
            for row in &rows {
                let key = deadline_key(
                    row.try_get("", "appeal_id")?,
                    row.try_get("", "agency_id")?,
                    row.try_get("", "due_at")?,
                );
                if row.try_get::<bool>("", "alerted")? { applied.push(key) } else { unalerted.push(key) }
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
        let select = Query::select()
            .columns([Jobs::Id, Jobs::DedupeKey, Jobs::DoneAt])
            .column(Outcome::Column)
            .from(Jobs::Table)
            .and_where(Expr::col(Jobs::Kind).eq("deadline"))
            .and_where(Expr::col(Outcome::Column).is_in([APPLIED, UNALERTED]))
            .and_where(Expr::col(Jobs::DoneAt).is_not_null())
            .to_owned();
        let mut after = None;
        loop {
            let rows = page(manager, select.clone(), after).await?;
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
                let Some((appeal, agency, due)) = deadline_of_key(&key) else { continue };
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
