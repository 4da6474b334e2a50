//! The dashboards' charts: ECharts options built with charming from the pages' data on the
//! server, and an island that hands one to ECharts in the browser. The server renders the
//! chart's box (and the pages keep the figures in tables beside it), so nothing is lost
//! before the script runs; the browser's module carries the option as JSON text, not
//! charming.

use charming::Chart;
use charming::component::{Axis, DataZoom, DataZoomType, Grid, Legend, LegendType};
use charming::datatype::DataPointItem;
use charming::element::{AxisType, ItemStyle, TextStyle, Tooltip, Trigger};
use charming::series::{Bar, Line, Scatter};
use leptos::prelude::*;
use serde_json::value::RawValue;

use crate::types::{ClusterSummary, FamilyMetrics, KScore, TrackMapPoint};

/// The clusters' colours, by cluster id (repeating after twelve clusters).
const PALETTE: [&str; 12] = [
    "#5b8cff", "#3ddc97", "#ff6b6b", "#ffc857", "#b57cff", "#4dd0e1", "#ff9f43", "#f78fb3",
    "#a3d977", "#e07a5f", "#c9ced8", "#48a9a6",
];

/// The colour of a cluster's dots and legend swatch.
pub fn cluster_colour(cluster_id: i16) -> &'static str {
    PALETTE[usize::from(cluster_id.unsigned_abs()) % PALETTE.len()]
}

/// Axis text on the site's dark background.
const MUTED: &str = "#9aa3b2";

/// A chart on the page's own background.
fn chart() -> Chart {
    Chart::new().background_color("transparent")
}

fn grid() -> Grid {
    Grid::new()
        .left(8)
        .right(24)
        .top(24)
        .bottom(8)
        .contain_label(true)
}

fn value_axis() -> Axis {
    Axis::new().type_(AxisType::Value)
}

/// A horizontal bar per cluster, as long as the cluster has tracks.
pub fn cluster_sizes(clusters: &[ClusterSummary]) -> Chart {
    // ECharts draws a category axis bottom-up: reverse so the first cluster is on top.
    let ordered: Vec<&ClusterSummary> = clusters.iter().rev().collect();
    chart()
        .tooltip(
            Tooltip::new()
                .trigger(Trigger::Item)
                .formatter("{b}: {c} tracks"),
        )
        .grid(grid())
        .x_axis(value_axis().name("tracks"))
        .y_axis(
            Axis::new()
                .type_(AxisType::Category)
                .data(ordered.iter().map(|c| c.label.clone()).collect()),
        )
        .series(
            Bar::new().name("tracks").data(
                ordered
                    .iter()
                    .map(|c| {
                        DataPointItem::new(c.size)
                            .name(c.label.clone())
                            .item_style(ItemStyle::new().color(cluster_colour(c.cluster_id)))
                    })
                    .collect(),
            ),
        )
}

/// Silhouette per k tried, the chosen k marked in green.
pub fn k_scores(scores: &[KScore]) -> Chart {
    chart()
        .tooltip(Tooltip::new().trigger(Trigger::Axis))
        .grid(grid())
        .x_axis(
            Axis::new()
                .type_(AxisType::Category)
                .name("k")
                .data(scores.iter().map(|s| s.k.to_string()).collect()),
        )
        .y_axis(value_axis().name("silhouette").scale(true))
        .series(
            Line::new().name("silhouette").data(
                scores
                    .iter()
                    .map(|s| {
                        let point = DataPointItem::new((s.silhouette * 1000.0).round() / 1000.0);
                        if s.chosen {
                            point
                                .name("chosen")
                                .item_style(ItemStyle::new().color("#3ddc97"))
                        } else {
                            point
                        }
                    })
                    .collect(),
            ),
        )
}

/// The offline figures of every model family side by side: NDCG@10, recall@10 and coverage.
pub fn model_figures(families: &[FamilyMetrics]) -> Chart {
    let bars = |name: &str, figure: fn(&FamilyMetrics) -> f64| {
        Bar::new().name(name).data(
            families
                .iter()
                .map(|f| (figure(f) * 1000.0).round() / 1000.0)
                .collect(),
        )
    };
    chart()
        .tooltip(Tooltip::new().trigger(Trigger::Axis))
        .legend(
            Legend::new()
                .top(0)
                .text_style(TextStyle::new().color(MUTED)),
        )
        .grid(grid().top(36))
        .x_axis(
            Axis::new()
                .type_(AxisType::Category)
                .data(families.iter().map(|f| f.model.clone()).collect()),
        )
        .y_axis(value_axis())
        .series(bars("NDCG@10", |f| f.ndcg))
        .series(bars("recall@10", |f| f.recall))
        .series(bars("coverage", |f| f.coverage))
}

/// The sampled tracks on the 2-D map of audio features, a series (and legend entry) per
/// cluster; the wheel or a pinch zooms, dragging pans, and the legend hides clusters.
pub fn track_map(points: &[TrackMapPoint], clusters: &[ClusterSummary]) -> Chart {
    let mut map = chart()
        .tooltip(
            Tooltip::new()
                .trigger(Trigger::Item)
                .formatter("{a}<br/>{b}"),
        )
        .legend(
            Legend::new()
                .type_(LegendType::Scroll)
                .bottom(0)
                .text_style(TextStyle::new().color(MUTED)),
        )
        .grid(grid().bottom(40))
        .x_axis(value_axis().scale(true).show(false))
        .y_axis(value_axis().scale(true).show(false))
        .data_zoom(DataZoom::new().type_(DataZoomType::Inside).x_axis_index(0))
        .data_zoom(DataZoom::new().type_(DataZoomType::Inside).y_axis_index(0));
    let mut ids: Vec<i16> = points.iter().map(|p| p.cluster_id).collect();
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        let label = clusters
            .iter()
            .find(|c| c.cluster_id == id)
            .map_or_else(|| format!("cluster {id}"), |c| c.label.clone());
        let data: Vec<DataPointItem> = points
            .iter()
            .filter(|p| p.cluster_id == id && p.x.is_finite() && p.y.is_finite())
            .map(|p| DataPointItem::new(vec![f64::from(p.x), f64::from(p.y)]).name(p.name.clone()))
            .collect();
        map = map.series(
            Scatter::new()
                .name(label)
                .symbol_size(5)
                .item_style(ItemStyle::new().color(cluster_colour(id)))
                .data(data),
        );
    }
    map
}

/// ECharts itself, for a page with charts: a script in the page's head, loaded before the
/// charts' islands are hydrated (pages without charts do not load it).
#[component]
pub fn EChartsScript() -> impl IntoView {
    view! { <leptos_meta::Script src="/pkg/echarts.min.js" /> }
}

/// A chart's box, `height` pixels high; the browser draws `chart` into it once its island is
/// hydrated (the page also renders [`EChartsScript`]). Rendered on the server.
#[component]
pub fn EChart(
    /// The box's element id (unique on the page).
    id: &'static str,
    chart: Chart,
    height: u32,
    /// What the chart shows, for screen readers.
    label: String,
) -> impl IntoView {
    let option = serde_json::value::to_raw_value(&chart)
        .unwrap_or_else(|_| RawValue::from_string("{}".to_owned()).expect("`{}` is JSON"));
    view! { <ChartBox id=id.to_owned() option height label /> }
}

/// The box of one chart and, in the browser, ECharts drawing `option` (an ECharts option as
/// JSON) into it; `data-drawn` is `true` once drawn.
#[island]
#[allow(clippy::boxed_local)] // `RawValue` is unsized: it only comes boxed.
fn ChartBox(id: String, option: Box<RawValue>, height: u32, label: String) -> impl IntoView {
    let element = NodeRef::<leptos::html::Div>::new();
    let drawn = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(element) = element.get() {
            crate::browser::draw_chart(&element, height, option.get());
            drawn.set(true);
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = option;
    view! {
        <div
            node_ref=element
            id=id
            class="echart"
            style=format!("height: {height}px")
            role="img"
            aria-label=label
            data-drawn=move || drawn.get().to_string()
        ></div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(cluster_id: i16, label: &str, size: i32) -> ClusterSummary {
        ClusterSummary {
            cluster_id,
            label: label.into(),
            size,
            centroid: Vec::new(),
            top_genres: Vec::new(),
        }
    }

    fn point(name: &str, cluster_id: i16, x: f32) -> TrackMapPoint {
        TrackMapPoint {
            track_id: name.into(),
            name: name.into(),
            cluster_id,
            x,
            y: 1.0,
        }
    }

    fn json(chart: &Chart) -> serde_json::Value {
        serde_json::to_value(chart).expect("a chart serialises")
    }

    #[test]
    fn the_map_has_a_series_per_cluster_named_by_its_label() {
        let clusters = [cluster(0, "calm", 10), cluster(3, "loud", 5)];
        let points = [
            point("a", 3, 0.5),
            point("b", 0, -1.0),
            point("c", 3, 2.0),
            point("lost", 0, f32::NAN),
            point("d", 7, 0.0),
        ];
        let chart = json(&track_map(&points, &clusters));
        let series = chart["series"].as_array().expect("series");
        let summary: Vec<(String, usize)> = series
            .iter()
            .map(|s| {
                (
                    s["name"].as_str().unwrap_or_default().to_owned(),
                    s["data"].as_array().map_or(0, Vec::len),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("calm".to_owned(), 1),
                ("loud".to_owned(), 2),
                ("cluster 7".to_owned(), 1)
            ]
        );
        assert_eq!(series[1]["data"][0]["name"], "a");
        assert_eq!(series[1]["data"][0]["value"], serde_json::json!([0.5, 1.0]));
        assert_eq!(cluster_colour(0), cluster_colour(12));
        assert_ne!(cluster_colour(0), cluster_colour(1));
    }

    #[test]
    fn cluster_sizes_list_the_first_cluster_on_top() {
        let chart = json(&cluster_sizes(&[
            cluster(0, "calm", 10),
            cluster(1, "loud", 5),
        ]));
        // A category axis is drawn bottom-up.
        assert_eq!(chart["yAxis"]["data"], serde_json::json!(["loud", "calm"]));
        assert_eq!(chart["series"][0]["data"][1]["value"], 10);
    }
}
