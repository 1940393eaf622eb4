//! Administering routing rulesets: drafts are validated before they are saved, simulated on
//! a sample appeal, replayed against filed appeals, and activated atomically. Staff read why
//! an appeal was routed as it was.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::accounts::require_admin;
use super::appeals::{Directory, see, stored_instant};
use super::routing::{self, parse_error, validation_errors};
use super::{Caller, ServiceError};
use crate::app::App;
use crate::domain::access::{ViewLevel, Viewer};
use crate::domain::routing::{
    Decision, ReplayItem, ReplayReport, Router, RoutingFacts, Ruleset, RulesetSummary, Trace, replay,
    summarize,
};
use crate::store::StoreError;
use crate::store::appeals;
use crate::store::rulesets::{self, NewRuleset, StoredRuleset};

/// The most appeals one replay reads.
pub const REPLAY_LIMIT: u64 = 50_000;
/// Example appeal ids kept per (old agency, new agency) move.
pub const REPLAY_EXAMPLES: usize = 5;

/// The written form of a ruleset sent by an administrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    Json,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Toml => "toml",
            Format::Json => "json",
        }
    }
}

/// A stored ruleset with what `rules check` would say about it now.
#[derive(Debug, Clone)]
pub struct Described {
    pub stored: StoredRuleset,
    pub summary: RulesetSummary,
}

/// Why an appeal went where it went, as recorded when it was filed.
#[derive(Debug, Clone)]
pub struct Explanation {
    pub appeal_id: Uuid,
    pub agency: String,
    pub ruleset_version: Option<i32>,
    pub rule_id: Option<String>,
    /// `None` when no ruleset was active at filing (the reception agency received it) or
    /// when staff entered the appeal at their own agency.
    pub trace: Option<Trace>,
}

/// Saves a new draft after parsing and validating it against the current catalog. Any
/// error (syntax, or a validation error naming the rule and line) is a 422 and saves nothing.
pub async fn create_draft(
    app: &App,
    caller: &Caller,
    source: String,
    format: Format,
    description: Option<String>,
) -> Result<Described, ServiceError> {
    require_admin(caller)?;
    let ruleset = routing::parse(&source, format.as_str()).map_err(parse_error)?;
    let txn = app.db.write().await?;
    let catalog = routing::catalog(app, &txn).await?;
    let summary = summarize(&ruleset, &catalog);
    if !summary.validation.is_ok() {
        return Err(validation_errors(summary.validation.errors));
    }
    let new = NewRuleset {
        author_id: Some(caller.id),
        created_at: stored_instant(app.clock.now()),
        source,
        format: format.as_str().to_owned(),
        description,
    };
    let stored = rulesets::insert_draft(&txn, new).await?;
    txn.commit().await?;
    Ok(Described { stored, summary })
}

/// One page of rulesets, newest first.
pub async fn page(
    app: &App,
    caller: &Caller,
    before_version: Option<i32>,
    limit: u64,
) -> Result<Vec<StoredRuleset>, ServiceError> {
    require_admin(caller)?;
    Ok(rulesets::page(app.db.conn(), before_version, limit).await?)
}

/// One ruleset with its summary against the current catalog.
pub async fn get(app: &App, caller: &Caller, version: i32) -> Result<Described, ServiceError> {
    require_admin(caller)?;
    let (stored, ruleset) = load(app, version).await?;
    let catalog = routing::catalog(app, app.db.conn()).await?;
    Ok(Described { summary: summarize(&ruleset, &catalog), stored })
}

/// Routes a sample appeal with `version` (any status) and says why.
pub async fn simulate(
    app: &App,
    caller: &Caller,
    version: i32,
    facts: &RoutingFacts,
) -> Result<(Decision, Trace), ServiceError> {
    require_admin(caller)?;
    let router = compile(app, version).await?;
    Ok(router.explain(facts))
}

/// What `version` would change for the appeals registered in `[from, until)`: how many would
/// go to another agency than the one holding them now, with examples. Changes nothing.
pub async fn replay_period(
    app: &App,
    caller: &Caller,
    version: i32,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<ReplayReport<Uuid>, ServiceError> {
    require_admin(caller)?;
    let router = compile(app, version).await?;
    let conn = app.db.conn();
    let directory = Directory::load(app).await?;
    let filed = appeals::registered_between(conn, from, until, REPLAY_LIMIT).await?;
    let items: Vec<ReplayItem<Uuid>> = filed
        .iter()
        .filter_map(|appeal| {
            let facts = routing::facts_of_stored(app, appeal)?;
            let agency = directory.get(appeal.agency_id)?.code.clone();
            let old = Decision {
                agency,
                policy: appeal.deadline_policy.clone(),
                priority: appeal.priority.parse().ok()?,
                tags: Vec::new(),
                rule_id: appeal.rule_id.clone(),
            };
            Some(ReplayItem { appeal_id: appeal.id, facts, old })
        })
        .collect();
    Ok(replay(&items, &router, REPLAY_EXAMPLES))
}

/// Makes draft `version` the active one, retiring the one active before. 409 when it is not
/// a draft or no longer validates against the catalog; nothing changes then.
pub async fn activate(app: &App, caller: &Caller, version: i32) -> Result<StoredRuleset, ServiceError> {
    require_admin(caller)?;
    let txn = app.db.write().await?;
    let stored = rulesets::by_version(&txn, version).await?.ok_or(ServiceError::NotFound)?;
    if stored.status != rulesets::DRAFT {
        return Err(ServiceError::Conflict(format!(
            "ruleset {version} is {}; only a draft can be activated",
            stored.status
        )));
    }
    let ruleset = routing::parse_stored(&stored)?;
    let catalog = routing::catalog(app, &txn).await?;
    if let Err(errors) = Router::compile(&ruleset, &catalog) {
        let first = errors.first().map(ToString::to_string).unwrap_or_default();
        return Err(ServiceError::Conflict(format!("ruleset {version} no longer validates: {first}")));
    }
    let now = stored_instant(app.clock.now());
    let activated = match rulesets::activate(&txn, app.db.backend(), version, now).await {
        Err(StoreError::NotFound) => {
            return Err(ServiceError::Conflict(format!("ruleset {version} is no longer a draft")));
        }
        other => other?,
    };
    txn.commit().await?;
    app.routing.invalidate();
    Ok(activated)
}

/// Why the appeal was routed as it was; staff who can see the appeal only (others: 404).
pub async fn explain(app: &App, viewer: &Viewer, appeal_id: Uuid) -> Result<Explanation, ServiceError> {
    let appeal = appeals::by_id(app.db.conn(), appeal_id).await?.ok_or(ServiceError::NotFound)?;
    let directory = Directory::load(app).await?;
    let seen = see(app, &directory, viewer, appeal, app.clock.now())?;
    if seen.level != ViewLevel::Staff {
        return Err(ServiceError::NotFound);
    }
    let trace = seen.appeal.routing_trace.as_deref().and_then(|json| serde_json::from_str(json).ok());
    Ok(Explanation {
        appeal_id: seen.appeal.id,
        agency: seen.agency.code,
        ruleset_version: seen.appeal.ruleset_version,
        rule_id: seen.appeal.rule_id,
        trace,
    })
}

async fn load(app: &App, version: i32) -> Result<(StoredRuleset, Ruleset), ServiceError> {
    let stored = rulesets::by_version(app.db.conn(), version).await?.ok_or(ServiceError::NotFound)?;
    let ruleset = routing::parse_stored(&stored)?;
    Ok((stored, ruleset))
}

/// Compiles `version` against the current catalog; 409 when it no longer validates.
async fn compile(app: &App, version: i32) -> Result<Router, ServiceError> {
    let (_, ruleset) = load(app, version).await?;
    let catalog = routing::catalog(app, app.db.conn()).await?;
    Router::compile(&ruleset, &catalog).map_err(|errors| {
        let first = errors.first().map(ToString::to_string).unwrap_or_default();
        ServiceError::Conflict(format!("ruleset {version} no longer validates: {first}"))
    })
}
