//! The reference data a ruleset is checked and compiled against: agencies, the category and
//! territory trees, and the deadline policy names. The caller fills it (from the database,
//! or from the demo files with [`super::catalog_files`]); routing only reads it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// An agency as routing sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agency {
    pub code: String,
    /// A free label shared by agencies of one sort, e.g. `"district-hukumat"`.
    pub kind: String,
    /// Only active agencies receive appeals.
    pub active: bool,
    /// Territory codes this agency serves; empty for agencies without an area.
    pub covers: Vec<String>,
}

/// A tree of codes given as child -> parent links (categories or territories).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hierarchy {
    parents: HashMap<String, Option<String>>,
}

impl Hierarchy {
    /// Adds `code` under `parent` (`None` for a root). A later call for the same code
    /// replaces its parent.
    pub fn insert(&mut self, code: impl Into<String>, parent: Option<String>) {
        self.parents.insert(code.into(), parent.filter(|p| !p.is_empty()));
    }

    /// Whether the code was inserted.
    pub fn contains(&self, code: &str) -> bool {
        self.parents.contains_key(code)
    }

    /// Every inserted code, in no particular order.
    pub fn codes(&self) -> impl Iterator<Item = &str> {
        self.parents.keys().map(String::as_str)
    }

    /// `code` itself, then its parent, grandparent and so on up to the root. An unknown code
    /// yields only itself. Stops early on a cycle, so it always ends.
    pub fn ancestors<'a>(&'a self, code: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let limit = self.parents.len() + 1;
        std::iter::successors(Some(code), move |current| {
            self.parents.get(*current).and_then(|parent| parent.as_deref())
        })
        .take(limit)
    }

    /// Whether `code` is `ancestor` or lies below it.
    pub fn is_within(&self, code: &str, ancestor: &str) -> bool {
        self.ancestors(code).any(|a| a == ancestor)
    }

    /// Whether some other code has `code` as its parent.
    pub fn has_children(&self, code: &str) -> bool {
        self.parents.values().any(|parent| parent.as_deref() == Some(code))
    }
}

/// Agencies, categories, territories and policy names, as of one moment.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    agencies: BTreeMap<String, Agency>,
    /// The category tree.
    pub categories: Hierarchy,
    /// The territory tree.
    pub territories: Hierarchy,
    policies: BTreeSet<String>,
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces an agency.
    pub fn add_agency(&mut self, agency: Agency) {
        self.agencies.insert(agency.code.clone(), agency);
    }

    /// Adds a category under `parent` (`None` or `""` for a top-level one).
    pub fn add_category(&mut self, code: impl Into<String>, parent: Option<&str>) {
        self.categories.insert(code, parent.map(str::to_owned));
    }

    /// Adds a territory under `parent` (`None` or `""` for a top-level one).
    pub fn add_territory(&mut self, code: impl Into<String>, parent: Option<&str>) {
        self.territories.insert(code, parent.map(str::to_owned));
    }

    /// Adds a deadline policy name.
    pub fn add_policy(&mut self, name: impl Into<String>) {
        self.policies.insert(name.into());
    }

    /// The agency with this code, active or not.
    pub fn agency(&self, code: &str) -> Option<&Agency> {
        self.agencies.get(code)
    }

    /// Every agency, ordered by code.
    pub fn agencies(&self) -> impl Iterator<Item = &Agency> {
        self.agencies.values()
    }

    /// Whether a deadline policy of this name exists.
    pub fn has_policy(&self, name: &str) -> bool {
        self.policies.contains(name)
    }

    /// Whether some agency, active or not, has this kind.
    pub fn has_agency_kind(&self, kind: &str) -> bool {
        self.agencies.values().any(|agency| agency.kind == kind)
    }

    /// The active agency of `kind` that covers `territory` or its nearest covered ancestor:
    /// the most specific coverage wins, and among agencies covering the same territory the
    /// smallest code wins (validation warns about such overlaps).
    pub fn covering_agency(&self, kind: &str, territory: &str) -> Option<&Agency> {
        self.territories.ancestors(territory).find_map(|area| {
            self.agencies.values().find(|agency| {
                agency.active && agency.kind == kind && agency.covers.iter().any(|c| c == area)
            })
        })
    }
}
