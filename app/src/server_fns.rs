//! Server functions: the page's calls into gold, run on the server, callable from the browser.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

#[cfg(feature = "ssr")]
use crate::types::Role;
use crate::types::{
    ClusterInsights, GenreCount, ListenerSegment, ModelInsights, RecommendationList, SignedIn,
    TrackMapPoint, TrackPage,
};

/// Results shown per catalogue page.
pub const CATALOG_PAGE_SIZE: u32 = 20;

/// Tracks drawn on the track map of `/insights`.
pub const TRACK_MAP_SAMPLE: u32 = 1_500;

/// Searches the catalogue by text (name, artist, album) and genre; `page` counts from 1.
#[server(input = GetUrl, endpoint = "search_catalog")]
pub async fn search_catalog(
    text: String,
    genre: String,
    page: u32,
) -> Result<TrackPage, ServerFnError> {
    use lakehouse::gold::tracks::{TrackSearch, search_tracks};

    let pool = expect_context::<sqlx::PgPool>();
    if text.len() > 200 || text.chars().any(char::is_control) {
        return Err(ServerFnError::new(
            "the search text is longer than 200 bytes or holds a control character",
        ));
    }
    checked_id("genre", &genre)?;
    let page = page.max(1);
    let search = TrackSearch {
        text: Some(text),
        genre: Some(genre),
        limit: i64::from(CATALOG_PAGE_SIZE),
        offset: (i64::from(page) - 1) * i64::from(CATALOG_PAGE_SIZE),
    };
    let found = search_tracks(&pool, &search).await?;
    Ok(TrackPage {
        total: found.total,
        page,
        per_page: CATALOG_PAGE_SIZE,
        items: found.items.into_iter().map(Into::into).collect(),
    })
}

/// The signed-in account of the request being answered (found by the server's `identify`
/// middleware), if any.
#[cfg(feature = "ssr")]
pub fn signed_in() -> Option<SignedIn> {
    use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<SignedIn>().cloned())
}

/// The signed-in account, when it has one of `roles`; else the error the page shows, answered
/// with 401 (nobody signed in) or 403 (another role).
#[cfg(feature = "ssr")]
pub(crate) fn require(roles: &[Role]) -> Result<SignedIn, ServerFnError> {
    match signed_in() {
        Some(account) if roles.contains(&account.role) => Ok(account),
        Some(_) => refuse(
            http::StatusCode::FORBIDDEN,
            "this is not for your account's role",
        ),
        None => refuse(http::StatusCode::UNAUTHORIZED, "log in first"),
    }
}

/// The listener whose data a request may read: a listener's own (`user` empty or their id;
/// another listener's is refused with 403), for an admin `user` (default
/// [`crate::types::DEFAULT_LISTENER`]).
#[cfg(feature = "ssr")]
pub(crate) fn listener_asked(user: String) -> Result<String, ServerFnError> {
    let account = require(&[Role::Listener, Role::Admin])?;
    let user = match (account.role, account.listener_id) {
        (Role::Listener, Some(own)) if user.is_empty() || user == own => own,
        (Role::Listener, _) => {
            return refuse(
                http::StatusCode::FORBIDDEN,
                "a listener sees only their own data",
            );
        }
        _ if user.is_empty() => crate::types::DEFAULT_LISTENER.to_owned(),
        _ => user,
    };
    checked_id("user", &user)?;
    Ok(user)
}

/// Answers with `status` and `message`.
#[cfg(feature = "ssr")]
pub(crate) fn refuse<T>(status: http::StatusCode, message: &str) -> Result<T, ServerFnError> {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(status);
    }
    Err(ServerFnError::new(message))
}

/// The account this browser is signed in as, if any.
#[server(input = GetUrl, endpoint = "whoami")]
pub async fn whoami() -> Result<Option<SignedIn>, ServerFnError> {
    Ok(signed_in())
}

/// Refuses an identifier gold cannot hold (a control character, over 128 bytes); an empty one
/// passes (no filter).
#[cfg(feature = "ssr")]
fn checked_id(name: &str, value: &str) -> Result<(), ServerFnError> {
    match lakehouse::text::id_fault(value) {
        Some(fault) => Err(ServerFnError::new(format!("{name} {fault}"))),
        None => Ok(()),
    }
}

/// Every genre with its number of tracks.
#[server(input = GetUrl, endpoint = "list_genres")]
pub async fn list_genres() -> Result<Vec<GenreCount>, ServerFnError> {
    let pool = expect_context::<sqlx::PgPool>();
    let genres = lakehouse::gold::tracks::list_genres(&pool).await?;
    Ok(genres.into_iter().map(Into::into).collect())
}

/// A listener's recommendations from the current model version, for the first render of
/// `/for-you`: the popular list when the model does not know the listener, an empty list
/// without a model version when no model was published yet. (Once hydrated, the page follows
/// the live, re-ranked list over server-sent events.) A listener gets their own list (`user`
/// empty or their own id; another listener's is refused with 403); an admin the list of
/// `user` (default [`crate::types::DEFAULT_LISTENER`]).
#[server(input = GetUrl, endpoint = "recommendations_for")]
pub async fn recommendations_for(user: String) -> Result<RecommendationList, ServerFnError> {
    use lakehouse::gold::recommendations::{current_list, popular_list};

    let user = listener_asked(user)?;
    let pool = expect_context::<sqlx::PgPool>();
    let rows = crate::types::FOR_YOU_ROWS as i64;
    let (model_version, items) = match current_list(&pool, &user, rows).await? {
        None => (None, Vec::new()),
        Some((version, items)) if items.is_empty() => {
            (Some(version), popular_list(&pool, rows).await?)
        }
        Some((version, items)) => (Some(version), items),
    };
    Ok(RecommendationList {
        user_id: user,
        model_version,
        reranked: false,
        updated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        items: items.into_iter().map(Into::into).collect(),
    })
}

/// The current model version (else the newest) with each family's offline metrics; `None`
/// when no model was trained yet.
#[server(input = GetUrl, endpoint = "current_model_insights")]
pub async fn current_model_insights() -> Result<Option<ModelInsights>, ServerFnError> {
    use lakehouse::gold::recommendations::{list_metrics, list_versions};

    require(&[Role::Business, Role::Admin])?;
    let pool = expect_context::<sqlx::PgPool>();
    let mut versions = list_versions(&pool, 20).await?;
    if versions.is_empty() {
        return Ok(None);
    }
    let version = versions.swap_remove(versions.iter().position(|v| v.is_current).unwrap_or(0));
    let metrics = list_metrics(&pool, &[version.model_version]).await?;
    Ok(Some(ModelInsights::from_gold(version, metrics)))
}

/// The track clusters, largest first, and the silhouette of every k tried.
#[server(input = GetUrl, endpoint = "track_cluster_insights")]
pub async fn track_cluster_insights() -> Result<ClusterInsights, ServerFnError> {
    use lakehouse::gold::clusters::{list_clusters, list_k_scores};

    require(&[Role::Business, Role::Admin])?;
    let pool = expect_context::<sqlx::PgPool>();
    Ok(ClusterInsights {
        clusters: list_clusters(&pool)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
        k_scores: list_k_scores(&pool)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    })
}

/// A fixed sample of [`TRACK_MAP_SAMPLE`] tracks on the 2-D map of the catalogue (the same
/// tracks on every call), each with its cluster; empty before the catalogue is clustered.
#[server(input = GetUrl, endpoint = "track_map_sample")]
pub async fn track_map_sample() -> Result<Vec<TrackMapPoint>, ServerFnError> {
    use lakehouse::gold::clusters::map_sample;

    require(&[Role::Business, Role::Admin])?;
    let pool = expect_context::<sqlx::PgPool>();
    let points = map_sample(&pool, i64::from(TRACK_MAP_SAMPLE)).await?;
    Ok(points.into_iter().map(Into::into).collect())
}

/// The listener segments by taste, largest first.
#[server(input = GetUrl, endpoint = "listener_segments")]
pub async fn listener_segments() -> Result<Vec<ListenerSegment>, ServerFnError> {
    require(&[Role::Business, Role::Admin])?;
    let pool = expect_context::<sqlx::PgPool>();
    let segments = lakehouse::gold::clusters::list_segments(&pool).await?;
    Ok(segments.into_iter().map(Into::into).collect())
}

/// Runs shown on the admin page.
pub const ADMIN_RUNS: i64 = 15;

/// The newest pipeline runs with their stages, newest first.
#[server(input = GetUrl, endpoint = "pipeline_runs")]
pub async fn pipeline_runs() -> Result<Vec<crate::pipeline::PipelineRun>, ServerFnError> {
    require(&[Role::Admin])?;
    let pool = expect_context::<sqlx::PgPool>();
    let runs = lakehouse::pipeline::list_runs(&pool, ADMIN_RUNS).await?;
    Ok(runs.into_iter().map(Into::into).collect())
}

/// Whether the database answered the server's last check; the server checks it every few
/// seconds and provides the answer in every request's context.
#[cfg(feature = "ssr")]
#[derive(Debug, Clone, Default)]
pub struct DatabaseDown(pub std::sync::Arc<std::sync::atomic::AtomicBool>);

/// `true` while the database is not answering: pages then say that what they show may be
/// missing or out of date. Who: anyone.
#[server(input = GetUrl, endpoint = "degraded")]
pub async fn degraded() -> Result<bool, ServerFnError> {
    Ok(use_context::<DatabaseDown>()
        .is_some_and(|down| down.0.load(std::sync::atomic::Ordering::Relaxed)))
}
