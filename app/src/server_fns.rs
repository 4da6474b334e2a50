//! Server functions: the page's calls into gold, run on the server, callable from the browser.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::types::{GenreCount, TrackPage};

/// Results shown per catalogue page.
pub const CATALOG_PAGE_SIZE: u32 = 20;

/// Searches the catalogue by text (name, artist, album) and genre; `page` counts from 1.
#[server(input = GetUrl)]
pub async fn search_catalog(
    text: String,
    genre: String,
    page: u32,
) -> Result<TrackPage, ServerFnError> {
    use lakehouse::gold::tracks::{TrackSearch, search_tracks};

    let pool = expect_context::<sqlx::PgPool>();
    let page = page.max(1);
    let search = TrackSearch {
        text: Some(text),
        genre: Some(genre),
        limit: i64::from(CATALOG_PAGE_SIZE),
        offset: i64::from((page - 1) * CATALOG_PAGE_SIZE),
    };
    let found = search_tracks(&pool, &search).await?;
    Ok(TrackPage {
        total: found.total,
        page,
        per_page: CATALOG_PAGE_SIZE,
        items: found.items.into_iter().map(Into::into).collect(),
    })
}

/// Every genre with its number of tracks.
#[server(input = GetUrl)]
pub async fn list_genres() -> Result<Vec<GenreCount>, ServerFnError> {
    let pool = expect_context::<sqlx::PgPool>();
    let genres = lakehouse::gold::tracks::list_genres(&pool).await?;
    Ok(genres.into_iter().map(Into::into).collect())
}
