//! The OpenAPI 3.1 document, generated from the handlers, plus the parts every operation
//! shares: the bearer security scheme and the problem+json error responses.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi as _};

use super::problem::{FieldProblem, Problem, ProblemKind};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Murojiat API",
        description = "Citizens' appeals to government: filing, routing, deadlines and answers. \
Errors are RFC 9457 problem+json with a title in the language of Accept-Language (tg, ru, en).",
        license(name = "AGPL-3.0-or-later"),
    ),
    // Types named only by parameters are not collected from the handlers; list them here so
    // every `$ref` in the document resolves.
    components(schemas(Problem, FieldProblem, super::appeals::ActionName, super::reports::Format)),
    modifiers(&Shared),
    tags(
        (name = "auth", description = "Registration and sessions"),
        (name = "me", description = "The caller's own account"),
        (name = "rulesets", description = "Routing rulesets: drafts, simulation, replay, activation"),
        (name = "admin", description = "Agencies, user accounts, territories and categories"),
        (name = "reference", description = "Active territories and categories, for filing forms"),
        (name = "reports", description = "Deadline reports for supervisors: who is late, where and why; JSON or CSV"),
        (name = "operations", description = "Health, readiness, metrics, keys"),
    )
)]
pub struct ApiDoc;

/// The base document the routers add their paths to.
pub fn base() -> OpenApi {
    ApiDoc::openapi()
}

struct Shared;

impl Modify for Shared {
    fn modify(&self, doc: &mut OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build(),
            ),
        );
        for kind in ProblemKind::ALL {
            let response = ResponseBuilder::new()
                .description(kind.title(crate::domain::locale::Locale::En))
                .content(
                    "application/problem+json",
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build(),
                )
                .build();
            components.responses.insert(response_name(*kind), response.into());
        }
    }
}

fn response_name(kind: ProblemKind) -> String {
    format!("problem-{}", kind.slug())
}

/// Documents, on every operation, the errors any request can meet, so clients and contract
/// testers know every status the server may answer.
pub fn add_error_responses(doc: &mut OpenApi) {
    for item in doc.paths.paths.values_mut() {
        let operations: [&mut Option<Operation>; 5] =
            [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
        for operation in operations.into_iter().flatten() {
            let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            let has_body = operation.request_body.is_some();
            let mut kinds = vec![
                ProblemKind::BadRequest,
                ProblemKind::NotFound,
                ProblemKind::MethodNotAllowed,
                ProblemKind::RequestTimeout,
                ProblemKind::Validation,
                ProblemKind::RateLimited,
                ProblemKind::Internal,
                ProblemKind::Unavailable,
            ];
            if secured {
                kinds.extend([ProblemKind::Unauthorized, ProblemKind::Forbidden, ProblemKind::Conflict]);
            }
            if has_body {
                kinds.extend([
                    ProblemKind::PayloadTooLarge,
                    ProblemKind::UnsupportedMediaType,
                    ProblemKind::Conflict,
                ]);
            }
            if operation.operation_id.as_deref() == Some("login") {
                kinds.push(ProblemKind::InvalidCredentials);
            }
            if matches!(operation.operation_id.as_deref(), Some("refresh")) {
                kinds.push(ProblemKind::Unauthorized);
            }
            for kind in kinds {
                let status = kind.status().as_u16().to_string();
                operation
                    .responses
                    .responses
                    .entry(status)
                    .or_insert_with(|| Ref::from_response_name(response_name(kind)).into());
            }
        }
    }
}
