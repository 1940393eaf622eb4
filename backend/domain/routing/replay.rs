//! Replay: what a new ruleset would change for appeals already routed, computed without
//! changing anything.

use std::collections::BTreeMap;

use serde::Serialize;

use super::decision::Decision;
use super::facts::RoutingFacts;
use super::router::Router;

/// One routed appeal to replay: its id (whatever the caller uses), its facts and the
/// decision it got.
#[derive(Debug, Clone)]
pub struct ReplayItem<Id> {
    pub appeal_id: Id,
    pub facts: RoutingFacts,
    pub old: Decision,
}

/// How many appeals would stay with their agency and which would move where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplayReport<Id> {
    /// Appeals whose agency would not change (their policy, priority or tags may).
    pub unchanged: usize,
    /// One entry per (old agency, new agency) pair, most appeals first, then by codes.
    pub moves: Vec<Move<Id>>,
}

/// Appeals that would go from one agency to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Move<Id> {
    pub from: String,
    pub to: String,
    pub count: usize,
    /// The first appeals (in input order) that would move, at most the number asked for.
    pub examples: Vec<Id>,
}

/// Routes every item with `router` and compares the agency with the old decision, keeping at
/// most `examples_per_move` example ids per move. Pure: the same items give the same report.
pub fn replay<'a, Id: Clone + 'a>(
    items: impl IntoIterator<Item = &'a ReplayItem<Id>>,
    router: &Router,
    examples_per_move: usize,
) -> ReplayReport<Id> {
    let mut unchanged = 0;
    let mut moves: BTreeMap<(String, String), Move<Id>> = BTreeMap::new();
    for item in items {
        let new = router.route(&item.facts);
        if new.agency == item.old.agency {
            unchanged += 1;
            continue;
        }
        let from = item.old.agency.clone();
        let entry = moves.entry((from.clone(), new.agency.clone())).or_insert_with(|| Move {
            from,
            to: new.agency,
            count: 0,
            examples: Vec::new(),
        });
        entry.count += 1;
        if entry.examples.len() < examples_per_move {
            entry.examples.push(item.appeal_id.clone());
        }
    }
    let mut moves: Vec<Move<Id>> = moves.into_values().collect();
    moves.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| (&a.from, &a.to).cmp(&(&b.from, &b.to))));
    ReplayReport { unchanged, moves }
}
