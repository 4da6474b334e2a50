//! The dashboards' charts, as ECharts options built with charming.

use charming::Chart;
use charming::component::{Axis, Grid, Legend, LegendType, VisualMap, VisualMapChannel};
use charming::datatype::DataPoint;
use charming::element::{AreaStyle, AxisType, Orient, TextStyle, Tooltip, Trigger};
use charming::series::{Bar, Heatmap, Line};

use super::{DayPoint, GenreDay, HeatCell, WeekListeners};

const MUTED: &str = "#9aa3b2";
/// The genres' colours in the mix, in the order of the legend.
const PALETTE: [&str; 9] = [
    "#5b8cff", "#3ddc97", "#ff6b6b", "#ffc857", "#b57cff", "#4dd0e1", "#ff9f43", "#f78fb3",
    "#c9ced8",
];
/// Weekday names by ECharts row, Sunday (0) first.
const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

fn chart() -> Chart {
    Chart::new().background_color("transparent")
}

fn legend() -> Legend {
    Legend::new()
        .type_(LegendType::Scroll)
        .top(0)
        .text_style(TextStyle::new().color(MUTED))
}

fn grid() -> Grid {
    Grid::new()
        .left(8)
        .right(24)
        .top(40)
        .bottom(8)
        .contain_label(true)
}

fn category(values: Vec<String>) -> Axis {
    Axis::new().type_(AxisType::Category).data(values)
}

fn value_axis() -> Axis {
    Axis::new().type_(AxisType::Value)
}

/// Listens and active listeners per day, and the skip rate (in %, on its own axis).
pub fn daily_activity(days: &[DayPoint]) -> Chart {
    let series = |name: &str, figure: fn(&DayPoint) -> f64| {
        Line::new()
            .name(name)
            .show_symbol(false)
            .data(days.iter().map(figure).collect())
    };
    chart()
        .tooltip(Tooltip::new().trigger(Trigger::Axis))
        .legend(legend())
        .grid(grid())
        .x_axis(category(days.iter().map(|d| d.day.clone()).collect()))
        .y_axis(value_axis().name("listens, listeners"))
        .y_axis(value_axis().name("skip rate %").min(0).max(100))
        .series(series("listens", |d| d.listens as f64))
        .series(series("listeners", |d| d.listeners as f64))
        .series(series("skip rate %", |d| (d.skip_rate * 1000.0).round() / 10.0).y_axis_index(1))
}

/// Listens per day of each shown genre, stacked.
pub fn genre_mix(days: &[GenreDay]) -> Chart {
    let mut dates: Vec<String> = days.iter().map(|d| d.day.clone()).collect();
    dates.dedup();
    // The legend's order: most listened first, `other` last.
    let mut genres: Vec<(String, i64)> = Vec::new();
    for d in days {
        match genres.iter_mut().find(|(g, _)| *g == d.genre) {
            Some((_, n)) => *n += d.listens,
            None => genres.push((d.genre.clone(), d.listens)),
        }
    }
    genres.sort_by(|a, b| {
        (a.0 == "other")
            .cmp(&(b.0 == "other"))
            .then(b.1.cmp(&a.1))
            .then(a.0.cmp(&b.0))
    });
    let mut mix = chart()
        .tooltip(Tooltip::new().trigger(Trigger::Axis))
        .legend(legend())
        .grid(grid())
        .x_axis(category(dates.clone()))
        .y_axis(value_axis().name("listens"));
    for (i, (genre, _)) in genres.iter().enumerate() {
        let data: Vec<f64> = dates
            .iter()
            .map(|date| {
                days.iter()
                    .find(|d| &d.day == date && &d.genre == genre)
                    .map_or(0.0, |d| d.listens as f64)
            })
            .collect();
        mix = mix.series(
            Line::new()
                .name(genre.as_str())
                .stack("listens")
                .show_symbol(false)
                .area_style(AreaStyle::new().color(PALETTE[i % PALETTE.len()]))
                .data(data),
        );
    }
    mix
}

/// Listens per hour (columns) and weekday (rows), UTC.
pub fn heatmap(cells: &[HeatCell]) -> Chart {
    let max = cells.iter().map(|c| c.listens).max().unwrap_or(1).max(1);
    let data: Vec<Vec<DataPoint>> = cells
        .iter()
        .map(|c| {
            vec![
                DataPoint::from(i64::from(c.hour)),
                DataPoint::from(i64::from(c.weekday)),
                DataPoint::from(c.listens),
            ]
        })
        .collect();
    chart()
        .tooltip(Tooltip::new().trigger(Trigger::Item))
        .grid(grid().top(8).bottom(56))
        .x_axis(category((0..24).map(|h| format!("{h:02}")).collect()).name("hour (UTC)"))
        .y_axis(category(WEEKDAYS.iter().map(|d| (*d).to_owned()).collect()))
        .visual_map(
            VisualMap::new()
                .min(0)
                .max(max as f64)
                .calculable(true)
                .orient(Orient::Horizontal)
                .left("center")
                .bottom(0)
                .text_style(TextStyle::new().color(MUTED))
                .in_range(VisualMapChannel::new().color(vec!["#171a21", "#5b8cff", "#3ddc97"])),
        )
        .series(Heatmap::new().name("listens").data(data))
}

/// New and returning listeners per week, stacked.
pub fn weekly_listeners(weeks: &[WeekListeners]) -> Chart {
    chart()
        .tooltip(Tooltip::new().trigger(Trigger::Axis))
        .legend(legend())
        .grid(grid())
        .x_axis(category(weeks.iter().map(|w| w.week.clone()).collect()))
        .y_axis(value_axis().name("listeners"))
        .series(
            Bar::new()
                .name("new")
                .stack("listeners")
                .data(weeks.iter().map(|w| w.new as f64).collect()),
        )
        .series(
            Bar::new()
                .name("returning")
                .stack("listeners")
                .data(weeks.iter().map(|w| w.returning as f64).collect()),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(chart: &Chart) -> serde_json::Value {
        serde_json::to_value(chart).expect("a chart serialises")
    }

    #[test]
    fn the_genre_mix_stacks_a_series_per_genre_with_other_last() {
        let day = |day: &str, genre: &str, listens| GenreDay {
            day: day.into(),
            genre: genre.into(),
            listens,
        };
        let days = [
            day("2026-11-01", "other", 50),
            day("2026-11-01", "pop", 10),
            day("2026-11-02", "pop", 30),
            day("2026-11-02", "rock", 20),
        ];
        let option = json(&genre_mix(&days));
        let series = option["series"].as_array().unwrap();
        let names: Vec<&str> = series.iter().map(|s| s["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["pop", "rock", "other"]);
        assert_eq!(series[1]["data"], serde_json::json!([0.0, 20.0]));
        assert!(series.iter().all(|s| s["stack"] == "listens"));
    }

    #[test]
    fn the_heatmap_has_a_cell_per_hour_and_weekday_given() {
        let cells = [
            HeatCell {
                weekday: 0,
                hour: 13,
                listens: 7,
            },
            HeatCell {
                weekday: 6,
                hour: 2,
                listens: 3,
            },
        ];
        let option = json(&heatmap(&cells));
        assert_eq!(
            option["series"][0]["data"],
            serde_json::json!([[13, 0, 7], [2, 6, 3]])
        );
        assert_eq!(option["visualMap"][0]["max"], 7.0);
    }
}
