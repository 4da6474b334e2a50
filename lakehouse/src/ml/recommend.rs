//! From a trained model to the lists listeners see: already-heard and disliked tracks left
//! out, a cap per artist, cold start for listeners with little history, and a reason on
//! every recommendation.

use std::collections::{HashMap, HashSet};

use super::datasets::CatalogTrack;
use super::interactions::Interactions;
use super::models::item_knn::ItemKnn;
use super::models::popularity::Popularity;
use super::models::{History, Recommender, top_k};
use super::skip_model::SkipModel;

/// The rules a list follows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ListPolicy {
    /// Recommendations per listener.
    pub size: usize,
    /// Leave out tracks the listener already played.
    pub exclude_heard: bool,
    /// At most this many tracks by one artist in a list.
    pub max_per_artist: usize,
    /// Listeners with fewer interactions get the cold-start list.
    pub cold_start_below: usize,
}

impl Default for ListPolicy {
    fn default() -> Self {
        Self {
            size: 50,
            exclude_heard: true,
            max_per_artist: 3,
            cold_start_below: 5,
        }
    }
}

/// What one listener asked never to be recommended (dislikes, do-not-recommend) and the
/// tracks they mostly skipped.
#[derive(Debug, Clone, Default)]
pub struct Exclusions {
    pub tracks: HashSet<u32>,
    pub artists: HashSet<String>,
}

/// One recommendation.
#[derive(Debug, Clone, PartialEq)]
pub struct Recommendation {
    pub item: u32,
    pub score: f32,
    pub reason: String,
}

/// Everything lists are made from. Item `i` of `data` is `tracks[i]`.
pub struct ListMaker<'a> {
    model: &'a dyn Recommender,
    data: &'a Interactions,
    tracks: &'a [CatalogTrack],
    neighbours: &'a ItemKnn,
    cluster_labels: Option<&'a [String]>,
    policy: ListPolicy,
    /// Played items, most popular first.
    popular: Vec<u32>,
    /// The most popular items of each primary genre.
    popular_in_genre: HashMap<&'a str, Vec<u32>>,
    skip: Option<&'a SkipModel>,
}

/// How much a predicted skip lowers a score: `score · (1 − SKIP_PENALTY · p(skip))`.
pub const SKIP_PENALTY: f32 = 0.5;

impl<'a> ListMaker<'a> {
    /// A list maker over `model` trained on `data`. `neighbours` explains recommendations
    /// ("because you listened to X"); `cluster_labels` (one per item) names tastes.
    pub fn new(
        model: &'a dyn Recommender,
        data: &'a Interactions,
        tracks: &'a [CatalogTrack],
        neighbours: &'a ItemKnn,
        cluster_labels: Option<&'a [String]>,
        policy: ListPolicy,
    ) -> Self {
        let popularity = Popularity::fit(data);
        let popular: Vec<u32> = top_k(popularity.shares(), data.n_items(), |_| false)
            .into_iter()
            .filter(|&(_, s)| s > 0.0)
            .map(|(i, _)| i)
            .collect();
        let mut popular_in_genre: HashMap<&str, Vec<u32>> = HashMap::new();
        for &i in &popular {
            let top = popular_in_genre
                .entry(tracks[i as usize].primary_genre.as_str())
                .or_default();
            if top.len() < policy.size * 2 {
                top.push(i);
            }
        }
        Self {
            model,
            data,
            tracks,
            neighbours,
            cluster_labels,
            policy,
            popular,
            popular_in_genre,
            skip: None,
        }
    }

    /// Uses the skip model as a ranking signal: likely skips move down.
    pub fn with_skip_model(mut self, skip: Option<&'a SkipModel>) -> Self {
        self.skip = skip;
        self
    }

    /// Listener `u`'s list.
    pub fn list_for(&self, u: u32, exclusions: &Exclusions) -> Vec<Recommendation> {
        let history = History::of(self.data, u);
        let allowed = |i: u32| {
            let heard = self.policy.exclude_heard && history.contains(i);
            let artist = &self.tracks[i as usize].primary_artist;
            let unwanted = exclusions.tracks.contains(&i) || exclusions.artists.contains(artist);
            !(heard || unwanted)
        };
        let mut list = Vec::with_capacity(self.policy.size);
        let mut per_artist: HashMap<&str, usize> = HashMap::new();
        let mut push = |list: &mut Vec<Recommendation>, item: u32, score: f32, reason: String| {
            let artist = self.tracks[item as usize].primary_artist.as_str();
            let n = per_artist.entry(artist).or_default();
            if *n < self.policy.max_per_artist
                && list.iter().all(|r: &Recommendation| r.item != item)
            {
                *n += 1;
                list.push(Recommendation {
                    item,
                    score,
                    reason,
                });
            }
        };
        if history.items.len() >= self.policy.cold_start_below {
            let mut scores = vec![0f32; self.data.n_items()];
            self.model.score(u, history, &mut scores);
            let because = self.because(history);
            let taste = self.taste_label(history);
            let mut candidates = top_k(&scores, self.policy.size * 4, |i| !allowed(i));
            if let Some(skip) = self.skip {
                for (item, score) in &mut candidates {
                    *score *= 1.0 - SKIP_PENALTY * skip.probability(u, *item) as f32;
                }
                candidates.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            }
            for (item, score) in candidates {
                if list.len() == self.policy.size || score <= 0.0 {
                    break;
                }
                let reason = self.reason(item, &because, taste.as_deref());
                push(&mut list, item, score, reason);
            }
        }
        // Cold start, and filling a short list: popular in the listener's genres, then overall.
        let floor = list.last().map_or(1.0, |r| r.score);
        let mut rank = 0f32;
        for (item, genre) in self.popular_for(history) {
            if list.len() == self.policy.size {
                break;
            }
            if allowed(item) {
                rank += 1.0;
                let reason = match genre {
                    Some(g) => format!("popular in {g}"),
                    None => "popular on soundlake".to_owned(),
                };
                push(&mut list, item, floor * 0.99f32.powf(rank), reason);
            }
        }
        list
    }

    /// For each item reachable from the history, the played item contributing most to it.
    fn because(&self, history: History<'_>) -> HashMap<u32, (u32, f32)> {
        let mut best: HashMap<u32, (u32, f32)> = HashMap::new();
        for (j, w) in history.iter() {
            for &(i, s) in self.neighbours.neighbours(j) {
                let contribution = w.ln_1p() * s;
                let entry = best.entry(i).or_insert((j, 0.0));
                if contribution > entry.1 {
                    *entry = (j, contribution);
                }
            }
        }
        best
    }

    /// The cluster label the listener plays most, if clusters are known.
    fn taste_label(&self, history: History<'_>) -> Option<String> {
        let labels = self.cluster_labels?;
        let mut counts: HashMap<&str, f32> = HashMap::new();
        for (i, w) in history.iter() {
            *counts.entry(labels[i as usize].as_str()).or_default() += w;
        }
        counts
            .into_iter()
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(a.0)))
            .map(|(label, _)| label.to_owned())
    }

    fn reason(&self, item: u32, because: &HashMap<u32, (u32, f32)>, taste: Option<&str>) -> String {
        if let Some(&(played, _)) = because.get(&item) {
            return format!(
                "because you listened to {}",
                self.tracks[played as usize].name
            );
        }
        let track = &self.tracks[item as usize];
        match (self.cluster_labels, taste) {
            (Some(labels), Some(taste)) if labels[item as usize] == taste => {
                format!("matches your taste: {taste}")
            }
            _ => format!("popular in {}", track.primary_genre),
        }
    }

    /// Popular items in the genres of the history (most played genre first), then overall.
    fn popular_for(&self, history: History<'_>) -> Vec<(u32, Option<&str>)> {
        let mut genre_weight: HashMap<&str, f32> = HashMap::new();
        for (i, w) in history.iter() {
            *genre_weight
                .entry(self.tracks[i as usize].primary_genre.as_str())
                .or_default() += w;
        }
        let mut genres: Vec<(&str, f32)> = genre_weight.into_iter().collect();
        genres.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
        let mut out = Vec::new();
        for (genre, _) in genres.iter().take(3) {
            if let Some(top) = self.popular_in_genre.get(genre) {
                out.extend(top.iter().map(|&i| (i, Some(*genre))));
            }
        }
        out.extend(
            self.popular
                .iter()
                .take(self.policy.size * 4)
                .map(|&i| (i, None)),
        );
        out
    }
}
