//! How varied and how far from the hits a model version's lists are, measured over every list
//! it publishes:
//! - intra-list diversity over sound: the mean distance between two tracks of one list, in
//!   standardised audio features (0: every track sounds the same);
//! - intra-list diversity over artists: the share of a list's pairs of tracks by two different
//!   primary artists (1: no artist twice);
//! - novelty: the mean popularity rank of the recommended tracks (1: the track most listeners
//!   played), also as a share of the catalogue's played tracks.

/// A version's figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Diversity {
    /// Lists of two or more tracks measured.
    pub lists: usize,
    #[serde(deserialize_with = "super::figures_json::f64_or_nan")]
    pub sound: f64,
    #[serde(deserialize_with = "super::figures_json::f64_or_nan")]
    pub artists: f64,
    #[serde(deserialize_with = "super::figures_json::f64_or_nan")]
    pub mean_popularity_rank: f64,
    /// `mean_popularity_rank` over the number of tracks anyone played.
    #[serde(deserialize_with = "super::figures_json::f64_or_nan")]
    pub popularity_rank_share: f64,
}

impl Diversity {
    /// Whether every figure is a number (not NaN nor infinite).
    pub fn is_finite(&self) -> bool {
        [
            self.sound,
            self.artists,
            self.mean_popularity_rank,
            self.popularity_rank_share,
        ]
        .iter()
        .all(|x| x.is_finite())
    }
}

/// What the figures are measured against: each item's standardised features, primary artist
/// (any id) and popularity rank (1-based; 0 for items nobody played).
pub struct DiversityBasis {
    features: Vec<[f64; 9]>,
    artists: Vec<u32>,
    popularity_rank: Vec<u32>,
    played: usize,
}

impl DiversityBasis {
    /// `features` and `artists` per item; `listeners` is each item's number of listeners.
    pub fn new(features: Vec<[f64; 9]>, artists: Vec<u32>, listeners: &[u32]) -> Self {
        let mut by_popularity: Vec<u32> = (0..listeners.len() as u32)
            .filter(|&i| listeners[i as usize] > 0)
            .collect();
        by_popularity.sort_by_key(|&i| (std::cmp::Reverse(listeners[i as usize]), i));
        let mut popularity_rank = vec![0u32; listeners.len()];
        for (rank, &i) in by_popularity.iter().enumerate() {
            popularity_rank[i as usize] = rank as u32 + 1;
        }
        Self {
            features,
            artists,
            popularity_rank,
            played: by_popularity.len(),
        }
    }

    /// One list's sums, to add up with [`DiversitySums::add`].
    pub fn measure(&self, list: &[u32]) -> DiversitySums {
        let mut sums = DiversitySums::default();
        for &i in list {
            let rank = self.popularity_rank[i as usize];
            if rank > 0 {
                sums.ranked += 1;
                sums.rank_sum += f64::from(rank);
            }
        }
        if list.len() < 2 {
            return sums;
        }
        let (mut distance, mut other_artist, mut pairs) = (0.0, 0usize, 0usize);
        for (a, &i) in list.iter().enumerate() {
            for &j in &list[a + 1..] {
                let (x, y) = (&self.features[i as usize], &self.features[j as usize]);
                distance += x
                    .iter()
                    .zip(y)
                    .map(|(p, q)| (p - q) * (p - q))
                    .sum::<f64>()
                    .sqrt();
                other_artist += usize::from(self.artists[i as usize] != self.artists[j as usize]);
                pairs += 1;
            }
        }
        sums.lists = 1;
        sums.sound = distance / pairs as f64;
        sums.artists = other_artist as f64 / pairs as f64;
        sums
    }

    /// The figures of everything added into `sums`.
    pub fn figures(&self, sums: &DiversitySums) -> Diversity {
        let per_list = |x: f64| {
            if sums.lists == 0 {
                0.0
            } else {
                x / sums.lists as f64
            }
        };
        let mean_rank = if sums.ranked == 0 {
            0.0
        } else {
            sums.rank_sum / sums.ranked as f64
        };
        Diversity {
            lists: sums.lists,
            sound: per_list(sums.sound),
            artists: per_list(sums.artists),
            mean_popularity_rank: mean_rank,
            popularity_rank_share: if self.played == 0 {
                0.0
            } else {
                mean_rank / self.played as f64
            },
        }
    }
}

/// Running sums over lists.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DiversitySums {
    lists: usize,
    sound: f64,
    artists: f64,
    ranked: usize,
    rank_sum: f64,
}

impl DiversitySums {
    pub fn add(&mut self, other: &DiversitySums) {
        self.lists += other.lists;
        self.sound += other.sound;
        self.artists += other.artists;
        self.ranked += other.ranked;
        self.rank_sum += other.rank_sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four items: 0 and 1 sound the same and share an artist; 2 and 3 are far apart.
    fn basis() -> DiversityBasis {
        let mut far = [0.0; 9];
        far[0] = 3.0;
        far[1] = 4.0;
        DiversityBasis::new(
            vec![[0.0; 9], [0.0; 9], far, [0.0; 9]],
            vec![7, 7, 8, 9],
            &[10, 5, 1, 0],
        )
    }

    #[test]
    fn sameness_scores_zero_and_variety_scores_high() {
        let b = basis();
        let same = b.figures(&b.measure(&[0, 1]));
        assert_eq!((same.lists, same.sound, same.artists), (1, 0.0, 0.0));
        assert_eq!(same.mean_popularity_rank, 1.5);
        let varied = b.figures(&b.measure(&[0, 2]));
        assert_eq!((varied.sound, varied.artists), (5.0, 1.0));
        assert_eq!(varied.mean_popularity_rank, 2.0);
        assert!((varied.popularity_rank_share - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn figures_are_means_over_lists_and_unplayed_items_have_no_rank() {
        let b = basis();
        let mut sums = b.measure(&[0, 1]);
        sums.add(&b.measure(&[0, 2]));
        sums.add(&b.measure(&[3]));
        let d = b.figures(&sums);
        assert_eq!(d.lists, 2, "a one-track list has no pairs");
        assert_eq!((d.sound, d.artists), (2.5, 0.5));
        // Ranks 1, 2, 1, 3: the unplayed item 3 counts in none.
        assert_eq!(d.mean_popularity_rank, 7.0 / 4.0);
        assert_eq!(
            DiversityBasis::new(Vec::new(), Vec::new(), &[])
                .figures(&sums)
                .popularity_rank_share,
            0.0
        );
    }
}
