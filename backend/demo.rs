//! The demo jurisdiction: Tajikistan's agencies from `config/demo/`, and one account per
//! role, seeded only into an empty database by `murojiat serve --demo`.

pub mod appeals;

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use uuid::Uuid;

use crate::app::App;
use crate::domain::locale::Locale;
use crate::domain::role::Role;
use crate::services::ServiceError;
use crate::services::accounts::{self, NewAccount};
use crate::services::routing;
use crate::store::agencies::{self, NewAgency};
use crate::store::reference::{self, Category, Territory};
use crate::store::rulesets::{self, NewRuleset};
use crate::store::{coverage, users};

/// One agency of `config/demo/agencies.toml`.
#[derive(Debug, Deserialize)]
pub struct DemoAgency {
    pub code: String,
    pub kind: String,
    #[serde(default)]
    pub parent: String,
    pub name_tg: String,
    pub name_ru: String,
    pub name_en: String,
    pub email: Option<String>,
    pub website: Option<String>,
    /// Territory codes the agency's area covers (used by routing).
    #[serde(default)]
    pub covers: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct AgencyFile {
    agency: Vec<DemoAgency>,
}

/// One territory of `config/demo/territories.toml` (a region or a district).
#[derive(Debug, Deserialize)]
pub struct DemoTerritory {
    pub code: String,
    #[serde(default)]
    pub parent: String,
    pub kind: String,
    pub name_tg: String,
    pub name_ru: String,
    pub name_en: String,
}

#[derive(Debug, Deserialize)]
struct TerritoryFile {
    territory: Vec<DemoTerritory>,
}

/// One category of `config/demo/categories.toml`.
#[derive(Debug, Deserialize)]
pub struct DemoCategory {
    pub code: String,
    #[serde(default)]
    pub parent: String,
    pub name_tg: String,
    pub name_ru: String,
    pub name_en: String,
}

#[derive(Debug, Deserialize)]
struct CategoryFile {
    category: Vec<DemoCategory>,
}

/// A demo account whose credentials are printed at start-up.
#[derive(Debug, Clone)]
pub struct DemoAccount {
    pub role: Role,
    pub email: &'static str,
    pub password: &'static str,
    pub full_name: &'static str,
    pub agency: Option<&'static str>,
}

/// The demo accounts. Their passwords are public: never run `--demo` on a server that holds
/// real appeals.
pub const ACCOUNTS: &[DemoAccount] = &[
    DemoAccount {
        role: Role::Citizen,
        email: "citizen@demo.murojiat.tj",
        password: "demo-citizen-2026",
        full_name: "Нигора Раҳимова",
        agency: None,
    },
    DemoAccount {
        role: Role::Official,
        email: "official@demo.murojiat.tj",
        password: "demo-official-2026",
        full_name: "Фаррух Каримов",
        agency: Some("hukumat-dushanbe"),
    },
    DemoAccount {
        role: Role::Supervisor,
        email: "supervisor@demo.murojiat.tj",
        password: "demo-supervisor-2026",
        full_name: "Малика Саидова",
        agency: Some("hukumat-dushanbe"),
    },
    DemoAccount {
        role: Role::Admin,
        email: "admin@demo.murojiat.tj",
        password: "demo-admin-2026",
        full_name: "Administrator",
        agency: None,
    },
];

/// Why the demo could not be seeded.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    #[error("agency '{code}' names unknown parent '{parent}'")]
    UnknownParent { code: String, parent: String },
    #[error("config/demo/rules.toml: {0}")]
    Rules(String),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// Reads the demo agencies from `config_dir/demo/agencies.toml`.
pub fn load_agencies(config_dir: &Path) -> Result<Vec<DemoAgency>, DemoError> {
    Ok(read_toml::<AgencyFile>(config_dir, "agencies")?.agency)
}

/// Reads the demo territories from `config_dir/demo/territories.toml`.
pub fn load_territories(config_dir: &Path) -> Result<Vec<DemoTerritory>, DemoError> {
    Ok(read_toml::<TerritoryFile>(config_dir, "territories")?.territory)
}

/// Reads the demo categories from `config_dir/demo/categories.toml`.
pub fn load_categories(config_dir: &Path) -> Result<Vec<DemoCategory>, DemoError> {
    Ok(read_toml::<CategoryFile>(config_dir, "categories")?.category)
}

fn read_toml<T: serde::de::DeserializeOwned>(config_dir: &Path, name: &str) -> Result<T, DemoError> {
    let path = config_dir.join(format!("demo/{name}.toml"));
    let text = std::fs::read_to_string(&path)
        .map_err(|e| DemoError::File { path: path.display().to_string(), reason: e.to_string() })?;
    toml::from_str(&text)
        .map_err(|e| DemoError::File { path: path.display().to_string(), reason: e.to_string() })
}

/// Inserts the demo territories and categories that are not in the database yet (by code),
/// parents first. Rows already there are left as an administrator may have changed them, so
/// running it again changes nothing. Returns how many rows it inserted.
pub async fn seed_reference(app: &App, config_dir: &Path) -> Result<usize, DemoError> {
    let territories = load_territories(config_dir)?;
    let categories = load_categories(config_dir)?;
    let conn = app.db.conn();
    let known_territories: Vec<String> =
        reference::territories(conn).await.map_err(ServiceError::from)?.into_iter().map(|t| t.code).collect();
    let known_categories: Vec<String> =
        reference::categories(conn).await.map_err(ServiceError::from)?.into_iter().map(|c| c.code).collect();
    let txn = app.db.write().await.map_err(ServiceError::from)?;
    let mut inserted = 0;
    // Top-level rows first: the files list parents before children, but do not rely on it.
    for top_level in [true, false] {
        for t in territories.iter().filter(|t| t.parent.is_empty() == top_level) {
            if known_territories.contains(&t.code) {
                continue;
            }
            let row = Territory {
                code: t.code.clone(),
                parent_code: (!t.parent.is_empty()).then(|| t.parent.clone()),
                name_tg: t.name_tg.clone(),
                name_ru: t.name_ru.clone(),
                name_en: t.name_en.clone(),
                active: true,
                kind: t.kind.clone(),
            };
            reference::insert_territory(&txn, row).await.map_err(ServiceError::from)?;
            inserted += 1;
        }
        for c in categories.iter().filter(|c| c.parent.is_empty() == top_level) {
            if known_categories.contains(&c.code) {
                continue;
            }
            let row = Category {
                code: c.code.clone(),
                parent_code: (!c.parent.is_empty()).then(|| c.parent.clone()),
                name_tg: c.name_tg.clone(),
                name_ru: c.name_ru.clone(),
                name_en: c.name_en.clone(),
                active: true,
            };
            reference::insert_category(&txn, row).await.map_err(ServiceError::from)?;
            inserted += 1;
        }
    }
    txn.commit().await.map_err(ServiceError::from)?;
    app.reference.invalidate();
    Ok(inserted)
}

/// Seeds the demo jurisdiction if the database holds no agency and no account yet. Returns
/// whether it seeded.
pub async fn seed_if_empty(app: &App, config_dir: &Path) -> Result<bool, DemoError> {
    let conn = app.db.conn();
    let empty = agencies::count(conn).await.map_err(ServiceError::from)? == 0
        && users::search(conn, &users::UserSearch { limit: 1, ..Default::default() })
            .await
            .map_err(ServiceError::from)?
            .is_empty();
    if !empty {
        return Ok(false);
    }
    let list = load_agencies(config_dir)?;
    let now = app.clock.now();
    let ids: HashMap<&str, Uuid> = list.iter().map(|a| (a.code.as_str(), Uuid::now_v7())).collect();
    let txn = app.db.write().await.map_err(ServiceError::from)?;
    // Parents first, so every foreign key points at a row that exists.
    for agency in in_parent_order(&list)? {
        let parent_id = (!agency.parent.is_empty()).then(|| ids[agency.parent.as_str()]);
        agencies::insert(
            &txn,
            NewAgency {
                id: ids[agency.code.as_str()],
                code: agency.code.clone(),
                kind: agency.kind.clone(),
                name_tg: agency.name_tg.clone(),
                name_ru: agency.name_ru.clone(),
                name_en: agency.name_en.clone(),
                parent_id,
                email: agency.email.clone(),
                time_zone: "Asia/Dushanbe".into(),
                now,
            },
        )
        .await
        .map_err(ServiceError::from)?;
        coverage::replace(&txn, ids[agency.code.as_str()], &agency.covers)
            .await
            .map_err(ServiceError::from)?;
    }
    txn.commit().await.map_err(ServiceError::from)?;
    app.directory.invalidate();
    for account in ACCOUNTS {
        accounts::create_account(
            app,
            NewAccount {
                email: account.email.into(),
                full_name: account.full_name.into(),
                role: account.role,
                agency: account.agency.map(str::to_owned),
                locale: Some(if account.role == Role::Admin { Locale::En } else { Locale::Tg }),
                password: Some(account.password.into()),
            },
        )
        .await?;
    }
    Ok(true)
}

/// Stores `config/demo/rules.toml` as ruleset version 1 and activates it, unless some
/// ruleset exists. The rules are validated against the catalog in the database first.
/// Returns whether it stored them.
pub async fn seed_rules_if_none(app: &App, config_dir: &Path) -> Result<bool, DemoError> {
    if rulesets::count(app.db.conn()).await.map_err(ServiceError::from)? > 0 {
        return Ok(false);
    }
    let path = config_dir.join("demo/rules.toml");
    let source = std::fs::read_to_string(&path)
        .map_err(|e| DemoError::File { path: path.display().to_string(), reason: e.to_string() })?;
    let ruleset = routing::parse(&source, "toml").map_err(|e| DemoError::Rules(e.to_string()))?;
    let txn = app.db.write().await.map_err(ServiceError::from)?;
    let catalog = routing::catalog(app, &txn).await?;
    let validation = crate::domain::routing::validate(&ruleset, &catalog);
    if let Some(error) = validation.errors.first() {
        return Err(DemoError::Rules(error.to_string()));
    }
    let now = crate::services::appeals::stored_instant(app.clock.now());
    let new = NewRuleset {
        author_id: None,
        created_at: now,
        source,
        format: "toml".into(),
        description: Some("Demo rules for the Tajik jurisdiction".into()),
    };
    let stored = rulesets::insert_draft(&txn, new).await.map_err(ServiceError::from)?;
    rulesets::activate(&txn, app.db.backend(), stored.version, now).await.map_err(ServiceError::from)?;
    txn.commit().await.map_err(ServiceError::from)?;
    app.routing.invalidate();
    Ok(true)
}

fn in_parent_order(list: &[DemoAgency]) -> Result<Vec<&DemoAgency>, DemoError> {
    let codes: Vec<&str> = list.iter().map(|a| a.code.as_str()).collect();
    if let Some(orphan) = list.iter().find(|a| !a.parent.is_empty() && !codes.contains(&a.parent.as_str())) {
        return Err(DemoError::UnknownParent { code: orphan.code.clone(), parent: orphan.parent.clone() });
    }
    let mut ordered: Vec<&DemoAgency> = Vec::with_capacity(list.len());
    while ordered.len() < list.len() {
        let before = ordered.len();
        for agency in list {
            let placed = ordered.iter().any(|a| a.code == agency.code);
            let parent_placed = agency.parent.is_empty() || ordered.iter().any(|a| a.code == agency.parent);
            if !placed && parent_placed {
                ordered.push(agency);
            }
        }
        if ordered.len() == before {
            let stuck =
                list.iter().find(|a| !ordered.iter().any(|o| o.code == a.code)).map(|a| a.code.clone());
            return Err(DemoError::UnknownParent {
                code: stuck.unwrap_or_default(),
                parent: "(a cycle)".into(),
            });
        }
    }
    Ok(ordered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_reference_data_parses_and_is_two_levels_deep() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let territories = load_territories(&dir).unwrap();
        let regions: Vec<&str> =
            territories.iter().filter(|t| t.parent.is_empty()).map(|t| t.code.as_str()).collect();
        assert_eq!(regions.len(), 5, "{regions:?}");
        assert!(territories.iter().all(|t| t.parent.is_empty() || regions.contains(&t.parent.as_str())));
        let categories = load_categories(&dir).unwrap();
        assert!(categories.len() >= 30, "{}", categories.len());
        let tops: Vec<&str> =
            categories.iter().filter(|c| c.parent.is_empty()).map(|c| c.code.as_str()).collect();
        assert!(categories.iter().all(|c| c.parent.is_empty() || tops.contains(&c.parent.as_str())));
    }

    #[test]
    fn the_demo_agencies_parse_and_every_parent_exists() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let list = load_agencies(&dir).unwrap();
        assert!(list.len() >= 25, "the demo needs at least 25 agencies, has {}", list.len());
        assert_eq!(in_parent_order(&list).unwrap().len(), list.len());
        for account in ACCOUNTS.iter().filter_map(|a| a.agency) {
            assert!(list.iter().any(|a| a.code == account), "{account}");
        }
    }
}
