//! Which pages each role may open, checked on the server before a page is rendered: an
//! anonymous visitor is sent to the login page, a signed-in one without the role gets 403.
//! (The API routes and server functions check their callers themselves.)

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::caller::Caller;
use crate::accounts::Role;

/// Who may open a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageAccess {
    /// Anyone: the landing page, the catalogue, the login page, static files, and paths the
    /// API and server functions answer for themselves.
    Public,
    /// Accounts with one of these roles.
    Roles(&'static [Role]),
}

/// The access rule of the page at `path`.
pub fn page_access(path: &str) -> PageAccess {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    match first {
        "for-you" => PageAccess::Roles(&[Role::Listener, Role::Admin]),
        "insights" | "dashboards" => PageAccess::Roles(&[Role::Business, Role::Admin]),
        "admin" => PageAccess::Roles(&[Role::Admin]),
        _ => PageAccess::Public,
    }
}

/// Guards the pages by [`page_access`].
pub async fn guard_pages(caller: Caller, request: Request, next: Next) -> Response {
    let PageAccess::Roles(roles) = page_access(request.uri().path()) else {
        return next.run(request).await;
    };
    match caller.role() {
        Some(role) if roles.contains(&role) => next.run(request).await,
        None => {
            let target = request
                .uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned();
            Redirect::to(&format!("/login?next={}", app::types::url_encode(&target)))
                .into_response()
        }
        Some(role) => (
            StatusCode::FORBIDDEN,
            Html(format!(
                "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Not for \
                 this account · soundlake</title><link rel=\"stylesheet\" \
                 href=\"/pkg/soundlake.css\"></head><body><main><section class=\"not-found\">\
                 <h1>Not for this account</h1><p>This page is for {}; you are signed in as a \
                 {role}.</p><p><a href=\"{}\">Your page</a></p><form method=\"post\" \
                 action=\"/auth/logout\"><button type=\"submit\">Log out</button></form>\
                 </section></main></body></html>",
                roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(" or "),
                role.home_page()
            )),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_guarded_by_their_first_segment() {
        assert_eq!(page_access("/"), PageAccess::Public);
        assert_eq!(page_access("/catalog"), PageAccess::Public);
        assert_eq!(page_access("/login"), PageAccess::Public);
        assert_eq!(page_access("/admin"), PageAccess::Roles(&[Role::Admin]));
        assert_eq!(
            page_access("/for-you/"),
            PageAccess::Roles(&[Role::Listener, Role::Admin])
        );
        assert_eq!(
            page_access("/insights"),
            PageAccess::Roles(&[Role::Business, Role::Admin])
        );
    }
}
