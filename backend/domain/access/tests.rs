//! The access matrix: every kind of viewer against one appeal, for reading and for every
//! action, written out as the spec.

use super::*;
use crate::domain::tracking::AccessCode;
use rand::SeedableRng;
use rand::rngs::StdRng;

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

// The agency tree: ministry (1) > regional department (2) > district office (3); and an
// unrelated agency (9).
const MINISTRY: u128 = 1;
const REGION: u128 = 2;
const DISTRICT: u128 = 3;
const OTHER: u128 = 9;

const APPEAL: u128 = 100;
const OWNER: u128 = 200;
const ASSIGNEE: u128 = 300;

/// An appeal of the regional department, owned by OWNER and assigned to ASSIGNEE.
fn appeal(ancestors: &[Uuid]) -> AppealFacts<'_> {
    AppealFacts {
        id: id(APPEAL),
        owner: Some(id(OWNER)),
        agency: id(REGION),
        agency_ancestors: ancestors,
        assignee: Some(id(ASSIGNEE)),
    }
}

fn user(n: u128, role: Role, agency: Option<u128>) -> Viewer {
    Viewer::User(User { id: id(n), role, agency: agency.map(id) })
}

fn guest_with_code_for(appeal: u128) -> Viewer {
    let mut rng = StdRng::seed_from_u64(7);
    let code = AccessCode::generate(&mut rng);
    let pass = GuestPass::verify(id(appeal), &code.hash(), &code).expect("right code");
    Viewer::Guest(pass)
}

/// Every viewer in the matrix, by name.
fn viewers() -> Vec<(&'static str, Viewer)> {
    vec![
        ("owner", user(OWNER, Role::Citizen, None)),
        ("other citizen", user(201, Role::Citizen, None)),
        ("guest with code", guest_with_code_for(APPEAL)),
        ("guest with another appeal's code", guest_with_code_for(101)),
        ("assigned official", user(ASSIGNEE, Role::Official, Some(REGION))),
        ("colleague official", user(301, Role::Official, Some(REGION))),
        ("official of parent agency", user(302, Role::Official, Some(MINISTRY))),
        ("official of another agency", user(303, Role::Official, Some(OTHER))),
        ("official without agency", user(304, Role::Official, None)),
        ("supervisor of the agency", user(400, Role::Supervisor, Some(REGION))),
        ("supervisor of parent agency", user(401, Role::Supervisor, Some(MINISTRY))),
        ("supervisor of sub-agency", user(402, Role::Supervisor, Some(DISTRICT))),
        ("supervisor of another agency", user(403, Role::Supervisor, Some(OTHER))),
        ("admin", user(500, Role::Admin, None)),
        ("admin with an agency", user(501, Role::Admin, Some(REGION))),
        ("official who owns it", user(OWNER, Role::Official, Some(REGION))),
        ("system", Viewer::System),
    ]
}

/// viewer -> (view level, actions they may take, whatever the status). `-` sees nothing.
const MATRIX: &str = "
owner                            | public | reply withdraw contest message
other citizen                    | -      |
guest with code                  | public | reply withdraw contest message
guest with another appeal's code | -      |
assigned official                | staff  | take assign request_info forward request_extension answer dismiss note message
colleague official               | staff  | note message
official of parent agency        | -      |
official of another agency       | -      |
official without agency          | -      |
supervisor of the agency         | staff  | take assign request_info forward request_extension grant_extension refuse_extension answer dismiss uphold reopen note message reroute
supervisor of parent agency      | staff  | take assign request_info forward request_extension grant_extension refuse_extension answer dismiss uphold reopen note message reroute
supervisor of sub-agency         | -      |
supervisor of another agency     | -      |
admin                            | -      |
admin with an agency             | -      |
official who owns it             | public | reply withdraw contest message
system                           | staff  | abandon close
";

fn expected() -> Vec<(String, Option<ViewLevel>, Vec<Action>)> {
    MATRIX
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let level = match cells[1] {
                "public" => Some(ViewLevel::Public),
                "staff" => Some(ViewLevel::Staff),
                "-" => None,
                other => panic!("unknown level {other}"),
            };
            let actions = cells[2].split_whitespace().map(|a| a.parse().unwrap()).collect();
            (cells[0].to_owned(), level, actions)
        })
        .collect()
}

#[test]
fn the_access_matrix_holds() {
    let ancestors = [id(MINISTRY)];
    let appeal = appeal(&ancestors);
    let expected = expected();
    let viewers = viewers();
    assert_eq!(viewers.len(), expected.len());
    for ((name, viewer), (want_name, want_level, want_actions)) in viewers.iter().zip(&expected) {
        assert_eq!(name, want_name, "matrix rows out of order");
        assert_eq!(view_level(viewer, &appeal), *want_level, "{name}: view level");
        assert_eq!(allowed(viewer, &appeal, What::ReadPublic), want_level.is_some(), "{name}: read public");
        assert_eq!(
            allowed(viewer, &appeal, What::ReadStaff),
            *want_level == Some(ViewLevel::Staff),
            "{name}: read staff"
        );
        for &action in Action::ALL {
            assert_eq!(
                allowed(viewer, &appeal, What::Act(action)),
                want_actions.contains(&action),
                "{name}: {action}"
            );
        }
    }
}

#[test]
fn an_unassigned_appeal_is_open_to_every_official_of_the_agency() {
    let ancestors = [id(MINISTRY)];
    let appeal = AppealFacts { assignee: None, ..appeal(&ancestors) };
    let colleague = user(301, Role::Official, Some(REGION));
    for action in [Action::Take, Action::Assign, Action::Forward, Action::Dismiss, Action::Answer] {
        assert!(may(&colleague, &appeal, action), "{action}");
    }
    assert!(!may(&colleague, &appeal, Action::GrantExtension));
}

#[test]
fn a_guest_appeal_has_no_owner_account() {
    let appeal = AppealFacts { owner: None, ..appeal(&[]) };
    assert_eq!(view_level(&guest_with_code_for(APPEAL), &appeal), Some(ViewLevel::Public));
    // A citizen whose id happens to be nil must not match a missing owner.
    assert_eq!(view_level(&user(0, Role::Citizen, None), &appeal), None);
}

#[test]
fn a_wrong_code_gives_no_pass() {
    let mut rng = StdRng::seed_from_u64(1);
    let code = AccessCode::generate(&mut rng);
    let other = AccessCode::generate(&mut rng);
    assert!(GuestPass::verify(id(APPEAL), &code.hash(), &other).is_none());
    let pass = GuestPass::verify(id(APPEAL), &code.hash(), &code).unwrap();
    assert_eq!(pass.appeal(), id(APPEAL));
}

#[test]
fn authorize_answers_404_then_403_then_409() {
    let ancestors = [id(MINISTRY)];
    let appeal = appeal(&ancestors);
    let stranger = user(201, Role::Citizen, None);
    assert_eq!(authorize(&stranger, &appeal, Status::InProgress, Action::Withdraw), Err(Denial::NotFound));
    let owner = user(OWNER, Role::Citizen, None);
    assert_eq!(
        authorize(&owner, &appeal, Status::InProgress, Action::Answer),
        Err(Denial::Forbidden(Action::Answer))
    );
    let colleague = user(301, Role::Official, Some(REGION));
    assert_eq!(
        authorize(&colleague, &appeal, Status::InProgress, Action::Answer),
        Err(Denial::Forbidden(Action::Answer))
    );
    match authorize(&owner, &appeal, Status::Answered, Action::Withdraw) {
        Err(Denial::Refused(refusal)) => {
            assert_eq!(refusal.status, Status::Answered);
            assert_eq!(refusal.allowed, vec![Action::Contest]);
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let supervisor = user(401, Role::Supervisor, Some(MINISTRY));
    let step = authorize(&supervisor, &appeal, Status::Contested, Action::Reopen).unwrap();
    assert_eq!((step.actor, step.to), (ActorKind::Supervisor, Status::InProgress));
    let step = authorize(&guest_with_code_for(APPEAL), &appeal, Status::Answered, Action::Contest).unwrap();
    assert_eq!((step.actor, step.to), (ActorKind::CitizenOwner, Status::Contested));
}

#[test]
fn actor_kinds_follow_the_viewer() {
    let ancestors = [id(MINISTRY)];
    let appeal = appeal(&ancestors);
    assert_eq!(actor_kind(&Viewer::System, &appeal), Some(ActorKind::System));
    assert_eq!(
        actor_kind(&user(OWNER, Role::Supervisor, Some(REGION)), &appeal),
        Some(ActorKind::CitizenOwner),
        "staff never work their own appeal"
    );
    assert_eq!(actor_kind(&user(400, Role::Supervisor, Some(REGION)), &appeal), Some(ActorKind::Supervisor));
    assert_eq!(actor_kind(&user(500, Role::Admin, Some(REGION)), &appeal), None);
}
