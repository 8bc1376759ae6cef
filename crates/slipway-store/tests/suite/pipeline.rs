//! What the pipeline records: a task's seams, stage results with their
//! findings written with the move they cause, and releases; on SQLite and on
//! PostgreSQL with the same assertions.

use jiff::Timestamp;
use slipway_store::{StateChange, Store, StoreError};
use slipway_types::{
    Finding, NewRelease, ReleaseKind, Severity, StageRecord, StageResult, TaskId, TaskState,
    TestCounts, TraceId, replay,
};

use crate::suite::support::{Rng, TestDb, at, create, on_both_backends, us};

on_both_backends!(
    a_stage_result_round_trips_with_findings_and_counts,
    a_legal_change_moves_the_task_with_its_result,
    a_stale_change_writes_nothing,
    an_illegal_change_writes_nothing,
    stage_results_are_oldest_first_per_task,
    random_stage_sequences_read_back_as_written,
    seams_are_replaced_and_sorted,
    a_release_moves_its_staged_tasks,
    a_release_of_a_task_not_staged_writes_nothing,
    a_release_number_is_recorded_once,
    rollbacks_repeat_numbers_and_releases_list_newest_first,
    unknown_tasks_are_typed_errors_and_write_nothing,
    pipeline_history_is_append_only,
);

const TO_STAGED: [TaskState; 7] = [
    TaskState::Planning,
    TaskState::PlanReview,
    TaskState::Coding,
    TaskState::Testing,
    TaskState::CodeReview,
    TaskState::Ready,
    TaskState::Staged,
];

fn change(to: TaskState, expected_from: Option<TaskState>, seconds: u64) -> StateChange {
    StateChange {
        to,
        actor: "pipeline".into(),
        reason: format!("to {to}"),
        at: at(seconds),
        expected_from,
    }
}

/// Moves a task along `path`, one legal step at a time.
async fn walk(store: &dyn Store, id: TaskId, path: &[TaskState]) {
    for to in path {
        store.transition(id, &change(*to, None, 1)).await.unwrap();
    }
}

async fn staged(store: &dyn Store, title: &str) -> TaskId {
    let id = create(store, title, title).await.id;
    walk(store, id, &TO_STAGED).await;
    id
}

fn finding(severity: Severity, title: &str, location: &str) -> Finding {
    Finding {
        severity,
        title: title.into(),
        detail: format!("why {title} matters"),
        location: location.into(),
    }
}

/// A result with every field set.
fn full_result(task: TaskId) -> StageResult {
    StageResult {
        body: "running 12 tests\n\u{1F980} ok\0 trailing NUL".into(),
        sha: Some("0123456789abcdef0123456789abcdef01234567".into()),
        trace_id: Some(TraceId::from_bytes([0xab; 16])),
        tests: Some(TestCounts {
            passed: 12,
            failed: 0,
            skipped: 3,
        }),
        findings: vec![
            finding(Severity::Medium, "naming", "src/lib.rs:3"),
            finding(Severity::Critical, "leaks a secret", "src/auth.rs:40"),
            finding(Severity::Low, "typo", ""),
            finding(Severity::High, "no test for the error path", "tests/"),
        ],
        ..StageResult::new(task, "code_review", false, "two blocking findings")
    }
}

fn release(number: i64, tasks: &[TaskId]) -> NewRelease {
    NewRelease {
        kind: ReleaseKind::Release,
        number,
        sha: format!("{number:040x}"),
        tag: format!("release-{number}"),
        note: format!("note {number}"),
        actor: "alice".into(),
        tasks: tasks.to_vec(),
    }
}

fn rollback(number: i64, tasks: &[TaskId]) -> NewRelease {
    NewRelease {
        kind: ReleaseKind::Rollback,
        actor: "bob".into(),
        ..release(number, tasks)
    }
}

/// Rows of the pipeline's tables, to see that a refused write left none.
async fn pipeline_rows(db: &TestDb) -> Vec<String> {
    let mut all = Vec::new();
    for table in [
        "stage_results",
        "findings",
        "releases",
        "release_tasks",
        "task_seams",
    ] {
        let count = db
            .raw_strings(&format!("SELECT CAST(COUNT(*) AS TEXT) FROM {table}"))
            .await;
        all.push(format!("{table} {}", count[0]));
    }
    all.extend(db.fingerprint().await);
    all
}

async fn a_stage_result_round_trips_with_findings_and_counts(db: &TestDb) {
    let store = db.open().await;
    let task = create(&*store, "t", "api").await;
    let written = full_result(task.id);
    let before = Timestamp::now();
    let record = store.finish_stage(&written, None).await.unwrap();
    let after = Timestamp::now();
    assert!(
        us(before) <= record.at && record.at <= after,
        "without a change the result is stamped now: {}",
        record.at
    );
    // A NUL is stored as U+FFFD on both backends; everything else as given.
    let expected = StageResult {
        body: written.body.replace('\0', "\u{fffd}"),
        ..written.clone()
    };
    assert_eq!(record.result, expected);
    assert_eq!(
        store.stage_results(task.id).await.unwrap(),
        std::slice::from_ref(&record)
    );
    // Findings keep the order given, not the order of severity.
    let titles: Vec<&str> = record
        .result
        .findings
        .iter()
        .map(|f| f.title.as_str())
        .collect();
    assert_eq!(
        titles,
        [
            "naming",
            "leaks a secret",
            "typo",
            "no test for the error path"
        ]
    );
    // A bare result reads back bare: no counts, no sha, no trace, no findings.
    let bare = StageResult::new(task.id, "planning", true, "planned");
    let second = store.finish_stage(&bare, None).await.unwrap();
    assert_eq!(second.result, bare);
    assert!(second.id > record.id);
    assert_eq!(
        store.stage_results(task.id).await.unwrap(),
        [record, second]
    );
    // A result without a change leaves the task alone.
    assert_eq!(store.task(task.id).await.unwrap(), task);
    assert_eq!(store.events(Some(task.id)).await.unwrap().len(), 1);
    assert_eq!(
        db.raw_strings("SELECT at FROM stage_results ORDER BY id")
            .await[0]
            .len(),
        "2026-11-24T13:11:46.123456Z".len(),
        "timestamps are stored as the tasks' are"
    );
}

async fn a_legal_change_moves_the_task_with_its_result(db: &TestDb) {
    let store = db.open().await;
    let task = create(&*store, "t", "api").await;
    walk(&*store, task.id, &[TaskState::Planning]).await;
    let events = store.events(Some(task.id)).await.unwrap();
    let planned = StageResult {
        body: "## Seams\n- Cargo.lock".into(),
        ..StageResult::new(task.id, "planning", true, "plan written")
    };
    let moved = change(TaskState::PlanReview, Some(TaskState::Planning), 90);
    let record = store.finish_stage(&planned, Some(&moved)).await.unwrap();
    assert_eq!(record.at, us(at(90)), "the result takes the change's time");
    assert_eq!(record.result, planned);

    let now = store.task(task.id).await.unwrap();
    assert_eq!(
        (now.state, now.updated_at),
        (TaskState::PlanReview, us(at(90)))
    );
    let after = store.events(Some(task.id)).await.unwrap();
    assert_eq!(after.len(), events.len() + 1, "one event appended");
    assert_eq!(after[..events.len()], events[..]);
    let last = after.last().unwrap();
    assert_eq!(
        (
            last.from,
            last.to,
            last.actor.as_str(),
            last.reason.as_str(),
            last.at
        ),
        (
            Some(TaskState::Planning),
            TaskState::PlanReview,
            "pipeline",
            "to plan_review",
            us(at(90))
        )
    );
    assert_eq!(replay(task.id, &after), Ok(TaskState::PlanReview));
    assert_eq!(store.stage_results(task.id).await.unwrap(), [record]);

    // Without `expected_from` a legal move is made from whatever state the task is in.
    let review = StageResult::new(task.id, "plan_review", true, "no findings");
    store
        .finish_stage(&review, Some(&change(TaskState::Coding, None, 91)))
        .await
        .unwrap();
    assert_eq!(store.task(task.id).await.unwrap().state, TaskState::Coding);
    assert_eq!(store.stage_results(task.id).await.unwrap().len(), 2);
}

async fn a_stale_change_writes_nothing(db: &TestDb) {
    let store = db.open().await;
    let task = create(&*store, "t", "api").await;
    walk(
        &*store,
        task.id,
        &[TaskState::Planning, TaskState::PlanReview],
    )
    .await;
    let before = pipeline_rows(db).await;
    // The caller believes the task is still planning; it moved on.
    let stale = change(TaskState::PlanReview, Some(TaskState::Planning), 90);
    let err = store
        .finish_stage(&full_result(task.id), Some(&stale))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                id,
                expected: TaskState::Planning,
                actual: TaskState::PlanReview,
            } if id == task.id
        ),
        "{err}"
    );
    assert!(err.is_conflict() && err.is_retryable());
    assert_eq!(pipeline_rows(db).await, before);
    assert_eq!(store.stage_results(task.id).await.unwrap(), []);
    assert_eq!(
        store.task(task.id).await.unwrap().state,
        TaskState::PlanReview
    );
}

async fn an_illegal_change_writes_nothing(db: &TestDb) {
    let store = db.open().await;
    let task = create(&*store, "t", "api").await;
    let before = pipeline_rows(db).await;
    let events = store.events(None).await.unwrap();
    for illegal in [
        change(TaskState::Released, None, 90),
        change(TaskState::Released, Some(TaskState::Queued), 90),
        change(TaskState::Queued, None, 90),
    ] {
        let err = store
            .finish_stage(&full_result(task.id), Some(&illegal))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::IllegalTransition(e) if e.from == TaskState::Queued && e.to == illegal.to),
            "{err}"
        );
        assert_eq!(pipeline_rows(db).await, before);
    }
    assert_eq!(store.events(None).await.unwrap(), events);
    assert_eq!(store.stage_results(task.id).await.unwrap(), []);
    assert_eq!(store.task(task.id).await.unwrap(), task);
}

async fn stage_results_are_oldest_first_per_task(db: &TestDb) {
    let store = db.open().await;
    let a = create(&*store, "a", "api").await.id;
    let b = create(&*store, "b", "web").await.id;
    let mut mine = (Vec::new(), Vec::new());
    // Interleaved between tasks, and stamped with times unlike the order
    // written: each task's results come back in the order written.
    for n in 0..6_u64 {
        let (id, list) = if n % 3 == 0 {
            (b, &mut mine.1)
        } else {
            (a, &mut mine.0)
        };
        let result = StageResult::new(id, "testing", n % 2 == 0, format!("run {n}"));
        let stamp = StateChange {
            at: at(100 - n),
            ..change(TaskState::Planning, None, 0)
        };
        // Only the first result of a task can move it from queued to planning.
        let moved = list.is_empty().then_some(&stamp);
        list.push(store.finish_stage(&result, moved).await.unwrap());
    }
    let summaries = |records: &[StageRecord]| -> Vec<String> {
        records.iter().map(|r| r.result.summary.clone()).collect()
    };
    assert_eq!(
        summaries(&store.stage_results(a).await.unwrap()),
        ["run 1", "run 2", "run 4", "run 5"]
    );
    assert_eq!(store.stage_results(a).await.unwrap(), mine.0);
    assert_eq!(store.stage_results(b).await.unwrap(), mine.1);
    assert_eq!(summaries(&mine.1), ["run 0", "run 3"]);
    let c = create(&*store, "c", "docs").await.id;
    assert_eq!(store.stage_results(c).await.unwrap(), []);
}

const STAGES: [&str; 9] = [
    "planning",
    "plan_review",
    "coding",
    "testing",
    "debugging",
    "code_review",
    "ownership",
    "approve",
    "reject",
];

const TEXTS: [&str; 7] = [
    "",
    "plain",
    "multi\nline\r\n",
    "quotes ' \" and \\ and $1",
    "emoji \u{1F980} and accents é",
    "nul\0inside",
    "  padded  ",
];

/// A random result for `task`, from `rng`.
fn random_result(rng: &mut Rng, task: TaskId) -> StageResult {
    let text = |rng: &mut Rng| rng.pick(&TEXTS).to_owned();
    let findings = (0..rng.below(4))
        .map(|n| Finding {
            severity: rng.pick(&Severity::ALL),
            title: format!("finding {n} {}", text(rng)),
            detail: text(rng),
            location: text(rng),
        })
        .collect();
    let count = |rng: &mut Rng| rng.next() % 1000;
    StageResult {
        task_id: task,
        stage: rng.pick(&STAGES).to_owned(),
        passed: rng.below(2) == 0,
        summary: text(rng),
        body: text(rng).repeat(rng.below(3)),
        sha: (rng.below(2) == 0).then(|| format!("{:040x}", rng.next())),
        trace_id: (rng.below(2) == 0)
            .then(|| TraceId::from_bytes(rng.next().to_le_bytes().repeat(2).try_into().unwrap())),
        tests: (rng.below(2) == 0).then(|| TestCounts {
            passed: count(rng),
            failed: count(rng),
            skipped: count(rng),
        }),
        findings,
    }
}

/// What the store keeps of a result: the same, each NUL as U+FFFD.
fn as_stored(result: &StageResult) -> StageResult {
    let clean = |text: &str| text.replace('\0', "\u{fffd}");
    StageResult {
        stage: clean(&result.stage),
        summary: clean(&result.summary),
        body: clean(&result.body),
        findings: result
            .findings
            .iter()
            .map(|f| Finding {
                title: clean(&f.title),
                detail: clean(&f.detail),
                location: clean(&f.location),
                ..f.clone()
            })
            .collect(),
        ..result.clone()
    }
}

/// No change, or a change from `state` that is mostly legal and up to date,
/// sometimes illegal or stale.
fn random_change(rng: &mut Rng, state: TaskState, step: u64) -> Option<StateChange> {
    if rng.below(4) == 0 {
        return None;
    }
    let next: Vec<_> = state.successors().collect();
    let to = if next.is_empty() || rng.below(4) == 0 {
        rng.pick(&TaskState::ALL)
    } else {
        rng.pick(&next)
    };
    let expected_from = match rng.below(4) {
        0 => Some(rng.pick(&TaskState::ALL)),
        1 => None,
        _ => Some(state),
    };
    Some(change(to, expected_from, step))
}

/// Any sequence of results, with changes legal, illegal or stale, reads back
/// as a model of it says: the results whose change was accepted, in order,
/// unchanged, and each task in the state its accepted changes led to.
async fn random_stage_sequences_read_back_as_written(db: &TestDb) {
    let store = db.open().await;
    for seed in 0..4 {
        let mut rng = Rng::new(seed);
        let mut model = Vec::new();
        for n in 0..3 {
            let id = create(&*store, &format!("seed {seed} task {n}"), "lane")
                .await
                .id;
            model.push((id, TaskState::Queued, Vec::new()));
        }
        for step in 0..30_u64 {
            let slot = rng.below(model.len());
            let (id, state, _) = &model[slot];
            let (id, state) = (*id, *state);
            let result = random_result(&mut rng, id);
            let moved = random_change(&mut rng, state, step);
            let outcome = store.finish_stage(&result, moved.as_ref()).await;
            let expected = match &moved {
                None => Ok(state),
                Some(c) => match c.expected_from {
                    Some(e) if e != state => Err("conflict"),
                    _ => state.transition(c.to).map_err(|_| "illegal"),
                },
            };
            let context = format!("seed {seed} step {step}: {outcome:?}");
            match (expected, outcome) {
                (Ok(next), Ok(record)) => {
                    assert_eq!(record.result, as_stored(&result), "{context}");
                    if let Some(c) = &moved {
                        assert_eq!(record.at, us(c.at), "{context}");
                    }
                    model[slot].1 = next;
                    model[slot].2.push(record);
                }
                (Err("conflict"), Err(StoreError::Conflict { actual, .. })) => {
                    assert_eq!(actual, state, "{context}");
                }
                (Err("illegal"), Err(StoreError::IllegalTransition(_))) => {}
                (expected, _) => panic!("expected {expected:?}; {context}"),
            }
        }
        for (id, state, records) in &model {
            assert_eq!(&store.stage_results(*id).await.unwrap(), records);
            assert_eq!(store.task(*id).await.unwrap().state, *state);
            let events = store.events(Some(*id)).await.unwrap();
            assert_eq!(replay(*id, &events), Ok(*state));
        }
    }
}

async fn seams_are_replaced_and_sorted(db: &TestDb) {
    let store = db.open().await;
    let a = create(&*store, "a", "api").await.id;
    let b = create(&*store, "b", "web").await.id;
    assert_eq!(store.task_seams(a).await.unwrap(), Vec::<String>::new());
    let seams = |names: &[&str]| -> Vec<String> { names.iter().map(|s| (*s).to_owned()).collect() };

    store
        .set_task_seams(
            a,
            &seams(&["Cargo.toml", "Cargo.lock", "api/mod.rs", "Cargo.lock"]),
        )
        .await
        .unwrap();
    store
        .set_task_seams(b, &seams(&["web/routes.rs"]))
        .await
        .unwrap();
    // Byte order, the same on both backends whatever the server's collation.
    assert_eq!(
        store.task_seams(a).await.unwrap(),
        ["Cargo.lock", "Cargo.toml", "api/mod.rs"]
    );

    store
        .set_task_seams(a, &seams(&["z", "b/x", "B/x", "a\0nul"]))
        .await
        .unwrap();
    assert_eq!(
        store.task_seams(a).await.unwrap(),
        ["B/x", "a\u{fffd}nul", "b/x", "z"]
    );
    assert_eq!(store.task_seams(b).await.unwrap(), ["web/routes.rs"]);

    store.set_task_seams(a, &[]).await.unwrap();
    assert_eq!(store.task_seams(a).await.unwrap(), Vec::<String>::new());
    assert_eq!(store.task_seams(b).await.unwrap(), ["web/routes.rs"]);
}

async fn a_release_moves_its_staged_tasks(db: &TestDb) {
    let store = db.open().await;
    let a = staged(&*store, "a").await;
    let b = staged(&*store, "b").await;
    let other = staged(&*store, "other").await;
    let events = store.events(None).await.unwrap();

    let recorded = store
        .record_release(&release(1, &[b, a, b]), at(200))
        .await
        .unwrap();
    assert_eq!(recorded.at, us(at(200)));
    assert_eq!(
        recorded.release,
        NewRelease {
            tasks: vec![a, b],
            ..release(1, &[])
        },
        "the task list is stored sorted and without duplicates"
    );
    assert_eq!(
        store.releases().await.unwrap(),
        std::slice::from_ref(&recorded)
    );

    for id in [a, b] {
        let task = store.task(id).await.unwrap();
        assert_eq!(
            (task.state, task.updated_at),
            (TaskState::Released, us(at(200)))
        );
    }
    assert_eq!(store.task(other).await.unwrap().state, TaskState::Staged);
    let after = store.events(None).await.unwrap();
    assert_eq!(after[..events.len()], events[..]);
    let added: Vec<_> = after[events.len()..]
        .iter()
        .map(|e| {
            (
                e.task_id,
                e.from,
                e.to,
                e.actor.as_str(),
                e.reason.as_str(),
                e.at,
            )
        })
        .collect();
    let moved = |id| {
        (
            id,
            Some(TaskState::Staged),
            TaskState::Released,
            "alice",
            "released in release-1",
            us(at(200)),
        )
    };
    assert_eq!(added, [moved(a), moved(b)]);

    // The next release ships what is staged now.
    let second = store
        .record_release(&release(2, &[other]), at(300))
        .await
        .unwrap();
    assert_eq!(second.release.tasks, [other]);
    assert!(second.id > recorded.id);
    assert_eq!(store.releases().await.unwrap(), [second, recorded]);
    // A release of no task moves production all the same.
    let empty = store
        .record_release(&release(3, &[]), at(400))
        .await
        .unwrap();
    assert_eq!(empty.release.tasks, []);
    assert_eq!(store.releases().await.unwrap()[0], empty);
}

async fn a_release_of_a_task_not_staged_writes_nothing(db: &TestDb) {
    let store = db.open().await;
    let ok = staged(&*store, "ok").await;
    let ready = create(&*store, "ready", "web").await.id;
    walk(&*store, ready, &TO_STAGED[..6]).await;
    let released = staged(&*store, "released").await;
    store
        .record_release(&release(1, &[released]), at(100))
        .await
        .unwrap();
    let before = pipeline_rows(db).await;
    let recorded = store.releases().await.unwrap();

    for (not_staged, actual) in [(ready, TaskState::Ready), (released, TaskState::Released)] {
        let err = store
            .record_release(&release(2, &[ok, not_staged]), at(200))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Conflict { id, expected: TaskState::Staged, actual: a } if id == not_staged && a == actual
            ),
            "{err}"
        );
        assert!(err.is_conflict(), "{err}");
        let text = err.to_string();
        assert!(
            text.contains(&format!("task {not_staged}")) && text.contains("`staged`"),
            "{text}"
        );
        assert_eq!(pipeline_rows(db).await, before);
        assert_eq!(store.releases().await.unwrap(), recorded);
        assert_eq!(store.task(ok).await.unwrap().state, TaskState::Staged);
        assert_eq!(store.task(not_staged).await.unwrap().state, actual);
    }
    // Number 2 was not taken by the refused attempts.
    let second = store
        .record_release(&release(2, &[ok]), at(300))
        .await
        .unwrap();
    assert_eq!(second.release.number, 2);
}

async fn a_release_number_is_recorded_once(db: &TestDb) {
    let store = db.open().await;
    let a = staged(&*store, "a").await;
    let b = staged(&*store, "b").await;
    let first = store
        .record_release(&release(1, &[a]), at(100))
        .await
        .unwrap();
    let before = pipeline_rows(db).await;

    let err = store
        .record_release(&release(1, &[b]), at(200))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::ReleaseExists { number: 1 }),
        "{err}"
    );
    assert!(err.is_conflict() && !err.is_retryable(), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("release-1 is already recorded") && text.contains("nothing was written"),
        "{text}"
    );
    assert_eq!(pipeline_rows(db).await, before);
    assert_eq!(store.task(b).await.unwrap().state, TaskState::Staged);
    assert_eq!(store.releases().await.unwrap(), [first]);
}

async fn rollbacks_repeat_numbers_and_releases_list_newest_first(db: &TestDb) {
    let store = db.open().await;
    let a = staged(&*store, "a").await;
    let b = staged(&*store, "b").await;
    let one = store
        .record_release(&release(1, &[a]), at(100))
        .await
        .unwrap();
    let two = store
        .record_release(&release(2, &[b]), at(200))
        .await
        .unwrap();
    let events = store.events(None).await.unwrap();

    // Back to release-1, listing the tasks of release-2; then again.
    let back = store
        .record_release(&rollback(1, &[b]), at(300))
        .await
        .unwrap();
    assert_eq!(back.release, rollback(1, &[b]));
    let again = store
        .record_release(&rollback(1, &[]), at(400))
        .await
        .unwrap();
    assert_eq!(again.release.kind, ReleaseKind::Rollback);
    // A rollback moves no task.
    assert_eq!(store.events(None).await.unwrap(), events);
    assert_eq!(store.task(b).await.unwrap().state, TaskState::Released);

    let all = store.releases().await.unwrap();
    assert_eq!(all, [again.clone(), back, two, one]);
    let ids: Vec<i64> = all.iter().map(|r| r.id).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    // Only releases hold their number: one recorded is refused again, while
    // a rollback's number takes nothing from the releases.
    let err = store
        .record_release(&release(2, &[]), at(500))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::ReleaseExists { number: 2 }),
        "{err}"
    );
    let ahead = store
        .record_release(&rollback(3, &[]), at(600))
        .await
        .unwrap();
    let three = store
        .record_release(&release(3, &[]), at(700))
        .await
        .unwrap();
    assert_eq!(store.releases().await.unwrap()[..3], [three, ahead, again]);
}

async fn unknown_tasks_are_typed_errors_and_write_nothing(db: &TestDb) {
    let store = db.open().await;
    let known = staged(&*store, "known").await;
    let missing = TaskId(99);
    let before = pipeline_rows(db).await;
    let unknown = |err: StoreError| {
        assert!(
            matches!(err, StoreError::UnknownTask { id } if id == missing),
            "{err}"
        );
        assert!(err.is_unknown_task() && err.is_not_found());
    };
    unknown(
        store
            .set_task_seams(missing, &["x".into()])
            .await
            .unwrap_err(),
    );
    unknown(store.task_seams(missing).await.unwrap_err());
    unknown(store.stage_results(missing).await.unwrap_err());
    unknown(
        store
            .finish_stage(&full_result(missing), None)
            .await
            .unwrap_err(),
    );
    unknown(
        store
            .finish_stage(
                &full_result(missing),
                Some(&change(TaskState::Planning, Some(TaskState::Queued), 9)),
            )
            .await
            .unwrap_err(),
    );
    unknown(
        store
            .record_release(&release(1, &[known, missing]), at(100))
            .await
            .unwrap_err(),
    );
    unknown(
        store
            .record_release(&rollback(1, &[missing]), at(100))
            .await
            .unwrap_err(),
    );
    assert_eq!(pipeline_rows(db).await, before);
    assert_eq!(store.task(known).await.unwrap().state, TaskState::Staged);
    assert_eq!(store.releases().await.unwrap(), []);
}

async fn pipeline_history_is_append_only(db: &TestDb) {
    let store = db.open().await;
    let task = staged(&*store, "t").await;
    store.finish_stage(&full_result(task), None).await.unwrap();
    store
        .record_release(&release(1, &[task]), at(100))
        .await
        .unwrap();
    let before = pipeline_rows(db).await;
    for (table, column) in [
        ("stage_results", "summary"),
        ("findings", "title"),
        ("releases", "note"),
        ("release_tasks", "task_id"),
    ] {
        for sql in [
            format!("UPDATE {table} SET {column} = {column}"),
            format!("DELETE FROM {table}"),
        ] {
            let err = db.raw_execute(&sql).await.unwrap_err();
            assert!(err.to_string().contains("append-only"), "{sql}: {err}");
        }
    }
    assert_eq!(pipeline_rows(db).await, before);
    // The database refuses what the types cannot say.
    for sql in [
        "INSERT INTO findings (result_id, task_id, severity, title, detail, location) \
         VALUES (1, 1, 'severe', 't', '', '')",
        "INSERT INTO releases (at, kind, number, sha, tag, note, actor) \
         VALUES ('2026-11-24T13:11:46.123456Z', 'hotfix', 9, '', '', '', '')",
        "INSERT INTO releases (at, kind, number, sha, tag, note, actor) \
         VALUES ('2026-11-24T13:11:46.123456Z', 'release', 1, '', '', '', '')",
        "INSERT INTO stage_results (task_id, at, stage, passed, summary, body, tests_passed) \
         VALUES (1, '2026-11-24T13:11:46.123456Z', 'testing', TRUE, '', '', 3)",
    ] {
        assert!(db.raw_execute(sql).await.is_err(), "{sql}");
    }
    assert_eq!(pipeline_rows(db).await, before);
}
