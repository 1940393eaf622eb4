//! The lifecycle, written out a second time as the spec. Every (status, action, actor)
//! triple is checked against this grid: `x` allowed, `.` refused. A (status, action) pair
//! that is not listed is refused for every actor.

use super::*;
use std::collections::HashMap;

const EXPECTED: &str = "
# from             action             to                citizen official supervisor admin system
registered         take               in_progress       .       x        x          .     .
registered         assign             in_progress       .       x        x          .     .
registered         forward            registered        .       x        x          .     .
registered         reroute            registered        .       .        x          .     .
registered         dismiss            dismissed         .       x        x          .     .
registered         withdraw           withdrawn         x       .        .          .     .
registered         note               registered        .       x        x          .     .
registered         message            registered        x       x        x          .     .
in_progress        take               in_progress       .       x        x          .     .
in_progress        assign             in_progress       .       x        x          .     .
in_progress        request_info       awaiting_citizen  .       x        x          .     .
in_progress        forward            registered        .       x        x          .     .
in_progress        reroute            registered        .       .        x          .     .
in_progress        request_extension  in_progress       .       x        x          .     .
in_progress        grant_extension    in_progress       .       .        x          .     .
in_progress        refuse_extension   in_progress       .       .        x          .     .
in_progress        answer             answered          .       x        x          .     .
in_progress        dismiss            dismissed         .       x        x          .     .
in_progress        withdraw           withdrawn         x       .        .          .     .
in_progress        note               in_progress       .       x        x          .     .
in_progress        message            in_progress       x       x        x          .     .
awaiting_citizen   assign             awaiting_citizen  .       x        x          .     .
awaiting_citizen   reply              in_progress       x       .        .          .     .
awaiting_citizen   request_extension  awaiting_citizen  .       x        x          .     .
awaiting_citizen   grant_extension    awaiting_citizen  .       .        x          .     .
awaiting_citizen   refuse_extension   awaiting_citizen  .       .        x          .     .
awaiting_citizen   withdraw           withdrawn         x       .        .          .     .
awaiting_citizen   note               awaiting_citizen  .       x        x          .     .
awaiting_citizen   message            awaiting_citizen  .       x        x          .     .
awaiting_citizen   abandon            closed            .       .        .          .     x
answered           contest            contested         x       .        .          .     .
answered           note               answered          .       x        x          .     .
answered           close              closed            .       .        .          .     x
contested          assign             contested         .       .        x          .     .
contested          uphold             closed            .       .        x          .     .
contested          reopen             in_progress       .       .        x          .     .
contested          withdraw           closed            x       .        .          .     .
contested          note               contested         .       x        x          .     .
contested          message            contested         x       x        x          .     .
dismissed          note               dismissed         .       x        x          .     .
withdrawn          note               withdrawn         .       x        x          .     .
closed             note               closed            .       x        x          .     .
";

/// Actor columns of the grid, in order.
const ACTOR_COLUMNS: [ActorKind; 5] = [
    ActorKind::CitizenOwner,
    ActorKind::Official,
    ActorKind::Supervisor,
    ActorKind::Admin,
    ActorKind::System,
];

/// (from, action, actor) -> to, for every allowed triple in the grid.
fn expected() -> HashMap<(Status, Action, ActorKind), Status> {
    let mut allowed = HashMap::new();
    let mut pairs = std::collections::HashSet::new();
    for line in EXPECTED.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cells.len(), 8, "malformed grid line: {line}");
        let from: Status = cells[0].parse().unwrap();
        let action: Action = cells[1].parse().unwrap();
        let to: Status = cells[2].parse().unwrap();
        assert!(pairs.insert((from, action)), "duplicate grid line: {line}");
        for (actor, mark) in ACTOR_COLUMNS.iter().zip(&cells[3..]) {
            match *mark {
                "x" => {
                    allowed.insert((from, action, *actor), to);
                }
                "." => {}
                other => panic!("unknown mark {other:?} in: {line}"),
            }
        }
    }
    allowed
}

#[test]
fn every_triple_matches_the_grid() {
    let expected = expected();
    let mut checked = 0;
    for &status in Status::ALL {
        for &action in Action::ALL {
            for &actor in ActorKind::ALL {
                let got = transition(status, action, actor);
                match expected.get(&(status, action, actor)) {
                    Some(&to) => {
                        assert_eq!(got.as_ref().map(|t| t.to), Ok(to), "{status} --{action}/{actor}-->")
                    }
                    None => assert!(got.is_err(), "{status} --{action}/{actor}--> should be refused"),
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, Status::ALL.len() * Action::ALL.len() * ActorKind::ALL.len());
}

#[test]
fn a_refusal_lists_exactly_what_the_actor_may_do_now() {
    let expected = expected();
    for &status in Status::ALL {
        for &actor in ActorKind::ALL {
            let mut want: Vec<Action> =
                Action::ALL.iter().copied().filter(|a| expected.contains_key(&(status, *a, actor))).collect();
            want.sort();
            let mut got = allowed_actions(status, actor);
            got.sort();
            assert_eq!(got, want, "allowed actions for {actor} in {status}");
            for &action in Action::ALL {
                if let Err(refusal) = transition(status, action, actor) {
                    assert_eq!(refusal.status, status);
                    assert_eq!(refusal.allowed, allowed_actions(status, actor));
                }
            }
        }
    }
}

#[test]
fn the_table_has_at_most_one_row_per_status_and_action() {
    for (i, a) in RULES.iter().enumerate() {
        for b in &RULES[i + 1..] {
            assert!(!(a.from == b.from && a.action == b.action), "two rows for {} / {}", a.from, a.action);
        }
    }
}

#[test]
fn admins_never_work_appeals() {
    for &action in Action::ALL {
        assert!(!ever_allowed(action, ActorKind::Admin), "admin may {action}");
    }
}

#[test]
fn terminal_statuses_only_take_notes_and_open_ones_can_be_withdrawn() {
    for &status in Status::ALL {
        let everyone: Vec<Action> = ActorKind::ALL
            .iter()
            .flat_map(|actor| allowed_actions(status, *actor))
            .filter(|a| *a != Action::Note)
            .collect();
        assert_eq!(status.is_terminal(), everyone.is_empty(), "{status}");
        let withdrawable = transition(status, Action::Withdraw, ActorKind::CitizenOwner).is_ok();
        assert_eq!(status.is_open(), withdrawable, "{status}");
    }
    assert!(!Status::Answered.is_open() && !Status::Answered.is_terminal());
    assert!(Status::INITIAL.is_open());
}

#[test]
fn status_changes_are_always_public_and_notes_never_are() {
    let take = transition(Status::Registered, Action::Assign, ActorKind::Official).unwrap();
    assert_eq!(take.visibility(), Visibility::Public);
    let reassign = transition(Status::InProgress, Action::Assign, ActorKind::Supervisor).unwrap();
    assert_eq!(reassign.visibility(), Visibility::Internal);
    let note = transition(Status::Closed, Action::Note, ActorKind::Official).unwrap();
    assert_eq!(note.visibility(), Visibility::Internal);
    let message = transition(Status::InProgress, Action::Message, ActorKind::CitizenOwner).unwrap();
    assert_eq!(message.visibility(), Visibility::Public);
    let granted = transition(Status::InProgress, Action::GrantExtension, ActorKind::Supervisor).unwrap();
    assert_eq!(granted.visibility(), Visibility::Public);
    let requested = transition(Status::InProgress, Action::RequestExtension, ActorKind::Official).unwrap();
    assert_eq!(requested.visibility(), Visibility::Internal);
}

#[test]
fn while_the_agency_awaits_the_citizen_what_the_citizen_writes_is_a_reply() {
    let refusal = transition(Status::AwaitingCitizen, Action::Message, ActorKind::CitizenOwner).unwrap_err();
    assert!(refusal.allowed.contains(&Action::Reply), "{:?}", refusal.allowed);
    let reply = transition(Status::AwaitingCitizen, Action::Reply, ActorKind::CitizenOwner).unwrap();
    assert_eq!(reply.to, Status::InProgress);
    let staff = transition(Status::AwaitingCitizen, Action::Message, ActorKind::Official).unwrap();
    assert_eq!(staff.to, Status::AwaitingCitizen);
}

#[test]
fn refusal_message_names_status_and_alternatives() {
    let refusal = transition(Status::Answered, Action::Withdraw, ActorKind::CitizenOwner).unwrap_err();
    assert_eq!(refusal.allowed, vec![Action::Contest]);
    assert_eq!(
        refusal.to_string(),
        "cannot withdraw an appeal that is answered (as citizen_owner); allowed now: contest"
    );
    let admin = transition(Status::Registered, Action::Take, ActorKind::Admin).unwrap_err();
    assert!(admin.allowed.is_empty());
    assert!(admin.to_string().ends_with("allowed now: nothing"));
}

#[test]
fn forwarding_registers_the_appeal_anew() {
    for action in [Action::Forward, Action::Reroute] {
        assert!(action.moves_agency());
        let t = transition(Status::InProgress, action, ActorKind::Supervisor).unwrap();
        assert_eq!(t.to, Status::Registered);
    }
    assert!(!Action::Assign.moves_agency());
}

#[test]
fn every_title_is_written_in_every_language() {
    for &locale in Locale::ALL {
        for &status in Status::ALL {
            assert!(!status.title(locale).is_empty());
        }
        for &outcome in Outcome::ALL {
            assert!(!outcome.title(locale).is_empty());
        }
        for &reason in DismissalReason::ALL {
            assert!(!reason.title(locale).is_empty());
        }
    }
    assert_eq!(Status::Dismissed.title(Locale::Ru), "Оставлено без рассмотрения");
    assert_eq!(
        "not_competent_nowhere_to_forward".parse::<DismissalReason>(),
        Ok(DismissalReason::NotCompetentNowhereToForward)
    );
}
