//! Who may call: the project's token (`.slipway/token`), presented as
//! `Authorization: Bearer TOKEN` by scripts, or exchanged at `/login` for a
//! session cookie by a browser. A POST made with a session must carry the
//! session's CSRF token (`csrf` form field or `X-CSRF-Token` header); bearer
//! calls carry nothing ambient, so they need none.
//!
//! Sessions live in memory: a restart of `slipway up` logs everyone out.
//! The cookie is `SameSite=Lax` (a link from elsewhere opens the page logged
//! in); what keeps other sites from pressing buttons is the CSRF token and
//! the same-origin check in `headers.rs`.

use std::collections::HashMap;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use sha2::{Digest as _, Sha256};

use crate::error::ApiError;
use crate::{AppState, MAX_BODY_BYTES, pages};

/// Where the token lives, relative to the project root.
pub const TOKEN_FILE: &str = ".slipway/token";

const COOKIE: &str = "slipway_session";
const SESSION_TTL: Duration = Duration::from_hours(12);
const MAX_SESSIONS: usize = 1024;
/// What a wrong login token costs. The token is 256 random bits, so this
/// is not what keeps it safe; it only makes a mistyped paste visible.
const WRONG_TOKEN_DELAY: Duration = Duration::from_secs(1);

/// Why the token cannot be read or made.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read or write the token `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the token `{}` can be read by other users (mode {mode:o}): run `chmod 600 {}`",
        path.display(),
        path.display()
    )]
    Exposed { path: PathBuf, mode: u32 },
    #[error(
        "the token `{}` is not 32 to 256 printable characters: delete it and run `slipway init` to make a new one",
        path.display()
    )]
    Malformed { path: PathBuf },
}

/// Returns the project's token, or `None` when `.slipway/token` does not exist.
pub fn read_token(root: &Path) -> Result<Option<String>, TokenError> {
    let path = root.join(TOKEN_FILE);
    let io = |source| TokenError::Io {
        path: path.clone(),
        source,
    };
    let meta = match std::fs::metadata(&path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(TokenError::Exposed { path, mode });
    }
    let text = std::fs::read_to_string(&path).map_err(io)?;
    let token = text.trim();
    if !(32..=256).contains(&token.len()) || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(TokenError::Malformed { path });
    }
    Ok(Some(token.to_owned()))
}

/// Returns the project's token, making `.slipway/token` (mode 0600) when it
/// does not exist; the flag says whether it was made now. An existing token
/// is never replaced.
pub fn ensure_token(root: &Path) -> Result<(String, bool), TokenError> {
    if let Some(token) = read_token(root)? {
        return Ok((token, false));
    }
    let path = root.join(TOKEN_FILE);
    let io = |source| TokenError::Io {
        path: path.clone(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let token = random_hex().map_err(io)?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(io)?;
    file.write_all(format!("{token}\n").as_bytes())
        .map_err(io)?;
    Ok((token, true))
}

/// Returns 32 random bytes as lowercase hex.
fn random_hex() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(crate::hex(&bytes))
}

struct Session {
    csrf: String,
    expires: Instant,
}

/// The token's digest and the live sessions.
pub(crate) struct Auth {
    digest: [u8; 32],
    sessions: Mutex<HashMap<String, Session>>,
}

/// Who made a request, put in its extensions by [`require`].
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    /// The session's CSRF token, for forms; `None` for bearer calls.
    pub(crate) csrf: Option<String>,
    session: Option<String>,
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// Compares in time independent of where the inputs differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Auth {
    pub(crate) fn new(token: &str) -> Self {
        Self {
            digest: digest(token),
            sessions: Mutex::new(HashMap::new()),
        }
    }

    fn token_matches(&self, presented: &str) -> bool {
        same(&digest(presented), &self.digest)
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a session; returns its id.
    fn open_session(&self) -> std::io::Result<String> {
        let id = random_hex()?;
        let csrf = random_hex()?;
        let now = Instant::now();
        let mut sessions = self.sessions();
        sessions.retain(|_, s| s.expires > now);
        if sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(k, _)| k.clone())
        {
            sessions.remove(&oldest);
        }
        sessions.insert(
            id.clone(),
            Session {
                csrf,
                expires: now + SESSION_TTL,
            },
        );
        Ok(id)
    }

    /// Returns the CSRF token of a live session.
    fn session_csrf(&self, id: &str) -> Option<String> {
        let sessions = self.sessions();
        sessions
            .get(id)
            .filter(|s| s.expires > Instant::now())
            .map(|s| s.csrf.clone())
    }

    fn close_session(&self, id: &str) {
        self.sessions().remove(id);
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

/// Lets a request through when it carries the token or a live session (and,
/// for a POST with a session, its CSRF token); refuses it otherwise: 401 for
/// the API, a redirect to the login page for the UI.
pub(crate) async fn require(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let api = crate::error::is_api(request.uri().path());
    let headers = request.headers();
    let caller = if let Some(token) = bearer(headers) {
        if !state.auth.token_matches(token) {
            return ApiError::unauthorized(
                "the bearer token is wrong: use the token in .slipway/token",
            )
            .into_response();
        }
        Some(Caller {
            csrf: None,
            session: None,
        })
    } else {
        session_cookie(headers).and_then(|id| {
            state.auth.session_csrf(id).map(|csrf| Caller {
                csrf: Some(csrf),
                session: Some(id.to_owned()),
            })
        })
    };
    let Some(caller) = caller else {
        return if api {
            ApiError::unauthorized(
                "authentication required: send `Authorization: Bearer TOKEN` with the token in .slipway/token",
            )
            .into_response()
        } else {
            Redirect::to("/login").into_response()
        };
    };
    if crate::headers::writes(request.method())
        && let Some(expected) = caller.csrf.clone()
    {
        let refuse = |error: ApiError| crate::error::refuse(api, error);
        match csrf_of(request, &expected).await {
            Ok((checked, true)) => request = checked,
            Ok((_, false)) => {
                return refuse(ApiError::forbidden(
                    "the form's CSRF token is missing or stale: reload the page and try again",
                ));
            }
            Err(error) => return refuse(error),
        }
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// Returns the request (its body read and put back) and whether it carries
/// `expected` as the `X-CSRF-Token` header or the `csrf` form field.
async fn csrf_of(request: Request, expected: &str) -> Result<(Request, bool), ApiError> {
    if let Some(header) = request.headers().get("x-csrf-token") {
        let ok = same(header.as_bytes(), expected.as_bytes());
        return Ok((request, ok));
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Ok((request, false));
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::too_large())?;
    let ok = form_field(&bytes, "csrf").is_some_and(|v| same(v.as_bytes(), expected.as_bytes()));
    Ok((Request::from_parts(parts, Body::from(bytes)), ok))
}

/// Returns the first value of `name` in an urlencoded form.
fn form_field(body: &[u8], name: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/login", get(login_page).post(login))
}

async fn login_page() -> Response {
    pages::login(None, StatusCode::OK)
}

#[derive(serde::Deserialize)]
struct LoginForm {
    token: String,
}

async fn login(
    State(state): State<AppState>,
    form: Result<axum::Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(axum::Form(form)) = form else {
        return pages::login(
            Some("paste the token from .slipway/token"),
            StatusCode::BAD_REQUEST,
        );
    };
    if !state.auth.token_matches(form.token.trim()) {
        tokio::time::sleep(WRONG_TOKEN_DELAY).await;
        return pages::login(
            Some(
                "that is not this project's token: `slipway up` printed it, and it is in .slipway/token",
            ),
            StatusCode::UNAUTHORIZED,
        );
    }
    let Ok(id) = state.auth.open_session() else {
        return ApiError::internal("cannot make a session id").into_response();
    };
    let cookie = format!(
        "{COOKIE}={id}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}",
        SESSION_TTL.as_secs()
    );
    let mut response = Redirect::to("/").into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// Ends the caller's session.
pub(crate) async fn logout(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
) -> Response {
    if let Some(id) = &caller.session {
        state.auth.close_session(id);
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("slipway_session=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparison_needs_every_byte() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"ab"));
        assert!(!same(b"", b"a"));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; slipway_session=abc; b=2"),
        );
        assert_eq!(session_cookie(&headers), Some("abc"));
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("slipway_sessionx=abc"),
        );
        assert_eq!(session_cookie(&headers), None);
    }

    #[test]
    fn bearer_scheme_is_case_blind_and_required() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer t0k"),
        );
        assert_eq!(bearer(&headers), Some("t0k"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic t0k"));
        assert_eq!(bearer(&headers), None);
    }

    #[test]
    fn tokens_are_made_once_private_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_token(dir.path()).unwrap().is_none());
        let (token, made) = ensure_token(dir.path()).unwrap();
        assert!(made);
        assert_eq!(token.len(), 64);
        let path = dir.path().join(TOKEN_FILE);
        let bits = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(bits, 0o600);
        assert_eq!(ensure_token(dir.path()).unwrap(), (token, false));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_token(dir.path()).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&path, "short\n").unwrap();
        assert!(matches!(
            read_token(dir.path()),
            Err(TokenError::Malformed { .. })
        ));
    }
}
