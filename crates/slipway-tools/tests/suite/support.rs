//! A repository in a temporary directory, with a sibling directory outside
//! it that no tool may touch.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use slipway_policy::{AgentRole, Grant, LaneSpec, Ownership};
use slipway_tools::{Limits, ToolBox, ToolOutcome, Workspace};
use tempfile::TempDir;

/// `café` in NFC, as the docs lane's glob spells it.
pub(crate) const CAFE_NFC: &str = "caf\u{e9}";
/// The same name in NFD: `e` and a combining acute accent.
pub(crate) const CAFE_NFD: &str = "cafe\u{301}";

pub(crate) struct Fixture {
    _dir: TempDir,
    pub(crate) root: PathBuf,
    pub(crate) outside: PathBuf,
}

impl Fixture {
    /// A repository with lanes `api` (src/api/**), `web` (web/**) and `docs`
    /// (docs/café/**), seams `Cargo.lock`, `*.lock` and `schema/**`, control
    /// files, a `.git` and `.slipway` directory and a `.gitignore`; and an
    /// `outside` directory beside it holding `secret.txt`.
    pub(crate) fn new() -> Self {
        let dir = match tempfile::tempdir() {
            Ok(dir) => dir,
            Err(err) => panic!("cannot make a temporary directory: {err}"),
        };
        let root = dir.path().join("repo");
        let outside = dir.path().join("outside");
        let fixture = Fixture {
            _dir: dir,
            root,
            outside,
        };
        for (path, content) in [
            ("src/api/lib.rs", "fn one() {}\nfn two() {}\n"),
            (
                "src/api/found.rs",
                "// the needle is here\nlet needle = 1;\n",
            ),
            ("web/app.js", "console.log('needle');\n"),
            ("slipway.toml", "spec = \"SPEC.md\"\n"),
            ("AGENTS.md", "# Agents\n"),
            ("Cargo.lock", "# lock\n"),
            ("schema/db.sql", "create table t (needle int);\n"),
            (".slipway/slipway.db", "needle in private state\n"),
            (".git/config", "[core]\n"),
            (".gitignore", "target/\n*.log\n"),
            ("target/out.txt", "needle in build output\n"),
            ("debug.log", "needle in a log\n"),
        ] {
            fixture.put(path, content);
        }
        fixture.put_outside("secret.txt", "top secret\n");
        fixture
    }

    pub(crate) fn put(&self, path: &str, content: &str) {
        put(&self.root.join(path), content);
    }

    pub(crate) fn put_outside(&self, path: &str, content: &str) {
        put(&self.outside.join(path), content);
    }

    pub(crate) fn read(&self, path: &str) -> Option<String> {
        fs::read_to_string(self.root.join(path)).ok()
    }

    pub(crate) fn exists(&self, path: &str) -> bool {
        fs::symlink_metadata(self.root.join(path)).is_ok()
    }

    /// Makes `link` (in the repository) a symbolic link to `target`.
    pub(crate) fn symlink(&self, target: &str, link: &str) {
        let link = self.root.join(link);
        if let Err(err) = std::os::unix::fs::symlink(target, &link) {
            panic!("cannot link {}: {err}", link.display());
        }
    }

    /// Makes `link` (in the repository) another name of the file `target`.
    pub(crate) fn hard_link(&self, target: &str, link: &str) {
        let link = self.root.join(link);
        if let Err(err) = fs::hard_link(self.root.join(target), &link) {
            panic!("cannot link {}: {err}", link.display());
        }
    }

    /// The names in the repository's directory `dir`, sorted.
    pub(crate) fn names(&self, dir: &str) -> Vec<String> {
        let entries = match fs::read_dir(self.root.join(dir)) {
            Ok(entries) => entries,
            Err(err) => panic!("cannot list {dir}: {err}"),
        };
        let mut names: Vec<String> = entries
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Every file outside the repository and every control file, with its
    /// content: what no tool may change.
    pub(crate) fn protected(&self) -> BTreeMap<PathBuf, String> {
        let mut files = BTreeMap::new();
        snapshot(&self.outside, &mut files);
        snapshot(&self.root.join(".slipway"), &mut files);
        for control in ["slipway.toml", "AGENTS.md"] {
            let path = self.root.join(control);
            files.insert(path.clone(), fs::read_to_string(&path).unwrap_or_default());
        }
        files
    }

    pub(crate) fn toolbox(&self, grant: Grant) -> ToolBox {
        self.toolbox_with(grant, Limits::default())
    }

    pub(crate) fn toolbox_with(&self, grant: Grant, limits: Limits) -> ToolBox {
        let workspace = match Workspace::open(&self.root) {
            Ok(workspace) => workspace,
            Err(err) => panic!("{err}"),
        };
        ToolBox::new(workspace, grant, Arc::new(ownership())).with_limits(limits)
    }
}

fn put(path: &Path, content: &str) {
    if let Some(parent) = path.parent()
        && let Err(err) = fs::create_dir_all(parent)
    {
        panic!("cannot create {}: {err}", parent.display());
    }
    if let Err(err) = fs::write(path, content) {
        panic!("cannot write {}: {err}", path.display());
    }
}

fn snapshot(dir: &Path, files: &mut BTreeMap<PathBuf, String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            snapshot(&path, files);
        } else {
            files.insert(path.clone(), fs::read_to_string(&path).unwrap_or_default());
        }
    }
}

pub(crate) fn ownership() -> Ownership {
    let lanes = [
        LaneSpec {
            name: "api".into(),
            owns: vec!["src/api/**".into()],
        },
        LaneSpec {
            name: "web".into(),
            owns: vec!["web/**".into()],
        },
        LaneSpec {
            name: "docs".into(),
            owns: vec![format!("docs/{CAFE_NFC}/**")],
        },
    ];
    let seams = ["Cargo.lock".into(), "*.lock".into(), "schema/**".into()];
    match Ownership::new(&lanes, &seams) {
        Ok(ownership) => ownership,
        Err(err) => panic!("{err}"),
    }
}

pub(crate) fn coder(lane: &str) -> Grant {
    Grant::new(AgentRole::Coder).with_lane(lane)
}

pub(crate) fn explorer() -> Grant {
    Grant::new(AgentRole::Explorer)
}

/// Calls a tool and expects success.
pub(crate) async fn ok(toolbox: &ToolBox, name: &str, args: Value) -> String {
    let outcome = toolbox.call(name, &args).await;
    assert!(!outcome.is_error, "{name} {args} failed: {}", outcome.text);
    assert!(outcome.denial.is_none());
    outcome.text
}

/// Calls a tool and expects an error that is not a denial.
pub(crate) async fn error(toolbox: &ToolBox, name: &str, args: Value) -> String {
    let outcome = toolbox.call(name, &args).await;
    assert!(
        outcome.is_error,
        "{name} {args} should fail: {}",
        outcome.text
    );
    assert!(outcome.denial.is_none(), "{name} {args}: {outcome:?}");
    outcome.text
}

/// Calls a tool and expects a policy denial; returns its text.
pub(crate) async fn denied(toolbox: &ToolBox, name: &str, args: Value) -> String {
    let outcome: ToolOutcome = toolbox.call(name, &args).await;
    assert!(
        outcome.is_error,
        "{name} {args} should be denied: {}",
        outcome.text
    );
    let Some(denial) = outcome.denial else {
        panic!("{name} {args} failed without a denial: {}", outcome.text);
    };
    assert_eq!(outcome.text, denial.to_string());
    outcome.text
}
