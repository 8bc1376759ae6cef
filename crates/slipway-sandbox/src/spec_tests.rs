use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use slipway_policy::{AgentRole, Grant, LaneSpec, Ownership, check_write};

use super::{Mount, SANDBOX_HOME, SANDBOX_TMP, Spec, SpecBuilder};
use crate::user::User;

fn user() -> User {
    User {
        name: "nobody".into(),
        uid: 65534,
        gid: 65534,
    }
}

fn spec_in(clone: &Path) -> Spec {
    let mut host = BTreeMap::new();
    host.insert(
        "PATH".to_owned(),
        "/usr/bin:/root/.local/bin:relative:/bin".to_owned(),
    );
    host.insert("HOME".to_owned(), "/nonexistent-home".to_owned());
    host.insert("LC_ALL".to_owned(), "C".to_owned());
    host.insert("AWS_SECRET_ACCESS_KEY".to_owned(), "x".to_owned());
    SpecBuilder::new(vec!["true".into()], clone, user())
        .build_with(&host)
        .unwrap()
}

#[test]
fn the_writable_set_is_the_clone_tmp_and_home() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec_in(dir.path());
    let clone = dir.path().canonicalize().unwrap();
    let mut writable = spec.writable();
    writable.sort();
    let mut wanted = vec![
        clone,
        PathBuf::from(SANDBOX_HOME),
        PathBuf::from(SANDBOX_TMP),
    ];
    wanted.sort();
    assert_eq!(writable, wanted);
}

#[test]
fn mounts_go_parents_first() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec_in(dir.path());
    let depths: Vec<usize> = spec
        .mounts
        .iter()
        .map(|m| m.dest().components().count())
        .collect();
    assert!(depths.windows(2).all(|w| w[0] <= w[1]), "{depths:?}");
    let tmp = spec
        .mounts
        .iter()
        .position(|m| m.dest() == Path::new("/tmp"))
        .unwrap();
    let clone = spec
        .mounts
        .iter()
        .position(|m| m.dest() == spec.workdir)
        .unwrap();
    assert!(
        tmp < clone,
        "a clone under /tmp must be bound after the private /tmp"
    );
}

#[test]
fn the_environment_keeps_the_allow_list_and_visible_path_entries() {
    let dir = tempfile::tempdir().unwrap();
    let env: BTreeMap<String, String> = spec_in(dir.path()).env.into_iter().collect();
    assert_eq!(env["PATH"], "/usr/bin:/bin");
    assert_eq!(env["LC_ALL"], "C");
    assert_eq!(env["HOME"], SANDBOX_HOME);
    assert!(!env.contains_key("AWS_SECRET_ACCESS_KEY"));
}

fn ownership() -> Ownership {
    let lanes = [
        LaneSpec {
            name: "api".into(),
            owns: vec!["src/api/**".into()],
        },
        LaneSpec {
            name: "web".into(),
            owns: vec!["web/**".into()],
        },
    ];
    Ownership::new(&lanes, &["Cargo.toml".to_owned()]).unwrap()
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("..".to_owned()),
        Just(".".to_owned()),
        Just("src".to_owned()),
        Just("api".to_owned()),
        Just("web".to_owned()),
        Just(".git".to_owned()),
        Just(String::new()),
        "[a-zA-Z0-9_.\u{e9}\u{301}-]{1,8}",
    ]
}

proptest! {
    /// One policy, two layers: every write the tool layer allows a coder is
    /// inside the sandbox's writable set.
    #[test]
    fn a_write_the_tools_allow_is_writable_in_the_sandbox(
        parts in proptest::collection::vec(segment(), 1..6),
        lane in prop_oneof![Just("api"), Just("web")],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let spec = spec_in(dir.path());
        let path = parts.join("/");
        let grant = Grant::new(AgentRole::Coder).with_lane(lane);
        if check_write(&grant, &ownership(), &path).is_ok() {
            let full = spec.workdir.join(&path);
            prop_assert!(spec.allows_write(&full), "{path} allowed by the tools, not the sandbox");
            prop_assert!(super::lexical(&full).unwrap().starts_with(&spec.workdir));
        }
    }

    /// The sandbox denies every path outside its writable set, and no mount
    /// but those is writable.
    #[test]
    fn paths_outside_the_writable_set_are_denied(
        parts in proptest::collection::vec(segment(), 0..6),
        root in prop_oneof![Just("/"), Just("/usr/"), Just("/etc/"), Just("/root/"), Just("/home/"), Just("/proc/"), Just("/tmp/"), Just("/home/slipway/")],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let spec = spec_in(dir.path());
        let path = PathBuf::from(format!("{root}{}", parts.join("/")));
        // An oracle independent of `writable()`: the three places by name.
        let resolved = super::lexical(&path).unwrap();
        let inside = resolved.starts_with("/tmp")
            || resolved.starts_with("/home/slipway")
            || resolved.starts_with(dir.path().canonicalize().unwrap());
        prop_assert_eq!(spec.allows_write(&path), inside, "{}", path.display());
        for mount in &spec.mounts {
            if let Mount::Bind { dest, writable: true, .. } = mount {
                prop_assert_eq!(dest, &spec.workdir);
            }
        }
        prop_assert!(!spec.allows_write(Path::new("relative/path")));
    }
}
