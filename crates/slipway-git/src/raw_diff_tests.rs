use proptest::prelude::*;

use super::*;

const ID_A: &str = "0123456789abcdef0123456789abcdef01234567";
const ZERO: &str = "0000000000000000000000000000000000000000";

/// Renders changes the way `git diff --raw -z --no-abbrev` prints them.
fn render(changes: &[Change], ids: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (change, (old, new)) in changes.iter().zip(ids) {
        let header = format!(
            ":{:06o} {:06o} {old} {new} {}",
            change.old_mode,
            change.new_mode,
            change.status.letter()
        );
        out.extend_from_slice(header.as_bytes());
        out.push(0);
        out.extend_from_slice(change.path.as_bytes());
        out.push(0);
    }
    out
}

#[test]
fn parses_what_git_prints() {
    let raw = format!(
        ":000000 100644 {ZERO} {ID_A} A\0new file\0:100644 000000 {ID_A} {ZERO} D\0gone\0\
         :100644 100755 {ID_A} {ID_A} M\0dir/x\ny\0:000000 120000 {ZERO} {ID_A} A\0ünï\0\
         :100644 120000 {ID_A} {ID_A} T\0t\0:000000 160000 {ZERO} {ID_A} A\0sub\0"
    );
    let changes = parse(raw.as_bytes(), "git diff").unwrap();
    let summary: Vec<_> = changes
        .iter()
        .map(|c| (c.status.letter(), c.path.as_str(), c.old_mode, c.new_mode))
        .collect();
    assert_eq!(
        summary,
        [
            ('A', "new file", 0, 0o100_644),
            ('D', "gone", 0o100_644, 0),
            ('M', "dir/x\ny", 0o100_644, 0o100_755),
            ('A', "ünï", 0, MODE_SYMLINK),
            ('T', "t", 0o100_644, MODE_SYMLINK),
            ('A', "sub", 0, MODE_SUBMODULE),
        ]
    );
    assert!(parse(b"", "git diff").unwrap().is_empty());
}

#[test]
fn refuses_what_does_not_fit() {
    for bad in [
        format!(":100644 100644 {ID_A} {ID_A} R100\0a\0b\0"),
        format!(":100644 100644 {ID_A} {ID_A} M\0"),
        format!(":100644 100644 {ID_A} {ID_A} M\0\0"),
        format!(":100644 100644 {ID_A} M\0a\0"),
        format!(":10064 100644 {ID_A} {ID_A} M\0a\0"),
        format!(":+10644 100644 {ID_A} {ID_A} M\0a\0"),
        format!("100644 100644 {ID_A} {ID_A} M\0a\0"),
        format!(":100644 100644 {ID_A} {ID_A} M x\0a\0"),
        format!(":100644 100644 {ID_A} {ID_A} M\0a\0\0:100644"),
        "garbage".to_owned(),
    ] {
        let err = parse(bad.as_bytes(), "git diff").unwrap_err();
        assert!(matches!(err, GitError::Parse { .. }), "{bad:?}: {err}");
    }
}

#[test]
fn a_path_that_is_not_utf8_is_named() {
    let mut raw = format!(":000000 100644 {ZERO} {ID_A} A\0").into_bytes();
    raw.extend_from_slice(b"src/\xff.rs\0");
    let err = parse(&raw, "git diff").unwrap_err();
    assert!(
        matches!(&err, GitError::NonUtf8Path { path } if path == "src/\u{fffd}.rs"),
        "{err}"
    );
}

fn change() -> impl Strategy<Value = (Change, (String, String))> {
    let kind = prop_oneof![
        Just(ChangeKind::Added),
        Just(ChangeKind::Deleted),
        Just(ChangeKind::Modified),
        Just(ChangeKind::TypeChanged),
    ];
    let mode = prop_oneof![
        Just(0o100_644),
        Just(0o100_755),
        Just(MODE_SYMLINK),
        Just(MODE_SUBMODULE),
        Just(0o040_000),
    ];
    let id = prop_oneof!["[0-9a-f]{40}", "[0-9a-f]{64}"];
    // Any path git can store: not empty, no NUL.
    let path = "[^\0]{1,40}";
    (kind, mode.clone(), mode, path, id.clone(), id).prop_map(
        |(status, old, new, path, old_id, new_id)| {
            let (old_mode, new_mode) = match status {
                ChangeKind::Added => (0, new),
                ChangeKind::Deleted => (old, 0),
                _ => (old, new),
            };
            let change = Change {
                status,
                path,
                old_mode,
                new_mode,
            };
            (change, (old_id, new_id))
        },
    )
}

proptest! {
    #[test]
    fn rendered_entries_parse_back(entries in proptest::collection::vec(change(), 0..20)) {
        let (changes, ids): (Vec<_>, Vec<_>) = entries.into_iter().unzip();
        let parsed = parse(&render(&changes, &ids), "git diff").unwrap();
        prop_assert_eq!(parsed, changes);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse(&bytes, "git diff");
    }

    #[test]
    fn mangled_output_never_panics(
        entries in proptest::collection::vec(change(), 1..5),
        cut in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let (changes, ids): (Vec<_>, Vec<_>) = entries.into_iter().unzip();
        let mut raw = render(&changes, &ids);
        let at = cut.index(raw.len());
        raw[at] = byte;
        let _ = parse(&raw, "git diff");
        raw.truncate(at);
        let _ = parse(&raw, "git diff");
    }
}
