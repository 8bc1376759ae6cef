use super::cli::slipway_in;

#[test]
fn the_demo_rehearses_the_pipeline_from_plan_to_rollback() {
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
        "a scripted model in this process",
        "$ slipway run --agents 2 --until-idle",
        "[high] The plan never tests a counter at zero",
        "$ slipway approve 1",
        "release-1: production is at",
        "release-2: production is at",
        "production is back at release-1",
        "Production was rolled back to release-1",
        "ROLE      RUNS",
        "Task 3 waits there for you to approve it",
    ] {
        assert!(
            run.stdout.contains(expected),
            "missing {expected:?}:\n{}",
            run.stdout
        );
    }
    // Each stage, as it happens, on stderr.
    for expected in [
        "task 1 · plan_review → planning: plan review found critical or high findings (1)",
        "task 1 · plan_review → coding: plan review found no critical or high findings",
        "task 1 · testing → debugging: tests red: 1 test(s) failed",
        "task 1 · testing → code_review: tests green",
        "task 1 · code_review → ready",
        "task 1 · ready → staged: approved: merge into staging green",
        "task 2 · code_review → ready",
        "task 3 · code_review → ready",
    ] {
        assert!(
            run.stderr.contains(expected),
            "missing {expected:?}:\n{}",
            run.stderr
        );
    }

    check_the_record(&dir);
    let again = slipway_in(tmp.path(), &["demo", "--dir", dir.to_str().unwrap()], &[]).fails(2);
    assert!(again.stderr.contains("not empty"), "{again:#?}");
}

/// The project the demo leaves behind is a real one, with the record in its store.
fn check_the_record(dir: &std::path::Path) {
    let list = slipway_in(dir, &["task", "list", "--json"], &[])
        .ok()
        .json();
    let states: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["released", "released", "ready"]);
    let shown = slipway_in(dir, &["task", "show", "1", "--json"], &[])
        .ok()
        .json();
    let record: Vec<(&str, bool)> = shown["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["stage"].as_str().unwrap(), s["passed"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        record,
        [
            ("workspace", true),
            ("planning", true),
            ("plan_review", false),
            ("planning", true),
            ("plan_review", true),
            ("coding", true),
            ("base_tests", true),
            ("testing", false),
            ("debugging", true),
            ("testing", true),
            ("code_review", true),
            ("approve", true),
        ]
    );
    assert_eq!(shown["stages"][7]["tests"]["failed"], 1);
    assert_eq!(shown["stages"][9]["tests"]["passed"], 3);
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(
        git(&["rev-parse", "production"]),
        git(&["rev-parse", "release-1"])
    );
    let staged = git(&["show", "staging:api/server.py"]);
    assert!(
        staged.contains("max(0, counters.get(name, 0) - 1)"),
        "{staged}"
    );
    let traces = slipway_in(dir, &["trace", "list", "--json"], &[])
        .ok()
        .json();
    assert_eq!(traces.as_array().unwrap().len(), 15, "{traces:#}");
    assert!(
        traces
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["status"] == "ok")
    );
}
