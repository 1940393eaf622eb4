//! Routing at filing time: the compiled router of the active ruleset version, kept in
//! memory and recompiled only when another version becomes active, and the catalog that
//! rulesets are checked and compiled against, read from the database.
//!
//! Every filing reads the active version number inside its own transaction (one indexed
//! query), so each running instance picks up an activation at its next filing, without a
//! restart, and an appeal is routed by exactly one version.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::ServiceError;
use super::cache::Cached;
use crate::app::App;
use crate::domain::appeal::Channel;
use crate::domain::field::FieldError;
use crate::domain::routing::{Agency, Catalog, ParseError, Router, RoutingFacts, Ruleset, ValidationError};
use crate::domain::submission::NewAppeal;
use crate::store::appeals::Appeal;
use crate::store::rulesets::{self, StoredRuleset};
use crate::store::{agencies, coverage, reference};

/// A ruleset version compiled against the catalog as it was when compiled.
#[derive(Debug)]
pub struct CompiledVersion {
    pub version: i32,
    pub router: Router,
}

/// Which version is active, as this process last read it (for
/// `appeals.reference_cache_secs`, like the other reference data: see
/// [`crate::services::cache`]), and the compiled router of the version last seen active.
/// Cheap to read; replaced whole.
#[derive(Debug, Default)]
pub struct RouterCache {
    active: Cached<Option<i32>>,
    current: RwLock<Option<Arc<CompiledVersion>>>,
}

impl RouterCache {
    /// Forgets which version is active, so the next filing reads it: call after activating.
    pub fn invalidate(&self) {
        self.active.invalidate();
    }

    fn get(&self, version: i32) -> Option<Arc<CompiledVersion>> {
        let current = self.current.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        current.as_ref().filter(|c| c.version == version).cloned()
    }

    fn put(&self, compiled: Arc<CompiledVersion>) {
        let mut current = self.current.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        *current = Some(compiled);
    }
}

/// The router of the active version (read through `db`, the filing's transaction, when this
/// process's copy is stale), compiling it when the active version changed since the last
/// call. `None` when no version is active, or when the active one no longer validates
/// against the catalog (logged as an error).
pub async fn active_router(
    app: &App,
    db: &impl ConnectionTrait,
) -> Result<Option<Arc<CompiledVersion>>, ServiceError> {
    let active =
        app.routing.active.get_or_load(app, async { rulesets::active_version(db).await.map(Arc::new) });
    let Some(version) = *active.await? else {
        return Ok(None);
    };
    if let Some(compiled) = app.routing.get(version) {
        return Ok(Some(compiled));
    }
    let stored = rulesets::by_version(db, version).await?.ok_or(ServiceError::NotFound)?;
    let ruleset = parse_stored(&stored)?;
    let catalog = catalog(app, db).await?;
    let router = match Router::compile(&ruleset, &catalog) {
        Ok(router) => router,
        Err(errors) => {
            // The catalog changed under the active version (an agency it names was
            // deactivated): keep taking appeals at the reception rather than refusing them.
            let first = errors.first().map(ToString::to_string).unwrap_or_default();
            tracing::error!(version, %first, "the active ruleset no longer validates; using the reception agency");
            return Ok(None);
        }
    };
    let compiled = Arc::new(CompiledVersion { version, router });
    app.routing.put(compiled.clone());
    Ok(Some(compiled))
}

/// Agencies (with kind and covered territories), the category and territory trees and the
/// deadline policy names, as `db` sees them now.
pub async fn catalog(app: &App, db: &impl ConnectionTrait) -> Result<Catalog, ServiceError> {
    let mut catalog = Catalog::new();
    for territory in reference::territories(db).await? {
        catalog.add_territory(territory.code, territory.parent_code.as_deref());
    }
    for category in reference::categories(db).await? {
        catalog.add_category(category.code, category.parent_code.as_deref());
    }
    let mut covers: HashMap<Uuid, Vec<String>> = HashMap::new();
    for (agency, territory) in coverage::all(db).await? {
        covers.entry(agency).or_default().push(territory);
    }
    for agency in agencies::all(db).await? {
        catalog.add_agency(Agency {
            covers: covers.remove(&agency.id).unwrap_or_default(),
            code: agency.code,
            kind: agency.kind,
            active: agency.active,
        });
    }
    for policy in app.jurisdiction.policies.iter() {
        catalog.add_policy(policy.name.clone());
    }
    Ok(catalog)
}

/// Reads a stored ruleset's source in its format.
pub fn parse_stored(stored: &StoredRuleset) -> Result<Ruleset, ServiceError> {
    parse(&stored.source, &stored.format)
        .map_err(|e| ServiceError::Internal(format!("stored ruleset {} does not parse: {e}", stored.version)))
}

/// Reads ruleset source text in `format` (`toml` or `json`).
pub fn parse(source: &str, format: &str) -> Result<Ruleset, ParseError> {
    match format {
        "json" => Ruleset::from_json(source),
        _ => Ruleset::from_toml(source),
    }
}

/// A source that does not parse, as a 422 on `source` (the message names line and column).
pub fn parse_error(error: ParseError) -> ServiceError {
    ServiceError::field(FieldError::new("source", "syntax", error.to_string()))
}

/// Validation errors as a 422, one entry per error: the field names the rule (`rule[id]`)
/// or the ruleset, and the message names the TOML line when known.
pub fn validation_errors(errors: Vec<ValidationError>) -> ServiceError {
    ServiceError::Invalid(
        errors
            .into_iter()
            .map(|error| {
                let field = match &error.location.rule_id {
                    Some(id) => format!("rule[{id}]"),
                    None => "ruleset".to_owned(),
                };
                FieldError::new(field, "invalid_rule", error.to_string())
            })
            .collect(),
    )
}

/// What routing may test about an appeal being filed now.
pub fn facts_of_new(app: &App, new: &NewAppeal, channel: Channel, now: DateTime<Utc>) -> RoutingFacts {
    RoutingFacts {
        kind: new.kind,
        category: new.category.as_str().to_owned(),
        territory: new.district.as_ref().unwrap_or(&new.region).as_str().to_owned(),
        subject: new.subject.as_str().to_owned(),
        text: new.text.as_str().to_owned(),
        collective: new.co_signers.is_some(),
        applicant_type: new.applicant.applicant_type(),
        channel,
        filed_on: app.jurisdiction.calendar.current().local_date(now),
    }
}

/// What routing may test about an appeal already stored; `None` for a row whose vocabulary
/// values no longer parse (it is then left out of a replay).
pub fn facts_of_stored(app: &App, appeal: &Appeal) -> Option<RoutingFacts> {
    Some(RoutingFacts {
        kind: appeal.kind.parse().ok()?,
        category: appeal.category_code.clone(),
        territory: appeal.district_code.clone().unwrap_or_else(|| appeal.region_code.clone()),
        subject: appeal.subject.clone(),
        text: appeal.body.clone(),
        collective: appeal.co_signers_count > 1,
        applicant_type: appeal.applicant_type.parse().ok()?,
        channel: appeal.channel.parse().ok()?,
        filed_on: app.jurisdiction.calendar.current().local_date(appeal.registered_at),
    })
}
