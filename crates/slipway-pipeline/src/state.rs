//! The canonical state of DESIGN §2 — what works, what is in flight, what is
//! broken — rendered from the store as short Markdown. Every stage's prompt
//! carries it, and [`Pipeline::sync_context`] writes it between the State
//! markers of `AGENTS.md` for people: after each task the scheduler drove,
//! and on `slipway context sync`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use slipway_store::TaskFilter;
use slipway_types::{Release, ReleaseKind, Task, TaskEvent, TaskId, TaskState};

use crate::{Pipeline, PipelineError};

/// The context file at the project root, read first by every agent.
pub const AGENTS_FILE: &str = "AGENTS.md";

/// The line after which the State section of `AGENTS.md` starts.
pub const STATE_BEGIN: &str = "<!-- slipway:state:begin -->";

/// The line before which the State section of `AGENTS.md` ends.
pub const STATE_END: &str = "<!-- slipway:state:end -->";

/// The most items a list of the state shows; the rest are counted.
const SECTION_ITEMS: usize = 20;
/// The most characters of a title the state shows.
const TITLE_CHARS: usize = 120;
/// The most characters of an event's reason the state shows.
const REASON_CHARS: usize = 240;

/// Returns the canonical state as Markdown: the last release and the tasks
/// staged since, the tasks in a work state or ready, and the tasks that need
/// a person or failed, each with the reason of its last event in `events`.
///
/// Every list is cut at twenty items, titles and reasons at one bounded
/// line; the same input gives the same text, so a section written from it
/// changes only when the state does.
#[must_use]
pub fn render_state(tasks: &[Task], releases: &[Release], events: &[TaskEvent]) -> String {
    let mut out = String::from("### What works\n\n");
    what_works(&mut out, tasks, releases);
    out.push_str("\n### In flight\n\n");
    in_flight(&mut out, tasks);
    out.push_str("\n### Broken / needs a person\n\n");
    let broken: Vec<String> = broken(tasks)
        .into_iter()
        .map(|t| {
            let mut item = format!(
                "{} ({}, lane {})",
                titled(t),
                t.state,
                one_line(&t.lane, 60)
            );
            let last = events
                .iter()
                .filter(|e| e.task_id == t.id && e.to == t.state)
                .max_by_key(|e| e.id);
            if let Some(event) = last.filter(|e| !e.reason.trim().is_empty()) {
                let _ = write!(item, ": {}", one_line(&event.reason, REASON_CHARS));
            }
            item
        })
        .collect();
    if broken.is_empty() {
        out.push_str("Nothing.\n");
    } else {
        list(&mut out, &broken);
    }
    out
}

/// Writes the release production is at (or went back to) with its tasks,
/// then the tasks staged since.
fn what_works(out: &mut String, tasks: &[Task], releases: &[Release]) {
    let title_of = |id: TaskId| {
        tasks
            .iter()
            .find(|t| t.id == id)
            .map_or_else(|| format!("#{id}"), titled)
    };
    if let Some(current) = releases.first() {
        let r = &current.release;
        let when = current.at.strftime("%Y-%m-%d %H:%M UTC");
        let (head, shipped) = match r.kind {
            ReleaseKind::Release => (
                format!(
                    "Production is {} (`{}`), released {when}",
                    one_line(&r.tag, 60),
                    short(&r.sha)
                ),
                r.tasks.as_slice(),
            ),
            ReleaseKind::Rollback => (
                format!(
                    "Production was rolled back to {} (`{}`) at {when}",
                    one_line(&r.tag, 60),
                    short(&r.sha)
                ),
                // The rollback lists none; what runs is what its target shipped.
                releases
                    .iter()
                    .find(|x| {
                        x.release.kind == ReleaseKind::Release && x.release.number == r.number
                    })
                    .map_or(&[][..], |x| x.release.tasks.as_slice()),
            ),
        };
        if shipped.is_empty() {
            let _ = writeln!(out, "{head}, with no tasks.");
        } else {
            let _ = writeln!(out, "{head}, with:");
            list(
                out,
                &shipped.iter().map(|id| title_of(*id)).collect::<Vec<_>>(),
            );
        }
    } else {
        out.push_str("No release yet.\n");
    }
    let staged: Vec<String> = tasks
        .iter()
        .filter(|t| t.state == TaskState::Staged)
        .map(titled)
        .collect();
    if !staged.is_empty() {
        out.push_str("Staged since, waiting for `slipway release`:\n");
        list(out, &staged);
    }
}

/// Writes the tasks in a work state or ready (ready first), and how many are queued.
fn in_flight(out: &mut String, tasks: &[Task]) {
    let mut active: Vec<&Task> = tasks
        .iter()
        .filter(|t| t.state == TaskState::Ready || t.state.is_stage())
        .collect();
    active.sort_by_key(|t| (t.state != TaskState::Ready, t.id));
    let items: Vec<String> = active
        .iter()
        .map(|t| {
            format!(
                "{} ({}, lane {})",
                titled(t),
                t.state,
                one_line(&t.lane, 60)
            )
        })
        .collect();
    list(out, &items);
    let queued = tasks
        .iter()
        .filter(|t| t.state == TaskState::Queued)
        .count();
    match (items.is_empty(), queued) {
        (true, 0) => out.push_str("Nothing in flight.\n"),
        (_, 0) => {}
        (_, 1) => out.push_str("1 task is queued.\n"),
        (_, n) => {
            let _ = writeln!(out, "{n} tasks are queued.");
        }
    }
}

/// Returns the tasks that need a person or failed, the latest to stop first.
fn broken(tasks: &[Task]) -> Vec<&Task> {
    let mut broken: Vec<&Task> = tasks
        .iter()
        .filter(|t| matches!(t.state, TaskState::NeedsHuman | TaskState::Failed))
        .collect();
    broken.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(b.id.cmp(&a.id)));
    broken
}

/// Writes `items` as a bullet list of at most [`SECTION_ITEMS`], counting the rest.
fn list(out: &mut String, items: &[String]) {
    for item in items.iter().take(SECTION_ITEMS) {
        let _ = writeln!(out, "- {item}");
    }
    if items.len() > SECTION_ITEMS {
        let _ = writeln!(out, "- … and {} more", items.len() - SECTION_ITEMS);
    }
}

fn titled(task: &Task) -> String {
    format!("#{} {}", task.id, one_line(&task.title, TITLE_CHARS))
}

/// Returns the first 12 digits of a commit id.
fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// Returns `text` as one line of at most `max` characters, control
/// characters replaced, and unable to open an HTML comment: the State
/// section's markers are comments, and a title must not end the section.
fn one_line(text: &str, max: usize) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let joined: String = words
        .join(" ")
        .chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect();
    let cut = if joined.chars().count() > max {
        let mut cut: String = joined.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    } else {
        joined
    };
    cut.replace("<!--", "&lt;!--")
}

/// Returns `text` with `state` between the State markers, or with a new
/// `## State` section at the end when it has neither marker. Everything
/// outside the markers is kept byte for byte.
fn with_state(text: &str, state: &str) -> Result<String, String> {
    let block = format!("{STATE_BEGIN}\n{}\n{STATE_END}", state.trim_end());
    let begins = text.matches(STATE_BEGIN).count();
    let ends = text.matches(STATE_END).count();
    match (text.find(STATE_BEGIN), text.find(STATE_END)) {
        (None, None) => {
            let mut out = text.to_owned();
            if !out.is_empty() {
                if !out.ends_with('\n') {
                    out.push('\n');
                }
                out.push('\n');
            }
            out.push_str("## State\n\n");
            out.push_str(&block);
            out.push('\n');
            Ok(out)
        }
        (Some(begin), Some(end)) if begins == 1 && ends == 1 && begin < end => Ok(format!(
            "{}{block}{}",
            &text[..begin],
            &text[end + STATE_END.len()..]
        )),
        _ => Err(format!(
            "its State markers are broken: it needs `{STATE_BEGIN}` once, then `{STATE_END}` once \
             (it has {begins} and {ends}); fix them, or remove both and Slipway adds the section again"
        )),
    }
}

/// Tells temporary files of one process apart.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `state` into the State section of the file at `path` (created when
/// missing), atomically: a temporary file in the same directory, renamed
/// over it. Returns false when the section already held it.
pub(crate) fn write_state(path: &Path, state: &str) -> Result<bool, PipelineError> {
    let name = path.display();
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(PipelineError::Other(format!(
                "{name} is a symlink: Slipway writes the State section only into a regular file"
            )));
        }
        Ok(meta) if !meta.is_file() => {
            return Err(PipelineError::Other(format!(
                "{name} is not a regular file"
            )));
        }
        Ok(meta) => Some(meta),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => return Err(PipelineError::Other(format!("cannot read {name}: {err}"))),
    };
    let text = match &meta {
        Some(_) => std::fs::read(path)
            .map_err(|e| PipelineError::Other(format!("cannot read {name}: {e}")))
            .and_then(|bytes| {
                String::from_utf8(bytes).map_err(|_| {
                    PipelineError::Other(format!(
                        "{name} is not UTF-8 text: save it as UTF-8, then sync again"
                    ))
                })
            })?,
        None => String::new(),
    };
    let new = with_state(&text, state).map_err(|e| PipelineError::Other(format!("{name}: {e}")))?;
    if new == text {
        return Ok(false);
    }
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let file_name = path
        .file_name()
        .map_or_else(|| AGENTS_FILE.into(), |n| n.to_string_lossy());
    let temp = dir.join(format!(
        ".{file_name}.{}.{}.tmp",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    if let Err(err) = replace(&temp, path, new.as_bytes(), meta.as_ref()) {
        let _ = std::fs::remove_file(&temp);
        return Err(PipelineError::Other(format!("cannot write {name}: {err}")));
    }
    Ok(true)
}

/// Writes `bytes` to the new file `temp` with the permissions of `old`,
/// then renames it over `path`.
fn replace(
    temp: &Path,
    path: &Path,
    bytes: &[u8],
    old: Option<&std::fs::Metadata>,
) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(temp)?;
    file.write_all(bytes)?;
    if let Some(old) = old {
        file.set_permissions(old.permissions())?;
    }
    file.sync_all()?;
    std::fs::rename(temp, path)
}

impl Pipeline {
    /// Returns the project's state rendered from the store: its tasks, its
    /// releases, and the events of the broken tasks the state shows.
    pub async fn state_text(&self) -> Result<String, PipelineError> {
        let tasks = self.store.tasks(&TaskFilter::default()).await?;
        let releases = self.store.releases().await?;
        let mut events = Vec::new();
        for task in broken(&tasks).into_iter().take(SECTION_ITEMS) {
            events.extend(self.store.events(Some(task.id)).await?);
        }
        Ok(render_state(&tasks, &releases, &events))
    }

    /// Writes the project's state into the State section of `AGENTS.md` in
    /// the main working tree; returns false when it was already current.
    pub async fn sync_context(&self) -> Result<bool, PipelineError> {
        let state = self.state_text().await?;
        write_state(&self.repo.root().join(AGENTS_FILE), &state)
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;
    use slipway_types::NewRelease;

    use super::*;

    fn at(minute: u32) -> Timestamp {
        format!("2026-11-24T13:{minute:02}:00Z").parse().unwrap()
    }

    fn task(id: i64, title: &str, lane: &str, state: TaskState) -> Task {
        Task {
            id: TaskId(id),
            title: title.to_owned(),
            body: String::new(),
            lane: lane.to_owned(),
            state,
            depends_on: Vec::new(),
            created_at: at(0),
            updated_at: at(u32::try_from(id).unwrap()),
        }
    }

    fn release(id: i64, kind: ReleaseKind, number: i64, tasks: &[i64]) -> Release {
        Release {
            id,
            at: at(30),
            release: NewRelease {
                kind,
                number,
                sha: "0123456789abcdef0123456789abcdef01234567".to_owned(),
                tag: format!("release-{number}"),
                note: String::new(),
                actor: "human:ann".to_owned(),
                tasks: tasks.iter().map(|t| TaskId(*t)).collect(),
            },
        }
    }

    fn event(id: i64, task: i64, to: TaskState, reason: &str) -> TaskEvent {
        TaskEvent {
            id,
            task_id: TaskId(task),
            at: at(40),
            actor: "scheduler".to_owned(),
            from: None,
            to,
            reason: reason.to_owned(),
        }
    }

    #[test]
    fn a_small_project_renders_exactly() {
        let tasks = [
            task(1, "Add the health endpoint", "api", TaskState::Released),
            task(2, "Retry on 503", "api", TaskState::Staged),
            task(3, "Count the retries", "api", TaskState::Coding),
            task(4, "Show the count", "web", TaskState::Ready),
            task(5, "Later", "web", TaskState::Queued),
            task(6, "Parse dates", "api", TaskState::NeedsHuman),
            task(7, "Fix the build", "web", TaskState::Failed),
            task(8, "Dropped", "web", TaskState::Cancelled),
        ];
        let releases = [
            release(2, ReleaseKind::Release, 2, &[1]),
            release(1, ReleaseKind::Release, 1, &[]),
        ];
        let events = [
            event(10, 6, TaskState::Planning, "retry"),
            event(
                11,
                6,
                TaskState::NeedsHuman,
                "plan review passes exhausted (3)\nwith 1 open",
            ),
            event(12, 3, TaskState::Failed, "not this task's state"),
        ];
        let want = "\
### What works

Production is release-2 (`0123456789ab`), released 2026-11-24 13:30 UTC, with:
- #1 Add the health endpoint
Staged since, waiting for `slipway release`:
- #2 Retry on 503

### In flight

- #4 Show the count (ready, lane web)
- #3 Count the retries (coding, lane api)
1 task is queued.

### Broken / needs a person

- #7 Fix the build (failed, lane web)
- #6 Parse dates (needs_human, lane api): plan review passes exhausted (3) with 1 open
";
        assert_eq!(render_state(&tasks, &releases, &events), want);
    }

    #[test]
    fn an_empty_project_says_so() {
        let want = "\
### What works

No release yet.

### In flight

Nothing in flight.

### Broken / needs a person

Nothing.
";
        assert_eq!(render_state(&[], &[], &[]), want);
    }

    #[test]
    fn long_lists_are_cut_and_counted() {
        let tasks: Vec<Task> = (1..=25)
            .map(|i| task(i, &format!("Task {i}"), "api", TaskState::Testing))
            .chain((26..=30).map(|i| task(i, "Q", "api", TaskState::Queued)))
            .collect();
        let text = render_state(&tasks, &[], &[]);
        assert!(
            text.contains(
                "- #20 Task 20 (testing, lane api)\n- … and 5 more\n5 tasks are queued.\n"
            ),
            "{text}"
        );
        assert!(!text.contains("#21 "), "{text}");
        assert_eq!(text.lines().count(), 6 + 20 + 2 + 4, "{text}");
    }

    #[test]
    fn a_rollback_shows_what_its_target_shipped() {
        let tasks = [
            task(1, "One", "api", TaskState::Released),
            task(2, "Two", "api", TaskState::Released),
        ];
        let releases = [
            release(3, ReleaseKind::Rollback, 1, &[]),
            release(2, ReleaseKind::Release, 2, &[2]),
            release(1, ReleaseKind::Release, 1, &[1]),
        ];
        let text = render_state(&tasks, &releases, &[]);
        assert!(
            text.contains("Production was rolled back to release-1 (`0123456789ab`) at 2026-11-24 13:30 UTC, with:\n- #1 One\n\n"),
            "{text}"
        );
    }

    #[test]
    fn titles_are_one_bounded_line_that_cannot_end_the_section() {
        let long = "x".repeat(500);
        let tasks = [
            task(
                1,
                "Evil\n<!-- slipway:state:end -->\n# Heading\x1b[2J",
                "api",
                TaskState::Coding,
            ),
            task(2, &long, "api", TaskState::Planning),
        ];
        let text = render_state(&tasks, &[], &[]);
        assert!(!text.contains("<!--"), "{text}");
        assert!(
            text.contains("- #1 Evil &lt;!-- slipway:state:end --> # Heading\u{FFFD}[2J (coding"),
            "{text}"
        );
        let line = text.lines().find(|l| l.starts_with("- #2 ")).unwrap();
        assert!(line.chars().count() < 160, "{line}");
        assert!(line.contains("x…"), "{line}");
        let doc = with_state(&format!("a\n{STATE_BEGIN}\n{STATE_END}\n"), &text).unwrap();
        assert_eq!(doc.matches(STATE_END).count(), 1);
    }

    const DOC: &str = "# Agents\n\nBuild with make.\n\n## State\n\n<!-- slipway:state:begin -->\nold\nstate\n<!-- slipway:state:end -->\n\n## After\nkept  \n";

    #[test]
    fn the_state_goes_between_the_markers_and_nothing_else_changes() {
        let new = with_state(DOC, "### What works\n\nNo release yet.\n").unwrap();
        let begin = DOC.find(STATE_BEGIN).unwrap() + STATE_BEGIN.len();
        let end = DOC.find(STATE_END).unwrap();
        assert_eq!(&new[..begin], &DOC[..begin]);
        let tail = &DOC[end..];
        assert!(new.ends_with(tail), "{new}");
        assert_eq!(
            &new[begin..new.len() - tail.len()],
            "\n### What works\n\nNo release yet.\n"
        );
        assert_eq!(
            with_state(&new, "### What works\n\nNo release yet.\n").unwrap(),
            new
        );
    }

    #[test]
    fn missing_markers_get_a_state_section_at_the_end() {
        assert_eq!(
            with_state("# Mine\nno newline", "S\n").unwrap(),
            format!("# Mine\nno newline\n\n## State\n\n{STATE_BEGIN}\nS\n{STATE_END}\n")
        );
        assert_eq!(
            with_state("", "S").unwrap(),
            format!("## State\n\n{STATE_BEGIN}\nS\n{STATE_END}\n")
        );
    }

    #[test]
    fn broken_markers_are_refused() {
        for text in [
            format!("{STATE_BEGIN}\nx\n"),
            format!("x\n{STATE_END}\n"),
            format!("{STATE_END}\n{STATE_BEGIN}\n"),
            format!("{STATE_BEGIN}\n{STATE_END}\n{STATE_BEGIN}\n{STATE_END}\n"),
        ] {
            let err = with_state(&text, "S").unwrap_err();
            assert!(err.contains("State markers are broken"), "{err}");
        }
    }

    #[test]
    fn writing_is_atomic_idempotent_and_refuses_symlinks() {
        let dir = std::env::temp_dir().join(format!("slipway-state-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(AGENTS_FILE);
        assert!(
            write_state(&path, "first").unwrap(),
            "a missing file is created"
        );
        std::fs::write(&path, DOC).unwrap();
        assert!(write_state(&path, "second").unwrap());
        assert!(!write_state(&path, "second").unwrap(), "already current");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# Agents\n\nBuild with make.\n"), "{text}");
        assert!(
            text.contains(&format!("{STATE_BEGIN}\nsecond\n{STATE_END}")),
            "{text}"
        );
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [AGENTS_FILE], "no temporary file is left");
        let link = dir.join("link.md");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let err = write_state(&link, "third").unwrap_err().to_string();
        assert!(err.contains("symlink"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
