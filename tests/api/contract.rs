//! The OpenAPI document as a contract a generator can test against (issue 8: schemathesis
//! runs it from outside with benches/fuzz/schemathesis.sh). Each test here pins down
//! something a fuzzing run found missing from the document.

use serde_json::Value;

use crate::support::appeals::{RECEPTION, spawn_appeals_app};
use crate::support::{ANONYMOUS, spawn_app};

async fn document() -> Value {
    let app = spawn_app().await;
    app.get("/api/v1/openapi.json", ANONYMOUS).await.json().await.unwrap()
}

fn refs(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                match (key.as_str(), item) {
                    ("$ref", Value::String(target)) => found.push(target.clone()),
                    _ => refs(item, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| refs(item, found)),
        _ => {}
    }
}

#[tokio::test]
async fn every_reference_in_the_openapi_document_resolves() {
    let doc = document().await;
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(found.len() > 100, "{}", found.len());
    let dangling: Vec<_> = found
        .iter()
        .filter(|target| {
            let pointer = target.strip_prefix('#').expect("only local references");
            doc.pointer(pointer).is_none()
        })
        .collect();
    // ActionName (the `action` path segment) and Format (the reports' `format`) were named
    // by parameters only, and missing.
    assert!(dangling.is_empty(), "unresolvable: {dangling:?}");
}

#[tokio::test]
async fn both_action_routes_document_a_stale_and_a_missing_version() {
    let doc = document().await;
    for path in
        ["/api/v1/appeals/{id}/actions/{action}", "/api/v1/public/appeals/{tracking_number}/actions/{action}"]
    {
        let responses = &doc["paths"][path]["post"]["responses"];
        for status in ["412", "428"] {
            let content = &responses[status]["content"]["application/problem+json"];
            assert!(content.is_object(), "{path} does not document {status}: {responses}");
        }
    }
}

#[tokio::test]
async fn answers_other_than_json_are_documented_with_their_content_types() {
    let doc = document().await;
    let content_types = |path: &str, method: &str| -> Vec<String> {
        let content = &doc["paths"][path][method]["responses"]["200"]["content"];
        content.as_object().map(|c| c.keys().cloned().collect()).unwrap_or_default()
    };
    for report in ["deadlines", "overdue", "trend"] {
        let types = content_types(&format!("/api/v1/reports/{report}"), "get");
        assert_eq!(types, ["application/json", "text/csv"], "{report}");
    }
    let mut types = content_types("/api/v1/appeals/{id}/attachments/{attachment_id}", "get");
    types.sort();
    assert_eq!(
        types,
        [
            "application/pdf",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "image/jpeg",
            "image/png"
        ]
    );
    // A ruleset may be sent as TOML or as JSON, and the document says both.
    let body = &doc["paths"]["/api/v1/admin/rulesets"]["post"]["requestBody"]["content"];
    for media_type in ["application/toml", "text/plain", "application/json"] {
        assert!(body[media_type].is_object(), "{media_type}: {body}");
    }
}

#[tokio::test]
async fn a_csv_report_answers_with_the_documented_content_type() {
    let app = spawn_appeals_app().await;
    let supervisor = app.supervisor_of(RECEPTION).await;
    for report in ["deadlines", "overdue", "trend"] {
        let response = app.get(&format!("/api/v1/reports/{report}?format=csv"), supervisor.token()).await;
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with("text/csv"), "{report}: {content_type}");
    }
}

#[tokio::test]
async fn every_list_documents_its_page_size_bounds() {
    let doc = document().await;
    let mut lists = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(parameters) = item["get"]["parameters"].as_array() else { continue };
        for limit in parameters.iter().filter(|p| p["name"] == "limit") {
            lists += 1;
            let schema = &limit["schema"];
            assert_eq!(
                (schema["minimum"].as_u64(), schema["maximum"].as_u64()),
                (Some(1), Some(100)),
                "{path}"
            );
        }
    }
    assert!(lists >= 9, "{lists}");
}

#[tokio::test]
async fn an_entered_appeals_invalid_fields_are_named_where_they_are_in_the_body() {
    let app = spawn_appeals_app().await;
    let official = app.official_of(RECEPTION).await;
    // The appeal is nested under `appeal` here (a client following a bare `subject` to the
    // top level would send an unknown field); the citizen is a field of the entry itself.
    let mut appeal = crate::support::appeals::complaint();
    appeal["subject"] = serde_json::json!("");
    let fields = |problem: &crate::support::Problem| {
        let mut fields: Vec<String> = problem.error_fields().into_iter().map(str::to_owned).collect();
        fields.sort();
        fields
    };
    let entry = serde_json::json!({"medium": "paper", "appeal": appeal});
    let response = app.post_json("/api/v1/entries", &entry, official.token()).await;
    let problem = crate::support::assert_problem(response, 422, "validation").await;
    assert_eq!(fields(&problem), ["appeal.subject"]);
    let mut appeal = crate::support::appeals::complaint();
    appeal["category"] = serde_json::json!("no-such-category");
    let entry = serde_json::json!({"medium": "paper", "citizen_id": uuid::Uuid::now_v7(), "appeal": appeal});
    let response = app.post_json("/api/v1/entries", &entry, official.token()).await;
    let problem = crate::support::assert_problem(response, 422, "validation").await;
    assert_eq!(fields(&problem), ["appeal.category", "citizen_id"], "{:?}", problem.body);
    assert_eq!(app.count_appeals().await, 0);
}
