//! The API's answers on real data: each read endpoint with the bearer token,
//! its JSON checked field by field against what was written.

use serde_json::Value;

use crate::suite::seed::{ANSWER, BIDI_PLAN, EVIL_FINDING, EVIL_TITLE, PROMPT, REVIEWED_SHA, seed};
use crate::suite::support::{App, TestDb, on_both_backends};

on_both_backends!(
    tasks_are_listed_and_filtered,
    a_task_comes_with_everything_recorded_about_it,
    a_tasks_events_findings_and_gates,
    runs_are_listed_newest_first_and_by_task,
    a_run_comes_with_its_spans,
    a_spans_bodies_are_read_and_cut,
    costs_are_grouped_four_ways,
    releases_and_rollbacks_are_listed_newest_first,
);

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect()
}

async fn tasks_are_listed_and_filtered(db: &TestDb) {
    let app = App::new(db).await;
    assert_eq!(
        app.get("/api/v1/tasks").await.ok_json(),
        serde_json::json!([])
    );
    let s = seed(app.store.as_ref()).await;

    let all = app.get("/api/v1/tasks").await.ok_json();
    assert_eq!(ids(&all), [s.ready.0, s.queued.0, s.released.0]);
    let first = &all[0];
    assert_eq!(first["title"], EVIL_TITLE);
    assert_eq!(first["lane"], "core");
    assert_eq!(first["state"], "ready");
    assert_eq!(first["body"], format!("The spec of {EVIL_TITLE}"));
    assert!(first["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(all[1]["depends_on"], serde_json::json!([s.ready.0]));

    let ready = app.get("/api/v1/tasks?state=ready").await.ok_json();
    assert_eq!(ids(&ready), [s.ready.0]);
    let ui = app.get("/api/v1/tasks?lane=ui").await.ok_json();
    assert_eq!(ids(&ui), [s.queued.0]);
    let both = app
        .get("/api/v1/tasks?lane=core&state=released")
        .await
        .ok_json();
    assert_eq!(ids(&both), [s.released.0]);
    let none = app
        .get("/api/v1/tasks?lane=core&state=queued")
        .await
        .ok_json();
    assert_eq!(none, serde_json::json!([]));
}

async fn a_task_comes_with_everything_recorded_about_it(db: &TestDb) {
    let app = App::new(db).await;
    let s = seed(app.store.as_ref()).await;
    let d = app
        .get(&format!("/api/v1/tasks/{}", s.ready.0))
        .await
        .ok_json();
    assert_eq!(d["task"]["id"], s.ready.0);
    assert_eq!(d["task"]["state"], "ready");
    assert_eq!(
        d["seams"],
        serde_json::json!(["Cargo.toml", "crates/api.rs"])
    );
    let stages: Vec<&str> = d["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["stage"].as_str().unwrap())
        .collect();
    assert_eq!(
        stages,
        ["planning", "plan_review", "testing", "code_review"]
    );
    assert_eq!(d["stages"][0]["body"], BIDI_PLAN);
    assert_eq!(d["stages"][2]["tests"]["passed"], 12);
    assert_eq!(d["stages"][3]["sha"], REVIEWED_SHA);
    assert_eq!(d["stages"][3]["findings"][0]["title"], EVIL_FINDING);
    assert_eq!(d["stages"][3]["findings"][0]["severity"], "low");
    let to: Vec<&str> = d["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to"].as_str().unwrap())
        .collect();
    assert_eq!(
        to,
        [
            "queued",
            "planning",
            "plan_review",
            "coding",
            "testing",
            "code_review",
            "ready"
        ]
    );
    assert_eq!(d["events"][0]["from"], Value::Null);
    let runs: Vec<&str> = d["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(runs, [s.coder.as_str(), s.reviewer.as_str()]);
    assert_eq!(d["cost"]["runs"], 2);
    assert_eq!(d["cost"]["cost_micros"], 1500);
    assert_eq!(d["cost"]["unknown_cost_runs"], 1);
    assert_eq!(d["cost"]["tokens"]["input"], 4000);
    assert_eq!(d["cost"]["tokens"]["output"], 300);

    let other = app
        .get(&format!("/api/v1/tasks/{}", s.queued.0))
        .await
        .ok_json();
    assert_eq!(other["runs"], serde_json::json!([]));
    assert_eq!(other["cost"]["cost_micros"], Value::Null);
    assert_eq!(other["cost"]["runs"], 0);
    // `#N`, as people write it, is a task id too.
    let hashed = app
        .get(&format!("/api/v1/tasks/%23{}", s.queued.0))
        .await
        .ok_json();
    assert_eq!(hashed["task"]["id"], s.queued.0);
}

async fn a_tasks_events_findings_and_gates(db: &TestDb) {
    let app = App::new(db).await;
    let s = seed(app.store.as_ref()).await;
    let events = app
        .get(&format!("/api/v1/tasks/{}/events", s.released.0))
        .await
        .ok_json();
    let events = events.as_array().unwrap();
    assert_eq!(events.len(), 9, "{events:?}");
    assert!(events.iter().all(|e| e["task_id"] == s.released.0));
    assert!(
        events
            .windows(2)
            .all(|w| w[0]["id"].as_i64() < w[1]["id"].as_i64())
    );
    let last = events.last().unwrap();
    assert_eq!(
        (&last["from"], &last["to"]),
        (&"staged".into(), &"released".into())
    );
    assert_eq!(last["actor"], "tester");
    assert_eq!(last["reason"], "released in release-1");

    let passes = app
        .get(&format!("/api/v1/tasks/{}/findings", s.ready.0))
        .await
        .ok_json();
    let stages: Vec<&str> = passes
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["plan_review", "code_review"]);
    assert_eq!(passes[0]["findings"][0]["title"], "Name the error type");
    assert_eq!(passes[0]["findings"][0]["severity"], "medium");
    assert_eq!(passes[1]["passed"], true);
    assert_eq!(passes[1]["findings"][0]["title"], EVIL_FINDING);
    assert_eq!(passes[1]["findings"][0]["location"], "src/lib.rs:3");
    assert!(passes[1]["id"].as_i64().unwrap() > passes[0]["id"].as_i64().unwrap());
    let none = app
        .get(&format!("/api/v1/tasks/{}/findings", s.queued.0))
        .await
        .ok_json();
    assert_eq!(none, serde_json::json!([]));

    let gates = app
        .get(&format!("/api/v1/tasks/{}/gates", s.ready.0))
        .await
        .ok_json();
    let gates = gates.as_array().unwrap();
    assert_eq!(gates.len(), 4);
    assert_eq!(gates[2]["stage"], "testing");
    assert_eq!(gates[2]["summary"], "tests green");
    assert_eq!(gates[2]["tests"]["skipped"], 1);
    assert_eq!(gates[3]["trace_id"], s.reviewer.as_str());
}

async fn runs_are_listed_newest_first_and_by_task(db: &TestDb) {
    let app = App::new(db).await;
    let s = seed(app.store.as_ref()).await;
    let id_list = |v: Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = app.get("/api/v1/runs").await.ok_json();
    assert_eq!(all[0]["role"], "explorer");
    assert_eq!(all[0]["task_id"], Value::Null);
    assert_eq!(all[2]["cost_micros"], 1500);
    assert_eq!(all[2]["tokens"]["output"], 200);
    assert_eq!(all[2]["status"], "ok");
    assert_eq!(
        id_list(all),
        [s.loose.as_str(), s.reviewer.as_str(), s.coder.as_str()]
    );
    let one = app.get("/api/v1/runs?limit=1").await.ok_json();
    assert_eq!(id_list(one), [s.loose.as_str()]);
    let most = app.get("/api/v1/runs?limit=1000").await.ok_json();
    assert_eq!(most.as_array().unwrap().len(), 3);
    let of_task = app
        .get(&format!("/api/v1/runs?task={}", s.ready.0))
        .await
        .ok_json();
    assert_eq!(id_list(of_task), [s.coder.as_str(), s.reviewer.as_str()]);
    let of_other = app
        .get(&format!("/api/v1/runs?task={}", s.queued.0))
        .await
        .ok_json();
    assert_eq!(of_other, serde_json::json!([]));
}

async fn a_run_comes_with_its_spans(db: &TestDb) {
    let app = App::new(db).await;
    let s = seed(app.store.as_ref()).await;
    let d = app
        .get(&format!("/api/v1/runs/{}", s.coder))
        .await
        .ok_json();
    assert_eq!(d["run"]["id"], s.coder.as_str());
    assert_eq!(d["run"]["task_id"], s.ready.0);
    assert_eq!(d["run"]["model"], "anthropic:claude-sonnet-4-5");
    assert!(d["run"]["ended_at"].is_string());
    let spans = d["spans"].as_array().unwrap();
    let names: Vec<&str> = spans.iter().map(|x| x["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "invoke_agent coder",
            "chat claude-sonnet-4-5",
            "execute_tool read_file"
        ]
    );
    assert_eq!(spans[0]["parent_id"], Value::Null);
    assert_eq!(spans[1]["parent_id"], spans[0]["id"]);
    assert_eq!(spans[1]["id"], s.chat.as_str());
    assert_eq!(spans[1]["tokens"]["input"], 1000);
    assert_eq!(spans[1]["cost_micros"], 1500);
    assert_eq!(spans[2]["tool_name"], "read_file");
    assert_eq!(spans[2]["attributes"]["gen_ai.tool.call.id"], "call-1");
    assert_eq!(
        spans[2]["attributes"]["gen_ai.operation.name"],
        "execute_tool"
    );
    // Ids are accepted in capitals too, as people paste them.
    let upper = app
        .get(&format!(
            "/api/v1/runs/{}",
            s.reviewer.as_str().to_uppercase()
        ))
        .await;
    assert_eq!(upper.ok_json()["spans"].as_array().unwrap().len(), 2);
}

async fn a_spans_bodies_are_read_and_cut(db: &TestDb) {
    let app = App::new(db).await;
    let s = seed(app.store.as_ref()).await;
    let chat = app
        .get(&format!("/api/v1/spans/{}/contents", s.chat))
        .await
        .ok_json();
    assert_eq!(
        chat,
        serde_json::json!([
            {"direction": "input", "kind": "message", "body": PROMPT, "bytes": PROMPT.len(), "truncated": false},
            {"direction": "output", "kind": "response", "body": ANSWER, "bytes": ANSWER.len(), "truncated": false},
        ])
    );
    let tool = app
        .get(&format!("/api/v1/spans/{}/contents?max_bytes=4", s.tool))
        .await
        .ok_json();
    assert_eq!(tool[0]["kind"], "tool_arguments");
    assert_eq!(tool[0]["body"], r#"{"pa"#);
    assert_eq!(tool[0]["truncated"], true);
    assert_eq!(tool[0]["bytes"], 21);
    assert_eq!(tool[1]["kind"], "tool_result");
    assert_eq!(tool[1]["body"], "fn m");
    // A span without bodies has none.
    let root = app
        .get(&format!("/api/v1/spans/{}/contents", "b1".repeat(8)))
        .await
        .ok_json();
    assert_eq!(root, serde_json::json!([]));
}

async fn costs_are_grouped_four_ways(db: &TestDb) {
    let app = App::new(db).await;
    let s = seed(app.store.as_ref()).await;
    let models = app.get("/api/v1/costs?by=model").await.ok_json();
    assert_eq!(models[0]["key"], "anthropic:claude-sonnet-4-5");
    assert_eq!(models[0]["runs"], 2);
    assert_eq!(models[0]["cost_micros"], 2000);
    assert_eq!(models[0]["tokens"]["input"], 1010);
    assert_eq!(models[1]["key"], "openai:gpt-5");
    assert_eq!(models[1]["cost_micros"], Value::Null);
    assert_eq!(models[1]["unknown_cost_runs"], 1);
    assert_eq!(models.as_array().unwrap().len(), 2);

    let tasks = app.get("/api/v1/costs?by=task").await.ok_json();
    let keys: Vec<&str> = tasks
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, [String::new(), s.ready.0.to_string()]);
    assert_eq!(tasks[1]["runs"], 2);

    let roles = app.get("/api/v1/costs?by=role").await.ok_json();
    let keys: Vec<&str> = roles
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["coder", "explorer", "reviewer"]);

    let days = app.get("/api/v1/costs?by=day").await.ok_json();
    let total: u64 = days
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["runs"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 3);
    assert_eq!(days[0]["key"].as_str().unwrap().len(), "2026-01-01".len());

    let since = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(1))
        .unwrap();
    let later = app
        .get(&format!("/api/v1/costs?by=model&since={since}"))
        .await
        .ok_json();
    assert_eq!(later, serde_json::json!([]));
    let early = app
        .get("/api/v1/costs?by=model&since=2000-01-01T00:00:00Z")
        .await
        .ok_json();
    assert_eq!(early, models);
}

async fn releases_and_rollbacks_are_listed_newest_first(db: &TestDb) {
    let app = App::new(db).await;
    assert_eq!(
        app.get("/api/v1/releases").await.ok_json(),
        serde_json::json!([])
    );
    let s = seed(app.store.as_ref()).await;
    let list = app.get("/api/v1/releases").await.ok_json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["kind"], "rollback");
    assert_eq!(list[0]["note"], "back again");
    assert_eq!(list[1]["kind"], "release");
    assert_eq!(list[1]["number"], 1);
    assert_eq!(list[1]["tag"], "release-1");
    assert_eq!(list[1]["note"], "first <release>");
    assert_eq!(list[1]["tasks"], serde_json::json!([s.released.0]));
    assert!(list[0]["id"].as_i64() > list[1]["id"].as_i64());
}
