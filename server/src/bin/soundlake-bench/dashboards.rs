//! The dashboards' queries timed over the gold marts a pipeline bench built: each query of
//! `/dashboards` for the default range, then for the range's most listened genre.

use std::time::{Duration, Instant};

use anyhow::Result;
use lakehouse::gold::stats::{self, StatsFilter, TopKind};
use sqlx::PgPool;

/// Times each query of the dashboards `REPEATS` times and prints its p50 and p99.
pub async fn time_queries(pool: &PgPool) -> Result<()> {
    const REPEATS: usize = 50;
    let Some((_, last)) = stats::listening_days(pool).await? else {
        println!("dashboards: gold holds no listens");
        return Ok(());
    };
    let range = StatsFilter {
        from: last - chrono::Duration::days(app::dashboard::DEFAULT_RANGE_DAYS - 1),
        to: last,
        genre: None,
    };
    let top_genre = stats::top(pool, &range, TopKind::Genre, 1)
        .await?
        .into_iter()
        .next()
        .map(|e| e.id);
    println!();
    println!(
        "dashboard queries over {} to {} ({REPEATS} runs each)",
        range.from, range.to
    );
    println!("{:<32} {:>10} {:>10}", "query", "p50 ms", "p99 ms");
    for genre in [None, top_genre] {
        let filter = StatsFilter {
            genre: genre.clone(),
            ..range.clone()
        };
        let label = |name: &str| match &genre {
            None => name.to_owned(),
            Some(g) => format!("{name} ({g})"),
        };
        let mut timed = Vec::new();
        for _ in 0..REPEATS {
            let mut one = |name: &'static str, took: Duration| timed.push((name, took));
            let t = Instant::now();
            stats::daily_activity(pool, &filter).await?;
            one("daily", t.elapsed());
            for (name, kind, reference) in [
                ("top tracks", TopKind::Track, "top tracks, all ranked"),
                ("top artists", TopKind::Artist, "top artists, all ranked"),
                ("top genres", TopKind::Genre, ""),
            ] {
                let t = Instant::now();
                let shown = stats::top(pool, &filter, kind, app::dashboard::TOP_ENTRIES).await?;
                one(name, t.elapsed());
                if kind != TopKind::Genre {
                    // The reference: every entry of the range ranked.
                    let t = Instant::now();
                    let full =
                        stats::top_ranked_in_full(pool, &filter, kind, app::dashboard::TOP_ENTRIES)
                            .await?;
                    one(reference, t.elapsed());
                    anyhow::ensure!(shown == full, "{name}: the lists differ");
                }
            }
            let t = Instant::now();
            stats::genre_mix(pool, &filter, app::dashboard::MIX_GENRES).await?;
            one("genre mix", t.elapsed());
            let t = Instant::now();
            stats::heatmap(pool, &filter).await?;
            one("heatmap", t.elapsed());
            let t = Instant::now();
            stats::weekly_listeners(pool, &filter).await?;
            one("weekly listeners", t.elapsed());
            let t = Instant::now();
            stats::cohorts(pool, &filter).await?;
            one("cohorts", t.elapsed());
        }
        let mut names: Vec<&str> = timed.iter().map(|(n, _)| *n).collect();
        names.dedup();
        names.sort_unstable();
        names.dedup();
        for name in names {
            let mut ms: Vec<f64> = timed
                .iter()
                .filter(|(n, _)| *n == name)
                .map(|(_, d)| d.as_secs_f64() * 1000.0)
                .collect();
            ms.sort_by(f64::total_cmp);
            let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
            println!("{:<32} {:>10.2} {:>10.2}", label(name), at(0.5), at(0.99));
        }
    }
    Ok(())
}
