//! The conformance suite: every behavior of the Store trait, run on SQLite
//! and on PostgreSQL with the same assertions.

use std::time::Duration;

use slipway_store::{
    Backend, LeaseGrant, OpenOptions, SCHEMA_VERSION, StateChange, StoreError, StoreLocation,
    TaskFilter,
};
use slipway_types::{Lease, NewTask, TaskId, TaskState, replay};

use crate::suite::support::{
    Rng, TestDb, at, create, new_task, on_both_backends, t0, us, wait_for_sqlite_idle,
};

on_both_backends!(
    create_list_filter_show,
    timestamps_are_microsecond_text,
    dependencies_must_exist,
    legal_and_illegal_transitions,
    expected_from_mismatch_is_a_conflict,
    events_are_append_only_and_ordered,
    events_after_an_id_page_forward,
    the_board_keeps_the_newest_of_each_cell_and_counts_them_all,
    replay_matches_state_after_random_sequences,
    leases_are_taken_held_and_renewed,
    leases_expire_and_are_released,
    meaningless_lease_arguments_are_refused,
    schema_version_is_current,
    concurrent_opens_migrate_once,
    newer_schema_is_refused_untouched,
);

fn change(to: TaskState, expected_from: Option<TaskState>) -> StateChange {
    StateChange {
        to,
        actor: "tester".into(),
        reason: format!("to {to}"),
        at: at(60),
        expected_from,
    }
}

async fn create_list_filter_show(db: &TestDb) {
    let store = db.open().await;
    let a = create(&*store, "first", "api").await;
    let b = create(&*store, "second", "web").await;
    let c = create(&*store, "third", "api").await;
    assert_eq!([a.id, b.id, c.id], [TaskId(1), TaskId(2), TaskId(3)]);
    assert_eq!(a.state, TaskState::Queued);
    assert_eq!(
        (a.title.as_str(), a.body.as_str()),
        ("first", "body of first")
    );
    assert_eq!(store.task(TaskId(2)).await.unwrap(), b);

    let all = store.tasks(&TaskFilter::default()).await.unwrap();
    assert_eq!(all, [a.clone(), b.clone(), c.clone()]);

    let api = TaskFilter {
        lane: Some("api".into()),
        ..TaskFilter::default()
    };
    assert_eq!(store.tasks(&api).await.unwrap(), [a.clone(), c.clone()]);

    let planning = store
        .transition(c.id, &change(TaskState::Planning, None))
        .await
        .unwrap();
    let by_state = TaskFilter {
        state: Some(TaskState::Planning),
        ..TaskFilter::default()
    };
    assert_eq!(
        store.tasks(&by_state).await.unwrap(),
        std::slice::from_ref(&planning)
    );
    let both = TaskFilter {
        state: Some(TaskState::Queued),
        lane: Some("api".into()),
    };
    assert_eq!(store.tasks(&both).await.unwrap(), [a]);
    let none = TaskFilter {
        lane: Some("docs".into()),
        ..TaskFilter::default()
    };
    assert_eq!(store.tasks(&none).await.unwrap(), []);

    let missing = store.task(TaskId(99)).await.unwrap_err();
    assert!(
        matches!(missing, StoreError::UnknownTask { id: TaskId(99) }),
        "{missing}"
    );
    assert!(
        missing.to_string().contains("slipway task list"),
        "{missing}"
    );

    // A second handle sees the same data.
    let other = db.open().await;
    assert_eq!(other.task(c.id).await.unwrap(), planning);
}

async fn timestamps_are_microsecond_text(db: &TestDb) {
    let store = db.open().await;
    let task = create(&*store, "t", "l").await;
    let micro: jiff::Timestamp = "2026-11-24T13:11:46.123456Z".parse().unwrap();
    assert_eq!((task.created_at, task.updated_at), (micro, micro));
    assert_eq!(store.task(task.id).await.unwrap(), task);
    assert_eq!(
        db.raw_strings("SELECT created_at FROM tasks").await,
        ["2026-11-24T13:11:46.123456Z"]
    );
    assert_eq!(
        db.raw_strings("SELECT substr(at, 1, 10) FROM task_events")
            .await,
        ["2026-11-24"]
    );
    let moved = store
        .transition(task.id, &change(TaskState::Planning, None))
        .await
        .unwrap();
    assert_eq!(moved.created_at, micro);
    assert_eq!(moved.updated_at, us(at(60)));
}

async fn dependencies_must_exist(db: &TestDb) {
    let store = db.open().await;
    let orphan = NewTask {
        depends_on: vec![TaskId(1)],
        ..new_task("orphan", "api")
    };
    let err = store
        .create_task(&orphan, "tester", t0())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::UnknownTask { id: TaskId(1) }),
        "{err}"
    );
    assert_eq!(store.tasks(&TaskFilter::default()).await.unwrap(), []);
    assert_eq!(store.events(None).await.unwrap(), []);

    let one = create(&*store, "one", "api").await;
    let two = create(&*store, "two", "api").await;
    let three = NewTask {
        depends_on: vec![two.id, one.id, two.id],
        ..new_task("three", "web")
    };
    let three = store.create_task(&three, "tester", t0()).await.unwrap();
    assert_eq!(three.depends_on, [one.id, two.id]);
    assert_eq!(
        store.task(three.id).await.unwrap().depends_on,
        [one.id, two.id]
    );

    // The id the next task would get does not exist yet either.
    for missing in [TaskId(42), TaskId(4), TaskId(0), TaskId(-1)] {
        let bad = NewTask {
            depends_on: vec![one.id, missing],
            ..new_task("bad", "api")
        };
        let err = store.create_task(&bad, "tester", t0()).await.unwrap_err();
        assert!(
            matches!(err, StoreError::UnknownTask { id } if id == missing),
            "{missing}: {err}"
        );
    }
    assert_eq!(store.tasks(&TaskFilter::default()).await.unwrap().len(), 3);
}

async fn legal_and_illegal_transitions(db: &TestDb) {
    let store = db.open().await;
    let task = create(&*store, "t", "api").await;
    let planning = StateChange {
        to: TaskState::Planning,
        actor: "scheduler".into(),
        reason: "lane free".into(),
        at: at(5),
        expected_from: Some(TaskState::Queued),
    };
    let moved = store.transition(task.id, &planning).await.unwrap();
    assert_eq!(moved.state, TaskState::Planning);
    assert_eq!(moved.updated_at, us(at(5)));
    let events = store.events(Some(task.id)).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!(
        (
            last.from,
            last.to,
            last.actor.as_str(),
            last.reason.as_str()
        ),
        (
            Some(TaskState::Queued),
            TaskState::Planning,
            "scheduler",
            "lane free"
        )
    );

    let err = store
        .transition(task.id, &change(TaskState::Released, None))
        .await
        .unwrap_err();
    match &err {
        StoreError::IllegalTransition(e) => {
            assert_eq!((e.from, e.to), (TaskState::Planning, TaskState::Released));
        }
        other => panic!("expected IllegalTransition, got {other}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("`planning`") && text.contains("`released`"),
        "{text}"
    );
    assert_eq!(store.task(task.id).await.unwrap(), moved);
    assert_eq!(store.events(Some(task.id)).await.unwrap(), events);

    let err = store
        .transition(TaskId(77), &change(TaskState::Planning, None))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::UnknownTask { id: TaskId(77) }),
        "{err}"
    );

    // Final states stay final.
    store
        .transition(task.id, &change(TaskState::Cancelled, None))
        .await
        .unwrap();
    let err = store
        .transition(task.id, &change(TaskState::Planning, None))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("final"), "{err}");
}

async fn expected_from_mismatch_is_a_conflict(db: &TestDb) {
    let store = db.open().await;
    let task = create(&*store, "t", "api").await;
    store
        .transition(task.id, &change(TaskState::Planning, None))
        .await
        .unwrap();
    let before = store.events(None).await.unwrap();
    let err = store
        .transition(
            task.id,
            &change(TaskState::Cancelled, Some(TaskState::Queued)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                id,
                expected: TaskState::Queued,
                actual: TaskState::Planning,
            } if id == task.id
        ),
        "{err}"
    );
    assert!(err.is_retryable());
    assert_eq!(
        store.task(task.id).await.unwrap().state,
        TaskState::Planning
    );
    assert_eq!(store.events(None).await.unwrap(), before);
}

async fn the_board_keeps_the_newest_of_each_cell_and_counts_them_all(db: &TestDb) {
    let store = db.open().await;
    assert_eq!(
        store.board(3).await.unwrap(),
        slipway_store::Board::default()
    );
    let path = [
        TaskState::Planning,
        TaskState::PlanReview,
        TaskState::Coding,
        TaskState::Testing,
    ];
    let mut rng = Rng::new(7);
    for i in 0..40 {
        let lane = ["api", "web", "Docs"][rng.below(3)];
        let task = create(&*store, &format!("task {i}"), lane).await;
        let steps = rng.below(path.len() + 1);
        for (n, to) in path.iter().take(steps).enumerate() {
            let mut moved = change(*to, None);
            // Some moves at the same instant: ties go to the larger id.
            moved.at = at(60 + u64::try_from(rng.below(3) + n).unwrap());
            store.transition(task.id, &moved).await.unwrap();
        }
    }
    let all = store.tasks(&TaskFilter::default()).await.unwrap();
    for per_cell in [0, 1, 2, 50] {
        let board = store.board(per_cell).await.unwrap();
        // The oracle: group, sort newest first, keep `per_cell`.
        let mut cells: std::collections::BTreeMap<(Vec<u8>, &str), Vec<&slipway_types::Task>> =
            std::collections::BTreeMap::new();
        for task in &all {
            cells
                .entry((task.lane.as_bytes().to_vec(), task.state.as_str()))
                .or_default()
                .push(task);
        }
        let mut expected: Vec<TaskId> = Vec::new();
        let mut counts = Vec::new();
        for ((lane, _), cell) in &mut cells {
            cell.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(b.id.cmp(&a.id)));
            let per_cell = usize::try_from(per_cell).unwrap();
            expected.extend(cell.iter().take(per_cell).map(|t| t.id));
            counts.push((
                String::from_utf8(lane.clone()).unwrap(),
                cell[0].state,
                u64::try_from(cell.len()).unwrap(),
            ));
        }
        expected.sort();
        let got: Vec<TaskId> = board.cards.iter().map(|c| c.id).collect();
        assert_eq!(got, expected, "per_cell {per_cell}");
        assert_eq!(board.counts, counts, "per_cell {per_cell}");
        for card in &board.cards {
            let task = all.iter().find(|t| t.id == card.id).unwrap();
            assert_eq!(
                (&card.title, &card.lane, card.state, card.updated_at),
                (&task.title, &task.lane, task.state, task.updated_at)
            );
        }
    }
}

async fn events_after_an_id_page_forward(db: &TestDb) {
    let store = db.open().await;
    assert_eq!(store.last_event_id().await.unwrap(), 0);
    assert_eq!(store.events_after(0, 10).await.unwrap(), []);
    let a = create(&*store, "a", "api").await;
    let b = create(&*store, "b", "web").await;
    store
        .transition(a.id, &change(TaskState::Planning, None))
        .await
        .unwrap();
    let all = store.events(None).await.unwrap();
    assert_eq!(store.last_event_id().await.unwrap(), all[2].id);
    assert_eq!(store.events_after(0, 10).await.unwrap(), all);
    assert_eq!(store.events_after(0, 2).await.unwrap(), all[..2]);
    assert_eq!(store.events_after(all[0].id, 10).await.unwrap(), all[1..]);
    assert_eq!(store.events_after(all[2].id, 10).await.unwrap(), []);
    assert_eq!(store.events_after(0, 0).await.unwrap(), []);
    assert_eq!(
        store.events_after(all[1].id, 10).await.unwrap()[0].task_id,
        a.id
    );
    // Events of every task, in the order recorded.
    assert_eq!(all[1].task_id, b.id);
}

async fn events_are_append_only_and_ordered(db: &TestDb) {
    let store = db.open().await;
    let a = create(&*store, "a", "api").await;
    let b = create(&*store, "b", "web").await;
    for (id, to) in [
        (a.id, TaskState::Planning),
        (b.id, TaskState::Planning),
        (a.id, TaskState::PlanReview),
        (b.id, TaskState::Cancelled),
        (a.id, TaskState::Coding),
    ] {
        store.transition(id, &change(to, None)).await.unwrap();
    }
    let all = store.events(None).await.unwrap();
    assert_eq!(all.len(), 7);
    assert!(all.windows(2).all(|w| w[0].id < w[1].id), "{all:?}");
    let of_a = store.events(Some(a.id)).await.unwrap();
    let expected: Vec<_> = all.iter().filter(|e| e.task_id == a.id).cloned().collect();
    assert_eq!(of_a, expected);
    let first = &of_a[0];
    assert_eq!(
        (
            first.from,
            first.to,
            first.reason.as_str(),
            first.actor.as_str()
        ),
        (None, TaskState::Queued, "created", "tester")
    );
    let states: Vec<_> = of_a.iter().map(|e| e.to).collect();
    assert_eq!(
        states,
        [
            TaskState::Queued,
            TaskState::Planning,
            TaskState::PlanReview,
            TaskState::Coding
        ]
    );
    let err = store.events(Some(TaskId(9))).await.unwrap_err();
    assert!(
        matches!(err, StoreError::UnknownTask { id: TaskId(9) }),
        "{err}"
    );

    // The database itself refuses to rewrite history.
    for sql in [
        "UPDATE task_events SET reason = 'rewritten'",
        "DELETE FROM task_events",
    ] {
        let err = db.raw_execute(sql).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(store.events(None).await.unwrap(), all);
}

async fn replay_matches_state_after_random_sequences(db: &TestDb) {
    let store = db.open().await;
    for seed in 0..6 {
        let mut rng = Rng::new(seed);
        let mut model = Vec::new();
        for n in 0..3 {
            let task = create(&*store, &format!("seed {seed} task {n}"), "lane").await;
            model.push((task.id, TaskState::Queued));
        }
        for step in 0..40 {
            let slot = rng.below(model.len());
            let (id, state) = model[slot];
            let to = rng.pick(&TaskState::ALL);
            // Mostly follow the machine, so tasks get far; sometimes try anything.
            let to = match state.successors().collect::<Vec<_>>() {
                next if !next.is_empty() && rng.below(4) != 0 => rng.pick(&next),
                _ => to,
            };
            let expected_from = match rng.below(3) {
                0 => None,
                1 => Some(state),
                _ => Some(rng.pick(&TaskState::ALL)),
            };
            let result = store.transition(id, &change(to, expected_from)).await;
            match (expected_from, state.transition(to)) {
                (Some(expected), _) if expected != state => {
                    assert!(
                        matches!(result, Err(StoreError::Conflict { actual, .. }) if actual == state),
                        "seed {seed} step {step}: {result:?}"
                    );
                }
                (_, Err(illegal)) => assert!(
                    matches!(&result, Err(StoreError::IllegalTransition(e)) if *e == illegal),
                    "seed {seed} step {step}: {result:?}"
                ),
                (_, Ok(next)) => {
                    let task = result.unwrap();
                    assert_eq!(task.state, next);
                    model[slot].1 = next;
                }
            }
        }
        for (id, state) in &model {
            let events = store.events(Some(*id)).await.unwrap();
            assert_eq!(replay(*id, &events), Ok(*state), "seed {seed} task {id}");
            assert_eq!(store.task(*id).await.unwrap().state, *state);
        }
    }
    // The whole log, split by task, replays to every stored state.
    let all = store.events(None).await.unwrap();
    for task in store.tasks(&TaskFilter::default()).await.unwrap() {
        let own: Vec<_> = all.iter().filter(|e| e.task_id == task.id).collect();
        assert_eq!(replay(task.id, own), Ok(task.state));
    }
}

async fn leases_are_taken_held_and_renewed(db: &TestDb) {
    let store = db.open().await;
    let ttl = Duration::from_secs(30);
    assert_eq!(store.lease("seam:Cargo.lock").await.unwrap(), None);

    let LeaseGrant::Acquired(first) = store
        .acquire_lease("seam:Cargo.lock", "task-1", ttl, at(0))
        .await
        .unwrap()
    else {
        panic!("a free lease is granted")
    };
    let expected = Lease {
        name: "seam:Cargo.lock".into(),
        holder: "task-1".into(),
        acquired_at: us(at(0)),
        expires_at: us(at(30)),
        generation: 1,
    };
    assert_eq!(first, expected);
    assert_eq!(
        store.lease("seam:Cargo.lock").await.unwrap(),
        Some(first.clone())
    );

    let held = store
        .acquire_lease("seam:Cargo.lock", "task-2", ttl, at(1))
        .await
        .unwrap();
    assert_eq!(held, LeaseGrant::HeldBy(first.clone()));

    // Acquiring again renews, keeping when it was first taken.
    let again = store
        .acquire_lease("seam:Cargo.lock", "task-1", ttl, at(10))
        .await
        .unwrap();
    let renewed_by_acquire = Lease {
        expires_at: us(at(40)),
        ..first.clone()
    };
    assert_eq!(again, LeaseGrant::Acquired(renewed_by_acquire));

    let renewed = store
        .renew_lease("seam:Cargo.lock", "task-1", ttl, at(20))
        .await
        .unwrap();
    assert_eq!(renewed.expires_at, us(at(50)));
    assert_eq!(renewed.acquired_at, us(at(0)));
    assert_eq!(renewed.generation, 1, "renewal keeps the fencing token");

    // The same holder coming back after expiry holds a new generation.
    let LeaseGrant::Acquired(back) = store
        .acquire_lease("seam:Cargo.lock", "task-1", ttl, at(50))
        .await
        .unwrap()
    else {
        panic!("an expired lease is granted")
    };
    assert_eq!((back.generation, back.acquired_at), (2, us(at(50))));
}

async fn leases_expire_and_are_released(db: &TestDb) {
    let store = db.open().await;
    let ttl = Duration::from_secs(30);
    store
        .acquire_lease("seam:Cargo.lock", "task-1", ttl, at(0))
        .await
        .unwrap();
    let renewed = store
        .renew_lease("seam:Cargo.lock", "task-1", ttl, at(20))
        .await
        .unwrap();
    assert_eq!(renewed.expires_at, us(at(50)));

    let err = store
        .renew_lease("seam:Cargo.lock", "task-2", ttl, at(21))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::LeaseLost { name, holder } if name == "seam:Cargo.lock" && holder == "task-2"),
        "{err}"
    );
    // Expired at its expiry instant: renewal is too late, takeover is allowed.
    let err = store
        .renew_lease("seam:Cargo.lock", "task-1", ttl, at(50))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::LeaseLost { .. }), "{err}");
    let taken = store
        .acquire_lease("seam:Cargo.lock", "task-2", ttl, at(50))
        .await
        .unwrap();
    let taken_over = Lease {
        name: "seam:Cargo.lock".into(),
        holder: "task-2".into(),
        acquired_at: us(at(50)),
        expires_at: us(at(80)),
        generation: 2,
    };
    assert_eq!(taken, LeaseGrant::Acquired(taken_over.clone()));
    assert_eq!(
        store
            .acquire_lease("seam:Cargo.lock", "task-1", ttl, at(51))
            .await
            .unwrap(),
        LeaseGrant::HeldBy(taken_over)
    );

    // Other names are independent.
    assert!(matches!(
        store
            .acquire_lease("scheduler", "task-1", ttl, at(51))
            .await
            .unwrap(),
        LeaseGrant::Acquired(_)
    ));

    assert!(
        !store
            .release_lease("seam:Cargo.lock", "task-1")
            .await
            .unwrap()
    );
    assert!(
        store
            .release_lease("seam:Cargo.lock", "task-2")
            .await
            .unwrap()
    );
    assert!(
        !store
            .release_lease("seam:Cargo.lock", "task-2")
            .await
            .unwrap()
    );
    assert_eq!(store.lease("seam:Cargo.lock").await.unwrap(), None);
    let after = store
        .acquire_lease("seam:Cargo.lock", "task-1", ttl, at(52))
        .await
        .unwrap();
    assert!(
        matches!(after, LeaseGrant::Acquired(ref l) if l.acquired_at == us(at(52)) && l.generation == 3),
        "a released lease keeps counting generations: {after:?}"
    );
    let err = store
        .renew_lease("never-taken", "task-1", ttl, at(52))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::LeaseLost { .. }), "{err}");
}

async fn meaningless_lease_arguments_are_refused(db: &TestDb) {
    let store = db.open().await;
    let ttl = Duration::from_secs(30);
    let cases = [
        ("", "task-1", ttl, "no name"),
        ("seam:a", " ", ttl, "holder is empty"),
        ("seam:a", "task-1", Duration::ZERO, "zero duration"),
    ];
    for (name, holder, ttl, says) in cases {
        let acquired = store.acquire_lease(name, holder, ttl, at(0)).await;
        let renewed = store.renew_lease(name, holder, ttl, at(0)).await;
        for err in [acquired.err(), renewed.err()] {
            let err = err.unwrap_or_else(|| panic!("{name:?}/{holder:?}/{ttl:?} is refused"));
            assert!(
                matches!(err, StoreError::BadLease { .. }) && err.to_string().contains(says),
                "{err}"
            );
        }
    }
    // Nothing was recorded.
    assert_eq!(store.lease("seam:a").await.unwrap(), None);
    assert_eq!(store.lease("").await.unwrap(), None);
}

async fn schema_version_is_current(db: &TestDb) {
    let store = db.open().await;
    assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
    assert_eq!(store.location(), &db.location());
    let backend = match db.location() {
        StoreLocation::Sqlite(_) => Backend::Sqlite,
        StoreLocation::Postgres(_) => Backend::Postgres,
    };
    assert_eq!(store.backend(), backend);
    drop(store);
    // Reopening applies nothing twice.
    let again = db.open().await;
    assert_eq!(again.schema_version().await.unwrap(), SCHEMA_VERSION);
    let versions = db
        .raw_strings("SELECT CAST(version AS TEXT) FROM slipway_schema_migrations ORDER BY version")
        .await;
    let expected: Vec<String> = (1..=SCHEMA_VERSION).map(|v| v.to_string()).collect();
    assert_eq!(versions, expected);
}

async fn concurrent_opens_migrate_once(db: &TestDb) {
    let location = db.location();
    let opens: Vec<_> = (0..6)
        .map(|_| {
            let location = location.clone();
            tokio::spawn(async move { slipway_store::open(&location).await })
        })
        .collect();
    for open in opens {
        let store = open.await.unwrap().unwrap();
        assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
    }
    let versions = db
        .raw_strings("SELECT CAST(version AS TEXT) FROM slipway_schema_migrations ORDER BY version")
        .await;
    assert_eq!(versions.len(), usize::try_from(SCHEMA_VERSION).unwrap());
}

async fn newer_schema_is_refused_untouched(db: &TestDb) {
    let store = db.open().await;
    create(&*store, "kept", "api").await;
    drop(store);
    let newer = SCHEMA_VERSION + 1;
    db.raw_execute(&format!(
        "INSERT INTO slipway_schema_migrations (version, applied_at) VALUES ({newer}, '2099-01-01T00:00:00.000000Z')"
    ))
    .await
    .unwrap();
    wait_for_sqlite_idle(db).await;
    let before = db.fingerprint().await;
    wait_for_sqlite_idle(db).await;
    let bytes = sqlite_bytes(db);

    let err = db.open_with(&OpenOptions::default()).await.err().unwrap();
    assert!(
        matches!(err, StoreError::NewerSchema { found, supported, .. } if found == newer && supported == SCHEMA_VERSION),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("upgrade slipway") && text.contains("nothing was changed"),
        "{text}"
    );
    assert!(text.contains(&db.location().describe()), "{text}");
    wait_for_sqlite_idle(db).await;
    assert_eq!(sqlite_bytes(db), bytes);
    assert_eq!(db.fingerprint().await, before);
}

/// The SQLite file's bytes (none for PostgreSQL).
fn sqlite_bytes(db: &TestDb) -> Option<Vec<u8>> {
    match db.location() {
        StoreLocation::Sqlite(path) => Some(std::fs::read(path).unwrap()),
        StoreLocation::Postgres(_) => None,
    }
}
