//! Top-k ranking metrics with binary relevance (an item is relevant when it was held out).

/// The metrics of one ranked list against the relevant items (sorted ascending).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct ListMetrics {
    pub ndcg: f64,
    pub recall: f64,
    pub precision: f64,
    pub average_precision: f64,
}

/// NDCG@k, recall@k (hits over all relevant items), precision@k (hits over k) and AP@k
/// (normalised by min(k, relevant)) of `ranked` (best first; only its first `k` count).
pub fn list_metrics(ranked: &[u32], relevant: &[u32], k: usize) -> ListMetrics {
    if relevant.is_empty() || k == 0 {
        return ListMetrics::default();
    }
    let mut dcg = 0.0;
    let mut hits = 0usize;
    let mut precision_sum = 0.0;
    for (position, item) in ranked.iter().take(k).enumerate() {
        if relevant.binary_search(item).is_ok() {
            hits += 1;
            dcg += 1.0 / (position as f64 + 2.0).log2();
            precision_sum += hits as f64 / (position + 1) as f64;
        }
    }
    let ideal = relevant.len().min(k);
    let idcg: f64 = (0..ideal).map(|p| 1.0 / (p as f64 + 2.0).log2()).sum();
    ListMetrics {
        ndcg: dcg / idcg,
        recall: hits as f64 / relevant.len() as f64,
        precision: hits as f64 / k as f64,
        average_precision: precision_sum / ideal as f64,
    }
}

/// Averages of [`ListMetrics`] over users, and catalogue coverage.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Metrics {
    pub ndcg: f64,
    pub recall: f64,
    pub precision: f64,
    pub map: f64,
    /// Share of the catalogue that appears in at least one top-k list.
    pub coverage: f64,
    pub users: usize,
    /// The standard error of `ndcg` (the spread of per-user NDCG over the square root of the
    /// number of users): differences smaller than this are noise.
    pub ndcg_std_error: f64,
}

/// Accumulates per-user lists into [`Metrics`].
#[derive(Debug, Clone)]
pub struct MetricsAccumulator {
    sum: ListMetrics,
    ndcg_squares: f64,
    users: usize,
    recommended: Vec<bool>,
    k: usize,
}

impl MetricsAccumulator {
    pub fn new(n_items: usize, k: usize) -> Self {
        Self {
            sum: ListMetrics::default(),
            ndcg_squares: 0.0,
            users: 0,
            recommended: vec![false; n_items],
            k,
        }
    }

    /// Adds one user's ranked list and returns its metrics.
    pub fn add(&mut self, ranked: &[u32], relevant: &[u32]) -> ListMetrics {
        let m = list_metrics(ranked, relevant, self.k);
        self.sum.ndcg += m.ndcg;
        self.ndcg_squares += m.ndcg * m.ndcg;
        self.sum.recall += m.recall;
        self.sum.precision += m.precision;
        self.sum.average_precision += m.average_precision;
        self.users += 1;
        for &i in ranked.iter().take(self.k) {
            self.recommended[i as usize] = true;
        }
        m
    }

    pub fn finish(&self) -> Metrics {
        let n = self.users.max(1) as f64;
        let covered = self.recommended.iter().filter(|&&r| r).count();
        let ndcg = self.sum.ndcg / n;
        let variance = (self.ndcg_squares / n - ndcg * ndcg).max(0.0);
        Metrics {
            ndcg,
            recall: self.sum.recall / n,
            precision: self.sum.precision / n,
            map: self.sum.average_precision / n,
            coverage: covered as f64 / self.recommended.len().max(1) as f64,
            users: self.users,
            ndcg_std_error: (variance / n).sqrt(),
        }
    }
}

/// The mean difference `b − a` of one per-user figure between two runs over the same users,
/// with its paired standard error: the spread of the per-user differences over the square root
/// of their number. Two models that win and lose on the same listeners differ by much less
/// noise than either figure's own standard error says.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct PairedDifference {
    pub mean: f64,
    pub std_error: f64,
    /// The users both runs measured (the others are left out).
    pub users: usize,
}

/// [`PairedDifference`] of `b` over `a`, each a list of (user, figure) sorted by user.
pub fn paired_difference(a: &[(u32, f64)], b: &[(u32, f64)]) -> PairedDifference {
    let mut differences = Vec::with_capacity(a.len().min(b.len()));
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                differences.push(b[j].1 - a[i].1);
                i += 1;
                j += 1;
            }
        }
    }
    let n = differences.len();
    if n == 0 {
        return PairedDifference::default();
    }
    let mean = differences.iter().sum::<f64>() / n as f64;
    let variance = if n > 1 {
        differences.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1) as f64
    } else {
        0.0
    };
    PairedDifference {
        mean,
        std_error: (variance / n as f64).sqrt(),
        users: n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn hand_computed_list() {
        // Relevant {2, 5, 9}; hits at positions 1 and 3 of a top-4 list.
        let m = list_metrics(&[2, 7, 5, 8], &[2, 5, 9], 4);
        let dcg = 1.0 + 1.0 / 4f64.log2();
        let idcg = 1.0 + 1.0 / 3f64.log2() + 1.0 / 4f64.log2();
        assert!(close(m.ndcg, dcg / idcg), "{m:?}");
        assert!(close(m.recall, 2.0 / 3.0));
        assert!(close(m.precision, 0.5));
        assert!(close(m.average_precision, (1.0 + 2.0 / 3.0) / 3.0));
    }

    #[test]
    fn perfect_and_empty_lists() {
        let perfect = list_metrics(&[4, 1], &[1, 4], 10);
        assert!(close(perfect.ndcg, 1.0) && close(perfect.recall, 1.0));
        assert!(close(perfect.average_precision, 1.0));
        assert!(close(perfect.precision, 0.2));
        assert_eq!(list_metrics(&[], &[1], 10), ListMetrics::default());
        assert_eq!(list_metrics(&[1], &[], 10), ListMetrics::default());
    }

    #[test]
    fn only_the_first_k_count() {
        let m = list_metrics(&[0, 1, 2, 3], &[3], 3);
        assert_eq!(m, ListMetrics::default());
    }

    #[test]
    fn coverage_counts_distinct_items_in_top_k() {
        let mut acc = MetricsAccumulator::new(10, 2);
        acc.add(&[0, 1, 2], &[0]);
        acc.add(&[1, 3], &[9]);
        let m = acc.finish();
        assert!(close(m.coverage, 3.0 / 10.0));
        assert_eq!(m.users, 2);
        assert!(close(m.ndcg, 0.5));
        // Per-user NDCG 1 and 0: spread 0.5, over the square root of 2 users.
        assert!(close(m.ndcg_std_error, 0.5 / 2f64.sqrt()), "{m:?}");
    }

    #[test]
    fn a_paired_difference_pairs_users_and_sees_through_what_they_share() {
        // Users 1..=4 in both runs, 0 only in `a`, 9 only in `b`. Per user, `b` is `a` plus
        // 0.1 or 0.3: the listeners' spread (0 to 0.9) is large, the difference's small.
        let a = [(0, 0.5), (1, 0.0), (2, 0.3), (3, 0.6), (4, 0.9)];
        let b = [(1, 0.1), (2, 0.6), (3, 0.7), (4, 1.2), (9, 1.0)];
        let d = paired_difference(&a, &b);
        assert_eq!(d.users, 4);
        assert!(close(d.mean, 0.2), "{d:?}");
        // Differences 0.1, 0.3, 0.1, 0.3: sample variance 4 · 0.01 / 3.
        assert!(close(d.std_error, (0.04f64 / 3.0 / 4.0).sqrt()), "{d:?}");
        assert_eq!(paired_difference(&a, &[]), PairedDifference::default());
    }
}
