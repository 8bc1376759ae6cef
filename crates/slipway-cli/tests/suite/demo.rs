use super::cli::slipway_in;

#[test]
fn the_demo_tours_the_foundation_and_an_agent_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tally");
    // A store named in the environment holds real work: the demo must not touch it.
    let unreachable = [("SLIPWAY_DATABASE_URL", "postgres://u:pw@127.0.0.1:1/real")];
    let run = slipway_in(
        tmp.path(),
        &["demo", "--dir", dir.to_str().unwrap()],
        &unreachable,
    )
    .ok();
    for expected in [
        "$ slipway init",
        "lanes are MECE",
        "db/schema.sql: seam",
        "created task 3 in lane `docs`: Document the health check",
        "task:2 acquires seam:db/schema.sql: refused, task:1 holds it",
        "task:2 acquires seam:db/schema.sql: granted",
        "queued → cancelled  by human:Slipway Demo: the README already covers it",
        "$ slipway trace list",
        "execute_tool write_file · ",
        "ROLE      RUNS",
    ] {
        assert!(
            run.stdout.contains(expected),
            "missing {expected:?}:\n{}",
            run.stdout
        );
    }
    // The project it leaves behind is a real one.
    let list = slipway_in(&dir, &["task", "list", "--json"], &[])
        .ok()
        .json();
    assert_eq!(list.as_array().unwrap().len(), 3);
    assert_eq!(list[2]["state"], "cancelled");
    // The explorer's run: its tool calls live on stderr, one write denied, and its trace is stored.
    for expected in [
        "→ read_file {\"path\": \"api/server.py\"}",
        "← write_file denied: ",
        "4 model calls · 4 tool calls (1 denied)",
    ] {
        assert!(
            run.stderr.contains(expected),
            "missing {expected:?}:\n{}",
            run.stderr
        );
    }
    assert!(
        std::fs::read_to_string(dir.join("api/server.py"))
            .unwrap()
            .starts_with("def increment"),
        "the explorer's write was refused"
    );
    let traces = slipway_in(&dir, &["trace", "list", "--json"], &[])
        .ok()
        .json();
    assert_eq!(traces.as_array().unwrap().len(), 1, "{traces:#}");
    assert_eq!(traces[0]["role"], "explorer");
    assert_eq!(traces[0]["status"], "ok");
    assert_eq!(traces[0]["input_tokens"], 3140);
    let spans = slipway_in(
        &dir,
        &["trace", "show", traces[0]["id"].as_str().unwrap(), "--json"],
        &[],
    )
    .ok()
    .json();
    let denied: Vec<_> = spans["spans"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "denied")
        .collect();
    assert_eq!(denied.len(), 1, "{spans:#}");
    assert_eq!(denied[0]["tool_name"], "write_file");

    let again = slipway_in(tmp.path(), &["demo", "--dir", dir.to_str().unwrap()], &[]).fails(2);
    assert!(again.stderr.contains("not empty"), "{again:#?}");
}
