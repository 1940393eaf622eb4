//! Reading a [`Catalog`] from the reference-data TOML files in `config/demo/` (territories,
//! agencies, categories). The caller reads the files; this only parses text.

use serde::Deserialize;

use super::catalog::{Agency, Catalog};

/// A reference-data file that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {source}")]
pub struct CatalogFileError {
    /// Which file: "territories", "agencies" or "categories".
    pub file: &'static str,
    #[source]
    pub source: toml::de::Error,
}

#[derive(Deserialize)]
struct Territories {
    territory: Vec<Entry>,
}

#[derive(Deserialize)]
struct Categories {
    category: Vec<Entry>,
}

/// A territory or category; names and other fields are not routing's concern.
#[derive(Deserialize)]
struct Entry {
    code: String,
    #[serde(default)]
    parent: String,
}

#[derive(Deserialize)]
struct Agencies {
    agency: Vec<AgencyEntry>,
}

#[derive(Deserialize)]
struct AgencyEntry {
    code: String,
    kind: String,
    #[serde(default = "active_by_default")]
    active: bool,
    #[serde(default)]
    covers: Vec<String>,
}

fn active_by_default() -> bool {
    true
}

/// Builds a catalog from the text of the three reference files and the policy names.
/// Unknown fields (names, websites, e-mail) are ignored; an agency is active unless it says
/// `active = false`.
pub fn catalog_from_toml(
    territories: &str,
    agencies: &str,
    categories: &str,
    policies: &[&str],
) -> Result<Catalog, CatalogFileError> {
    let parse_error = |file| move |source| CatalogFileError { file, source };
    let territories: Territories = toml::from_str(territories).map_err(parse_error("territories"))?;
    let agencies: Agencies = toml::from_str(agencies).map_err(parse_error("agencies"))?;
    let categories: Categories = toml::from_str(categories).map_err(parse_error("categories"))?;

    let mut catalog = Catalog::new();
    for entry in territories.territory {
        catalog.add_territory(entry.code, Some(&entry.parent));
    }
    for entry in categories.category {
        catalog.add_category(entry.code, Some(&entry.parent));
    }
    for entry in agencies.agency {
        catalog.add_agency(Agency {
            code: entry.code,
            kind: entry.kind,
            active: entry.active,
            covers: entry.covers,
        });
    }
    for policy in policies {
        catalog.add_policy(*policy);
    }
    Ok(catalog)
}
