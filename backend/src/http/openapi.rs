//! The OpenAPI description. Routes are registered through `utoipa_axum`, so the description and the router are
//! built from the same list of handlers and cannot drift apart.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Incident Insights API",
        description = "Multi-tenant incident analytics for SRE and on-call teams. Conventions: see docs/API-DESIGN.md. \
                       Every error answers with `{\"error\": {\"code\", \"message\", \"details\"}}`.",
        license(name = "AGPL-3.0-only")
    ),
    modifiers(&BearerAuth),
    components(schemas(insights_types::ErrorBody, insights_types::FieldError, insights_types::Permission)),
    tags(
        (name = "auth", description = "Sign up, log in, tokens"),
        (name = "me", description = "The signed-in user"),
        (name = "organizations", description = "Organizations, members and roles"),
        (name = "invitations", description = "Invitations to join an organization"),
        (name = "audit", description = "The audit log"),
        (name = "jobs", description = "Background jobs and their state"),
        (name = "feedback", description = "Feedback from users"),
        (name = "incidents", description = "Incidents from every source, in one schema"),
        (name = "analytics", description = "Trends over the incident history: summary, time series, heatmap, top services and teams; analytics settings"),
        (name = "dashboard", description = "Each person's dashboard layout"),
        (name = "patterns", description = "Recurring patterns of incidents: figures, corrections (rename, mute, merge, move an incident)"),
        (name = "runbooks", description = "The runbook library (versions, diff, restore, import), search over runbooks and past fixes, drafts generated or assembled from them, generation settings"),
        (name = "integrations", description = "PagerDuty and Opsgenie connections, their imports and syncs"),
        (name = "webhooks", description = "Deliveries from PagerDuty and Opsgenie"),
        (name = "operations", description = "Health and metrics"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Adds the error responses every operation can give, by rule, so no handler repeats them: 400 and 500
/// everywhere; 401 where a token is required; 413, 415 and 422 where there is a JSON body; 403 and 404 under
/// an organization or with an id in the path; 429 on the rate-limited auth endpoints. A response a handler
/// gave no description gets its status's reason phrase: OpenAPI requires one.
pub fn add_common_errors(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    let error = |desc: &str| {
        ResponseBuilder::new()
            .description(desc)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build()
    };
    for (path, item) in &mut doc.paths.paths {
        let ops = [
            item.get.as_mut(),
            item.post.as_mut(),
            item.put.as_mut(),
            item.patch.as_mut(),
            item.delete.as_mut(),
        ];
        for op in ops.into_iter().flatten() {
            let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
            let has_body = op.request_body.is_some();
            let responses = &mut op.responses.responses;
            let mut add = |code: &str, desc: &str| {
                responses
                    .entry(code.to_owned())
                    .or_insert_with(|| error(desc).into());
            };
            // Query budgets: any request may be stopped by the statement or the request timeout.
            add(
                "503",
                "A dependency is unavailable, or the database stopped a statement at its timeout",
            );
            add("504", "The request ran past the request timeout");
            if path.starts_with("/api/") {
                add("400", "Malformed request: bad JSON, query string or id");
                add("500", "Unexpected failure (logged; quote the x-request-id)");
            }
            if secured {
                add("401", "Missing, invalid or expired access token");
            }
            if has_body {
                add("413", "Body larger than 64 KiB");
                add("415", "Body is not application/json");
                add("422", "Invalid fields; `details.fields` names each");
            }
            if path.contains('{') && path.starts_with("/api/") {
                add("403", "Your role does not allow this");
                add(
                    "404",
                    "Not found, or belongs to an organization you are not in",
                );
            }
            if path.contains("/auth/login")
                || path.contains("/auth/signup")
                || path.contains("/invitations/lookup")
            {
                add("429", "Too many attempts; see `Retry-After`");
            }
            if path.contains("/invitations/") || path.contains("/members/") {
                add("409", "Conflicts with the current state; `code` says how");
            }
            for (code, response) in responses.iter_mut() {
                if let RefOr::T(r) = response
                    && r.description.is_empty()
                {
                    r.description = code
                        .parse()
                        .ok()
                        .and_then(|c| axum::http::StatusCode::from_u16(c).ok())
                        .and_then(|c| c.canonical_reason())
                        .unwrap_or("Response")
                        .to_owned();
                }
            }
        }
    }
}

/// A type that refuses unknown fields (`deny_unknown_fields`, for request bodies) is described with
/// `additionalProperties: false`; flattened into an answer (`#[serde(flatten)]`, an `allOf`), that would refuse
/// the answer's own fields, and a client validating answers would reject every one. Such an `allOf` member
/// becomes a copy of the type without that rule; request bodies keep referring to the strict type.
pub fn open_flattened_types(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{AdditionalProperties, Schema};
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    let strict: std::collections::BTreeMap<String, Schema> = components
        .schemas
        .iter()
        .filter_map(|(name, schema)| match schema {
            RefOr::T(Schema::Object(o))
                if matches!(
                    o.additional_properties.as_deref(),
                    Some(AdditionalProperties::FreeForm(false))
                ) =>
            {
                let mut open = o.clone();
                open.additional_properties = None;
                Some((format!("#/components/schemas/{name}"), Schema::Object(open)))
            }
            _ => None,
        })
        .collect();
    for schema in components.schemas.values_mut() {
        if let RefOr::T(Schema::AllOf(all)) = schema {
            for item in &mut all.items {
                if let RefOr::Ref(r) = item
                    && let Some(open) = strict.get(&r.ref_location)
                {
                    *item = RefOr::T(open.clone());
                }
            }
        }
    }
}
