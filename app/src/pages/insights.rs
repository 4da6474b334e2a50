//! `/insights`: how the current model did offline, how well skips are predicted, and what the
//! track clusters sound like; for the people who run soundlake.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::server_fns::{current_model_insights, track_cluster_insights};
use crate::types::{
    ClusterInsights, ClusterSummary, FamilyMetrics, KScore, ModelInsights, SkipMetrics,
    format_count, format_percent,
};

/// The insights page, rendered on the server from gold.
#[component]
pub fn Insights() -> impl IntoView {
    let models = Resource::new(|| (), |_| current_model_insights());
    let clusters = Resource::new(|| (), |_| track_cluster_insights());
    view! {
        <Title text="Insights" />
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
    let rows = insights
        .families
        .into_iter()
        .map(|family| view! { <FamilyRow family /> })
        .collect_view();
    view! {
        <h2>"Recommendation models"</h2>
        <p class="muted">{summary}</p>
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
            "Test figures on each test listener's newest plays; the family with the best "
            "validation NDCG is chosen and serves."
        </p>
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
    let rows = insights
        .clusters
        .iter()
        .cloned()
        .map(|cluster| view! { <ClusterRow cluster /> })
        .collect_view();
    let k_rows = insights
        .k_scores
        .into_iter()
        .map(|score| view! { <KRow score /> })
        .collect_view();
    view! {
        <h2>"Track clusters"</h2>
        <SizeChart clusters=insights.clusters />
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

/// Bar widths and spacing of the size chart, in SVG units.
const LABEL_WIDTH: f64 = 250.0;
const BAR_WIDTH: f64 = 330.0;
const ROW_HEIGHT: f64 = 26.0;

/// A horizontal bar per cluster, as long as the cluster is large.
#[component]
fn SizeChart(clusters: Vec<ClusterSummary>) -> impl IntoView {
    let largest = f64::from(clusters.iter().map(|c| c.size).max().unwrap_or(1).max(1));
    let height = ROW_HEIGHT * clusters.len() as f64;
    let bars = clusters
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let y = ROW_HEIGHT * i as f64;
            let width = (BAR_WIDTH * f64::from(c.size) / largest).max(1.0);
            view! {
                <g class="bar">
                    <text x="0" y=format!("{:.1}", y + 17.0) class="bar-label">{c.label}</text>
                    <rect
                        x=format!("{LABEL_WIDTH:.1}")
                        y=format!("{:.1}", y + 4.0)
                        width=format!("{width:.1}")
                        height=format!("{:.1}", ROW_HEIGHT - 8.0)
                        rx="3"
                    />
                    <text x=format!("{:.1}", LABEL_WIDTH + width + 6.0) y=format!("{:.1}", y + 17.0) class="bar-value">
                        {format_count(c.size.into())}
                    </text>
                </g>
            }
        })
        .collect_view();
    view! {
        <svg
            id="cluster-sizes"
            class="chart"
            viewBox=format!("0 0 {:.0} {height:.0}", LABEL_WIDTH + BAR_WIDTH + 70.0)
            role="img"
            aria-label="Tracks per cluster"
        >
            {bars}
        </svg>
    }
}
