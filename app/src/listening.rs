//! A listener's own pages beyond their list: their tops, their latest listens, their taste
//! segment and why; and a track's page. Types and the server functions that read them.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

use crate::types::TrackDetail;

/// One entry of a listener's tops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopItem {
    /// `7d`, `30d` or `all`.
    pub period: String,
    /// `track`, `artist` or `genre`.
    pub kind: String,
    pub rank: i16,
    pub item: String,
    pub name: String,
    pub listens: i64,
}

/// One of a listener's latest listens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecentListen {
    /// RFC 3339.
    pub played_at: String,
    pub track_id: String,
    pub name: String,
    pub artists: Vec<String>,
    pub ms_played: i64,
    pub is_skip: bool,
}

/// A feature of the listener's taste beside their segment's centre.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureComparison {
    pub feature: String,
    pub mine: f64,
    pub centre: f64,
}

/// The listener's taste segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentView {
    pub label: String,
    pub size: i32,
    pub features: Vec<FeatureComparison>,
}

/// A track a listener's player is playing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NowPlayingView {
    pub track_name: String,
    pub artist_name: String,
    /// The catalogue's track, when the player's report matched one.
    pub track_id: Option<String>,
}

/// What `/for-you` shows under the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListenerOverview {
    pub user_id: String,
    /// What the listener's player says is playing now (through the ListenBrainz API).
    pub now_playing: Option<NowPlayingView>,
    pub tops: Vec<TopItem>,
    pub recent: Vec<RecentListen>,
    pub segment: Option<SegmentView>,
}

/// A listener's tops, latest listens and segment: their own for a listener (`user` empty or
/// their id; another listener's is refused with 403), any listener's for an admin.
#[server(input = GetUrl, endpoint = "listener_overview")]
pub async fn read_listener_overview(user: String) -> Result<ListenerOverview, ServerFnError> {
    use lakehouse::gold::listener;

    let user = crate::server_fns::listener_asked(user)?;
    let pool = expect_context::<sqlx::PgPool>();
    let tops = listener::tops(&pool, &user)
        .await?
        .into_iter()
        .map(|t| TopItem {
            period: t.period,
            kind: t.kind,
            rank: t.rank,
            item: t.item,
            name: t.name,
            listens: t.listens,
        })
        .collect();
    let now_playing = lakehouse::gold::now_playing::current(&pool, &user)
        .await?
        .map(|n| {
            let text = |key: &str| {
                n.track_metadata
                    .get(key)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            NowPlayingView {
                track_name: text("track_name"),
                artist_name: text("artist_name"),
                track_id: n.track_id,
            }
        });
    let recent = listener::recent_listens(&pool, &user)
        .await?
        .into_iter()
        .map(|r| RecentListen {
            played_at: r.played_at.to_rfc3339(),
            track_id: r.track_id,
            name: r.name,
            artists: r.artists,
            ms_played: r.ms_played,
            is_skip: r.is_skip,
        })
        .collect();
    let segment = listener::segment(&pool, &user).await?.map(|s| SegmentView {
        label: s.label,
        size: s.size,
        features: s
            .features
            .into_iter()
            .map(|(feature, mine, centre)| FeatureComparison {
                feature,
                mine,
                centre,
            })
            .collect(),
    });
    Ok(ListenerOverview {
        user_id: user,
        now_playing,
        tops,
        recent,
        segment,
    })
}

/// A similar track on the track page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimilarTrack {
    pub track_id: String,
    pub name: String,
    pub artists: Vec<String>,
    pub score: f32,
}

/// What `/tracks/{id}` shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackPageData {
    pub track: TrackDetail,
    /// The label of the track's sound cluster, once the catalogue is clustered.
    pub cluster: Option<String>,
    /// Played by the same listeners (current model version).
    pub by_listeners: Vec<SimilarTrack>,
    /// Closest audio features in its cluster.
    pub by_sound: Vec<SimilarTrack>,
    /// The signed-in listener's id, for the Play button.
    pub listener_id: Option<String>,
}

/// Similar tracks shown on a track's page, per basis.
pub const SIMILAR_ON_PAGE: i64 = 10;

/// A track's page: anyone may read it; `None` for an unknown track.
#[server(input = GetUrl, endpoint = "track_page")]
pub async fn track_page(track_id: String) -> Result<Option<TrackPageData>, ServerFnError> {
    use lakehouse::gold::{clusters, recommendations, tracks};

    if track_id.is_empty() || lakehouse::text::id_fault(&track_id).is_some() {
        return Ok(None);
    }
    let pool = expect_context::<sqlx::PgPool>();
    let Some(track) = tracks::get_track(&pool, &track_id).await? else {
        return Ok(None);
    };
    let (listeners, sound) =
        recommendations::similar_on_both_bases(&pool, &track_id, SIMILAR_ON_PAGE).await?;
    let similar = |rows: Vec<recommendations::SimilarRow>| -> Vec<SimilarTrack> {
        rows.into_iter()
            .map(|r| SimilarTrack {
                track_id: r.track_id,
                name: r.name,
                artists: r.artists,
                score: r.score,
            })
            .collect()
    };
    Ok(Some(TrackPageData {
        track: track.into(),
        cluster: clusters::track_cluster(&pool, &track_id).await?,
        by_listeners: similar(listeners),
        by_sound: similar(sound),
        listener_id: crate::server_fns::signed_in().and_then(|s| s.listener_id),
    }))
}
