//! A sandbox with the crate's helper binary, and clones to run in.

use std::path::{Path, PathBuf};

use slipway_sandbox::{
    DEFAULT_USER, Helper, Limits, Outcome, Sandbox, SpecBuilder, User, hand_over,
};

/// A clone of its own, given to the sandbox user, inside a directory that
/// also holds a file beside it (outside the clone).
pub(crate) struct Clone {
    pub(crate) root: tempfile::TempDir,
}

impl Clone {
    pub(crate) fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("clone")).unwrap();
        std::fs::write(root.path().join("clone/README.md"), "inside\n").unwrap();
        std::fs::write(root.path().join("outside.txt"), "outside\n").unwrap();
        hand_over(&root.path().join("clone"), &user()).unwrap();
        Clone { root }
    }

    pub(crate) fn path(&self) -> PathBuf {
        self.root.path().join("clone")
    }

    pub(crate) fn outside(&self) -> PathBuf {
        self.root.path().join("outside.txt")
    }
}

pub(crate) fn user() -> User {
    User::lookup(DEFAULT_USER).unwrap()
}

pub(crate) fn sandbox() -> Sandbox {
    Sandbox::new(Helper::new(env!("CARGO_BIN_EXE_slipway-sandbox-helper"))).unwrap()
}

/// Runs `script` with `sh -c` in `clone`, in the sandbox.
pub(crate) async fn sh(clone: &Path, script: &str) -> Outcome {
    sh_with(clone, script, Limits::default()).await
}

pub(crate) async fn sh_with(clone: &Path, script: &str, limits: Limits) -> Outcome {
    let spec = SpecBuilder::new(vec!["sh".into(), "-c".into(), script.into()], clone, user())
        .limits(limits)
        .build()
        .unwrap();
    sandbox().run(&spec).await.unwrap()
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
