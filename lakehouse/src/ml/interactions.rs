//! A user × item matrix of implicit-feedback weights (play counts, listens), the input of every
//! recommender. Ids are opaque strings; rows are stored compressed (CSR), items sorted.

use std::collections::HashMap;
use std::path::Path;

use super::MlError;

/// Users, items and the positive weight of each (user, item) pair seen.
#[derive(Debug, Clone, Default)]
pub struct Interactions {
    users: Vec<String>,
    items: Vec<String>,
    /// Row `u` is `indices[indptr[u]..indptr[u + 1]]` (item indices, ascending) with `weights`.
    indptr: Vec<usize>,
    indices: Vec<u32>,
    weights: Vec<f32>,
}

/// Builds [`Interactions`] from (user, item, weight) triples: weights of repeated pairs add up,
/// pairs whose total is not positive are left out.
#[derive(Debug, Default)]
pub struct InteractionsBuilder {
    user_index: HashMap<String, u32>,
    item_index: HashMap<String, u32>,
    users: Vec<String>,
    items: Vec<String>,
    rows: Vec<HashMap<u32, f64>>,
}

impl InteractionsBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares an item even if nobody played it (so it counts in catalogue coverage).
    pub fn add_item(&mut self, item: &str) -> u32 {
        intern(&mut self.item_index, &mut self.items, item)
    }

    /// Adds `weight` to the pair (user, item).
    pub fn add(&mut self, user: &str, item: &str, weight: f64) {
        let u = intern(&mut self.user_index, &mut self.users, user) as usize;
        let i = self.add_item(item);
        if self.rows.len() <= u {
            self.rows.resize_with(u + 1, HashMap::new);
        }
        *self.rows[u].entry(i).or_default() += weight;
    }

    /// The finished matrix, and the (user, item) pairs it left out because their weight is not
    /// positive (mostly skipped), by user and item.
    pub fn build_with_skipped(self) -> (Interactions, Vec<(u32, u32)>) {
        let mut skipped: Vec<(u32, u32)> = self
            .rows
            .iter()
            .enumerate()
            .flat_map(|(u, row)| {
                row.iter()
                    .filter(|(_, w)| **w <= 0.0)
                    .map(move |(i, _)| (u as u32, *i))
            })
            .collect();
        skipped.sort_unstable();
        (self.build(), skipped)
    }

    /// The finished matrix.
    pub fn build(mut self) -> Interactions {
        self.rows.resize_with(self.users.len(), HashMap::new);
        let rows = self
            .rows
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .filter(|(_, w)| *w > 0.0)
                    .map(|(i, w)| (i, w as f32))
                    .collect()
            })
            .collect();
        Interactions::from_rows(self.users, self.items, rows)
    }
}

/// Builds [`Interactions`] one user at a time, each row appended in place: the way to build a
/// large matrix from input grouped by user (no map per user, no map of user ids).
#[derive(Debug, Default)]
pub struct RowAppender {
    users: Vec<String>,
    items: Vec<String>,
    indptr: Vec<usize>,
    indices: Vec<u32>,
    weights: Vec<f32>,
}

impl RowAppender {
    /// An empty matrix over `items`.
    pub fn new(items: Vec<String>) -> Self {
        Self {
            items,
            indptr: vec![0],
            ..Self::default()
        }
    }

    /// The index the next user gets.
    pub fn next_user(&self) -> u32 {
        self.users.len() as u32
    }

    /// Appends `user` with `row` (item, weight) pairs, in any order, each item once; clears
    /// `row` for the next user.
    pub fn push(&mut self, user: String, row: &mut Vec<(u32, f32)>) {
        row.sort_unstable_by_key(|(i, _)| *i);
        for (i, w) in row.drain(..) {
            self.indices.push(i);
            self.weights.push(w);
        }
        self.indptr.push(self.indices.len());
        self.users.push(user);
    }

    /// The finished matrix.
    pub fn build(self) -> Interactions {
        Interactions {
            users: self.users,
            items: self.items,
            indptr: self.indptr,
            indices: self.indices,
            weights: self.weights,
        }
    }
}

/// Id → index, for ids listed in index order (an [`Interactions`]' users or items).
pub fn index_of(ids: &[String]) -> HashMap<&str, u32> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i as u32))
        .collect()
}

fn intern(index: &mut HashMap<String, u32>, names: &mut Vec<String>, name: &str) -> u32 {
    if let Some(&i) = index.get(name) {
        return i;
    }
    let i = names.len() as u32;
    index.insert(name.to_owned(), i);
    names.push(name.to_owned());
    i
}

impl Interactions {
    /// A matrix over `users` × `items` from one row of (item, weight) per user.
    pub fn from_rows(users: Vec<String>, items: Vec<String>, rows: Vec<Vec<(u32, f32)>>) -> Self {
        let mut indptr = Vec::with_capacity(rows.len() + 1);
        let mut indices = Vec::new();
        let mut weights = Vec::new();
        indptr.push(0);
        for mut row in rows {
            row.sort_unstable_by_key(|(i, _)| *i);
            for (i, w) in row {
                indices.push(i);
                weights.push(w);
            }
            indptr.push(indices.len());
        }
        Self {
            users,
            items,
            indptr,
            indices,
            weights,
        }
    }

    /// The same users and items with other rows (a train split, say).
    pub fn with_rows(&self, rows: Vec<Vec<(u32, f32)>>) -> Self {
        Self::from_rows(self.users.clone(), self.items.clone(), rows)
    }

    /// The matrix of `users` alone (in that order), over the same items.
    pub fn select_users(&self, users: &[u32]) -> Self {
        let mut out = RowAppender::new(self.items.clone());
        let mut row = Vec::new();
        for &u in users {
            let (items, weights) = self.row(u);
            row.extend(items.iter().copied().zip(weights.iter().copied()));
            out.push(self.users[u as usize].clone(), &mut row);
        }
        out.build()
    }

    /// Reads a delimited text file of `user, item[, weight]` lines: tab, comma or whitespace
    /// separated (whichever the first line uses), with or without a header line. A missing
    /// weight counts as 1; lines with a weight of 0 are skipped.
    pub fn read_delimited(path: &Path) -> Result<Self, MlError> {
        let text = std::fs::read_to_string(path).map_err(|source| MlError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut builder = InteractionsBuilder::new();
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let Some((_, first)) = lines.clone().next() else {
            return Err(MlError::NotEnoughData(format!(
                "{} is empty",
                path.display()
            )));
        };
        let delimiter = Delimiter::of(first);
        if is_header(&delimiter.split(first)) {
            lines.next();
        }
        for (n, line) in lines {
            let bad = |reason: String| MlError::BadLine {
                path: path.to_owned(),
                line: n + 1,
                reason,
            };
            let fields = delimiter.split(line);
            let weight = match fields.len() {
                2 => 1.0,
                3 => parse_weight(fields[2]).map_err(bad)?,
                k => {
                    return Err(bad(format!(
                        "expected user, item and an optional weight, found {k} fields"
                    )));
                }
            };
            if fields[0].is_empty() || fields[1].is_empty() {
                return Err(bad("empty user or item id".into()));
            }
            builder.add(fields[0], fields[1], weight);
        }
        Ok(builder.build())
    }

    pub fn n_users(&self) -> usize {
        self.users.len()
    }

    pub fn n_items(&self) -> usize {
        self.items.len()
    }

    /// The number of (user, item) pairs.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    pub fn user_id(&self, u: u32) -> &str {
        &self.users[u as usize]
    }

    pub fn item_id(&self, i: u32) -> &str {
        &self.items[i as usize]
    }

    pub fn user_ids(&self) -> &[String] {
        &self.users
    }

    pub fn item_ids(&self) -> &[String] {
        &self.items
    }

    /// User `u`'s items (ascending) and their weights.
    pub fn row(&self, u: u32) -> (&[u32], &[f32]) {
        let range = self.indptr[u as usize]..self.indptr[u as usize + 1];
        (&self.indices[range.clone()], &self.weights[range])
    }

    /// The same matrix with every weight passed through `f`.
    pub fn map_weights(&self, f: impl Fn(f32) -> f32) -> Self {
        let mut out = self.clone();
        out.weights.iter_mut().for_each(|w| *w = f(*w));
        out
    }

    /// The item × user transpose as rows of (user, weight).
    pub fn by_item(&self) -> Vec<Vec<(u32, f32)>> {
        let mut cols = vec![Vec::new(); self.n_items()];
        for u in 0..self.n_users() as u32 {
            let (items, weights) = self.row(u);
            for (&i, &w) in items.iter().zip(weights) {
                cols[i as usize].push((u, w));
            }
        }
        cols
    }

    /// How many users have each item.
    pub fn item_counts(&self) -> Vec<u32> {
        let mut counts = vec![0u32; self.n_items()];
        self.indices.iter().for_each(|&i| counts[i as usize] += 1);
        counts
    }
}

enum Delimiter {
    Char(char),
    Whitespace,
}

impl Delimiter {
    fn of(line: &str) -> Self {
        if line.contains('\t') {
            Delimiter::Char('\t')
        } else if line.contains(',') {
            Delimiter::Char(',')
        } else if line.contains(';') {
            Delimiter::Char(';')
        } else {
            Delimiter::Whitespace
        }
    }

    fn split<'a>(&self, line: &'a str) -> Vec<&'a str> {
        let clean = |f: &'a str| f.trim().trim_matches('"');
        match self {
            Delimiter::Char(c) => line.split(*c).map(clean).collect(),
            Delimiter::Whitespace => line.split_whitespace().map(clean).collect(),
        }
    }
}

/// A first line is a header when its weight is not a number, or (two columns) when it names
/// the columns.
fn is_header(fields: &[&str]) -> bool {
    match fields {
        [_, _, weight] => weight.parse::<f64>().is_err(),
        [user, _] => user.to_ascii_lowercase().contains("user"),
        _ => false,
    }
}

fn parse_weight(field: &str) -> Result<f64, String> {
    match field.parse::<f64>() {
        Ok(w) if w.is_finite() && w >= 0.0 => Ok(w),
        Ok(w) => Err(format!("weight {w} is not a finite non-negative number")),
        Err(_) => Err(format!("weight {field:?} is not a number")),
    }
}
