//! Done-when 6: every field limit and unknown reference is a 422 naming the field and stores
//! nothing; oversized or wrongly typed attachments are 413/415 and store nothing. Also the
//! guest's access code: a wrong one is a 404, and guessing is rate-limited.

use serde_json::{Value, json};
use unicode_normalization::UnicodeNormalization;

use crate::support::appeals::{OTHER_AGENCY, RECEPTION, complaint, guest_complaint, pdf, spawn_appeals_app};
use crate::support::assert_problem;

/// `n` Tajik letters, cycling through the ones outside Russian (two bytes each in UTF-8).
fn tajik(n: usize) -> String {
    "ғӣқӯҳҷ".chars().cycle().take(n).collect()
}

/// The filing body with `field` replaced (or removed, for `Value::Null`).
fn with(field: &str, value: Value) -> Value {
    let mut body = complaint();
    if value.is_null() {
        body.as_object_mut().unwrap().remove(field);
    } else {
        body[field] = value;
    }
    body
}

/// Like [`with`], for a filing that names no district.
fn without_district(field: &str, value: Value) -> Value {
    let mut body = with(field, value);
    body.as_object_mut().unwrap().remove("district");
    body
}

#[tokio::test]
async fn subject_and_text_are_counted_in_characters_after_nfc() {
    let app = spawn_appeals_app().await;
    let citizen = app.citizen().await;
    let passes = [
        ("300 Tajik letters", with("subject", json!(tajik(300)))),
        // ӣ and ӯ decomposed: 300 letters written as 400 code points, 300 after NFC.
        ("300 letters in NFD", with("subject", json!(tajik(300).nfd().collect::<String>()))),
        ("20,000 characters of text", with("text", json!("а".repeat(20_000)))),
        ("surrounding spaces are trimmed", with("subject", json!(format!("  {}  ", tajik(300))))),
    ];
    for (case, body) in &passes {
        let response = app.post_json("/api/v1/appeals", body, citizen.token()).await;
        assert_eq!(response.status(), 201, "{case}: {}", response.text().await.unwrap());
    }
    assert_eq!(tajik(300).nfd().count(), 400, "the NFD case really is longer before normalising");
    let filed: Value = app.get("/api/v1/appeals?limit=1", citizen.token()).await.json().await.unwrap();
    assert_eq!(filed["items"][0]["subject"].as_str().unwrap(), tajik(300), "stored trimmed and NFC");

    let fails = [
        ("301 Tajik letters", with("subject", json!(tajik(301))), "subject", "too_long"),
        ("empty subject", with("subject", json!("")), "subject", "empty"),
        ("blank subject", with("subject", json!("  \n ")), "subject", "empty"),
        ("two-line subject", with("subject", json!("one\ntwo")), "subject", "invalid_character"),
        ("no subject", with("subject", Value::Null), "subject", "required"),
        ("20,001 characters", with("text", json!("а".repeat(20_001))), "text", "too_long"),
        ("empty text", with("text", json!("")), "text", "empty"),
    ];
    let before = app.count_appeals().await;
    for (case, body, field, code) in fails {
        let response = app.post_json("/api/v1/appeals", &body, citizen.token()).await;
        let problem = assert_problem(response, 422, "validation").await;
        assert_eq!(problem.error_fields(), [field], "{case}");
        assert_eq!(problem.error_code(field), Some(code), "{case}");
    }
    assert_eq!(app.count_appeals().await, before, "nothing is stored");
}

#[tokio::test]
async fn every_other_field_limit_and_unknown_reference_is_a_422_naming_the_field() {
    let app = spawn_appeals_app().await;
    let citizen = app.citizen().await;
    let legal = |entity: Value| {
        let mut body = with("applicant_type", json!("legal_entity"));
        body["legal_entity"] = entity;
        body
    };
    #[rustfmt::skip]
    let cases: Vec<(&str, Value, &str)> = vec![
        ("unknown kind",                      with("kind", json!("petition")), "kind"),
        ("unknown language",                  with("language", json!("de")), "language"),
        ("location outside the country",      with("location", json!({"lat": 55.75, "lon": 37.62})), "location"),
        ("location just outside the box",     with("location", json!({"lat": 38.5, "lon": 75.3})), "location"),
        ("one signatory is not collective",   with("co_signers", json!({"count": 1, "names": ["Али"]})), "co_signers.count"),
        ("too many signatories",              with("co_signers", json!({"count": 10_001, "names": ["Али"]})), "co_signers.count"),
        ("negative count",                    with("co_signers", json!({"count": -2, "names": ["Али"]})), "co_signers.count"),
        ("no co-signer names",                with("co_signers", json!({"count": 3, "names": []})), "co_signers.names"),
        ("more names than signatories",       with("co_signers", json!({"count": 2, "names": ["Али", "Вали"]})), "co_signers.names"),
        ("a name without letters",            with("co_signers", json!({"count": 3, "names": ["Али", "12345"]})), "co_signers.names[1]"),
        ("legal entity without details",      with("applicant_type", json!("legal_entity")), "legal_entity"),
        ("legal entity details for a person", with("legal_entity", json!({"name": "ҶДММ Об", "tax_id": "123456789"})), "legal_entity"),
        ("tax id of 8 digits",                legal(json!({"name": "ҶДММ Об", "tax_id": "12345678"})), "legal_entity.tax_id"),
        ("tax id with letters",               legal(json!({"name": "ҶДММ Об", "tax_id": "12345678A"})), "legal_entity.tax_id"),
        ("organisation without a name",       legal(json!({"name": " ", "tax_id": "123456789"})), "legal_entity.name"),
        ("organisation name too long",        legal(json!({"name": tajik(301), "tax_id": "123456789"})), "legal_entity.name"),
        ("unknown applicant type",            with("applicant_type", json!("robot")), "applicant_type"),
        ("unknown category",                  with("category", json!("space-travel")), "category"),
        ("inactive category",                 with("category", json!("retired-topic")), "category"),
        ("malformed category",                with("category", json!("Вода!")), "category"),
        ("unknown region",                    without_district("region", json!("mars")), "region"),
        ("a district as the region",          without_district("region", json!("dushanbe-sino")), "region"),
        ("unknown district",                  with("district", json!("atlantis")), "district"),
        ("district of another region",        with("district", json!("sughd-khujand")), "district"),
        ("name comes from the account",       with("name", json!("Someone Else")), "name"),
        ("email comes from the account",      with("email", json!("else@example.tj")), "email"),
        ("address too long",                  with("postal_address", json!(tajik(501))), "postal_address"),
    ];
    for (case, body, field) in &cases {
        let response = app.post_json("/api/v1/appeals", body, citizen.token()).await;
        let problem = assert_problem(response, 422, "validation").await;
        assert_eq!(problem.error_fields(), [*field], "{case}");
    }
    // The valid neighbours of those cases pass, so the refusals are about the limit.
    let mut collective = with("co_signers", json!({"count": 40, "names": ["Али Валиев", "Зарина Каримова"]}));
    collective["location"] = json!({"lat": 38.56, "lon": 68.77});
    let organisation = legal(json!({"name": "ҶДММ «Оби тоза»", "tax_id": "020012345"}));
    for body in [collective, organisation] {
        let response = app.post_json("/api/v1/appeals", &body, citizen.token()).await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    }
    assert_eq!(app.count_appeals().await, 2, "only the valid appeals are stored");

    // Every problem at once, each named.
    let mut many = with("subject", json!(""));
    many["category"] = json!("space-travel");
    many["kind"] = json!("petition");
    let problem =
        assert_problem(app.post_json("/api/v1/appeals", &many, citizen.token()).await, 422, "validation")
            .await;
    let mut fields = problem.error_fields();
    fields.sort();
    assert_eq!(fields, ["kind", "subject"], "syntax first; references are checked once it parses");

    // A guest must give name, email and address; each is named.
    let mut guest = guest_complaint();
    guest.as_object_mut().unwrap().remove("postal_address");
    guest["email"] = json!("not-an-email");
    let problem =
        assert_problem(app.post_json("/api/v1/public/appeals", &guest, None).await, 422, "validation").await;
    let mut fields = problem.error_fields();
    fields.sort();
    assert_eq!(fields, ["email", "postal_address"]);
    assert_eq!(app.count_appeals().await, 2);
}

#[tokio::test]
async fn unknown_agencies_and_users_in_actions_and_entries_are_422s_naming_the_field() {
    let app = spawn_appeals_app().await;
    let citizen = app.citizen().await;
    let official = app.official_of(RECEPTION).await;
    let appeal = app.files(&citizen, &complaint()).await;
    let nobody = uuid::Uuid::now_v7().to_string();

    let forward = json!({"agency": "no-such-agency", "reason": "Not ours."});
    let problem =
        assert_problem(app.act(&official, &appeal.id, "forward", 1, &forward).await, 422, "validation").await;
    assert_eq!(problem.error_fields(), ["agency"]);
    let to_itself = json!({"agency": RECEPTION, "reason": "Not ours."});
    let problem =
        assert_problem(app.act(&official, &appeal.id, "forward", 1, &to_itself).await, 422, "validation")
            .await;
    assert_eq!(problem.error_fields(), ["agency"]);
    let problem = assert_problem(
        app.act(&official, &appeal.id, "assign", 1, &json!({"assignee": nobody})).await,
        422,
        "validation",
    )
    .await;
    assert_eq!(problem.error_fields(), ["assignee"]);
    // A citizen is no assignee either.
    let problem = assert_problem(
        app.act(&official, &appeal.id, "assign", 1, &json!({"assignee": citizen.user_id})).await,
        422,
        "validation",
    )
    .await;
    assert_eq!(problem.error_fields(), ["assignee"]);
    let problem = assert_problem(
        app.act(&official, &appeal.id, "dismiss", 1, &json!({"reason": "boring", "comment": "x"})).await,
        422,
        "validation",
    )
    .await;
    assert_eq!(problem.error_fields(), ["reason"]);
    let problem =
        assert_problem(app.act(&official, &appeal.id, "answer", 1, &json!({})).await, 422, "validation")
            .await;
    let mut fields = problem.error_fields();
    fields.sort();
    assert_eq!(fields, ["outcome", "text"]);
    assert_eq!(app.count_events().await, 1, "only the filing is on record");
    let stored: Value = app.get(&appeal.url(), official.token()).await.json().await.unwrap();
    assert_eq!(stored["version"], 1);

    // An official enters a paper appeal for a citizen who does not exist.
    let entry = json!({"medium": "paper", "citizen_id": nobody, "appeal": complaint()});
    let problem =
        assert_problem(app.post_json("/api/v1/entries", &entry, official.token()).await, 422, "validation")
            .await;
    assert_eq!(problem.error_fields(), ["citizen_id"]);
    let entry = json!({"medium": "letter", "appeal": complaint()});
    let problem =
        assert_problem(app.post_json("/api/v1/entries", &entry, official.token()).await, 422, "validation")
            .await;
    assert_eq!(problem.error_fields(), ["medium"]);
    assert_eq!(app.count_appeals().await, 1);
    // The same entry for a real citizen is registered at the official's agency, on paper.
    let entry = json!({"medium": "paper", "citizen_id": citizen.user_id, "appeal": complaint()});
    let response = app.post_json("/api/v1/entries", &entry, official.token()).await;
    assert_eq!(response.status(), 201);
    let entered: Value = response.json().await.unwrap();
    assert_eq!(
        (entered["channel"].as_str(), entered["agency"]["code"].as_str()),
        (Some("paper"), Some(RECEPTION))
    );
}

/// Routing, forwarding and accounts never pick an inactive agency; neither does an entry by
/// one of its officials.
#[tokio::test]
async fn an_official_of_a_deactivated_agency_enters_no_appeal_there() {
    let app = spawn_appeals_app().await;
    let official = app.official_of(OTHER_AGENCY).await;
    let admin = app.admin().await;
    let agency = murojiat::store::agencies::by_code(app.db.conn(), OTHER_AGENCY).await.unwrap().unwrap();
    let path = format!("/api/v1/admin/agencies/{}", agency.id);
    assert_eq!(app.patch_json(&path, &json!({"active": false}), admin.token()).await.status(), 200);

    let entry = json!({"medium": "paper", "appeal": complaint()});
    let problem =
        assert_problem(app.post_json("/api/v1/entries", &entry, official.token()).await, 409, "conflict")
            .await;
    assert!(problem.body["detail"].as_str().unwrap().contains("inactive"), "{:?}", problem.body);
    assert_eq!(app.count_appeals().await, 0);
}

#[tokio::test]
async fn attachments_are_checked_for_size_type_and_number_and_refusals_store_nothing() {
    let app = spawn_appeals_app().await;
    let citizen = app.citizen().await;
    let official = app.official_of(RECEPTION).await;
    let appeal = app.files(&citizen, &complaint()).await;
    let max = app.app.settings.appeals.max_attachment_bytes;
    let most = app.app.settings.appeals.max_attachments_per_appeal;
    assert_eq!((max, most), (10 * 1024 * 1024, 5), "the configured limits");

    let mut oversized = pdf("big");
    oversized.resize(max + 1, b' ');
    assert_problem(app.upload(&citizen, &appeal.id, "big.pdf", oversized).await, 413, "payload-too-large")
        .await;
    let mut far_too_big = pdf("huge");
    far_too_big.resize(max + 64 * 1024, b' ');
    assert_problem(app.upload(&citizen, &appeal.id, "huge.pdf", far_too_big).await, 413, "payload-too-large")
        .await;
    for (name, bytes) in [
        ("setup.pdf", b"MZ\x90\x00\x03 an executable named like a PDF".to_vec()),
        ("page.png", b"<html><script>alert(1)</script></html>".to_vec()),
        ("archive.docx", b"PK\x03\x04 a zip that is no Word document".to_vec()),
        ("empty.pdf", Vec::new()),
    ] {
        let response = app.upload(&citizen, &appeal.id, name, bytes).await;
        assert_problem(response, 415, "unsupported-media-type").await;
    }
    assert_eq!(
        (app.count_attachments().await, app.count_attachment_files()),
        (0, 0),
        "refusals store nothing"
    );
    assert_eq!(app.count_events().await, 1);

    // Exactly the limit passes; one more is a conflict with the appeal's state.
    let mut exact = pdf("exact");
    exact.resize(max, b' ');
    assert_eq!(app.upload(&citizen, &appeal.id, "exact.pdf", exact).await.status(), 201);
    let jpeg = [&[0xFF, 0xD8, 0xFF, 0xE0][..], b"JFIF photo"].concat();
    let png = [&b"\x89PNG\r\n\x1a\n"[..], b"IHDR"].concat();
    let docx = b"PK\x03\x04....[Content_Types].xml word/document.xml".to_vec();
    for (name, bytes) in
        [("photo.jpg", jpeg), ("map.png", png), ("letter.docx", docx), ("act.pdf", pdf("act"))]
    {
        let response = app.upload(&citizen, &appeal.id, name, bytes).await;
        assert_eq!(response.status(), 201, "{name}: {}", response.text().await.unwrap());
    }
    let response = app.upload(&official, &appeal.id, "sixth.pdf", pdf("sixth")).await;
    assert_problem(response, 409, "conflict").await;
    assert_eq!((app.count_attachments().await, app.count_attachment_files()), (most as u64, most));

    // The list shows the sniffed types; a download is always an attachment, never inline.
    let list: Vec<Value> =
        app.get(&format!("{}/attachments", appeal.url()), citizen.token()).await.json().await.unwrap();
    let types: Vec<&str> = list.iter().map(|a| a["content_type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "application/pdf",
            "image/jpeg",
            "image/png",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/pdf"
        ]
    );
    let act = list.iter().find(|a| a["file_name"] == "act.pdf").unwrap();
    let url = format!("{}/attachments/{}", appeal.url(), act["id"].as_str().unwrap());
    let response = app.get(&url, citizen.token()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let disposition = response.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.starts_with("attachment;") && disposition.contains("act.pdf"), "{disposition}");
    assert_eq!(response.bytes().await.unwrap(), pdf("act"));
    // Somebody else's citizen gets a 404 for the same file, as for any appeal not theirs.
    let stranger = app.citizen().await;
    assert_problem(app.get(&url, stranger.token()).await, 404, "not-found").await;
    // An attachment id under another appeal is not found either.
    let other = app.files(&stranger, &complaint()).await;
    let crossed = format!("{}/attachments/{}", other.url(), act["id"].as_str().unwrap());
    assert_problem(app.get(&crossed, stranger.token()).await, 404, "not-found").await;
}

#[tokio::test]
async fn a_wrong_access_code_is_a_404_and_guessing_is_rate_limited() {
    let app = spawn_appeals_app().await;
    let guest = app.files_as_guest(&guest_complaint()).await;
    let code = guest.access_code.clone().unwrap();
    let burst = app.app.settings.rate_limit.guest_lookup_per_ip.burst;
    assert!(burst >= 3, "the test needs a few attempts: {burst}");

    let right = app.guest_get(&guest.public_url(), Some(&code)).await;
    assert_eq!(right.status(), 200);
    let seen: Value = right.json().await.unwrap();
    assert_eq!(seen["id"], guest.id.as_str());
    assert!(seen.get("staff").is_none());
    // Wrong, missing and malformed codes, and an unknown number, all look the same.
    let wrong = if code.ends_with('2') {
        format!("{}3", &code[..code.len() - 1])
    } else {
        format!("{}2", &code[..code.len() - 1])
    };
    let unknown_number = "0000-0000-000";
    let attempts: Vec<(String, Option<&str>)> = vec![
        (guest.public_url(), Some(wrong.as_str())),
        (guest.public_url(), None),
        (guest.public_url(), Some("not a code")),
        (format!("/api/v1/public/appeals/{unknown_number}"), Some(code.as_str())),
    ];
    let mut used = 1;
    for (path, access_code) in &attempts {
        let problem = assert_problem(app.guest_get(path, *access_code).await, 404, "not-found").await;
        assert!(problem.header("retry-after").is_none());
        used += 1;
    }
    while used < burst {
        assert_eq!(app.guest_get(&guest.public_url(), Some(&wrong)).await.status(), 404, "attempt {used}");
        used += 1;
    }
    let problem =
        assert_problem(app.guest_get(&guest.public_url(), Some(&wrong)).await, 429, "rate-limited").await;
    assert!(problem.header("retry-after").is_some_and(|s| s.parse::<u64>().unwrap() >= 1));
    // Once limited, even the right code waits: guessing cannot tell it found the code.
    assert_eq!(app.guest_get(&guest.public_url(), Some(&code)).await.status(), 429);
}

/// Mass assignment: fields only the server sets (status, agency, assignee, deadline, channel,
/// registration number) are refused when a client sends them, and nothing is stored.
#[tokio::test]
async fn a_client_cannot_set_what_only_the_server_decides() {
    let app = spawn_appeals_app().await;
    let citizen = app.citizen().await;
    let server_fields = [
        ("status", json!("answered")),
        ("agency", json!(RECEPTION)),
        ("assignee", json!("0197a000-0000-7000-8000-000000000001")),
        ("due_at", json!("2030-01-01T00:00:00Z")),
        ("channel", json!("paper")),
        ("registration_number", json!("president-office-2026-000001")),
        ("tracking_number", json!("AAAA-BBBB-CCC")),
    ];
    for (field, value) in &server_fields {
        let mut body = complaint();
        body[*field] = value.clone();
        let refused = app.post_json("/api/v1/appeals", &body, citizen.token()).await;
        let problem = assert_problem(refused, 400, "bad-request").await;
        assert!(problem.body["detail"].as_str().unwrap().contains(field), "{field}: {}", problem.body);
    }
    assert_eq!(app.count_appeals().await, 0, "no refused filing stored anything");

    // The same on an action: a citizen's reply cannot carry a new status or deadline.
    let official = app.official_of(RECEPTION).await;
    let filed = app.files(&citizen, &complaint()).await;
    app.acts(&official, &filed.id, "take", 1, &json!({})).await;
    app.acts(&official, &filed.id, "request-info", 2, &json!({"message": "Which house?"})).await;
    for (field, value) in &server_fields {
        let body = json!({"message": "House 12.", *field: value});
        let refused = app.act(&citizen, &filed.id, "reply", 3, &body).await;
        assert_problem(refused, 400, "bad-request").await;
    }
    let seen: Value = app.get(&filed.url(), citizen.token()).await.json().await.unwrap();
    assert_eq!((seen["status"].as_str(), seen["version"].as_i64()), (Some("awaiting_citizen"), Some(3)));
}
