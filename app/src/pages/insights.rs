//! `/insights`: how the current model did offline, how well skips are predicted, what the
//! track clusters sound like and where their tracks lie on the map, and what the listener
//! segments play; for the people who run soundlake.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::charts::{EChart, EChartsScript, cluster_sizes, k_scores, model_figures, track_map};
use crate::server_fns::{
    current_model_insights, listener_segments, track_cluster_insights, track_map_sample,
};
use crate::types::{
    ClusterInsights, ClusterSummary, FamilyMetrics, KScore, ListDiversity, ListenerSegment,
    ModelInsights, SkipMetrics, TrackMapPoint, format_count, format_percent,
};

/// The insights page, rendered on the server from gold.
#[component]
pub fn Insights() -> impl IntoView {
    let models = Resource::new(|| (), |_| current_model_insights());
    let clusters = Resource::new(|| (), |_| track_cluster_insights());
    let map = Resource::new(|| (), |_| track_map_sample());
    let segments = Resource::new(|| (), |_| listener_segments());
    view! {
        <Title text="Insights" />
        <EChartsScript />
        <section class="insights">
            <h1>"Insights"</h1>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match models.await {
                        Ok(Some(insights)) => view! { <ModelReport insights /> }.into_any(),
                        Ok(None) => {
                            view! {
                                <p id="no-model" class="muted">
                                    "No model yet: the pipeline has not trained one."
                                </p>
                            }
                                .into_any()
                        }
                        Err(error) => failed("the model figures", &error),
                    }
                })}
            </Suspense>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match clusters.await {
                        Ok(insights) => view! { <ClusterReport insights /> }.into_any(),
                        Err(error) => failed("the clusters", &error),
                    }
                })}
            </Suspense>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match map.await {
                        Ok(points) => {
                            // The legend names the clusters; without them the map still shows.
                            let clusters = clusters
                                .await
                                .map(|insights| insights.clusters)
                                .unwrap_or_default();
                            view! { <TrackMap points clusters /> }.into_any()
                        }
                        Err(error) => failed("the track map", &error),
                    }
                })}
            </Suspense>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match segments.await {
                        Ok(segments) => view! { <SegmentReport segments /> }.into_any(),
                        Err(error) => failed("the listener segments", &error),
                    }
                })}
            </Suspense>
        </section>
    }
}

fn failed(what: &str, error: &ServerFnError) -> AnyView {
    view! { <p class="error" role="alert">{format!("Could not load {what}: {error}")}</p> }
        .into_any()
}

/// The model version, its families' metrics and the skip model.
#[component]
fn ModelReport(insights: ModelInsights) -> impl IntoView {
    let serving = if insights.is_current {
        " (serving)"
    } else {
        ""
    };
    let summary = format!(
        "Model version {}{serving}: {}, trained {} on {} plays by {} listeners of {} tracks in {:.1} s.",
        insights.model_version,
        insights.model,
        insights.trained_at,
        format_count(insights.interactions),
        format_count(insights.users),
        format_count(insights.items),
        insights.train_secs,
    );
    let figures = model_figures(&insights.families);
    let rows = insights
        .families
        .into_iter()
        .map(|family| view! { <FamilyRow family /> })
        .collect_view();
    view! {
        <h2>"Recommendation models"</h2>
        <p class="muted">{summary}</p>
        <EChart
            id="model-figures"
            chart=figures
            height=260
            label="NDCG@10, recall@10 and coverage of each model".into()
        />
        <table id="model-metrics" class="figures">
            <thead>
                <tr>
                    <th>"Model"</th>
                    <th class="num">"NDCG@10"</th>
                    <th class="num">"Recall@10"</th>
                    <th class="num">"Precision@10"</th>
                    <th class="num">"MAP@10"</th>
                    <th class="num">"Coverage"</th>
                    <th class="num">"Training"</th>
                    <th class="num">"Validation NDCG"</th>
                    <th>"Settings"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        <p class="muted note">
            "Test figures on the fifth of each listener's tracks they discovered last, with "
            "the models trained on the rest. The model that serves is chosen on the newest "
            "fifth of that rest: of those within one standard error of the best validation "
            "NDCG, the one covering most of the catalogue."
        </p>
        <h2>"How varied the lists are"</h2>
        {match insights.diversity {
            Some(diversity) => view! { <DiversityReport diversity /> }.into_any(),
            None => view! { <p class="muted">"Not measured for this version."</p> }.into_any(),
        }}
        <h2>"Skip prediction"</h2>
        {match insights.skip {
            Some(skip) => view! { <SkipReport skip /> }.into_any(),
            None => view! { <p class="muted">"No skip model in this version."</p> }.into_any(),
        }}
    }
}

#[component]
fn FamilyRow(family: FamilyMetrics) -> impl IntoView {
    let settings = family
        .params
        .iter()
        .map(|(name, value)| {
            if name.is_empty() {
                value.clone()
            } else {
                format!("{name}={value}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let model = family.model.clone();
    view! {
        <tr class:chosen=family.chosen data-model=model>
            <td class="model-name">
                {family.model}
                {family.chosen.then(|| view! { <span class="badge">"chosen"</span> })}
            </td>
            <td class="num">{format!("{:.4}", family.ndcg)}</td>
            <td class="num">{format!("{:.4}", family.recall)}</td>
            <td class="num">{format!("{:.4}", family.precision)}</td>
            <td class="num">{format!("{:.4}", family.map)}</td>
            <td class="num">{format_percent(family.coverage)}</td>
            <td class="num">{format!("{:.1} s", family.train_secs)}</td>
            <td class="num">{format!("{:.4}", family.validation_ndcg)}</td>
            <td class="settings muted">{settings}</td>
        </tr>
    }
}

/// Intra-list diversity and novelty over every published list.
#[component]
fn DiversityReport(diversity: ListDiversity) -> impl IntoView {
    view! {
        <dl id="list-diversity" class="figures-list">
            <div>
                <dt>"Sound"</dt>
                <dd>{format!("{:.2}", diversity.sound)}</dd>
                <dd class="muted">"mean distance between two tracks of a list (audio features, standardised)"</dd>
            </div>
            <div>
                <dt>"Artists"</dt>
                <dd>{format_percent(diversity.artists)}</dd>
                <dd class="muted">"of a list's pairs are by two different artists"</dd>
            </div>
            <div>
                <dt>"Novelty"</dt>
                <dd>{format!("{:.0}", diversity.mean_popularity_rank)}</dd>
                <dd class="muted">
                    {format!(
                        "mean popularity rank of what is recommended ({} of the played catalogue down)",
                        format_percent(diversity.popularity_rank_share),
                    )}
                </dd>
            </div>
            <div>
                <dt>"Lists"</dt>
                <dd>{format_count(i64::try_from(diversity.lists).unwrap_or(i64::MAX))}</dd>
                <dd class="muted">"measured, every listener's"</dd>
            </div>
        </dl>
    }
}

#[component]
fn SkipReport(skip: SkipMetrics) -> impl IntoView {
    view! {
        <dl id="skip-metrics" class="figures-list">
            <div>
                <dt>"AUC"</dt>
                <dd>{format!("{:.3}", skip.auc)}</dd>
                <dd class="muted">"0.500 is guessing"</dd>
            </div>
            <div>
                <dt>"Log-loss"</dt>
                <dd>{format!("{:.3}", skip.log_loss)}</dd>
                <dd class="muted">{format!("{:.3} always guessing the base rate", skip.base_log_loss)}</dd>
            </div>
            <div>
                <dt>"Base rate"</dt>
                <dd>{format_percent(skip.base_rate)}</dd>
                <dd class="muted">"of training plays were skips"</dd>
            </div>
            <div>
                <dt>"Test plays"</dt>
                <dd>{format_count(i64::try_from(skip.test_rows).unwrap_or(i64::MAX))}</dd>
                <dd class="muted">"the newest, held out"</dd>
            </div>
        </dl>
    }
}

/// The clusters: a bar chart of their sizes, their genres, and the k tried.
#[component]
fn ClusterReport(insights: ClusterInsights) -> impl IntoView {
    if insights.clusters.is_empty() {
        return view! {
            <h2>"Track clusters"</h2>
            <p class="muted">"No clusters yet: the pipeline has not clustered the catalogue."</p>
        }
        .into_any();
    }
    let sizes = cluster_sizes(&insights.clusters);
    let silhouettes = k_scores(&insights.k_scores);
    let sizes_height = 40 + 28 * u32::try_from(insights.clusters.len()).unwrap_or(12);
    let rows = insights
        .clusters
        .into_iter()
        .map(|cluster| view! { <ClusterRow cluster /> })
        .collect_view();
    let k_rows = insights
        .k_scores
        .into_iter()
        .map(|score| view! { <KRow score /> })
        .collect_view();
    view! {
        <h2>"Track clusters"</h2>
        <EChart id="cluster-sizes" chart=sizes height=sizes_height label="Tracks per cluster".into() />
        <table id="clusters" class="figures">
            <thead>
                <tr>
                    <th>"Cluster"</th>
                    <th class="num">"Tracks"</th>
                    <th>"Top genres"</th>
                    <th>"Profile"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        <h3>"Choosing k"</h3>
        <EChart
            id="k-silhouettes"
            chart=silhouettes
            height=220
            label="Silhouette of each number of clusters tried".into()
        />
        <table id="k-scores" class="figures narrow">
            <thead>
                <tr>
                    <th class="num">"k"</th>
                    <th class="num">"Silhouette"</th>
                    <th class="num">"Inertia"</th>
                </tr>
            </thead>
            <tbody>{k_rows}</tbody>
        </table>
    }
    .into_any()
}

/// The features a cluster's profile shows, in the order shown.
const PROFILE: [&str; 5] = ["energy", "danceability", "valence", "acousticness", "tempo"];

#[component]
fn ClusterRow(cluster: ClusterSummary) -> impl IntoView {
    let genres = cluster
        .top_genres
        .into_iter()
        .take(5)
        .map(|(genre, count)| {
            view! { <span class="chip" title=format!("{count} tracks")>{genre}</span> }
        })
        .collect_view();
    let profile = PROFILE
        .iter()
        .filter_map(|feature| {
            let (_, value) = cluster.centroid.iter().find(|(f, _)| f == feature)?;
            Some(match *feature {
                "tempo" => format!("{value:.0} BPM"),
                _ => format!("{feature} {value:.2}"),
            })
        })
        .collect::<Vec<_>>()
        .join(" · ");
    view! {
        <tr data-cluster-id=cluster.cluster_id>
            <td class="track-name">{cluster.label}</td>
            <td class="num">{format_count(cluster.size.into())}</td>
            <td class="genres">{genres}</td>
            <td class="muted">{profile}</td>
        </tr>
    }
}

#[component]
fn KRow(score: KScore) -> impl IntoView {
    view! {
        <tr class:chosen=score.chosen>
            <td class="num">
                {score.chosen.then(|| view! { <span class="badge">"chosen"</span> })}
                {score.k}
            </td>
            <td class="num">{format!("{:.3}", score.silhouette)}</td>
            <td class="num">{format_count(score.inertia.round() as i64)}</td>
        </tr>
    }
}

/// The sampled tracks on the 2-D map, coloured by cluster: zoom with the wheel, pan by
/// dragging, hide clusters from the legend, a track's name on hover.
#[component]
fn TrackMap(points: Vec<TrackMapPoint>, clusters: Vec<ClusterSummary>) -> impl IntoView {
    let points: Vec<TrackMapPoint> = points
        .into_iter()
        .filter(|p| p.x.is_finite() && p.y.is_finite())
        .collect();
    if points.is_empty() {
        return view! {
            <h2>"Track map"</h2>
            <p class="muted">"No map yet: the pipeline has not clustered the catalogue."</p>
        }
        .into_any();
    }
    let shown = format!(
        "{} tracks, a fixed sample of the catalogue, placed by their audio features (the \
         features' two principal components) and coloured by cluster. Scroll to zoom, drag to \
         pan; the legend hides and shows clusters.",
        format_count(i64::try_from(points.len()).unwrap_or(i64::MAX)),
    );
    let chart = track_map(&points, &clusters);
    view! {
        <h2>"Track map"</h2>
        <p class="muted">{shown}</p>
        <EChart
            id="track-map"
            chart
            height=480
            label="Tracks on the map of audio features, coloured by cluster".into()
        />
    }
    .into_any()
}

/// The taste features a segment's row shows, in the order shown, with their headings.
const SEGMENT_FEATURES: [(&str, &str); 4] = [
    ("energy", "Energy"),
    ("danceability", "Danceability"),
    ("acousticness", "Acousticness"),
    ("valence", "Valence"),
];

/// The listener segments: their sizes and the mean features of what they play.
#[component]
fn SegmentReport(segments: Vec<ListenerSegment>) -> impl IntoView {
    if segments.is_empty() {
        return view! {
            <h2>"Listener segments"</h2>
            <p class="muted">"No segments yet: the pipeline has not grouped the listeners."</p>
        }
        .into_any();
    }
    let headings = SEGMENT_FEATURES
        .iter()
        .map(|(_, heading)| view! { <th class="num">{*heading}</th> })
        .collect_view();
    let rows = segments
        .into_iter()
        .map(|segment| view! { <SegmentRow segment /> })
        .collect_view();
    view! {
        <h2>"Listener segments"</h2>
        <table id="segments" class="figures">
            <thead>
                <tr>
                    <th>"Segment"</th>
                    <th class="num">"Listeners"</th>
                    {headings}
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        <p class="muted note">
            "Listeners grouped by the mean audio features of what they play (0 to 1)."
        </p>
    }
    .into_any()
}

#[component]
fn SegmentRow(segment: ListenerSegment) -> impl IntoView {
    let values = SEGMENT_FEATURES
        .iter()
        .map(|(feature, _)| {
            let value = segment
                .centroid
                .iter()
                .find(|(f, _)| f == feature)
                .map_or_else(|| "–".to_owned(), |(_, v)| format!("{v:.2}"));
            view! { <td class="num">{value}</td> }
        })
        .collect_view();
    view! {
        <tr data-segment-id=segment.segment_id>
            <td class="track-name">{segment.label}</td>
            <td class="num">{format_count(segment.size.into())}</td>
            {values}
        </tr>
    }
}
