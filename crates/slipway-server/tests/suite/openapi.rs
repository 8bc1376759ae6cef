//! The OpenAPI document is the router's own route list: it lists exactly the
//! API's routes with their methods, each listed route is served, and the
//! methods it does not list are not.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::Value;

use crate::suite::seed::{Seeded, seed};
use crate::suite::support::{App, TestDb, bearer, documented_routes, on_both_backends};

on_both_backends!(
    the_document_lists_every_route_with_its_methods,
    every_listed_route_is_served_and_no_other_method,
);

/// The API as docs/design/web.md lists it.
const API: [(&str, &str); 17] = [
    ("GET", "/api/v1/costs"),
    ("GET", "/api/v1/events"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/releases"),
    ("POST", "/api/v1/releases"),
    ("POST", "/api/v1/rollbacks"),
    ("GET", "/api/v1/runs"),
    ("GET", "/api/v1/runs/{id}"),
    ("GET", "/api/v1/spans/{id}/contents"),
    ("GET", "/api/v1/tasks"),
    ("GET", "/api/v1/tasks/{id}"),
    ("POST", "/api/v1/tasks/{id}/approve"),
    ("GET", "/api/v1/tasks/{id}/events"),
    ("GET", "/api/v1/tasks/{id}/findings"),
    ("GET", "/api/v1/tasks/{id}/gates"),
    ("POST", "/api/v1/tasks/{id}/reject"),
    ("POST", "/api/v1/tasks/{id}/retry"),
];

async fn the_document_lists_every_route_with_its_methods(db: &TestDb) {
    let app = App::new(db).await;
    let doc = app.get("/api/v1/openapi.json").await.ok_json();
    assert_eq!(
        doc,
        serde_json::to_value(slipway_server::openapi()).unwrap()
    );
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["title"], "Slipway");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_eq!(doc["security"], serde_json::json!([{"bearer": []}]));

    let listed: Vec<(String, String)> = documented_routes()
        .into_iter()
        .map(|(m, p)| (m.to_string(), p))
        .collect();
    let mut expected: Vec<(String, String)> = API
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    expected.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
    assert_eq!(listed, expected);

    // Every operation says what it answers, and the error body is described.
    for (method, path) in &listed {
        let op = &doc["paths"][path][method.to_lowercase()];
        let responses = op["responses"].as_object().unwrap();
        assert!(responses.contains_key("200"), "{method} {path}: {op}");
        if path.contains("{id}") {
            let params = op["parameters"].as_array().unwrap();
            assert!(
                params
                    .iter()
                    .any(|p| p["name"] == "id" && p["in"] == "path"),
                "{method} {path} does not describe its id"
            );
        }
    }
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    let costs = &doc["paths"]["/api/v1/costs"]["get"]["parameters"];
    let by = costs
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "by")
        .unwrap();
    assert_eq!(by["required"], Value::Bool(true));
}

/// `template` with its `{id}` replaced by a real id of the kind it takes.
fn concrete(template: &str, s: &Seeded) -> String {
    if template.starts_with("/api/v1/runs/") {
        template.replace("{id}", s.coder.as_str())
    } else if template.starts_with("/api/v1/spans/") {
        template.replace("{id}", s.chat.as_str())
    } else {
        template.replace("{id}", &s.ready.0.to_string())
    }
}

async fn every_listed_route_is_served_and_no_other_method(db: &TestDb) {
    let app = App::new(db).await;
    let s = seed(app.store.as_ref()).await;
    let routes = documented_routes();
    for (method, template) in &routes {
        let path = concrete(template, &s);
        let path = if template == "/api/v1/costs" {
            format!("{path}?by=day")
        } else {
            path
        };
        let body = if template.ends_with("/reject") {
            r#"{"why": "no"}"#
        } else if template.ends_with("/rollbacks") {
            r#"{"to": 1}"#
        } else {
            "{}"
        };
        let request = bearer(method.clone(), &path)
            .header("content-type", "application/json")
            .body(if *method == Method::POST {
                Body::from(body)
            } else {
                Body::empty()
            })
            .unwrap();
        // Read the head only: the event stream does not end.
        let response = app.respond(request).await;
        let status = response.status();
        assert!(
            status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}: {status}"
        );
        // Without a pipeline the gates are unavailable; everything else answers.
        let expected = if *method == Method::POST {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::OK
        };
        assert_eq!(status, expected, "{method} {path}");

        for other in [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::PATCH,
        ] {
            if routes.iter().any(|(m, t)| *m == other && t == template) {
                continue;
            }
            let reply = app
                .send(bearer(other.clone(), &path).body(Body::empty()).unwrap())
                .await;
            assert_eq!(
                reply.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{other} {path} is served but not documented: {}",
                reply.body
            );
        }
    }
}
