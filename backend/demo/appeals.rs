//! `murojiat demo seed --appeals N`: realistic demo appeals in bulk, for trying the queue and
//! measuring it. Subjects and texts are Tajik or Russian, built from templates over the demo
//! categories and territories; appeals are spread over agencies (the demo official's agency
//! the busiest), statuses and the past year, each with a first event (and, past
//! `registered`, the step that moved it; for an open appeal past its deadline, the internal
//! `overdue` event) whose hash chain `murojiat audit verify` accepts, and registration
//! numbers taken from the agencies' counters in date order.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::{DateTime, Datelike, Duration, Utc};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use super::{ACCOUNTS, DemoError};
use crate::app::App;
use crate::domain::deadline;
use crate::domain::lifecycle::Status;
use crate::domain::role::Role;
use crate::domain::tracking::{TrackingNumber, format_registration_number};
use crate::services::appeals::stored_instant;
use crate::services::{ServiceError, reports, scheduler};
use crate::store::agencies::{self, Agency};
use crate::store::appeals::{self, Appeal};
use crate::store::deferred::Deferred;
use crate::store::events::{self, Event, GENESIS};
use crate::store::jobs::{self, NewJob};
use crate::store::reference::{self, Category, Territory};
use crate::store::{counters, users};
use crate::store::{stints, tallies};

/// The `ran_by` of the deadline jobs the seed records as done.
const SEEDED_BY: &str = "demo-seed";

/// Appeals written per transaction.
const PER_TRANSACTION: usize = 5_000;
/// The share of appeals that go to the demo official's agency, so its queue is busy.
const BUSY_SHARE: f64 = 0.2;

/// What the seeder wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeededAppeals {
    pub appeals: u64,
    pub events: u64,
    /// Jobs still ahead of the appeals (see [`scheduler::pending_as_stored`]).
    pub jobs: u64,
    /// Deadlines the open appeals have missed, each recorded as the scheduler records one
    /// (see [`scheduler::missed_deadline`]): an internal `overdue` event and the deadline
    /// job, done. Nothing is sent for them.
    pub escalations: u64,
}

/// Inserts `count` demo appeals dated over the year before the clock's now. Seeds the demo
/// territories, categories, agencies and accounts first when they are missing. `progress` is
/// called with the number of appeals written so far after each transaction commits.
pub async fn seed_appeals(
    app: &App,
    config_dir: &Path,
    count: u64,
    seed: u64,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<SeededAppeals, DemoError> {
    super::seed_reference(app, config_dir).await?;
    super::seed_if_empty(app, config_dir).await?;
    let world = World::load(app).await?;
    let mut rng = StdRng::seed_from_u64(seed);
    let now = stored_instant(app.clock.now());
    let start = now - Duration::days(365);
    let span = (now - start).num_microseconds().unwrap_or(1).max(1) as f64;
    let mut seeded = SeededAppeals::default();
    let mut written = 0u64;
    while written < count {
        let batch = (count - written).min(PER_TRANSACTION as u64);
        // Dates rise with the appeal's position, so registration numbers follow the calendar.
        let mut drafts: Vec<Draft> = (0..batch)
            .map(|i| {
                let position = (written + i) as f64 / count as f64;
                let at = start + Duration::microseconds((position * span) as i64);
                world.draft(&mut rng, stored_instant(at), now)
            })
            .collect();
        let txn = app.db.write().await.map_err(ServiceError::from)?;
        number(app, &txn, &world, &mut drafts, now).await?;
        let mut rows = Vec::with_capacity(drafts.len());
        let mut chain = Vec::with_capacity(drafts.len() * 2);
        let mut stays = Vec::with_capacity(drafts.len());
        let mut ran = Vec::new();
        for draft in drafts {
            ran.extend(draft.escalation);
            let owner = reports::stint_appeal(&draft.appeal);
            stays.extend(
                reports::from_timeline(&world.agencies, &draft.appeal, &draft.events)
                    .into_iter()
                    .map(|stint| (owner.clone(), stint)),
            );
            chain.extend(draft.events);
            rows.push(draft.appeal);
        }
        seeded.events += chain.len() as u64;
        // The jobs still ahead, as if each appeal had lived through its history here: its
        // reminders and deadline, an open window. Nothing already due: closed windows of the
        // past were not run, and are not run now; a missed deadline is recorded as escalated
        // when it was missed (its deadline job done), with nobody alerted now.
        let calendar = app.jurisdiction.calendar.current();
        let ahead: Vec<NewJob> = rows
            .iter()
            .flat_map(|appeal| scheduler::pending_as_stored(app, &calendar, appeal, now))
            .collect();
        seeded.jobs += ahead.len() as u64;
        seeded.escalations += ran.len() as u64;
        let mut writes = Deferred::new();
        // Each INSERT within the databases' limits on bound values (13 or 14 a job).
        writes.extend(ahead.chunks(2_000).filter_map(|chunk| jobs::scheduling(chunk.to_vec(), now)));
        writes.extend(ran.chunks(2_000).filter_map(|chunk| jobs::recording_ran(chunk.to_vec(), now)));
        appeals::insert_many(&txn, rows).await.map_err(ServiceError::from)?;
        writes.flush(&txn).await.map_err(ServiceError::from)?;
        events::insert_chains(&txn, chain).await.map_err(ServiceError::from)?;
        let counted = stints::insert_many(&txn, &stays, |id| reports::time_zone(&world.agencies, id))
            .await
            .map_err(ServiceError::from)?;
        tallies::add(&txn, counted).await.map_err(ServiceError::from)?;
        txn.commit().await.map_err(ServiceError::from)?;
        written += batch;
        seeded.appeals = written;
        progress(written);
    }
    Ok(seeded)
}

/// Gives each draft the next registration number of its agency and year, reserving one
/// block per (agency, year) from the counters, and writes it into the first event; then
/// seals the draft's history as of `now`.
async fn number(
    app: &App,
    txn: &sea_orm::DatabaseTransaction,
    world: &World,
    drafts: &mut [Draft],
    now: DateTime<Utc>,
) -> Result<(), DemoError> {
    let mut blocks: BTreeMap<(Uuid, i32), i64> = BTreeMap::new();
    for draft in drafts.iter() {
        *blocks.entry((draft.appeal.agency_id, draft.year)).or_default() += 1;
    }
    for ((agency, year), n) in blocks.iter_mut() {
        *n = counters::reserve_registrations(txn, *agency, *year, *n).await.map_err(ServiceError::from)?;
    }
    for draft in drafts.iter_mut() {
        let next = blocks.get_mut(&(draft.appeal.agency_id, draft.year)).expect("reserved above");
        let code = &world.agencies[draft.agency].code;
        let number = format_registration_number(code, draft.year, *next as u64);
        *next += 1;
        draft.appeal.registration_number = Some(number.clone());
        draft.seal(app, world, &number, now);
    }
    Ok(())
}

/// The reference data and people the drafts are made of.
struct World {
    agencies: Vec<Agency>,
    busy: usize,
    categories: Vec<Category>,
    regions: Vec<(Territory, Vec<Territory>)>,
    citizen: Option<Uuid>,
    official: Option<Uuid>,
    /// Each agency's supervisors, to whom its missed deadlines escalated.
    supervisors: HashMap<Uuid, Vec<users::User>>,
    calendar_policy: String,
}

impl World {
    async fn load(app: &App) -> Result<Self, DemoError> {
        let conn = app.db.conn();
        let store = |e| DemoError::Service(ServiceError::Store(e));
        let agencies: Vec<Agency> =
            agencies::all(conn).await.map_err(store)?.into_iter().filter(|a| a.active).collect();
        let busy_code =
            ACCOUNTS.iter().find(|a| a.role == Role::Official).and_then(|a| a.agency).unwrap_or_default();
        let busy = agencies.iter().position(|a| a.code == busy_code).unwrap_or(0);
        // Leaf categories only: an appeal names the most specific one.
        let all = reference::categories(conn).await.map_err(store)?;
        let categories: Vec<Category> = all
            .iter()
            .filter(|c| c.active && !all.iter().any(|d| d.parent_code.as_deref() == Some(c.code.as_str())))
            .cloned()
            .collect();
        let territories = reference::territories(conn).await.map_err(store)?;
        let regions: Vec<(Territory, Vec<Territory>)> = territories
            .iter()
            .filter(|t| t.active && t.parent_code.is_none())
            .map(|r| {
                let districts = territories
                    .iter()
                    .filter(|d| d.active && d.parent_code.as_deref() == Some(r.code.as_str()))
                    .cloned()
                    .collect();
                (r.clone(), districts)
            })
            .collect();
        if agencies.is_empty() || categories.is_empty() || regions.is_empty() {
            return Err(DemoError::File {
                path: "the database".into(),
                reason: "the demo needs agencies, categories and territories; seed them first".into(),
            });
        }
        let account = |role: Role| ACCOUNTS.iter().find(|a| a.role == role).map(|a| a.email);
        let citizen = match account(Role::Citizen) {
            Some(email) => users::by_email(conn, email).await.map_err(store)?.map(|u| u.id),
            None => None,
        };
        let official = match account(Role::Official) {
            Some(email) => users::by_email(conn, email).await.map_err(store)?.map(|u| u.id),
            None => None,
        };
        let ids: Vec<Uuid> = agencies.iter().map(|a| a.id).collect();
        let mut supervisors: HashMap<Uuid, Vec<users::User>> = HashMap::new();
        for user in users::with_role_at(conn, Role::Supervisor.as_str(), &ids).await.map_err(store)? {
            if let Some(agency) = user.agency_id {
                supervisors.entry(agency).or_default().push(user);
            }
        }
        Ok(World {
            agencies,
            busy,
            categories,
            regions,
            citizen,
            official,
            supervisors,
            calendar_policy: app.settings.appeals.default_policy.clone(),
        })
    }

    fn draft(&self, rng: &mut StdRng, at: DateTime<Utc>, now: DateTime<Utc>) -> Draft {
        let agency =
            if rng.random_bool(BUSY_SHARE) { self.busy } else { rng.random_range(0..self.agencies.len()) };
        let category = self.categories.choose(rng).expect("categories exist");
        let (region, districts) = self.regions.choose(rng).expect("regions exist");
        let district = districts.choose(rng);
        let russian = rng.random_bool(0.3);
        let place = district.unwrap_or(region);
        let (subject, body) = texts::compose(rng, russian, category, place);
        let person = texts::person(rng);
        let age_days = (now - at).num_days();
        let status = texts::status_for_age(rng, age_days);
        let by_demo_citizen = rng.random_bool(0.05) && self.citizen.is_some();
        let channel = ["web", "web", "web", "api", "paper", "oral"].choose(rng).copied().unwrap_or("web");
        // Filed, then (past "registered") one step more.
        let version = if status == "registered" { 1 } else { 2 };
        let mut appeal = Appeal {
            id: Uuid::now_v7(),
            tracking_number: TrackingNumber::generate(rng).canonical(),
            access_code_hash: None,
            kind: ["application", "request", "proposal", "complaint", "complaint"]
                .choose(rng)
                .copied()
                .unwrap_or("complaint")
                .to_owned(),
            status: status.to_owned(),
            channel: if by_demo_citizen { "web" } else { channel }.to_owned(),
            subject,
            body,
            category_code: category.code.clone(),
            region_code: region.code.clone(),
            district_code: district.map(|d| d.code.clone()),
            lat: None,
            lon: None,
            co_signers_count: 1,
            co_signers_names: None,
            applicant_type: "person".into(),
            legal_entity_name: None,
            legal_entity_tax_id: None,
            language: if russian { "ru" } else { "tg" }.into(),
            citizen_id: if by_demo_citizen { self.citizen } else { None },
            contact_name: Some(person.0),
            contact_email: Some(person.1),
            contact_address: None,
            entered_by: None,
            agency_id: self.agencies[agency].id,
            assignee_id: None,
            registration_number: None,
            priority: "normal".into(),
            deadline_policy: self.calendar_policy.clone(),
            ruleset_version: None,
            rule_id: None,
            routing_trace: None,
            registered_at: at,
            due_at: at,
            paused_at: None,
            extensions_granted: 0,
            outcome: None,
            answer_text: None,
            answered_at: None,
            dismissal_reason: None,
            closed_at: None,
            version,
            created_at: at,
            updated_at: at,
            // The one step after filing is public: the citizen sees every change.
            public_version: version,
            public_updated_at: at,
        };
        // The step after filing, a few days later but never in the future.
        let step_at = stored_instant((at + Duration::hours(rng.random_range(2..24 * 10))).min(now));
        match status {
            "in_progress" | "awaiting_citizen" if agency == self.busy => appeal.assignee_id = self.official,
            "answered" => {
                appeal.outcome = Some(
                    ["satisfied", "partly_satisfied", "rejected", "explained"]
                        .choose(rng)
                        .copied()
                        .unwrap_or("explained")
                        .into(),
                );
                appeal.answer_text = Some(texts::answer(russian).into());
                appeal.answered_at = Some(step_at);
                appeal.assignee_id = if agency == self.busy { self.official } else { None };
            }
            "dismissed" => {
                appeal.dismissal_reason = Some(
                    [
                        "anonymous",
                        "repeated_without_new_arguments",
                        "abusive",
                        "not_competent_nowhere_to_forward",
                    ]
                    .choose(rng)
                    .copied()
                    .unwrap_or("anonymous")
                    .into(),
                );
                appeal.closed_at = Some(step_at);
            }
            "withdrawn" => appeal.closed_at = Some(step_at),
            _ => {}
        }
        if status == "awaiting_citizen" {
            appeal.paused_at = Some(step_at);
        }
        if status != "registered" {
            appeal.updated_at = step_at;
            appeal.public_updated_at = step_at;
        }
        let year = at.with_timezone(&chrono_tz::Asia::Dushanbe).year();
        Draft { appeal, agency, year, step_at, events: Vec::new(), escalation: None }
    }
}

/// One appeal before its registration number and events are final.
struct Draft {
    appeal: Appeal,
    agency: usize,
    year: i32,
    step_at: DateTime<Utc>,
    events: Vec<Event>,
    /// The deadline job of a deadline missed before `now`, done (see [`Draft::seal`]).
    escalation: Option<jobs::RanJob>,
}

impl Draft {
    /// Sets the deadline and writes the events, now that the registration number is known.
    /// An open appeal whose deadline passed before `now` while its clock ran also gets the
    /// escalation the scheduler would have recorded then: the internal `overdue` event, in
    /// its place in time, and its deadline job, done.
    fn seal(&mut self, app: &App, world: &World, registration_number: &str, now: DateTime<Utc>) {
        let agency = &world.agencies[self.agency];
        let agency_code = agency.code.as_str();
        let jurisdiction = &app.jurisdiction;
        let policy = jurisdiction.policy(&self.appeal.deadline_policy, &app.settings.appeals.default_policy);
        self.appeal.due_at = stored_instant(deadline::due_at(
            policy,
            &jurisdiction.calendar.current(),
            self.appeal.registered_at,
        ));
        let a = &self.appeal;
        let (actor_id, actor_role) = match (a.citizen_id, a.channel.as_str()) {
            (Some(id), _) => (Some(id), "citizen"),
            (None, "paper" | "oral") => (None, "official"),
            (None, _) => (None, "guest"),
        };
        let mut chain = vec![self.event(
            1,
            a.registered_at,
            actor_id,
            actor_role,
            "file",
            "registered",
            serde_json::json!({
                "agency": agency_code,
                "registration_number": registration_number,
                "due_at": a.due_at,
                "channel": a.channel,
                "deadline_policy": a.deadline_policy,
                "ruleset_version": null,
                "rule_id": null,
                "seeded": true,
            }),
        )];
        let step = match a.status.as_str() {
            "in_progress" => Some(("official", "take", serde_json::json!({}))),
            "awaiting_citizen" => Some((
                "official",
                "request_info",
                serde_json::json!({"question": "Лутфан суроғаи дақиқро нависед."}),
            )),
            "answered" => Some(("official", "answer", serde_json::json!({"outcome": a.outcome}))),
            "dismissed" => Some(("official", "dismiss", serde_json::json!({"reason": a.dismissal_reason}))),
            "withdrawn" => Some(("citizen", "withdraw", serde_json::json!({}))),
            _ => None,
        };
        if let Some((role, action, data)) = step {
            let actor = if role == "official" { a.assignee_id } else { a.citizen_id };
            let status = a.status.clone();
            chain.push(self.event(2, self.step_at, actor, role, action, &status, data));
        }
        let running = a.status.parse::<Status>().is_ok_and(Status::is_open) && a.paused_at.is_none();
        let missed_at = deadline::overdue_at(a.due_at);
        if running && missed_at <= now {
            let supervisors = world.supervisors.get(&a.agency_id).map(Vec::as_slice).unwrap_or_default();
            let missed = scheduler::missed_deadline(a, supervisors, agency.email.is_some(), SEEDED_BY);
            // Before the step that moved it, the appeal was still registered.
            let place = chain.iter().position(|e| e.at > missed_at).unwrap_or(chain.len()).max(1);
            let status = chain[place - 1].status_after.clone();
            let mut overdue = self.event(0, missed_at, None, "system", "overdue", &status, missed.data);
            overdue.visibility = "internal".to_owned();
            overdue.status_before = status;
            chain.insert(place, overdue);
            self.escalation = Some(missed.job);
            self.appeal.version = chain.len() as i32;
            self.appeal.updated_at = self.appeal.updated_at.max(missed_at);
        }
        for (seq, event) in chain.iter_mut().enumerate() {
            event.seq = seq as i32 + 1;
        }
        // Link the chain: each event covers the previous one's hash.
        let mut prev = GENESIS.to_owned();
        for event in &mut chain {
            event.prev_hash = prev;
            event.hash = events::chain_hash(event);
            prev = event.hash.clone();
        }
        self.events = chain;
    }

    #[allow(clippy::too_many_arguments)]
    fn event(
        &self,
        seq: i32,
        at: DateTime<Utc>,
        actor_id: Option<Uuid>,
        actor_role: &str,
        action: &str,
        status_after: &str,
        data: serde_json::Value,
    ) -> Event {
        // Every seeded appeal is registered at filing; its one further step starts there.
        let before = "registered";
        Event {
            id: Uuid::now_v7(),
            appeal_id: self.appeal.id,
            seq,
            at,
            actor_id,
            actor_role: actor_role.to_owned(),
            action: action.to_owned(),
            visibility: "public".to_owned(),
            status_before: before.to_owned(),
            status_after: status_after.to_owned(),
            data: data.to_string(),
            prev_hash: String::new(),
            hash: String::new(),
        }
    }
}

mod texts;
