//! What every response carries and every request must pass before anything
//! else: security headers (a strict Content-Security-Policy, no sniffing, no
//! framing, no caching), a `Host` that names this machine when the server
//! listens on loopback (so a page on another name that resolves here — DNS
//! rebinding — is refused), and a same-origin `Origin` on every POST.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;
use crate::error::ApiError;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers; responses that set `Cache-Control` keep theirs.
pub(crate) async fn secure(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Refuses a request whose `Host` is not this machine's (on loopback) or
/// whose POST comes from another origin.
pub(crate) async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let refused = if state.loopback && !host_is_local(headers) {
        Some(ApiError::bad_request(
            "the Host header does not name this machine: open Slipway at http://127.0.0.1:PORT or http://localhost:PORT",
        ))
    } else if writes(request.method()) && !same_origin(headers) {
        Some(ApiError::forbidden(
            "a cross-site request cannot press Slipway's buttons",
        ))
    } else {
        None
    };
    match refused {
        Some(error) => crate::error::refuse(crate::error::is_api(request.uri().path()), error),
        None => next.run(request).await,
    }
}

/// Returns true for a method that may change something (anything but GET
/// and HEAD): those need a same-origin request and, with a session, CSRF.
pub(crate) fn writes(method: &Method) -> bool {
    method != Method::GET && method != Method::HEAD
}

fn host_of(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::HOST)?.to_str().ok()
}

/// Returns true when there is no `Host` (not HTTP/1.1 from a browser) or it
/// names loopback.
fn host_is_local(headers: &HeaderMap) -> bool {
    let Some(host) = host_of(headers) else {
        return true;
    };
    let name = if host.starts_with('[') {
        host.split_once(']').map_or(host, |(h, _)| &h[1..])
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Returns false when the browser says the request comes from another site
/// or origin; requests without those headers (scripts) pass.
///
/// `Sec-Fetch-Site` wins when present: a page cannot forge it, and a
/// same-origin form POST from a page sent with `Referrer-Policy: no-referrer`
/// carries `Origin: null`.
fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin" || site == "none";
    }
    match (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        host_of(headers),
    ) {
        (None, _) => true,
        (Some(origin), Some(host)) => {
            origin.strip_prefix("http://") == Some(host)
                || origin.strip_prefix("https://") == Some(host)
        }
        (Some(_), None) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (k, v) in pairs {
            headers.insert(*k, HeaderValue::from_static(v));
        }
        headers
    }

    #[test]
    fn loopback_hosts_pass_and_other_names_do_not() {
        for host in [
            "127.0.0.1:7777",
            "localhost:1",
            "[::1]:7777",
            "127.0.0.2",
            "LOCALHOST",
        ] {
            assert!(host_is_local(&with(&[("host", host)])), "{host}");
        }
        for host in [
            "evil.example:7777",
            "10.0.0.1:7777",
            "localhost.evil:7777",
            "[::2]:1",
        ] {
            assert!(!host_is_local(&with(&[("host", host)])), "{host}");
        }
        assert!(host_is_local(&HeaderMap::new()));
    }

    #[test]
    fn only_same_origin_posts_pass() {
        assert!(same_origin(&HeaderMap::new()));
        assert!(same_origin(&with(&[
            ("host", "127.0.0.1:7777"),
            ("origin", "http://127.0.0.1:7777")
        ])));
        assert!(!same_origin(&with(&[
            ("host", "127.0.0.1:7777"),
            ("origin", "http://localhost:3000")
        ])));
        assert!(!same_origin(&with(&[("sec-fetch-site", "same-site")])));
        assert!(!same_origin(&with(&[("sec-fetch-site", "cross-site")])));
        // What Chromium sends for a form on a page with `no-referrer`.
        assert!(same_origin(&with(&[
            ("sec-fetch-site", "same-origin"),
            ("origin", "null"),
            ("host", "127.0.0.1:7777")
        ])));
        assert!(!same_origin(&with(&[("origin", "null")])));
    }
}
