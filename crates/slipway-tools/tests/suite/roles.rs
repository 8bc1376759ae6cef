//! The policy of DESIGN §5 as the tools enforce it, role by role.

use serde_json::json;
use slipway_policy::{AgentRole, Grant};

use super::support::{Fixture, coder, denied, ok};

#[tokio::test]
async fn explorers_and_reviewers_cannot_write_even_by_name() {
    let fx = Fixture::new();
    for (role, reason) in [
        (
            AgentRole::Explorer,
            "the explorer may not write files: it reads and reports, so put what you found in your final answer",
        ),
        (
            AgentRole::Reviewer,
            "the reviewer may not write files: it reads and reports, so put what should change in your findings",
        ),
    ] {
        let tools = fx.toolbox(Grant::new(role).with_lane("api"));
        let write = denied(
            &tools,
            "write_file",
            json!({"path": "src/api/new.rs", "content": "x"}),
        )
        .await;
        assert_eq!(write, format!("write to `src/api/new.rs` denied: {reason}"));
        let edit = denied(
            &tools,
            "edit_file",
            json!({"path": "src/api/lib.rs", "old": "one", "new": "uno"}),
        )
        .await;
        assert_eq!(edit, format!("write to `src/api/lib.rs` denied: {reason}"));
    }
    assert!(!fx.exists("src/api/new.rs"));
    assert_eq!(
        fx.read("src/api/lib.rs").as_deref(),
        Some("fn one() {}\nfn two() {}\n")
    );
}

#[tokio::test]
async fn the_coder_writes_only_its_lane() {
    let fx = Fixture::new();
    let tools = fx.toolbox(coder("api"));
    ok(
        &tools,
        "write_file",
        json!({"path": "src/api/mine.rs", "content": "x"}),
    )
    .await;
    assert_eq!(fx.read("src/api/mine.rs").as_deref(), Some("x"));

    let other = denied(
        &tools,
        "write_file",
        json!({"path": "web/app.js", "content": "x"}),
    )
    .await;
    assert_eq!(
        other,
        "write to `web/app.js` denied: the coder of lane `api` may write only its lane's files \
         (src/api/**) and the seams it holds; `web/app.js` belongs to lane `web`: leave it to \
         that lane and say in your summary what it needs"
    );
    let edit = denied(
        &tools,
        "edit_file",
        json!({"path": "web/app.js", "old": "needle", "new": "pin"}),
    )
    .await;
    assert!(edit.starts_with("write to `web/app.js` denied"), "{edit}");
    let orphan = denied(
        &tools,
        "write_file",
        json!({"path": "README.md", "content": "x"}),
    )
    .await;
    assert!(
        orphan.contains("`README.md` belongs to no lane and no seam"),
        "{orphan}"
    );
    assert_eq!(
        fx.read("web/app.js").as_deref(),
        Some("console.log('needle');\n")
    );
    assert!(!fx.exists("README.md"));
}

#[tokio::test]
async fn the_coder_never_writes_control_files() {
    let fx = Fixture::new();
    let before = fx.protected();
    let tools = fx.toolbox(coder("api").with_seams(["Cargo.lock", "*.lock", "schema/**"]));
    for path in [
        "slipway.toml",
        "AGENTS.md",
        ".slipway/slipway.db",
        ".slipway/new",
    ] {
        let text = denied(
            &tools,
            "write_file",
            json!({"path": path, "content": "pwned"}),
        )
        .await;
        assert_eq!(
            text,
            format!(
                "write to `{path}` denied: `{path}` is a control file (slipway.toml, AGENTS.md, \
                 .slipway/), which no agent may write; if it must change, say so in your final \
                 answer and a person will change it"
            )
        );
    }
    let git = denied(
        &tools,
        "write_file",
        json!({"path": ".git/config", "content": "x"}),
    )
    .await;
    assert!(git.contains("inside git's own directory"), "{git}");
    assert_eq!(fx.protected(), before);
    assert_eq!(fx.read(".git/config").as_deref(), Some("[core]\n"));
}

#[tokio::test]
async fn a_seam_is_written_only_with_every_lease_that_guards_it() {
    let fx = Fixture::new();
    let without = fx.toolbox(coder("api"));
    let text = denied(
        &without,
        "edit_file",
        json!({"path": "Cargo.lock", "old": "lock", "new": "x"}),
    )
    .await;
    assert_eq!(
        text,
        "write to `Cargo.lock` denied: `Cargo.lock` is a shared seam file, written only under the \
         lease of its seam entries (`Cargo.lock`, `*.lock`), and the coder of lane `api` does not \
         hold `Cargo.lock`, `*.lock`; a seam is leased when the plan names it, so say in your \
         summary that the change needs it"
    );
    let partial = fx.toolbox(coder("api").with_seams(["*.lock"]));
    let text = denied(
        &partial,
        "write_file",
        json!({"path": "Cargo.lock", "content": "x"}),
    )
    .await;
    assert!(text.contains("does not hold `Cargo.lock`;"), "{text}");
    assert_eq!(fx.read("Cargo.lock").as_deref(), Some("# lock\n"));

    let holder = fx.toolbox(coder("api").with_seams(["Cargo.lock", "*.lock", "schema/**"]));
    ok(
        &holder,
        "edit_file",
        json!({"path": "Cargo.lock", "old": "lock", "new": "lock v2"}),
    )
    .await;
    assert_eq!(fx.read("Cargo.lock").as_deref(), Some("# lock v2\n"));
    ok(
        &holder,
        "write_file",
        json!({"path": "schema/new.sql", "content": "x"}),
    )
    .await;
    assert!(fx.exists("schema/new.sql"));
}

#[tokio::test]
async fn debuggers_and_fixers_follow_the_coder_rules() {
    let fx = Fixture::new();
    for role in [AgentRole::Debugger, AgentRole::Fixer] {
        let tools = fx.toolbox(Grant::new(role).with_lane("web"));
        ok(
            &tools,
            "write_file",
            json!({"path": "web/fix.js", "content": "x"}),
        )
        .await;
        let text = denied(
            &tools,
            "write_file",
            json!({"path": "src/api/x.rs", "content": "x"}),
        )
        .await;
        assert!(
            text.contains(&format!("the {role} of lane `web` may write only")),
            "{text}"
        );
    }
    assert!(!fx.exists("src/api/x.rs"));
}

#[tokio::test]
async fn the_planner_writes_only_its_plan_file() {
    let fx = Fixture::new();
    let tools = fx.toolbox(Grant::new(AgentRole::Planner).with_plan_file("plans/7.md"));
    let created = ok(
        &tools,
        "write_file",
        json!({"path": "plans/7.md", "content": "# Plan\n"}),
    )
    .await;
    assert_eq!(created, "created `plans/7.md`: 7 bytes, 1 line");
    ok(
        &tools,
        "edit_file",
        json!({"path": "plans/7.md", "old": "# Plan", "new": "# Plan v2"}),
    )
    .await;
    let text = denied(
        &tools,
        "write_file",
        json!({"path": "src/api/lib.rs", "content": "x"}),
    )
    .await;
    assert_eq!(
        text,
        "write to `src/api/lib.rs` denied: the planner may write only its plan file `plans/7.md`; \
         describe every other change in the plan"
    );
    assert_eq!(fx.read("plans/7.md").as_deref(), Some("# Plan v2\n"));
}
