//! Administrators manage the hierarchy of agencies and the accounts of staff.

use murojiat::store::entity::appeal;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::appeals::{complaint, spawn_appeals_app};
use crate::support::{PASSWORD, agency, assert_problem, spawn_app};

#[tokio::test]
async fn an_admin_builds_a_hierarchy_of_agencies() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let city = app.create_agency(&admin, agency("hukumat-dushanbe").kind("city-hukumat")).await;
    let district = app
        .create_agency(&admin, agency("hukumat-sino").kind("district-hukumat").under("hukumat-dushanbe"))
        .await;
    assert_eq!(district["parent_id"], city["id"]);
    assert_eq!(district["time_zone"], "Asia/Dushanbe");
    assert_eq!(district["active"], true);
    let fetched: Value = app
        .get(&format!("/api/v1/admin/agencies/{}", district["id"].as_str().unwrap()), admin.token())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fetched["code"], "hukumat-sino");
    assert_eq!(fetched["name_tg"], "Вазорати hukumat-sino");
}

#[tokio::test]
async fn an_agency_cannot_be_placed_under_itself_or_its_descendants() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let top = app.create_agency(&admin, agency("top")).await;
    app.create_agency(&admin, agency("middle").under("top")).await;
    app.create_agency(&admin, agency("bottom").under("middle")).await;
    let path = format!("/api/v1/admin/agencies/{}", top["id"].as_str().unwrap());
    for parent in ["top", "bottom"] {
        let response = app.patch_json(&path, &json!({"parent": parent}), admin.token()).await;
        let problem = assert_problem(response, 422, "validation").await;
        assert_eq!(problem.error_code("parent"), Some("cycle"), "under {parent}");
    }
    let unchanged: Value = app.get(&path, admin.token()).await.json().await.unwrap();
    assert_eq!(unchanged["parent_id"], Value::Null);
}

#[tokio::test]
async fn an_agency_code_is_unique_and_permanent() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let created = app.create_agency(&admin, agency("health-ministry")).await;
    let agencies = app.count_agencies().await;
    let response =
        app.post_json("/api/v1/admin/agencies", &agency("health-ministry").json(), admin.token()).await;
    assert_problem(response, 409, "conflict").await;
    assert_eq!(app.count_agencies().await, agencies);
    let path = format!("/api/v1/admin/agencies/{}", created["id"].as_str().unwrap());
    // The code is not among the fields an update accepts.
    let response = app.patch_json(&path, &json!({"code": "renamed"}), admin.token()).await;
    assert_problem(response, 400, "bad-request").await;
}

#[tokio::test]
async fn invalid_agency_fields_are_each_named() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut body = agency("Bad Code").json();
    body["time_zone"] = json!("Mars/Olympus");
    body["email"] = json!("not-an-email");
    body["parent"] = json!("no-such-agency");
    let problem = assert_problem(
        app.post_json("/api/v1/admin/agencies", &body, admin.token()).await,
        422,
        "validation",
    )
    .await;
    let mut fields = problem.error_fields();
    fields.sort_unstable();
    assert_eq!(fields, ["code", "email", "parent", "time_zone"]);
    assert_eq!(app.count_agencies().await, 0);
}

#[tokio::test]
async fn an_admin_updates_and_deactivates_an_agency() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.create_agency(&admin, agency("parent-ministry")).await;
    let created =
        app.create_agency(&admin, agency("water").under("parent-ministry").email("a@water.tj")).await;
    let path = format!("/api/v1/admin/agencies/{}", created["id"].as_str().unwrap());
    let change = json!({"name_en": "Water Agency", "email": null, "parent": null, "active": false});
    let response = app.patch_json(&path, &change, admin.token()).await;
    assert_eq!(response.status(), 200);
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["name_en"], "Water Agency");
    assert_eq!(updated["name_ru"], created["name_ru"], "untouched fields stay");
    assert_eq!(updated["email"], Value::Null);
    assert_eq!(updated["parent_id"], Value::Null);
    assert_eq!(updated["active"], false);
    // A deactivated agency receives no new staff.
    let official = json!({"email": "o@example.tj", "full_name": "O", "role": "official", "agency": "water"});
    let problem = assert_problem(
        app.post_json("/api/v1/admin/users", &official, admin.token()).await,
        422,
        "validation",
    )
    .await;
    assert_eq!(problem.error_code("agency"), Some("inactive"));
}

#[tokio::test]
async fn an_agency_is_deleted_only_when_nothing_refers_to_it() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let parent = app.create_agency(&admin, agency("ministry")).await;
    let child = app.create_agency(&admin, agency("department").under("ministry")).await;
    app.official_of("department").await;
    let parent_path = format!("/api/v1/admin/agencies/{}", parent["id"].as_str().unwrap());
    let child_path = format!("/api/v1/admin/agencies/{}", child["id"].as_str().unwrap());
    assert_problem(app.delete(&parent_path, admin.token()).await, 409, "conflict").await;
    assert_problem(app.delete(&child_path, admin.token()).await, 409, "conflict").await;
    assert_eq!(app.count_agencies().await, 2);

    let lonely = app.create_agency(&admin, agency("short-lived")).await;
    let path = format!("/api/v1/admin/agencies/{}", lonely["id"].as_str().unwrap());
    assert_eq!(app.delete(&path, admin.token()).await.status(), 204);
    assert_problem(app.get(&path, admin.token()).await, 404, "not-found").await;
    assert_problem(app.delete(&path, admin.token()).await, 404, "not-found").await;
}

#[tokio::test]
async fn an_agency_that_appeals_were_filed_to_is_kept_and_its_deletion_refused_with_a_conflict() {
    let app = spawn_appeals_app().await;
    let admin = app.admin().await;
    let citizen = app.citizen().await;
    let filed = app.files(&citizen, &complaint()).await;
    // An agency nobody works at or under, holding the appeal (as after its staff moved on).
    let holder = app.create_agency(&admin, agency("short-lived")).await;
    let holder_id: Uuid = holder["id"].as_str().unwrap().parse().unwrap();
    let appeal_id: Uuid = filed.id.parse().unwrap();
    appeal::Entity::update_many()
        .col_expr(appeal::Column::AgencyId, Expr::value(holder_id))
        .filter(appeal::Column::Id.eq(appeal_id))
        .exec(app.db.conn())
        .await
        .unwrap();
    let agencies = app.count_agencies().await;

    let path = format!("/api/v1/admin/agencies/{holder_id}");
    let problem = assert_problem(app.delete(&path, admin.token()).await, 409, "conflict").await;
    let detail = problem.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("deactivate it instead"), "{problem:?}");
    assert_eq!(app.count_agencies().await, agencies);
    assert_eq!(app.get(&path, admin.token()).await.status(), 200);
    let kept = appeal::Entity::find_by_id(appeal_id).one(app.db.conn()).await.unwrap().unwrap();
    assert_eq!(kept.agency_id, holder_id);
}

#[tokio::test]
async fn a_malformed_or_unknown_id_is_a_404() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for path in
        ["/api/v1/admin/agencies/not-a-uuid", "/api/v1/admin/users/01970000-0000-7000-8000-000000000000"]
    {
        assert_problem(app.get(path, admin.token()).await, 404, "not-found").await;
    }
}

#[tokio::test]
async fn agencies_are_listed_by_code_a_page_at_a_time() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for code in ["delta", "alpha", "echo", "charlie", "bravo"] {
        app.create_agency(&admin, agency(code)).await;
    }
    let mut codes = Vec::new();
    let mut path = "/api/v1/admin/agencies?limit=2".to_owned();
    loop {
        let page: Value = app.get(&path, admin.token()).await.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        codes.extend(items.iter().map(|a| a["code"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/admin/agencies?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(codes, ["alpha", "bravo", "charlie", "delta", "echo"]);
}

#[tokio::test]
async fn an_admin_creates_an_official_who_can_sign_in_with_the_password_shown_once() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let ministry = app.create_agency(&admin, agency("health-ministry")).await;
    let body = json!({"email": "Farrukh@Health.tj", "full_name": "Фаррух Каримов", "role": "official",
                      "agency": "health-ministry", "locale": "ru"});
    let response = app.post_json("/api/v1/admin/users", &body, admin.token()).await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["user"]["role"], "official");
    assert_eq!(created["user"]["agency_id"], ministry["id"]);
    assert_eq!(created["user"]["email"], "farrukh@health.tj");
    let password = created["generated_password"].as_str().expect("a generated password");
    assert!(password.chars().count() >= 16, "{password}");
    let session = app.login("farrukh@health.tj", password).await;
    let path = format!("/api/v1/admin/users/{}", session.user_id);
    let fetched: Value = app.get(&path, admin.token()).await.json().await.unwrap();
    assert!(fetched.get("generated_password").is_none(), "shown only once");
    // With a password given, none is generated.
    let body = json!({"email": "s@health.tj", "full_name": "S", "role": "supervisor",
                      "agency": "health-ministry", "password": PASSWORD});
    let created: Value =
        app.post_json("/api/v1/admin/users", &body, admin.token()).await.json().await.unwrap();
    assert_eq!(created["generated_password"], Value::Null);
    app.login("s@health.tj", PASSWORD).await;
}

#[tokio::test]
async fn staff_need_an_agency_and_others_may_not_have_one() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.create_agency(&admin, agency("health-ministry")).await;
    let users = app.count_users().await;
    for (role, agency, code) in [
        ("official", None, "required"),
        ("supervisor", None, "required"),
        ("official", Some("no-such-agency"), "unknown"),
        ("citizen", Some("health-ministry"), "not_allowed"),
        ("admin", Some("health-ministry"), "not_allowed"),
    ] {
        let body = json!({"email": "x@example.tj", "full_name": "X", "role": role, "agency": agency});
        let problem = assert_problem(
            app.post_json("/api/v1/admin/users", &body, admin.token()).await,
            422,
            "validation",
        )
        .await;
        assert_eq!(problem.error_code("agency"), Some(code), "{role} with {agency:?}");
    }
    assert_eq!(app.count_users().await, users);
}

#[tokio::test]
async fn an_admin_moves_staff_between_roles_and_agencies() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let official = app.official_of("health-ministry").await;
    let education = app.create_agency(&admin, agency("education-ministry")).await;
    let path = format!("/api/v1/admin/users/{}", official.user_id);
    let response = app
        .patch_json(&path, &json!({"role": "supervisor", "agency": "education-ministry"}), admin.token())
        .await;
    assert_eq!(response.status(), 200);
    let moved: Value = response.json().await.unwrap();
    assert_eq!(
        (moved["role"].clone(), moved["agency_id"].clone()),
        (json!("supervisor"), education["id"].clone())
    );
    // A citizen has no agency: the agency must go when the role does.
    let response = app.patch_json(&path, &json!({"role": "citizen"}), admin.token()).await;
    assert_problem(response, 422, "validation").await;
    let response = app.patch_json(&path, &json!({"role": "citizen", "agency": null}), admin.token()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.stored_user(&official.email).await.agency_id, None);
}

#[tokio::test]
async fn an_admin_cannot_disable_their_own_account() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let path = format!("/api/v1/admin/users/{}", admin.user_id);
    assert_problem(app.patch_json(&path, &json!({"disabled": true}), admin.token()).await, 409, "conflict")
        .await;
    assert!(!app.stored_user(&admin.email).await.disabled);
}

#[tokio::test]
async fn officials_and_supervisors_may_not_use_the_admin_api() {
    let app = spawn_app().await;
    let official = app.official_of("health-ministry").await;
    let supervisor = app.supervisor_of("health-ministry").await;
    for session in [official, supervisor] {
        assert_problem(app.get("/api/v1/admin/users", session.token()).await, 403, "forbidden").await;
        let response = app.post_json("/api/v1/admin/agencies", &agency("new").json(), session.token()).await;
        assert_problem(response, 403, "forbidden").await;
    }
    assert_eq!(app.count_agencies().await, 1);
}

#[tokio::test]
async fn accounts_are_searched_by_text_role_and_agency_and_paged_by_email() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.create_agency(&admin, agency("health-ministry")).await;
    for (email, name, role, agency) in [
        ("dilnoza@example.tj", "Dilnoza Karimova", "official", Some("health-ministry")),
        ("bahrom@example.tj", "Bahrom Karimov", "supervisor", Some("health-ministry")),
        ("zarina@example.tj", "Zarina Saidova", "official", Some("health-ministry")),
        ("anvar@example.tj", "Anvar Nazarov", "citizen", None),
        ("umed@example.tj", "Umed Karimzoda", "citizen", None),
    ] {
        let body = json!({"email": email, "full_name": name, "role": role, "agency": agency});
        assert_eq!(app.post_json("/api/v1/admin/users", &body, admin.token()).await.status(), 201);
    }
    let emails = |page: &Value| -> Vec<String> {
        page["items"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap().to_owned()).collect()
    };

    let karim: Value = app.get("/api/v1/admin/users?q=karim", admin.token()).await.json().await.unwrap();
    assert_eq!(emails(&karim), ["bahrom@example.tj", "dilnoza@example.tj", "umed@example.tj"]);
    let exact: Value = app.get("/api/v1/admin/users?q=Zarina", admin.token()).await.json().await.unwrap();
    assert_eq!(emails(&exact), ["zarina@example.tj"]);
    let officials: Value =
        app.get("/api/v1/admin/users?role=official", admin.token()).await.json().await.unwrap();
    assert_eq!(emails(&officials), ["dilnoza@example.tj", "zarina@example.tj"]);

    let mut seen = Vec::new();
    let mut path = "/api/v1/admin/users?limit=2".to_owned();
    loop {
        let page: Value = app.get(&path, admin.token()).await.json().await.unwrap();
        seen.extend(emails(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/admin/users?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    let mut expected = seen.clone();
    expected.sort();
    assert_eq!(seen, expected, "ordered by email");
    assert_eq!(seen.len(), 6, "five created and the admin, each once");
}

#[tokio::test]
async fn a_page_size_outside_one_to_a_hundred_or_a_forged_cursor_is_a_422() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for query in ["limit=0", "limit=101"] {
        for list in ["users", "agencies"] {
            let response = app.get(&format!("/api/v1/admin/{list}?{query}"), admin.token()).await;
            let problem = assert_problem(response, 422, "validation").await;
            assert_eq!(problem.error_code("limit"), Some("out_of_range"), "{list}?{query}");
        }
    }
    let problem =
        assert_problem(app.get("/api/v1/admin/users?cursor=!!", admin.token()).await, 422, "validation")
            .await;
    assert_eq!(problem.error_code("cursor"), Some("invalid"));
    let response = app.get("/api/v1/admin/users?limit=100", admin.token()).await;
    assert_eq!(response.status(), 200);
    assert_problem(app.get("/api/v1/admin/users?limit=many", admin.token()).await, 400, "bad-request").await;
}
