//! The jurisdiction's law as data: its business calendar and deadline policies, read from
//! the configuration folder at start-up.

use std::path::Path;

use crate::config::Settings;
use crate::domain::calendar::BusinessCalendar;
use crate::domain::deadline::{DeadlinePolicies, DeadlinePolicy};
use crate::domain::submission::BoundingBox;

/// What the law of the jurisdiction says, loaded once.
#[derive(Debug, Clone)]
pub struct Jurisdiction {
    pub calendar: BusinessCalendar,
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
        let year_refs: Vec<(&str, &str)> = years.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
        let calendar = BusinessCalendar::from_toml(&base, &year_refs).map_err(|e| {
            JurisdictionError::File { path: calendar_dir.display().to_string(), reason: e.to_string() }
        })?;
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
