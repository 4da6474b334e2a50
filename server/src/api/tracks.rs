//! `GET /tracks`, `GET /tracks/{track_id}`, `GET /genres`.

use app::types::{GenreCount, MAX_PER_PAGE, TrackDetail, TrackPage};
use axum::Json;
use axum::extract::State;
use lakehouse::gold::tracks::{self as gold_tracks, TrackSearch};
use serde::Deserialize;
use sqlx::PgPool;

use crate::error::ApiError;
use crate::extract::{Id, Path, Query, SearchText};

/// Query parameters of `GET /tracks`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Text matched against name, artists and album (case-insensitive substring).
    #[param(inline)]
    q: Option<SearchText>,
    /// Only tracks listed under this genre.
    #[param(inline)]
    genre: Option<Id>,
    /// Page number, from 1.
    #[param(minimum = 1)]
    page: Option<u32>,
    /// Results per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    per_page: Option<u32>,
}

/// `GET /tracks`: searches the catalogue. Who: anyone.
#[utoipa::path(
    get,
    path = "/tracks",
    tag = "catalogue",
    params(SearchParams),
    responses((status = 200, description = "One page of matches.", body = TrackPage)),
)]
pub async fn search(
    State(pool): State<PgPool>,
    Query(params): Query<SearchParams>,
) -> Result<Json<TrackPage>, ApiError> {
    let page = params.page.unwrap_or(1);
    let per_page = params.per_page.unwrap_or(20);
    if page == 0 {
        return Err(ApiError::bad_request("page counts from 1"));
    }
    if !(1..=MAX_PER_PAGE).contains(&per_page) {
        return Err(ApiError::bad_request(format!(
            "per_page must be from 1 to {MAX_PER_PAGE}"
        )));
    }
    let search = TrackSearch {
        text: params.q.map(SearchText::into_string),
        genre: params.genre.map(Id::into_string),
        limit: i64::from(per_page),
        offset: (i64::from(page) - 1) * i64::from(per_page),
    };
    let found = gold_tracks::search_tracks(&pool, &search).await?;
    Ok(Json(TrackPage {
        total: found.total,
        page,
        per_page,
        items: found.items.into_iter().map(Into::into).collect(),
    }))
}

/// `GET /tracks/{track_id}`: one track with its audio features. Who: anyone.
#[utoipa::path(
    get,
    path = "/tracks/{track_id}",
    tag = "catalogue",
    params(("track_id" = inline(Id), Path, description = "The track.")),
    responses((status = 200, description = "The track.", body = TrackDetail)),
)]
pub async fn get_one(
    State(pool): State<PgPool>,
    Path(track_id): Path<Id>,
) -> Result<Json<TrackDetail>, ApiError> {
    match gold_tracks::get_track(&pool, track_id.as_str()).await? {
        Some(track) => Ok(Json(track.into())),
        None => Err(ApiError::not_found(format!(
            "no track with id {track_id:?}"
        ))),
    }
}

/// `GET /genres`: every genre with its number of tracks. Who: anyone.
#[utoipa::path(
    get,
    path = "/genres",
    tag = "catalogue",
    responses((status = 200, description = "The genres, by name.", body = Vec<GenreCount>)),
)]
pub async fn genres(State(pool): State<PgPool>) -> Result<Json<Vec<GenreCount>>, ApiError> {
    let genres = gold_tracks::list_genres(&pool).await?;
    Ok(Json(genres.into_iter().map(Into::into).collect()))
}
