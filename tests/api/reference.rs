//! Administrators manage the territories and categories appeals are filed under; anyone reads
//! the active ones to fill in a filing form.

use serde_json::{Value, json};

use murojiat::store::reference::{self, Table};

use crate::support::{ANONYMOUS, TestApp, assert_problem, spawn_app};

fn territory(code: &str, parent: Option<&str>, kind: &str) -> Value {
    json!({
        "code": code,
        "parent": parent,
        "kind": kind,
        "name_tg": format!("ноҳияи {code}"),
        "name_ru": format!("район {code}"),
        "name_en": format!("{code} district"),
    })
}

fn category(code: &str, parent: Option<&str>) -> Value {
    json!({
        "code": code,
        "parent": parent,
        "name_tg": format!("Категорияи {code}"),
        "name_ru": format!("Категория {code}"),
        "name_en": format!("Category {code}"),
    })
}

async fn created(app: &TestApp, path: &str, body: &Value, token: Option<&str>) -> Value {
    let response = app.post_json(path, body, token).await;
    assert_eq!(response.status(), 201, "not created: {}", response.text().await.unwrap());
    response.json().await.unwrap()
}

async fn codes(app: &TestApp, path: &str, token: Option<&str>) -> Vec<String> {
    let page: Value = app.get(path, token).await.json().await.unwrap();
    page["items"].as_array().unwrap().iter().map(|i| i["code"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn an_admin_builds_regions_and_districts_that_filing_forms_read() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let region =
        created(&app, "/api/v1/admin/territories", &territory("tj-sughd", None, "region"), admin.token())
            .await;
    assert_eq!(region["parent"], Value::Null);
    assert_eq!(region["active"], true);
    let district = created(
        &app,
        "/api/v1/admin/territories",
        &territory("tj-sughd-isfara", Some("tj-sughd"), "district"),
        admin.token(),
    )
    .await;
    assert_eq!(district["parent"], "tj-sughd");
    assert_eq!(district["kind"], "district");
    assert_eq!(district["name_tg"], "ноҳияи tj-sughd-isfara");

    let fetched: Value =
        app.get("/api/v1/admin/territories/tj-sughd-isfara", admin.token()).await.json().await.unwrap();
    assert_eq!(fetched, district);

    // Anyone, signed in or not, reads the active ones with names in every language.
    let public: Value = app.get("/api/v1/territories", ANONYMOUS).await.json().await.unwrap();
    assert_eq!(public["items"].as_array().unwrap().len(), 2);
    assert_eq!(public["items"][1]["parent"], "tj-sughd");
    assert_eq!(public["items"][1]["name_ru"], "район tj-sughd-isfara");
    assert_eq!(public["next_cursor"], Value::Null);
}

#[tokio::test]
async fn a_deactivated_category_disappears_from_forms_but_not_from_the_admin_list() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    created(&app, "/api/v1/admin/categories", &category("utilities", None), admin.token()).await;
    created(&app, "/api/v1/admin/categories", &category("water-supply", Some("utilities")), admin.token())
        .await;
    let changed: Value = app
        .patch_json(
            "/api/v1/admin/categories/water-supply",
            &json!({"active": false, "name_en": "Water"}),
            admin.token(),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(changed["active"], false);
    assert_eq!(changed["name_en"], "Water");
    assert_eq!(changed["name_tg"], "Категорияи water-supply");
    assert_eq!(codes(&app, "/api/v1/categories", ANONYMOUS).await, ["utilities"]);
    assert_eq!(codes(&app, "/api/v1/admin/categories", admin.token()).await, ["utilities", "water-supply"]);
}

#[tokio::test]
async fn the_admin_lists_are_paged_by_code() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for code in ["roads", "health-care", "pensions", "land"] {
        created(&app, "/api/v1/admin/categories", &category(code, None), admin.token()).await;
    }
    let first: Value = app.get("/api/v1/admin/categories?limit=3", admin.token()).await.json().await.unwrap();
    let names: Vec<&str> =
        first["items"].as_array().unwrap().iter().map(|i| i["code"].as_str().unwrap()).collect();
    assert_eq!(names, ["health-care", "land", "pensions"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = codes(&app, &format!("/api/v1/admin/categories?limit=3&cursor={cursor}"), admin.token()).await;
    assert_eq!(rest, ["roads"]);
}

#[tokio::test]
async fn bad_codes_unknown_parents_and_cycles_are_422_naming_the_field_and_change_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    created(&app, "/api/v1/admin/categories", &category("top", None), admin.token()).await;
    created(&app, "/api/v1/admin/categories", &category("middle", Some("top")), admin.token()).await;
    created(&app, "/api/v1/admin/categories", &category("bottom", Some("middle")), admin.token()).await;

    let response =
        app.post_json("/api/v1/admin/categories", &category("Bad Code", None), admin.token()).await;
    assert_eq!(assert_problem(response, 422, "validation").await.error_code("code"), Some("invalid"));
    let response =
        app.post_json("/api/v1/admin/categories", &category("orphan", Some("nowhere")), admin.token()).await;
    assert_eq!(assert_problem(response, 422, "validation").await.error_code("parent"), Some("unknown"));
    let mut nameless = category("nameless", None);
    nameless["name_ru"] = json!("   ");
    let response = app.post_json("/api/v1/admin/categories", &nameless, admin.token()).await;
    assert_eq!(assert_problem(response, 422, "validation").await.error_code("name_ru"), Some("empty"));
    let mut kindless = territory("tj-x", None, "region");
    kindless["kind"] = json!("");
    let response = app.post_json("/api/v1/admin/territories", &kindless, admin.token()).await;
    assert_eq!(assert_problem(response, 422, "validation").await.error_code("kind"), Some("invalid"));

    for parent in ["top", "bottom"] {
        let response =
            app.patch_json("/api/v1/admin/categories/top", &json!({"parent": parent}), admin.token()).await;
        assert_eq!(assert_problem(response, 422, "validation").await.error_code("parent"), Some("cycle"));
    }
    let top: Value = app.get("/api/v1/admin/categories/top", admin.token()).await.json().await.unwrap();
    assert_eq!(top["parent"], Value::Null);
    assert_eq!(codes(&app, "/api/v1/admin/categories", admin.token()).await, ["bottom", "middle", "top"]);

    // A code exists once; it cannot be renamed.
    let response = app.post_json("/api/v1/admin/categories", &category("top", None), admin.token()).await;
    assert_problem(response, 409, "conflict").await;
    let response =
        app.patch_json("/api/v1/admin/categories/top", &json!({"code": "renamed"}), admin.token()).await;
    assert_problem(response, 400, "bad-request").await;
}

#[tokio::test]
async fn only_unused_entries_can_be_deleted() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.ensure_agency("president-office").await;
    created(&app, "/api/v1/admin/territories", &territory("tj-dushanbe", None, "city"), admin.token()).await;
    created(
        &app,
        "/api/v1/admin/territories",
        &territory("tj-dushanbe-sino", Some("tj-dushanbe"), "district"),
        admin.token(),
    )
    .await;
    created(&app, "/api/v1/admin/territories", &territory("tj-gbao", None, "region"), admin.token()).await;
    created(&app, "/api/v1/admin/categories", &category("roads", None), admin.token()).await;
    created(&app, "/api/v1/admin/categories", &category("taxes", None), admin.token()).await;
    let citizen = app.citizen().await;
    let appeal = json!({
        "kind": "complaint", "subject": "Роҳ вайрон аст", "text": "Роҳи деҳаи мо солҳост таъмир нашудааст.",
        "category": "roads", "region": "tj-dushanbe", "district": "tj-dushanbe-sino", "language": "tg",
    });
    let response = app.post_json("/api/v1/appeals", &appeal, citizen.token()).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());

    // Appeals or sub-entries refer to these: deactivate them instead.
    for path in [
        "/api/v1/admin/categories/roads",
        "/api/v1/admin/territories/tj-dushanbe",
        "/api/v1/admin/territories/tj-dushanbe-sino",
    ] {
        assert_problem(app.delete(path, admin.token()).await, 409, "conflict").await;
        assert_eq!(app.get(path, admin.token()).await.status(), 200, "{path} still there");
    }
    for path in ["/api/v1/admin/categories/taxes", "/api/v1/admin/territories/tj-gbao"] {
        assert_eq!(app.delete(path, admin.token()).await.status(), 204);
        assert_problem(app.get(path, admin.token()).await, 404, "not-found").await;
    }
    assert_problem(app.delete("/api/v1/admin/categories/taxes", admin.token()).await, 404, "not-found").await;

    // A deactivated category can no longer be chosen for a new appeal.
    app.patch_json("/api/v1/admin/categories/roads", &json!({"active": false}), admin.token()).await;
    let response = app.post_json("/api/v1/appeals", &appeal, citizen.token()).await;
    assert_eq!(assert_problem(response, 422, "validation").await.error_code("category"), Some("unknown"));
}

#[tokio::test]
async fn only_admins_manage_reference_data() {
    let app = spawn_app().await;
    let citizen = app.citizen().await;
    let official = app.official_of("health-ministry").await;
    let supervisor = app.supervisor_of("health-ministry").await;
    for session in [citizen, official, supervisor] {
        for path in ["/api/v1/admin/territories", "/api/v1/admin/categories"] {
            assert_problem(app.get(path, session.token()).await, 403, "forbidden").await;
        }
        let response =
            app.post_json("/api/v1/admin/categories", &category("roads", None), session.token()).await;
        assert_problem(response, 403, "forbidden").await;
    }
    let response = app.post_json("/api/v1/admin/categories", &category("roads", None), ANONYMOUS).await;
    assert_problem(response, 401, "unauthorized").await;
    assert_problem(app.get("/api/v1/admin/territories", ANONYMOUS).await, 401, "unauthorized").await;
    assert!(codes(&app, "/api/v1/categories", ANONYMOUS).await.is_empty());
}

/// Filing checks categories and territories against this process's copy of them
/// (`appeals.reference_cache_secs`): its own changes apply to the next filing, another
/// process's once the copy is older than that.
#[tokio::test]
async fn filing_sees_this_processs_reference_changes_at_once_and_anothers_within_the_cache_time() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.ensure_agency("president-office").await;
    created(&app, "/api/v1/admin/territories", &territory("tj-dushanbe", None, "city"), admin.token()).await;
    created(&app, "/api/v1/admin/categories", &category("roads", None), admin.token()).await;
    let citizen = app.citizen().await;
    let appeal = |category: &str| {
        json!({
            "kind": "complaint", "subject": "Роҳ вайрон аст", "text": "Роҳи деҳаи мо солҳост таъмир нашудааст.",
            "category": category, "region": "tj-dushanbe", "language": "tg",
        })
    };
    let file = |category: &'static str| {
        let body = appeal(category);
        let token = citizen.token().map(str::to_owned);
        let app = &app;
        async move { app.post_json("/api/v1/appeals", &body, token.as_deref()).await }
    };
    assert_eq!(file("roads").await.status(), 201, "the copy now holds roads only");

    // Created through this process: usable at once, the clock unmoved.
    created(&app, "/api/v1/admin/categories", &category("taxes", None), admin.token()).await;
    assert_eq!(file("taxes").await.status(), 201);

    // Deactivated behind this process's back, as by another process.
    let conn = app.db.conn();
    let mut taxes = reference::node(conn, Table::Categories, "taxes").await.unwrap().unwrap();
    taxes.active = false;
    reference::update_node(conn, Table::Categories, taxes).await.unwrap();
    assert_eq!(file("taxes").await.status(), 201, "still in this process's copy");
    let cached = app.app.settings.appeals.reference_cache_secs as i64;
    app.clock.advance(chrono::Duration::seconds(cached));
    let refused = assert_problem(file("taxes").await, 422, "validation").await;
    assert_eq!(refused.error_code("category"), Some("unknown"));
}
