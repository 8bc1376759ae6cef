use super::cli::slipway_in;

#[test]
fn the_demo_tours_the_foundation() {
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

    let again = slipway_in(tmp.path(), &["demo", "--dir", dir.to_str().unwrap()], &[]).fails(2);
    assert!(again.stderr.contains("not empty"), "{again:#?}");
}
