//! Filing an appeal: parse, route, set the deadline, register it at the agency, and write
//! the appeal, its first event and its idempotency record in one transaction.

use chrono::{DateTime, Datelike, Utc};
use sea_orm::DatabaseTransaction;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{Directory, Seen, see, stored_instant, viewer_of};
use crate::app::App;
use crate::domain::access::{GuestPass, Viewer};
use crate::domain::appeal::{Channel, Priority};
use crate::domain::deadline;
use crate::domain::field::{FieldError, FieldErrors};
use crate::domain::lifecycle::Status;
use crate::domain::role::Role;
use crate::domain::submission::{Applicant, Filer as SubmissionFiler, NewAppeal, RawAppeal};
use crate::domain::tracking::{AccessCode, TrackingNumber, format_registration_number};
use crate::services::{Caller, ServiceError, account_mail, notices, reference, routing};
use crate::store::agencies::Agency;
use crate::store::appeals::{self, Appeal};
use crate::store::deferred::Deferred;
use crate::store::events::{self, NewEvent};
use crate::store::idempotency::{self, IdempotencyRecord};
use crate::store::{StoreError, counters, users};

/// Who is filing, which decides the channel and the contact details required.
#[derive(Debug, Clone)]
pub enum Filer<'a> {
    /// A signed-in citizen, on the web.
    Citizen(&'a Caller),
    /// Someone without an account; they receive a secret access code.
    Guest,
    /// An official entering an oral or paper appeal, optionally for a registered citizen.
    Official { caller: &'a Caller, channel: Channel, citizen: Option<Uuid> },
}

/// A client's idempotency key, scoped to who sent it.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub scope: String,
    pub key: String,
}

/// The result of filing (or of replaying an earlier filing with the same key).
#[derive(Debug, Clone)]
pub struct Filed {
    pub seen: Seen,
    /// The guest's access code, shown once in the filing response.
    pub access_code: Option<String>,
    /// True when the key had been used before and this is the first filing's result.
    pub replayed: bool,
}

/// Where routing sent the appeal. The routing rules engine plugs in here.
#[derive(Debug, Clone)]
pub struct Routed {
    pub agency: Agency,
    pub policy: String,
    pub priority: Priority,
    pub ruleset_version: Option<i32>,
    pub rule_id: Option<String>,
    /// The explain trace as JSON, when a ruleset routed the appeal.
    pub trace: Option<String>,
}

/// What is kept under an idempotency key: enough to answer a retry exactly as the first time.
/// A guest's access code is kept sealed (see [`crate::auth::seal`]) for the appeal, never
/// readable in the database.
#[derive(Debug, Serialize, Deserialize)]
struct FirstResult {
    appeal_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sealed_access_code: Option<String>,
    /// The code in the clear, as records written before codes were sealed hold it (records
    /// are kept a day); never written now.
    #[serde(default, skip_serializing, rename = "access_code")]
    legacy_access_code: Option<String>,
}

impl FirstResult {
    fn new(app: &App, appeal_id: Uuid, access_code: Option<&AccessCode>) -> Self {
        let sealed_access_code = access_code
            .map(|code| app.sealer.seal(appeal_id.as_bytes(), code.reveal().as_bytes(), &mut rand::rng()));
        Self { appeal_id, sealed_access_code, legacy_access_code: None }
    }

    /// The guest's access code, if one was sealed and still opens: a new signing key since
    /// the first filing makes it unreadable.
    fn access_code(&self, app: &App) -> Result<Option<String>, ServiceError> {
        let Some(sealed) = &self.sealed_access_code else { return Ok(self.legacy_access_code.clone()) };
        let opened =
            app.sealer.open(self.appeal_id.as_bytes(), sealed).and_then(|code| String::from_utf8(code).ok());
        match opened {
            Some(code) => Ok(Some(code)),
            None => Err(ServiceError::Conflict(
                "this appeal was filed, but its access code can no longer be shown here: the server's key has \
                 changed since; the code was also sent to the email address given, if any"
                    .to_owned(),
            )),
        }
    }
}

/// Files an appeal.
pub async fn file(
    app: &App,
    filer: Filer<'_>,
    raw: RawAppeal,
    idempotency: Option<IdempotencyKey>,
) -> Result<Filed, ServiceError> {
    let (submission_filer, channel, citizen_id, entered_by) = match &filer {
        Filer::Citizen(caller) if caller.role == Role::Citizen => {
            (SubmissionFiler::Citizen, Channel::Web, Some(caller.id), None)
        }
        Filer::Citizen(_) => return Err(ServiceError::Forbidden),
        Filer::Guest => (SubmissionFiler::Guest, Channel::Web, None, None),
        Filer::Official { caller, channel, citizen } if caller.role.is_staff() => {
            (SubmissionFiler::OfficialEntry, *channel, *citizen, Some(caller.id))
        }
        Filer::Official { .. } => return Err(ServiceError::Forbidden),
    };
    if let Filer::Citizen(caller) = &filer
        && !account_mail::may_file(app, caller)
    {
        return Err(ServiceError::EmailUnconfirmed);
    }
    let request_hash = request_hash(&raw, channel, entered_by.and(citizen_id));
    let new = NewAppeal::parse(&raw, submission_filer, &app.jurisdiction.bounds)?;
    check_references(app, &new, citizen_id, entered_by.is_some()).await?;
    // The appeal's id and the guest's access code are chosen before the transaction, so the
    // idempotency record (which names them) is written first: a retry waits on it and
    // replays, rather than doing the work again.
    let appeal_id = Uuid::now_v7();
    let access_code = matches!(filer, Filer::Guest).then(|| AccessCode::generate(&mut rand::rng()));
    let prepared = Prepared { appeal_id, access_code, channel, citizen_id, entered_by };
    // The tracking number is drawn at random and the unique index rules out a collision
    // (astronomically rare with 50 random bits): the whole filing is then made again with a
    // new number, rather than every filing reading first.
    let mut draws = 1;
    loop {
        match file_once(app, &filer, &new, &prepared, idempotency.as_ref(), &request_hash).await {
            Err(ServiceError::Store(err))
                if appeals::tracking_number_taken(&err) && draws < TRACKING_DRAWS =>
            {
                draws += 1;
            }
            filed => return filed,
        }
    }
}

/// How many tracking numbers one filing draws before it gives up (each collision has a chance
/// of about one in 2^50 divided by the number of appeals).
const TRACKING_DRAWS: u32 = 3;

/// One try at filing, in one transaction: route, take the registration number (together with
/// the idempotency key, when there is one), write everything.
async fn file_once(
    app: &App,
    filer: &Filer<'_>,
    new: &NewAppeal,
    prepared: &Prepared,
    idempotency: Option<&IdempotencyKey>,
    request_hash: &str,
) -> Result<Filed, ServiceError> {
    // From here on everything is read through the write transaction, never through a second
    // pooled connection: a transaction waiting for another connection deadlocks once every
    // connection is held by a writer waiting its turn (20 retries of one filing are enough).
    let txn = app.db.write().await?;
    let now = stored_instant(app.clock.now());
    let directory = Directory::cached(app, &txn).await?;
    let routed = match filer {
        // The body that receives an oral or paper appeal registers it; if it is not
        // competent, it forwards it.
        Filer::Official { caller, .. } => received_by(app, &directory, caller)?,
        _ => route(app, &txn, &directory, new, prepared.channel, now).await?,
    };
    let year = app.jurisdiction.calendar.current().local_date(now).year();
    // The key is claimed by the statement that takes the number: a request holding the same
    // key waits there for the first one's outcome, and then replays it.
    let sequence = match idempotency {
        Some(key) => {
            let first = FirstResult::new(app, prepared.appeal_id, prepared.access_code.as_ref());
            let record = IdempotencyRecord {
                scope: key.scope.clone(),
                key: key.key.clone(),
                request_hash: request_hash.to_owned(),
                response_status: 201,
                response_body: serde_json::to_string(&first).unwrap_or_default(),
                created_at: now,
            };
            match counters::claim_then_next_registration(&txn, record, routed.agency.id, year).await? {
                Some(sequence) => sequence,
                None => return replay_after_race(app, filer, key, request_hash, txn).await,
            }
        }
        None => counters::next_registration(&txn, routed.agency.id, year).await?,
    };
    let placed = Placed { directory, routed, year, sequence, now };
    let filed = register(app, &txn, filer, new, prepared, placed).await?;
    match txn.commit().await {
        Ok(()) => Ok(filed),
        Err(err) => match (StoreError::from(err), idempotency) {
            (StoreError::Conflict(_), Some(key)) => {
                let first = idempotency::find(app.db.conn(), &key.scope, &key.key)
                    .await?
                    .ok_or(ServiceError::NotFound)?;
                replay(app, filer, first, request_hash).await
            }
            (other, _) => Err(other.into()),
        },
    }
}

/// What filing settles before its transaction: the appeal's id, a guest's access code, the
/// channel, and who files it for whom.
struct Prepared {
    appeal_id: Uuid,
    access_code: Option<AccessCode>,
    channel: Channel,
    citizen_id: Option<Uuid>,
    entered_by: Option<Uuid>,
}

/// The key is already taken (by a request that committed, possibly while this one waited for
/// it): drop this transaction and answer with the first request's result.
async fn replay_after_race(
    app: &App,
    filer: &Filer<'_>,
    key: &IdempotencyKey,
    request_hash: &str,
    txn: DatabaseTransaction,
) -> Result<Filed, ServiceError> {
    txn.rollback().await?;
    let first =
        idempotency::find(app.db.conn(), &key.scope, &key.key).await?.ok_or(ServiceError::NotFound)?;
    replay(app, filer, first, request_hash).await
}

async fn replay(
    app: &App,
    filer: &Filer<'_>,
    first: IdempotencyRecord,
    request_hash: &str,
) -> Result<Filed, ServiceError> {
    if first.request_hash != request_hash {
        return Err(ServiceError::field(FieldError::new(
            "Idempotency-Key",
            "reused",
            "was already used for a different request",
        )));
    }
    let result: FirstResult =
        serde_json::from_str(&first.response_body).map_err(|_| ServiceError::Store(StoreError::NotFound))?;
    let access_code = result.access_code(app)?;
    let appeal = appeals::by_id(app.db.conn(), result.appeal_id).await?.ok_or(ServiceError::NotFound)?;
    let viewer = filer_viewer(filer, &appeal, access_code.as_deref());
    let directory = Directory::load(app).await?;
    let seen = see(app, &directory, &viewer, appeal, app.clock.now())?;
    Ok(Filed { seen, access_code, replayed: true })
}

/// Where filing placed the appeal before writing it: the agency and the number it took.
struct Placed {
    directory: Directory,
    routed: Routed,
    year: i32,
    sequence: i64,
    now: DateTime<Utc>,
}

/// Writes the appeal with its first event, its jobs and its emails, all in one go at the
/// end (on PostgreSQL one statement). The appeal records exactly the version that routed it.
async fn register(
    app: &App,
    txn: &DatabaseTransaction,
    filer: &Filer<'_>,
    new: &NewAppeal,
    prepared: &Prepared,
    placed: Placed,
) -> Result<Filed, ServiceError> {
    let Prepared { appeal_id, access_code, channel, citizen_id, entered_by } = prepared;
    let (appeal_id, channel, citizen_id, entered_by) = (*appeal_id, *channel, *citizen_id, *entered_by);
    let Placed { directory, routed, year, sequence, now } = placed;
    let jurisdiction = &app.jurisdiction;
    let policy = jurisdiction.policy(&routed.policy, &app.settings.appeals.default_policy);
    let due_at = stored_instant(deadline::due_at(policy, &jurisdiction.calendar.current(), now));
    let registration_number = format_registration_number(&routed.agency.code, year, sequence as u64);

    let (legal_name, legal_tax_id) = match &new.applicant {
        Applicant::LegalEntity(entity) => {
            (Some(entity.name().as_str().to_owned()), Some(entity.tax_id().as_str().to_owned()))
        }
        Applicant::Person => (None, None),
    };
    let (contact_name, contact_email) = match (filer, citizen_id) {
        // The account as loaded for this request.
        (Filer::Citizen(caller), _) => (Some(caller.full_name.clone()), Some(caller.email.clone())),
        _ => (
            new.contact.name.as_ref().map(|n| n.as_str().to_owned()),
            new.contact.email.as_ref().map(|e| e.normalized()),
        ),
    };
    let appeal = Appeal {
        id: appeal_id,
        tracking_number: TrackingNumber::generate(&mut rand::rng()).canonical(),
        access_code_hash: access_code.as_ref().map(|c| c.hash().to_hex()),
        kind: new.kind.as_str().to_owned(),
        status: Status::INITIAL.as_str().to_owned(),
        channel: channel.as_str().to_owned(),
        subject: new.subject.as_str().to_owned(),
        body: new.text.as_str().to_owned(),
        category_code: new.category.as_str().to_owned(),
        region_code: new.region.as_str().to_owned(),
        district_code: new.district.as_ref().map(|d| d.as_str().to_owned()),
        lat: new.location.map(|l| l.lat()),
        lon: new.location.map(|l| l.lon()),
        co_signers_count: new.co_signers.as_ref().map_or(1, |c| c.count() as i32),
        co_signers_names: new.co_signers.as_ref().map(|c| {
            serde_json::to_string(&c.names().iter().map(|n| n.as_str()).collect::<Vec<_>>())
                .unwrap_or_default()
        }),
        applicant_type: new.applicant.applicant_type().as_str().to_owned(),
        legal_entity_name: legal_name,
        legal_entity_tax_id: legal_tax_id,
        language: new.language.as_str().to_owned(),
        citizen_id,
        contact_name,
        contact_email,
        contact_address: new.contact.postal_address.as_ref().map(|a| a.as_str().to_owned()),
        entered_by,
        agency_id: routed.agency.id,
        assignee_id: None,
        registration_number: Some(registration_number.clone()),
        priority: routed.priority.as_str().to_owned(),
        deadline_policy: policy.name.clone(),
        ruleset_version: routed.ruleset_version,
        rule_id: routed.rule_id.clone(),
        routing_trace: routed.trace.clone(),
        registered_at: now,
        due_at,
        paused_at: None,
        extensions_granted: 0,
        outcome: None,
        answer_text: None,
        answered_at: None,
        dismissal_reason: None,
        closed_at: None,
        version: 1,
        created_at: now,
        updated_at: now,
        public_version: 1,
        public_updated_at: now,
    };
    // Nothing reads the appeal before the commit, so its row is written with the rest.
    let mut writes = Deferred::new();
    writes.push(appeals::inserting(&appeal));
    crate::services::scheduler::plan(app, &mut writes, None, &appeal, now);
    let (actor_id, actor_role) = match filer {
        Filer::Citizen(caller) | Filer::Official { caller, .. } => (Some(caller.id), caller.role.as_str()),
        Filer::Guest => (None, "guest"),
    };
    let (event, write_event) = events::first(NewEvent {
        appeal_id: appeal.id,
        at: now,
        actor_id,
        actor_role: actor_role.to_owned(),
        action: "file".to_owned(),
        visibility: "public".to_owned(),
        status_before: Status::INITIAL.as_str().to_owned(),
        status_after: Status::INITIAL.as_str().to_owned(),
        data: serde_json::json!({
            "agency": routed.agency.code,
            "registration_number": registration_number,
            "due_at": due_at,
            "channel": channel.as_str(),
            "deadline_policy": policy.name,
            "ruleset_version": routed.ruleset_version,
            "rule_id": routed.rule_id,
        }),
    });
    writes.push(write_event);
    crate::services::reports::track(txn, &mut writes, directory.all(), &appeal, &event).await?;
    let revealed = access_code.as_ref().map(AccessCode::reveal);
    match filer {
        // The account as loaded for this request.
        Filer::Citizen(caller) => {
            let recipient = notices::Recipient::of_caller(caller);
            notices::to_applicant(app, txn, &mut writes, &recipient, &appeal, &event, &routed.agency, None)
                .await?
        }
        _ => notices::for_appeal_event(app, txn, &mut writes, &appeal, &event, &routed.agency, None).await?,
    }
    if let Some(code) = &revealed {
        notices::guest_access_code(app, txn, &mut writes, &appeal, &routed.agency, code, now).await?;
    }
    writes.flush(txn).await?;
    let viewer = filer_viewer(filer, &appeal, revealed.as_deref());
    let seen = see(app, &directory, &viewer, appeal, now)?;
    Ok(Filed { seen, access_code: revealed, replayed: false })
}

/// Chooses the agency, deadline policy and priority with the active ruleset version (read in
/// the filing's transaction when this process's copy is stale). Until a ruleset is active, every appeal goes to the
/// configured general reception with the default policy.
async fn route(
    app: &App,
    txn: &DatabaseTransaction,
    directory: &Directory,
    new: &NewAppeal,
    channel: Channel,
    now: DateTime<Utc>,
) -> Result<Routed, ServiceError> {
    let Some(compiled) = routing::active_router(app, txn).await? else {
        return reception(app, directory);
    };
    let facts = routing::facts_of_new(app, new, channel, now);
    let (decision, trace) = compiled.router.explain_indexed(&facts);
    // The router is compiled once per version; an agency deactivated since receives nothing.
    let Some(agency) = directory.by_code(&decision.agency).filter(|a| a.active).cloned() else {
        tracing::error!(agency = %decision.agency, version = compiled.version, "routing chose an inactive agency");
        return reception(app, directory);
    };
    Ok(Routed {
        agency,
        policy: decision.policy,
        priority: decision.priority,
        ruleset_version: Some(compiled.version),
        rule_id: decision.rule_id,
        trace: serde_json::to_string(&trace).ok(),
    })
}

fn reception(app: &App, directory: &Directory) -> Result<Routed, ServiceError> {
    let code = &app.settings.appeals.reception_agency;
    let agency = directory.by_code(code).filter(|a| a.active).cloned().ok_or_else(|| {
        ServiceError::Conflict(format!("the reception agency '{code}' does not exist or is inactive"))
    })?;
    Ok(Routed {
        agency,
        policy: app.settings.appeals.default_policy.clone(),
        priority: Priority::Normal,
        ruleset_version: None,
        rule_id: None,
        trace: None,
    })
}

fn received_by(app: &App, directory: &Directory, caller: &Caller) -> Result<Routed, ServiceError> {
    let agency_id = caller.agency_id.ok_or(ServiceError::Forbidden)?;
    let agency = directory.get(agency_id).cloned().ok_or(ServiceError::Forbidden)?;
    if !agency.active {
        return Err(ServiceError::Conflict(format!(
            "the agency '{}' is inactive: it registers no new appeals",
            agency.code
        )));
    }
    Ok(Routed {
        agency,
        policy: app.settings.appeals.default_policy.clone(),
        priority: Priority::Normal,
        ruleset_version: None,
        rule_id: None,
        trace: None,
    })
}

fn filer_viewer(filer: &Filer<'_>, appeal: &Appeal, access_code: Option<&str>) -> Viewer {
    match filer {
        Filer::Citizen(caller) | Filer::Official { caller, .. } => viewer_of(caller),
        Filer::Guest => {
            let pass = access_code
                .and_then(|code| AccessCode::parse(code).ok())
                .zip(
                    appeal
                        .access_code_hash
                        .as_deref()
                        .and_then(crate::domain::tracking::AccessCodeHash::from_hex),
                )
                .and_then(|(code, hash)| GuestPass::verify(appeal.id, &hash, &code));
            pass.map(Viewer::Guest).unwrap_or(Viewer::System)
        }
    }
}

/// Category, region and district must exist, be active and fit together; a citizen an
/// official files for must exist.
async fn check_references(
    app: &App,
    new: &NewAppeal,
    citizen: Option<Uuid>,
    official_entry: bool,
) -> Result<(), ServiceError> {
    let known = reference::known(app).await?;
    let mut errors = FieldErrors::default();
    match known.category(new.category.as_str()) {
        Some(c) if c.active => {}
        _ => errors.push(FieldError::unknown("category", "category")),
    }
    match known.territory(new.region.as_str()) {
        Some(t) if t.active && t.parent_code.is_none() => {}
        _ => errors.push(FieldError::unknown("region", "region")),
    }
    if let Some(district) = &new.district {
        match known.territory(district.as_str()) {
            Some(t) if t.active && t.parent_code.as_deref() == Some(new.region.as_str()) => {}
            Some(t) if t.active => {
                errors.push(FieldError::new("district", "mismatch", "is not in the given region"))
            }
            _ => errors.push(FieldError::unknown("district", "district")),
        }
    }
    if official_entry && let Some(citizen) = citizen {
        match users::by_id(app.db.conn(), citizen).await? {
            Some(u) if u.role == Role::Citizen.as_str() && !u.disabled => {}
            _ => errors.push(FieldError::unknown("citizen_id", "citizen")),
        }
    }
    Ok(errors.finish()?)
}

/// Identifies "the same request" for an idempotency key: the body as parsed, the channel,
/// and the citizen an official enters the appeal for (`entered_for`; a citizen's own filing
/// is theirs by the key's scope, and hashes as it did before entries named one).
fn request_hash(raw: &RawAppeal, channel: Channel, entered_for: Option<Uuid>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(channel.as_str().as_bytes());
    hasher.update(serde_json::to_vec(raw).unwrap_or_default());
    if let Some(citizen) = entered_for {
        hasher.update(b"entered-for:");
        hasher.update(citizen.as_bytes());
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_from_before_sealing_is_read_and_the_code_is_never_written_in_the_clear() {
        let old = r#"{"appeal_id":"01a233f4-8257-7225-8cdf-03ca2d235188","access_code":"MSV2-QWA9-K7W8"}"#;
        let read: FirstResult = serde_json::from_str(old).unwrap();
        assert_eq!(read.legacy_access_code.as_deref(), Some("MSV2-QWA9-K7W8"));
        assert_eq!(read.sealed_access_code, None);
        let written = serde_json::to_string(&read).unwrap();
        assert!(!written.contains("MSV2"), "{written}");
    }
}
