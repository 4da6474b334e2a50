//! Types shared by the server (REST API, server functions) and the browser. Their JSON form
//! is the API's: `snake_case`, one definition for both.

use serde::{Deserialize, Serialize};

/// A track as listed in search results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TrackSummary {
    pub track_id: String,
    pub name: String,
    pub artists: Vec<String>,
    pub album_name: Option<String>,
    pub genres: Vec<String>,
    pub popularity: i16,
    pub duration_ms: i32,
    pub explicit: bool,
}

/// One page of catalogue search results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TrackPage {
    /// Matches in the whole catalogue, not only on this page.
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
    pub items: Vec<TrackSummary>,
}

impl TrackPage {
    /// The number of pages the matches fill (at least 1).
    pub fn pages(&self) -> u32 {
        let per_page = i64::from(self.per_page.max(1));
        u32::try_from((self.total + per_page - 1) / per_page)
            .unwrap_or(u32::MAX)
            .max(1)
    }
}

/// Everything known about one track, audio features included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TrackDetail {
    pub track_id: String,
    pub name: String,
    pub artists: Vec<String>,
    pub album_name: Option<String>,
    pub genres: Vec<String>,
    pub popularity: i16,
    pub duration_ms: i32,
    pub explicit: bool,
    pub danceability: f64,
    pub energy: f64,
    pub key: i16,
    pub loudness: f64,
    pub mode: i16,
    pub speechiness: f64,
    pub acousticness: f64,
    pub instrumentalness: f64,
    pub liveness: f64,
    pub valence: f64,
    pub tempo: f64,
    pub time_signature: Option<i16>,
    pub release_year: Option<i16>,
}

/// A genre and its number of tracks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GenreCount {
    pub genre: String,
    pub track_count: i32,
}

/// The listener `/for-you` shows when the address names none.
pub const DEFAULT_LISTENER: &str = "user-00001";

/// Recommendations shown on `/for-you`.
pub const FOR_YOU_ROWS: usize = 20;

/// One recommendation, as `GET /users/{id}/recommendations` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    pub rank: u32,
    pub track_id: String,
    pub name: String,
    pub artists: Vec<String>,
    pub score: f32,
    /// Why the track is recommended, for people: "because you just played …".
    pub reason: String,
}

/// A listener's list: the API's answer and the data of each server-sent `recommendations` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecommendationList {
    pub user_id: String,
    /// The model version the list comes from; `None` while no model was published.
    pub model_version: Option<i64>,
    /// Whether the listener's session or feedback moved the list since the model was published.
    #[serde(default)]
    pub reranked: bool,
    /// When the list was computed (RFC 3339, UTC).
    pub updated_at: String,
    pub items: Vec<Recommendation>,
}

/// One model family's offline figures at k = 10 on the held-out listens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FamilyMetrics {
    pub model: String,
    /// The family the version serves.
    pub chosen: bool,
    /// Its settings as (name, value) pairs; a hybrid's are (component, weight).
    pub params: Vec<(String, String)>,
    pub validation_ndcg: f64,
    pub ndcg: f64,
    pub recall: f64,
    pub precision: f64,
    pub map: f64,
    /// Share of the catalogue in at least one top-10 list.
    pub coverage: f64,
    pub train_secs: f64,
}

/// The skip model's held-out figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SkipMetrics {
    /// Area under the ROC curve (0.5 is guessing).
    pub auc: f64,
    pub log_loss: f64,
    /// The log-loss of always predicting the base rate.
    pub base_log_loss: f64,
    /// The share of training listens that were skips.
    pub base_rate: f64,
    #[serde(default)]
    pub test_rows: u64,
}

/// The model version `/insights` reports on (the current one, else the newest).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInsights {
    pub model_version: i64,
    /// The chosen family.
    pub model: String,
    pub is_current: bool,
    /// `YYYY-MM-DD HH:MM UTC`.
    pub trained_at: String,
    pub users: i64,
    pub items: i64,
    pub interactions: i64,
    pub train_secs: f64,
    pub skip: Option<SkipMetrics>,
    /// How varied the version's lists are (versions from before it was measured have none).
    pub diversity: Option<ListDiversity>,
    /// Best NDCG first.
    pub families: Vec<FamilyMetrics>,
}

/// How varied a model version's published lists are, measured over every list.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ListDiversity {
    pub lists: usize,
    /// Mean distance between two tracks of a list, in standardised audio features.
    pub sound: f64,
    /// Share of a list's pairs of tracks by two different artists.
    pub artists: f64,
    /// Mean popularity rank of the recommended tracks (1: the most played).
    pub mean_popularity_rank: f64,
    /// That rank over the number of tracks anyone played.
    pub popularity_rank_share: f64,
}

/// A cluster of tracks that sound alike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ClusterSummary {
    pub cluster_id: i16,
    pub label: String,
    pub size: i32,
    /// Mean audio features, in the features' own units, by feature name.
    pub centroid: Vec<(String, f64)>,
    /// The commonest genres and their track counts, commonest first.
    pub top_genres: Vec<(String, i64)>,
}

/// How well clustering into `k` groups fitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct KScore {
    pub k: i16,
    /// Mean silhouette, from -1 to 1; higher is better.
    pub silhouette: f64,
    pub inertia: f64,
    pub chosen: bool,
}

/// The track clusters (largest first) and the k tried.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ClusterInsights {
    pub clusters: Vec<ClusterSummary>,
    pub k_scores: Vec<KScore>,
}

/// A track on the 2-D map of the catalogue (the tracks' audio features projected to a plane).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TrackMapPoint {
    pub track_id: String,
    pub name: String,
    /// The track's cluster, as [`ClusterSummary::cluster_id`].
    pub cluster_id: i16,
    pub x: f32,
    pub y: f32,
}

/// A group of listeners with similar taste.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ListenerSegment {
    pub segment_id: i16,
    pub label: String,
    /// The number of listeners in the segment.
    pub size: i32,
    /// The mean features of what the segment plays, in the features' own units, by feature name.
    pub centroid: Vec<(String, f64)>,
}

/// The largest page the API serves.
pub const MAX_PER_PAGE: u32 = 100;

/// Formats a duration as `m:ss`.
pub fn format_duration(ms: i32) -> String {
    let seconds = ms.max(0) / 1000;
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

/// Formats a count with thousands separators: `89741` → `89,741`.
pub fn format_count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// The `HH:MM:SS` of an RFC 3339 timestamp (`2025-11-27T09:41:07.12Z` → `09:41:07`).
pub fn clock_time(rfc3339: &str) -> String {
    rfc3339.get(11..19).unwrap_or(rfc3339).to_owned()
}

/// Formats a share as a percentage with one decimal: `0.1234` → `12.3%`.
pub fn format_percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

#[cfg(feature = "ssr")]
mod from_gold {
    use lakehouse::gold::clusters::{Centroid, ClusterRow, KScoreRow, MapPoint, SegmentRow};
    use lakehouse::gold::recommendations::{ModelMetricRow, ModelVersionRow, RecommendationRow};
    use lakehouse::gold::tracks::{GenreCountRow, TrackDetailRow, TrackSummaryRow};
    use serde_json::Value;

    use super::*;

    impl From<RecommendationRow> for Recommendation {
        fn from(r: RecommendationRow) -> Self {
            Self {
                rank: u32::try_from(r.rank).unwrap_or_default(),
                track_id: r.track_id,
                name: r.name,
                artists: r.artists,
                score: r.score,
                reason: r.reason,
            }
        }
    }

    impl From<ModelMetricRow> for FamilyMetrics {
        fn from(r: ModelMetricRow) -> Self {
            Self {
                params: params_of(&r.params.0),
                model: r.model,
                chosen: r.chosen,
                validation_ndcg: r.validation_ndcg,
                ndcg: r.ndcg,
                recall: r.recall,
                precision: r.precision,
                map: r.map,
                coverage: r.coverage,
                train_secs: r.train_secs,
            }
        }
    }

    impl ModelInsights {
        /// A model version and its families' metrics, JSON fields parsed.
        pub fn from_gold(v: ModelVersionRow, metrics: Vec<ModelMetricRow>) -> Self {
            Self {
                model_version: v.model_version,
                model: v.model,
                is_current: v.is_current,
                trained_at: v.trained_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                users: v.users,
                items: v.items,
                interactions: v.interactions,
                train_secs: v.train_secs,
                skip: v.skip_metrics.map(|m| m.0.into()),
                diversity: v.diversity.map(|d| d.0.into()),
                families: metrics.into_iter().map(Into::into).collect(),
            }
        }
    }

    impl From<ClusterRow> for ClusterSummary {
        fn from(r: ClusterRow) -> Self {
            Self {
                cluster_id: r.cluster_id,
                label: r.label,
                size: r.size,
                centroid: centroid_of(r.centroid.0),
                top_genres: r.top_genres.0,
            }
        }
    }

    impl From<KScoreRow> for KScore {
        fn from(r: KScoreRow) -> Self {
            Self {
                k: r.k,
                silhouette: r.silhouette,
                inertia: r.inertia,
                chosen: r.chosen,
            }
        }
    }

    impl From<MapPoint> for TrackMapPoint {
        fn from(r: MapPoint) -> Self {
            Self {
                track_id: r.track_id,
                name: r.name,
                cluster_id: r.cluster_id,
                x: r.x,
                y: r.y,
            }
        }
    }

    impl From<SegmentRow> for ListenerSegment {
        fn from(r: SegmentRow) -> Self {
            Self {
                segment_id: r.segment_id,
                label: r.label,
                size: r.size,
                centroid: centroid_of(r.centroid.0),
            }
        }
    }

    /// A centroid as (feature, value) pairs by feature name, without the features that had
    /// no value.
    fn centroid_of(centroid: Centroid) -> Vec<(String, f64)> {
        centroid
            .into_iter()
            .filter_map(|(feature, value)| Some((feature, value?)))
            .collect()
    }

    impl From<lakehouse::ml::skip_model::SkipMetrics> for SkipMetrics {
        fn from(m: lakehouse::ml::skip_model::SkipMetrics) -> Self {
            Self {
                auc: m.auc,
                log_loss: m.log_loss,
                base_log_loss: m.base_log_loss,
                base_rate: m.base_rate,
                test_rows: m.test_rows as u64,
            }
        }
    }

    impl From<lakehouse::ml::diversity::Diversity> for ListDiversity {
        fn from(d: lakehouse::ml::diversity::Diversity) -> Self {
            Self {
                lists: d.lists,
                sound: d.sound,
                artists: d.artists,
                mean_popularity_rank: d.mean_popularity_rank,
                popularity_rank_share: d.popularity_rank_share,
            }
        }
    }

    /// A model's settings as (name, value) pairs: an object's fields, or a hybrid's
    /// `[[{"model": ..}, weight], ..]` as (component, weight).
    fn params_of(params: &Value) -> Vec<(String, String)> {
        match params {
            Value::Null => Vec::new(),
            Value::Object(fields) => fields.iter().map(|(k, v)| (k.clone(), short(v))).collect(),
            Value::Array(parts) => parts
                .iter()
                .map(|part| match part.as_array().map(Vec::as_slice) {
                    Some([spec, weight]) => (
                        spec.get("model").map(short).unwrap_or_else(|| short(spec)),
                        short(weight),
                    ),
                    _ => (String::new(), short(part)),
                })
                .collect(),
            other => vec![(String::new(), short(other))],
        }
    }

    /// A JSON value in few characters: strings unquoted, `{"Cosine": {"shrink": 10.0}}` as
    /// `Cosine(shrink=10.0)`.
    fn short(value: &Value) -> String {
        match value {
            Value::String(s) => s.clone(),
            Value::Object(fields) => {
                let inner: Vec<String> = fields
                    .iter()
                    .map(|(k, v)| match v {
                        Value::Object(_) | Value::Null => format!("{k}({})", short(v)),
                        _ => format!("{k}={}", short(v)),
                    })
                    .collect();
                inner.join(", ")
            }
            Value::Null => String::new(),
            other => other.to_string(),
        }
    }

    impl From<TrackSummaryRow> for TrackSummary {
        fn from(r: TrackSummaryRow) -> Self {
            Self {
                track_id: r.track_id,
                name: r.name,
                artists: r.artists,
                album_name: r.album_name,
                genres: r.genres,
                popularity: r.popularity,
                duration_ms: r.duration_ms,
                explicit: r.explicit,
            }
        }
    }

    impl From<TrackDetailRow> for TrackDetail {
        fn from(r: TrackDetailRow) -> Self {
            Self {
                track_id: r.track_id,
                name: r.name,
                artists: r.artists,
                album_name: r.album_name,
                genres: r.genres,
                popularity: r.popularity,
                duration_ms: r.duration_ms,
                explicit: r.explicit,
                danceability: r.danceability,
                energy: r.energy,
                key: r.key,
                loudness: r.loudness,
                mode: r.mode,
                speechiness: r.speechiness,
                acousticness: r.acousticness,
                instrumentalness: r.instrumentalness,
                liveness: r.liveness,
                valence: r.valence,
                tempo: r.tempo,
                time_signature: r.time_signature,
                release_year: r.release_year,
            }
        }
    }

    impl From<GenreCountRow> for GenreCount {
        fn from(r: GenreCountRow) -> Self {
            Self {
                genre: r.genre,
                track_count: r.track_count,
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn reads_model_settings_as_pairs() {
            let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
                v.iter()
                    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                    .collect()
            };
            let json = |text: &str| serde_json::from_str::<Value>(text).unwrap();
            assert_eq!(params_of(&Value::Null), pairs(&[]));
            assert_eq!(
                params_of(&json(
                    r#"{"factors": 64, "similarity": {"Cosine": {"shrink": 10.0}}}"#
                )),
                pairs(&[("factors", "64"), ("similarity", "Cosine(shrink=10.0)")])
            );
            assert_eq!(
                params_of(&json(
                    r#"[[{"model": "item_knn", "params": {"k": 100}}, 0.7], [{"model": "popularity"}, 0.3]]"#
                )),
                pairs(&[("item_knn", "0.7"), ("popularity", "0.3")])
            );
        }

        #[test]
        fn reads_a_segment_centroid_by_feature_name() {
            let segment = ListenerSegment::from(SegmentRow {
                segment_id: 2,
                label: "energetic · danceable".to_owned(),
                size: 40,
                centroid: sqlx::types::Json(Centroid::from([
                    ("valence".to_owned(), Some(0.5)),
                    ("energy".to_owned(), Some(0.71)),
                    ("liveness".to_owned(), None),
                ])),
            });
            assert_eq!(
                segment.centroid,
                [("energy".to_owned(), 0.71), ("valence".to_owned(), 0.5)]
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_durations_and_counts_for_people() {
        assert_eq!(format_duration(230_666), "3:50");
        assert_eq!(format_duration(59_999), "0:59");
        assert_eq!(format_count(89_741), "89,741");
        assert_eq!(format_count(114_000), "114,000");
        assert_eq!(format_count(7), "7");
        assert_eq!(format_percent(0.1234), "12.3%");
        assert_eq!(clock_time("2025-11-27T09:41:07.123456Z"), "09:41:07");
    }

    #[test]
    fn reads_the_live_list_the_api_sends() {
        let json = r#"{"user_id":"user-00001","model_version":3,"reranked":true,
            "updated_at":"2025-11-27T09:41:07.5Z","items":[{"rank":1,"track_id":"t1",
            "name":"Song","artists":["A","B"],"score":0.5,"reason":"because you just played X"}]}"#;
        let list: RecommendationList = serde_json::from_str(json).expect("the API's JSON");
        assert_eq!(list.model_version, Some(3));
        assert_eq!(list.items[0].artists, ["A", "B"]);
        assert_eq!(list.items[0].rank, 1);
    }

    #[test]
    fn counts_pages_rounding_up() {
        let page = |total| TrackPage {
            total,
            page: 1,
            per_page: 20,
            items: vec![],
        };
        assert_eq!(page(0).pages(), 1);
        assert_eq!(page(20).pages(), 1);
        assert_eq!(page(21).pages(), 2);
    }
}

/// What an account may do: each account has one role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum Role {
    /// Listens; sees and steers their own recommendations, tops and history.
    Listener,
    /// Reads the dashboards of listening and of the models.
    Business,
    /// Runs the pipeline, looks after the lake and the accounts; reads everything.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Listener, Role::Business, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Listener => "listener",
            Role::Business => "business",
            Role::Admin => "admin",
        }
    }

    /// The role called `name`, if any.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// The page an account of this role lands on after logging in.
    pub fn home_page(self) -> &'static str {
        match self {
            Role::Listener => "/for-you",
            Role::Business => "/dashboards",
            Role::Admin => "/admin",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The logged-in account, as pages show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    pub name: String,
    pub role: Role,
    /// The user id of the listens, for a listener.
    pub listener_id: Option<String>,
    /// Whether the request came with a browser session rather than a token: only a session
    /// makes and revokes tokens, so that a leaked token cannot outlive its revocation through a
    /// token it made.
    #[serde(default)]
    pub by_session: bool,
}

/// `text` percent-encoded for a URL's query or path: letters, digits, `-`, `_`, `.`, `~` and
/// `/` stay, every other byte becomes `%XX`.
pub fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// What a service the server provides to the server functions answers with: a result later,
/// or a message for people.
#[cfg(feature = "ssr")]
pub type ServerAnswer<T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, String>> + Send>>;
