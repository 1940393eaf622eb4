//! A citizen registers, signs in and keeps their own profile.

use serde_json::{Value, json};

use crate::support::{ANONYMOUS, PASSWORD, assert_problem, spawn_app};

#[tokio::test]
async fn a_citizen_registers_signs_in_and_sees_their_account() {
    let app = spawn_app().await;
    let response = app.register("  Nigora@Example.TJ ", PASSWORD, "Нигора Раҳимова").await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["email"], "nigora@example.tj", "trimmed and lower-cased");
    assert_eq!(created["role"], "citizen");
    assert_eq!(created["locale"], "tg", "the default language");
    assert!(created.get("password_hash").is_none());

    let session = app.login("NIGORA@example.tj", PASSWORD).await;
    let me: Value = app.get("/api/v1/me", session.token()).await.json().await.unwrap();
    assert_eq!(me["id"], created["id"]);
    assert_eq!(me["full_name"], "Нигора Раҳимова");
    assert_eq!(me["disabled"], false);
    assert!(app.stored_user("nigora@example.tj").await.password_hash.starts_with("$argon2id$"));
}

#[tokio::test]
async fn a_citizen_changes_their_name_and_language() {
    let app = spawn_app().await;
    let citizen = app.citizen().await;
    let response = app
        .patch_json(
            "/api/v1/me",
            &json!({"full_name": "  Nigora Rahimova ", "locale": "ru"}),
            citizen.token(),
        )
        .await;
    assert_eq!(response.status(), 200);
    let me: Value = app.get("/api/v1/me", citizen.token()).await.json().await.unwrap();
    assert_eq!(me["full_name"], "Nigora Rahimova");
    assert_eq!(me["locale"], "ru");
}

#[tokio::test]
async fn a_citizen_cannot_make_themselves_staff_through_their_profile() {
    let app = spawn_app().await;
    let citizen = app.citizen().await;
    let response = app.patch_json("/api/v1/me", &json!({"role": "admin"}), citizen.token()).await;
    assert_problem(response, 400, "bad-request").await;
    let response = app.patch_json("/api/v1/me", &json!({"locale": "de"}), citizen.token()).await;
    assert_problem(response, 422, "validation").await;
    let response = app.patch_json("/api/v1/me", &json!({"full_name": ""}), citizen.token()).await;
    assert_problem(response, 422, "validation").await;
    let me = app.stored_user(&citizen.email).await;
    assert_eq!(
        (me.role.as_str(), me.locale.as_str(), me.full_name.as_str()),
        ("citizen", "tg", "Нигора Раҳимова")
    );
}

#[tokio::test]
async fn an_email_is_taken_whatever_its_case() {
    let app = spawn_app().await;
    assert_eq!(app.register("ali@example.tj", PASSWORD, "Ali").await.status(), 201);
    let users = app.count_users().await;
    let problem = assert_problem(
        app.register("ALI@Example.tj", "another good passphrase", "Ali 2").await,
        409,
        "conflict",
    )
    .await;
    assert!(!problem.body["detail"].as_str().unwrap().contains("users"), "no table names leak");
    assert_eq!(app.count_users().await, users);
}

#[tokio::test]
async fn passwords_are_judged_by_length_not_composition() {
    let app = spawn_app().await;
    // Eight Tajik letters, no digits or capitals: long enough.
    assert_eq!(app.register("a@example.tj", "ҳуқуқҷғӯ", "A").await.status(), 201);
    for (password, code) in [
        ("ҳуқуқҷғ", "too_short"),
        ("Password123", "too_common"),
        (&*"x".repeat(129), "too_long"),
        ("b@example.tj", "same_as_email"),
    ] {
        let problem =
            assert_problem(app.register("b@example.tj", password, "B").await, 422, "validation").await;
        assert_eq!(problem.error_code("password"), Some(code), "{password}");
    }
    assert_eq!(app.count_users().await, 1);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let app = spawn_app().await;
    let citizen = app.citizen().await;
    let wrong = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": citizen.email, "password": "not it at all"}),
            ANONYMOUS,
        )
        .await;
    let wrong = assert_problem(wrong, 401, "invalid-credentials").await;
    let unknown = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": "nobody@example.tj", "password": PASSWORD}),
            ANONYMOUS,
        )
        .await;
    let unknown = assert_problem(unknown, 401, "invalid-credentials").await;
    assert_eq!(wrong.body["detail"], unknown.body["detail"]);
    assert_eq!(wrong.body["title"], unknown.body["title"]);
}

#[tokio::test]
async fn a_hash_with_old_parameters_is_upgraded_at_login() {
    let app = spawn_app().await;
    let citizen = app.citizen().await;
    // Store a hash made with weaker parameters than config/test.toml's.
    let old = murojiat::auth::password::PasswordHasher::new(murojiat::config::Argon2Settings {
        memory_kib: 512,
        iterations: 1,
        parallelism: 1,
        max_concurrent_hashes: 1,
    })
    .unwrap();
    let mut user: murojiat::store::entity::user::ActiveModel = app.stored_user(&citizen.email).await.into();
    user.password_hash = sea_orm::Set(old.hash(PASSWORD).await.unwrap());
    murojiat::store::users::update(app.db.conn(), user).await.unwrap();

    app.login(&citizen.email, PASSWORD).await;
    let hash = app.stored_user(&citizen.email).await.password_hash;
    assert!(hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{hash}");
}
