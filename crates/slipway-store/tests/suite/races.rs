//! Races: many threads and many processes, each with its own store handle,
//! competing for one lease, one transition, one stage's move or one release
//! number. Exactly one wins each time.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use slipway_store::{LeaseGrant, StateChange, Store, StoreError, StoreLocation};
use slipway_types::{NewRelease, ReleaseKind, StageResult, TaskState};

use crate::suite::support::{TestDb, at, create, on_both_backends};

on_both_backends!(
    lease_race_between_threads,
    lease_race_between_processes,
    concurrent_transitions_have_one_winner,
    concurrent_stage_finishes_record_one_result,
    concurrent_releases_take_a_number_once,
);

const THREADS: usize = 16;
const ROUNDS: u64 = 4;
const PROCESSES: usize = 6;
const TTL: Duration = Duration::from_mins(1);

/// Runs `work(n, store, barrier)` on `count` threads, each with its own
/// runtime and store handle, and returns what each returned.
fn on_threads<T: Send + 'static>(
    location: &StoreLocation,
    count: usize,
    work: impl Fn(usize, &dyn Store, &Barrier, &tokio::runtime::Runtime) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let barrier = Arc::new(Barrier::new(count));
    let work = Arc::new(work);
    let threads: Vec<_> = (0..count)
        .map(|n| {
            let (barrier, work, location) = (barrier.clone(), work.clone(), location.clone());
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                let store = runtime.block_on(slipway_store::open(&location)).unwrap();
                work(n, &*store, &barrier, &runtime)
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

async fn lease_race_between_threads(db: &TestDb) {
    let location = db.location();
    let outcomes = tokio::task::spawn_blocking(move || {
        on_threads(&location, THREADS, |n, store, barrier, runtime| {
            let me = format!("worker-{n}");
            let mut rounds = Vec::new();
            for round in 0..ROUNDS {
                barrier.wait();
                let grant = runtime
                    .block_on(store.acquire_lease("scheduler", &me, TTL, at(round)))
                    .unwrap();
                barrier.wait();
                if let LeaseGrant::Acquired(lease) = &grant {
                    assert_eq!(lease.holder, me);
                    assert!(
                        runtime
                            .block_on(store.release_lease("scheduler", &me))
                            .unwrap()
                    );
                }
                rounds.push(grant);
                barrier.wait();
            }
            rounds
        })
    })
    .await
    .unwrap();
    for round in 0..usize::try_from(ROUNDS).unwrap() {
        let grants: Vec<&LeaseGrant> = outcomes.iter().map(|rounds| &rounds[round]).collect();
        let winners: Vec<_> = grants
            .iter()
            .filter_map(|g| match g {
                LeaseGrant::Acquired(lease) => Some(lease.holder.clone()),
                LeaseGrant::HeldBy(_) => None,
            })
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {grants:?}");
        for grant in grants {
            if let LeaseGrant::HeldBy(lease) = grant {
                assert_eq!(lease.holder, winners[0], "round {round}");
            }
        }
    }
}

async fn concurrent_transitions_have_one_winner(db: &TestDb) {
    let store = db.open().await;
    let task = create(&*store, "contested", "api").await;
    let location = db.location();
    let attempt = move |to: TaskState, expected_from: Option<TaskState>| {
        let location = location.clone();
        on_threads(&location, 8, move |n, store, barrier, runtime| {
            let change = StateChange {
                to,
                actor: format!("worker-{n}"),
                reason: "race".into(),
                at: at(1),
                expected_from,
            };
            barrier.wait();
            runtime.block_on(store.transition(task.id, &change))
        })
    };

    // All expect `queued`: one moves it, the others are told it moved.
    let results = tokio::task::spawn_blocking({
        let attempt = attempt.clone();
        move || attempt(TaskState::Planning, Some(TaskState::Queued))
    })
    .await
    .unwrap();
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    for result in &results {
        if let Err(err) = result {
            assert!(
                matches!(
                    err,
                    StoreError::Conflict {
                        expected: TaskState::Queued,
                        actual: TaskState::Planning,
                        ..
                    }
                ),
                "{err}"
            );
        }
    }

    // Without an expectation: still one winner and no lost update; the others
    // either lost the swap or saw the move and found it illegal.
    let results = tokio::task::spawn_blocking(move || attempt(TaskState::PlanReview, None))
        .await
        .unwrap();
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results.iter().all(|r| matches!(
            r,
            Ok(_) | Err(StoreError::Conflict { .. } | StoreError::IllegalTransition(_))
        )),
        "{results:?}"
    );
    let events = store.events(Some(task.id)).await.unwrap();
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(
        slipway_types::replay(task.id, &events),
        Ok(TaskState::PlanReview)
    );
    assert_eq!(
        store.task(task.id).await.unwrap().state,
        TaskState::PlanReview
    );
}

async fn concurrent_stage_finishes_record_one_result(db: &TestDb) {
    let store = db.open().await;
    let task = create(&*store, "contested", "api").await;
    let location = db.location();
    // Every worker finished planning and moves the task on from `queued`.
    let results = tokio::task::spawn_blocking(move || {
        on_threads(&location, 8, move |n, store, barrier, runtime| {
            let result = StageResult::new(task.id, "planning", true, format!("plan {n}"));
            let change = StateChange {
                to: TaskState::Planning,
                actor: format!("worker-{n}"),
                reason: "race".into(),
                at: at(1),
                expected_from: Some(TaskState::Queued),
            };
            barrier.wait();
            runtime.block_on(store.finish_stage(&result, Some(&change)))
        })
    })
    .await
    .unwrap();
    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(
        results.iter().all(|r| matches!(
            r,
            Ok(_)
                | Err(StoreError::Conflict {
                    expected: TaskState::Queued,
                    actual: TaskState::Planning,
                    ..
                })
        )),
        "{results:?}"
    );
    // Only the winner's result is recorded, with its one move.
    assert_eq!(
        store.stage_results(task.id).await.unwrap(),
        [winners[0].clone()]
    );
    assert_eq!(store.events(Some(task.id)).await.unwrap().len(), 2);
}

async fn concurrent_releases_take_a_number_once(db: &TestDb) {
    let store = db.open().await;
    let mut tasks = Vec::new();
    for n in 0..8 {
        let task = create(&*store, &format!("task {n}"), "api").await;
        for to in [
            TaskState::Planning,
            TaskState::PlanReview,
            TaskState::Coding,
            TaskState::Testing,
            TaskState::CodeReview,
            TaskState::Ready,
            TaskState::Staged,
        ] {
            let change = StateChange {
                to,
                actor: "tester".into(),
                reason: "setup".into(),
                at: at(0),
                expected_from: None,
            };
            store.transition(task.id, &change).await.unwrap();
        }
        tasks.push(task.id);
    }
    let location = db.location();
    // Each worker releases its own staged task as release-1.
    let results = tokio::task::spawn_blocking(move || {
        on_threads(&location, 8, move |n, store, barrier, runtime| {
            let release = NewRelease {
                kind: ReleaseKind::Release,
                number: 1,
                sha: format!("{n:040x}"),
                tag: "release-1".into(),
                note: String::new(),
                actor: format!("worker-{n}"),
                tasks: vec![tasks[n]],
            };
            barrier.wait();
            runtime.block_on(store.record_release(&release, at(1)))
        })
    })
    .await
    .unwrap();
    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(_) | Err(StoreError::ReleaseExists { number: 1 }))),
        "{results:?}"
    );
    assert_eq!(store.releases().await.unwrap(), [winners[0].clone()]);
    // Only the winner's task moved.
    let released: Vec<_> = store
        .tasks(&slipway_store::TaskFilter {
            state: Some(TaskState::Released),
            ..slipway_store::TaskFilter::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|task| task.id)
        .collect();
    assert_eq!(released, winners[0].release.tasks);
}

/// Names the child mode's inputs: where the store is, the directory for the
/// ready/go/result files, and the child's number.
const CHILD_LOCATION: &str = "SLIPWAY_STORE_RACE_LOCATION";
const CHILD_DIR: &str = "SLIPWAY_STORE_RACE_DIR";
const CHILD_ID: &str = "SLIPWAY_STORE_RACE_ID";

async fn lease_race_between_processes(db: &TestDb) {
    let location = db.location();
    // Migrate first, so the children only race for the lease.
    drop(db.open().await);
    let dir = tempfile::tempdir().unwrap();
    let encoded = match &location {
        StoreLocation::Sqlite(path) => format!("sqlite:{}", path.display()),
        StoreLocation::Postgres(url) => format!("postgres:{url}"),
    };
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..PROCESSES)
        .map(|n| {
            Command::new(&exe)
                .args(["--ignored", "--exact", "suite::races::lease_race_child"])
                .args(["--nocapture", "--test-threads=1"])
                .env(CHILD_LOCATION, &encoded)
                .env(CHILD_DIR, dir.path())
                .env(CHILD_ID, n.to_string())
                // The child's libtest report would read as this run's; its panics still show.
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    // Start them together once all have opened their store.
    let deadline = Instant::now() + Duration::from_mins(1);
    while (0..PROCESSES).any(|n| !dir.path().join(format!("ready-{n}")).exists()) {
        assert!(Instant::now() < deadline, "children did not get ready");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    std::fs::write(dir.path().join("go"), "").unwrap();
    for mut child in children {
        assert!(child.wait().unwrap().success(), "a child process failed");
    }
    let results: Vec<String> = (0..PROCESSES)
        .map(|n| std::fs::read_to_string(dir.path().join(format!("result-{n}"))).unwrap())
        .collect();
    let winners: Vec<usize> = (0..PROCESSES)
        .filter(|n| results[*n] == "acquired")
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let holder = format!("process-{}", winners[0]);
    for (n, result) in results.iter().enumerate() {
        if n != winners[0] {
            assert_eq!(result, &format!("held by {holder}"));
        }
    }
    let store = db.open().await;
    let lease = store.lease("scheduler").await.unwrap().unwrap();
    assert_eq!(lease.holder, holder);
}

/// The child side of `lease_race_between_processes`, run by the parent in a
/// separate process of this test binary.
#[test]
#[ignore = "run as a child process by lease_race_between_processes"]
fn lease_race_child() {
    let (Ok(location), Ok(dir), Ok(id)) = (
        std::env::var(CHILD_LOCATION),
        std::env::var(CHILD_DIR),
        std::env::var(CHILD_ID),
    ) else {
        eprintln!("lease_race_child runs only as a child of lease_race_between_processes");
        return;
    };
    let location = match location.split_once(':') {
        Some(("sqlite", path)) => StoreLocation::Sqlite(PathBuf::from(path)),
        Some(("postgres", url)) => StoreLocation::Postgres(url.to_owned()),
        _ => panic!("bad {CHILD_LOCATION}: {location}"),
    };
    let dir = Path::new(&dir);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = slipway_store::open(&location).await.unwrap();
        std::fs::write(dir.join(format!("ready-{id}")), "").unwrap();
        while !dir.join("go").exists() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let me = format!("process-{id}");
        let result = match store
            .acquire_lease("scheduler", &me, TTL, at(0))
            .await
            .unwrap()
        {
            LeaseGrant::Acquired(lease) => {
                assert_eq!(lease.holder, me);
                "acquired".to_owned()
            }
            LeaseGrant::HeldBy(lease) => format!("held by {}", lease.holder),
        };
        std::fs::write(dir.join(format!("result-{id}")), result).unwrap();
    });
}
