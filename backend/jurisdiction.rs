//! The jurisdiction's law as data: its business calendar and deadline policies, read from
//! the configuration folder at start-up.

use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};

use crate::config::Settings;
use crate::domain::calendar::{BusinessCalendar, CalendarRules, YearTable};
use crate::domain::deadline::{DeadlinePolicies, DeadlinePolicy};
use crate::domain::submission::BoundingBox;

/// What the law of the jurisdiction says, loaded once.
#[derive(Debug, Clone)]
pub struct Jurisdiction {
    /// The business calendar in force: the files' until the database's is loaded, then the
    /// database's, replaced whenever an administrator edits a year.
    pub calendar: CalendarCache,
    pub policies: DeadlinePolicies,
    pub bounds: BoundingBox,
}

/// Why the jurisdiction's files could not be read.
#[derive(Debug, thiserror::Error)]
pub enum JurisdictionError {
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    #[error("deadline policy '{0}' (appeals.default_policy) is not defined")]
    UnknownDefaultPolicy(String),
}

impl Jurisdiction {
    /// Reads `calendar/<name>.toml`, every `calendar/<name>-<year>.toml` and the deadline
    /// policies file from the configuration folder.
    pub fn load(settings: &Settings) -> Result<Self, JurisdictionError> {
        let dir = &settings.config_dir;
        let name = &settings.jurisdiction.calendar;
        let calendar_dir = dir.join("calendar");
        let base_path = calendar_dir.join(format!("{name}.toml"));
        let base = read(&base_path)?;
        let mut years: Vec<(String, String)> = Vec::new();
        let prefix = format!("{name}-");
        let entries = std::fs::read_dir(&calendar_dir).map_err(|e| file_error(&calendar_dir, e))?;
        for entry in entries.flatten() {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            if file_name.starts_with(&prefix) && file_name.ends_with(".toml") {
                years.push((file_name, read(&entry.path())?));
            }
        }
        years.sort();
        let invalid = |e: crate::domain::calendar::CalendarError| JurisdictionError::File {
            path: calendar_dir.display().to_string(),
            reason: e.to_string(),
        };
        let rules = BusinessCalendar::parse_rules(&base).map_err(invalid)?;
        let tables = years
            .iter()
            .map(|(name, text)| BusinessCalendar::parse_year_table(name, text))
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid)?;
        let calendar = BusinessCalendar::new(rules, tables.clone()).map_err(invalid)?;
        let in_force = InForce { calendar: Arc::new(calendar), stored: None };
        let calendar = CalendarCache { rules, files: tables, current: Arc::new(RwLock::new(in_force)) };
        let policies_path = dir.join(&settings.jurisdiction.deadlines_file);
        let policies = DeadlinePolicies::from_toml(&read(&policies_path)?).map_err(|e| {
            JurisdictionError::File { path: policies_path.display().to_string(), reason: e.to_string() }
        })?;
        if policies.get(&settings.appeals.default_policy).is_none() {
            return Err(JurisdictionError::UnknownDefaultPolicy(settings.appeals.default_policy.clone()));
        }
        Ok(Self { calendar, policies, bounds: settings.appeals.bounding_box })
    }

    /// A policy by name, falling back to the default one.
    pub fn policy(&self, name: &str, default: &str) -> &DeadlinePolicy {
        self.policies
            .get(name)
            .or_else(|| self.policies.get(default))
            .expect("the default policy was checked at start-up")
    }
}

fn read(path: &Path) -> Result<String, JurisdictionError> {
    std::fs::read_to_string(path).map_err(|e| file_error(path, e))
}

fn file_error(path: &Path, e: std::io::Error) -> JurisdictionError {
    JurisdictionError::File { path: path.display().to_string(), reason: e.to_string() }
}

/// The calendar in force, shared by every request and job of the process. Readers take a
/// cheap snapshot ([`Self::current`]); an edit swaps in a new calendar ([`Self::replace`],
/// [`Self::replace_stored`]).
#[derive(Debug, Clone)]
pub struct CalendarCache {
    rules: CalendarRules,
    files: Vec<YearTable>,
    current: Arc<RwLock<InForce>>,
}

/// The calendar in force and, when it was read from the database, the tables it was built
/// from.
#[derive(Debug)]
struct InForce {
    calendar: Arc<BusinessCalendar>,
    stored: Option<Vec<YearTable>>,
}

impl CalendarCache {
    /// The calendar as it is now.
    pub fn current(&self) -> Arc<BusinessCalendar> {
        self.current.read().unwrap_or_else(PoisonError::into_inner).calendar.clone()
    }

    /// Puts `calendar` in force for everything that reads the calendar from now on.
    pub fn replace(&self, calendar: BusinessCalendar) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) =
            InForce { calendar: Arc::new(calendar), stored: None };
    }

    /// Puts `calendar`, built from the database's `tables`, in force.
    pub fn replace_stored(&self, calendar: BusinessCalendar, tables: Vec<YearTable>) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) =
            InForce { calendar: Arc::new(calendar), stored: Some(tables) };
    }

    /// Whether the calendar in force was built from exactly these tables of the database.
    pub fn holds(&self, tables: &[YearTable]) -> bool {
        self.current.read().unwrap_or_else(PoisonError::into_inner).stored.as_deref() == Some(tables)
    }

    /// The time zone and weekend (from the base file; not edited through the API).
    pub fn rules(&self) -> CalendarRules {
        self.rules
    }

    /// The year tables the configuration files declare: the seed of an empty database.
    pub fn file_tables(&self) -> &[YearTable] {
        &self.files
    }
}
