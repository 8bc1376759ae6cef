//! The web UI: server-rendered pages, one module per page, sharing the
//! layout and the small formatting helpers here.
//!
//! Everything agents wrote is untrusted. It reaches the page only through
//! maud's escaping, and through [`shown`] first when it is a body of text:
//! terminal escapes are dropped, and invisible or direction-changing
//! characters are shown as `⟨U+XXXX⟩` so they cannot hide code from the
//! person who approves it. `PreEscaped` is used for the crate's own constant
//! markup only (a test checks the sources).

mod board;
mod compare;
mod cost;
mod releases;
mod run;
mod task;

use std::fmt::Write as _;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, html};
use slipway_types::{TaskId, TaskState};

use crate::AppState;
use crate::assets::{css_url, js_url};
use crate::auth::Caller;
use crate::error::ApiError;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(board::page))
        .route("/tasks/{id}", get(task::page))
        .route(
            "/tasks/{id}/approve",
            get(task::confirm_approve).post(task::approve),
        )
        .route(
            "/tasks/{id}/reject",
            get(task::confirm_reject).post(task::reject),
        )
        .route(
            "/tasks/{id}/retry",
            get(task::confirm_retry).post(task::retry),
        )
        .route("/runs", get(run::list))
        .route("/runs/{id}", get(run::page))
        .route("/compare", get(compare::page))
        .route("/cost", get(cost::page))
        .route("/releases", get(releases::page))
        .route(
            "/release",
            get(releases::confirm_release).post(releases::release),
        )
        .route(
            "/rollback",
            get(releases::confirm_rollback).post(releases::rollback),
        )
        .route("/logout", post(crate::auth::logout))
}

/// Wraps `body` in the page layout: navigation, the scheduler's status, the
/// gate running, logout.
pub(crate) fn layout(state: &AppState, caller: &Caller, title: &str, body: &Markup) -> Response {
    let running = state.gates.running();
    let scheduler = state.scheduler_status();
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " · Slipway" }
                    link rel="stylesheet" href=(css_url());
                    script src=(js_url()) defer {}
                }
                body {
                    header.top {
                        a.brand href="/" { "Slipway" }
                        nav {
                            a href="/" { "Board" }
                            a href="/runs" { "Runs" }
                            a href="/compare" { "Compare" }
                            a href="/cost" { "Cost" }
                            a href="/releases" { "Releases" }
                        }
                        span.status data-testid="scheduler" { "scheduler: " (scheduler) }
                        @if let Some(gate) = running {
                            span.status.busy { (gate) " is running" }
                        }
                        span #live.status hidden { "live updates stopped: reload the page" }
                        form.logout method="post" action="/logout" {
                            (csrf_field(caller))
                            button type="submit" { "Log out" }
                        }
                    }
                    main { (body) }
                }
            }
        }
        .into_string(),
    )
    .into_response()
}

/// The hidden CSRF field every form carries.
pub(crate) fn csrf_field(caller: &Caller) -> Markup {
    html! {
        @if let Some(token) = &caller.csrf {
            input type="hidden" name="csrf" value=(token);
        }
    }
}

/// The login page, with an error when the last attempt failed.
pub(crate) fn login(error: Option<&str>, status: StatusCode) -> Response {
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Log in · Slipway" }
                link rel="stylesheet" href=(css_url());
            }
            body.login {
                main {
                    h1 { "Slipway" }
                    form method="post" action="/login" {
                        label for="token" { "Token" }
                        p.hint { "`slipway up` printed it; it is also in .slipway/token." }
                        input #token type="password" name="token" autocomplete="current-password" required autofocus;
                        @if let Some(error) = error {
                            p.error role="alert" { (error) }
                        }
                        button type="submit" { "Log in" }
                    }
                }
            }
        }
    };
    (status, Html(page.into_string())).into_response()
}

/// A page for an error, with the same safe message the API gives.
pub(crate) fn error_page(error: &ApiError) -> Response {
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Error · Slipway" }
                link rel="stylesheet" href=(css_url());
            }
            body {
                main {
                    h1 { (error.status.as_u16()) " " (error.status.canonical_reason().unwrap_or("error")) }
                    p.error role="alert" data-testid="error" { (error.message) }
                    p { a href="/" { "Back to the board" } }
                }
            }
        }
    };
    (error.status, Html(page.into_string())).into_response()
}

/// A page handler's result: a page, or an error page.
pub(crate) type PageResult = Result<Response, PageError>;

/// An [`ApiError`] shown as a page.
pub(crate) struct PageError(pub(crate) ApiError);

impl<E: Into<ApiError>> From<E> for PageError {
    fn from(err: E) -> Self {
        Self(err.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        error_page(&self.0)
    }
}

/// Returns untrusted text fit to show: terminal escape sequences dropped;
/// other control characters (but newline and tab), and characters that are
/// invisible or change the direction of text, shown as `⟨U+XXXX⟩`.
pub(crate) fn shown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Only a well-formed, short CSI sequence (colours, cursor moves)
            // is dropped; anything else shows its ESC, so that an escape
            // cannot swallow the text after it.
            let rest: String = chars.clone().take(34).collect();
            if let Some(len) = csi_len(&rest) {
                for _ in 0..len {
                    chars.next();
                }
                continue;
            }
        }
        if (c.is_control() && c != '\n' && c != '\t') || hidden(c) {
            let _ = write!(out, "⟨U+{:04X}⟩", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// Returns how many characters after an ESC make a CSI sequence: `[`,
/// parameter bytes `0-?`, intermediate bytes ` -/`, one final byte `@-~`,
/// at most 32 in all.
fn csi_len(after_esc: &str) -> Option<usize> {
    let mut chars = after_esc.chars();
    if chars.next() != Some('[') {
        return None;
    }
    let mut len = 1;
    let mut intermediate = false;
    for c in chars.take(32) {
        len += 1;
        match c {
            '0'..='?' if !intermediate => {}
            ' '..='/' => intermediate = true,
            '@'..='~' => return Some(len),
            _ => return None,
        }
    }
    None
}

/// Characters that show nothing or reorder what follows.
fn hidden(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
            | '\u{00AD}'
    )
}

/// Formats micro-dollars as dollars; `None` is "unpriced".
#[expect(clippy::cast_precision_loss, reason = "shown to four decimals")]
pub(crate) fn money(micros: Option<i64>) -> String {
    match micros {
        None => "unpriced".to_owned(),
        Some(m) => {
            let sign = if m < 0 { "-" } else { "" };
            let dollars = m.unsigned_abs() as f64 / 1e6;
            if m.unsigned_abs() < 10_000 {
                format!("{sign}${dollars:.4}")
            } else {
                format!("{sign}${dollars:.2}")
            }
        }
    }
}

/// Formats a token count with thousands separated.
pub(crate) fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// Formats a duration in microseconds for people.
#[expect(clippy::cast_precision_loss, reason = "shown to two decimals")]
pub(crate) fn duration_us(us: i64) -> String {
    let us = us.max(0);
    if us < 1_000 {
        format!("{us} µs")
    } else if us < 1_000_000 {
        format!("{:.1} ms", us as f64 / 1e3)
    } else if us < 120_000_000 {
        format!("{:.2} s", us as f64 / 1e6)
    } else {
        format!("{:.1} min", us as f64 / 6e7)
    }
}

/// Formats a time to the second, UTC.
pub(crate) fn when(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S").to_string()
}

/// The first 12 digits of a commit, as pages show it.
pub(crate) fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// A link to a task.
pub(crate) fn task_link(id: TaskId) -> String {
    format!("/tasks/{}", id.0)
}

/// A state as a badge.
pub(crate) fn badge(state: TaskState) -> Markup {
    html! { span class={"badge s-" (state.as_str())} { (state.as_str()) } }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hidden_and_control_characters_are_named() {
        assert_eq!(shown("a\u{202E}b"), "a⟨U+202E⟩b");
        assert_eq!(shown("x\u{200B}y"), "x⟨U+200B⟩y");
        assert_eq!(shown("\u{1b}[31mred\u{1b}[0m"), "red");
        // A bare or broken escape cannot swallow what follows it.
        assert_eq!(shown("a\u{1b}[\n}\n}\nb"), "a⟨U+001B⟩[\n}\n}\nb");
        assert_eq!(shown("\u{1b}]0;title\u{7}x"), "⟨U+001B⟩]0;title⟨U+0007⟩x");
        assert_eq!(shown("bell\u{7}"), "bell⟨U+0007⟩");
        assert_eq!(shown("line\n\tnext"), "line\n\tnext");
        assert_eq!(shown("<img src=x>"), "<img src=x>");
    }

    proptest! {
        #[test]
        fn nothing_hidden_survives(text in "\\PC*|[\u{0}-\u{1f}\u{200b}-\u{200f}\u{202a}-\u{202e}a-z\u{1b}\\[]*") {
            let out = shown(&text);
            prop_assert!(!out.chars().any(|c| (c.is_control() && c != '\n' && c != '\t') || hidden(c)), "{out:?}");
        }

        #[test]
        fn plain_text_is_unchanged(text in "[a-zA-Z0-9 <>&\"'\n\t.,;:()/-]*") {
            prop_assert_eq!(shown(&text), text);
        }
    }

    #[test]
    fn no_page_writes_markup_unescaped() {
        for (name, source) in [
            ("board", include_str!("pages/board.rs")),
            ("task", include_str!("pages/task.rs")),
            ("run", include_str!("pages/run.rs")),
            ("compare", include_str!("pages/compare.rs")),
            ("cost", include_str!("pages/cost.rs")),
            ("releases", include_str!("pages/releases.rs")),
        ] {
            assert!(
                !source.contains("PreEscaped"),
                "pages/{name}.rs uses PreEscaped"
            );
        }
        let own = include_str!("pages.rs");
        let code = own.split("#[cfg(test)]").next().unwrap();
        assert_eq!(
            code.matches("PreEscaped").count(),
            1,
            "only the module doc names it"
        );
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(count(0), "0");
        assert_eq!(count(1234), "1,234");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(money(None), "unpriced");
        assert_eq!(money(Some(1234)), "$0.0012");
        assert_eq!(money(Some(12_345_678)), "$12.35");
        assert_eq!(money(Some(-1500)), "-$0.0015");
        assert_eq!(duration_us(999), "999 µs");
        assert_eq!(duration_us(1_500), "1.5 ms");
        assert_eq!(duration_us(2_500_000), "2.50 s");
    }
}
