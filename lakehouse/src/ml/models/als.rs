//! Matrix factorisation for implicit feedback: alternating least squares with confidence
//! weights (Hu, Koren and Volinsky, 2008), each least-squares step solved approximately by a
//! few conjugate-gradient iterations warm-started from the previous factors.
//!
//! A listener u and an item i get factor vectors x_u, y_i; the model minimises
//! Σ c_ui (p_ui − x_u·y_i)² + λ(‖x‖² + ‖y‖²) over all pairs, where p_ui is 1 when u played i
//! and 0 otherwise, and the confidence c_ui = 1 + α·ln(1 + plays).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use super::{History, Recommender};
use crate::ml::interactions::Interactions;

/// ALS settings.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AlsParams {
    pub factors: usize,
    pub regularization: f32,
    pub alpha: f32,
    pub iterations: usize,
    pub cg_steps: usize,
    pub seed: u64,
}

impl Default for AlsParams {
    fn default() -> Self {
        Self {
            factors: 64,
            regularization: 0.05,
            alpha: 2.0,
            iterations: 12,
            cg_steps: 3,
            seed: 42,
        }
    }
}

/// Trained factors, row-major: `factors` numbers per user and per item.
#[derive(Debug, Clone)]
pub struct Als {
    factors: usize,
    users: Vec<f32>,
    items: Vec<f32>,
}

impl Als {
    pub fn fit(train: &Interactions, params: &AlsParams) -> Self {
        let f = params.factors;
        let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
        let normal = Normal::new(0.0f32, 0.01).expect("a valid standard deviation");
        let mut users: Vec<f32> = (0..train.n_users() * f)
            .map(|_| normal.sample(&mut rng))
            .collect();
        let mut items: Vec<f32> = (0..train.n_items() * f)
            .map(|_| normal.sample(&mut rng))
            .collect();
        let rows: Vec<Vec<(u32, f32)>> = (0..train.n_users() as u32)
            .map(|u| confidences(History::of(train, u), params.alpha))
            .collect();
        let cols: Vec<Vec<(u32, f32)>> = train
            .by_item()
            .into_iter()
            .map(|col| {
                col.into_iter()
                    .map(|(u, w)| (u, 1.0 + params.alpha * w.ln_1p()))
                    .collect()
            })
            .collect();
        for _ in 0..params.iterations {
            solve_side(&mut users, &items, &rows, f, params);
            solve_side(&mut items, &users, &cols, f, params);
        }
        Self {
            factors: f,
            users,
            items,
        }
    }

    fn item(&self, i: usize) -> &[f32] {
        &self.items[i * self.factors..(i + 1) * self.factors]
    }
}

fn confidences(history: History<'_>, alpha: f32) -> Vec<(u32, f32)> {
    history
        .iter()
        .map(|(i, w)| (i, 1.0 + alpha * w.ln_1p()))
        .collect()
}

/// Updates every row of `solve` (users or items) against the fixed `other` side.
fn solve_side(
    solve: &mut [f32],
    other: &[f32],
    rows: &[Vec<(u32, f32)>],
    f: usize,
    params: &AlsParams,
) {
    let gram = gram(other, f);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_thread = rows.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        for (chunk, rows) in solve
            .chunks_mut(per_thread * f)
            .zip(rows.chunks(per_thread))
        {
            let gram = &gram;
            scope.spawn(move || {
                let mut work = CgWork::new(f);
                for (x, row) in chunk.chunks_mut(f).zip(rows) {
                    conjugate_gradient(x, row, other, gram, f, params, &mut work);
                }
            });
        }
    });
}

/// YᵀY of the f-column matrix `y`.
fn gram(y: &[f32], f: usize) -> Vec<f32> {
    let mut g = vec![0f32; f * f];
    for row in y.chunks(f) {
        for (a, &ya) in row.iter().enumerate() {
            let line = &mut g[a * f..(a + 1) * f];
            line.iter_mut().zip(row).for_each(|(g, &yb)| *g += ya * yb);
        }
    }
    g
}

struct CgWork {
    r: Vec<f32>,
    p: Vec<f32>,
    ap: Vec<f32>,
}

impl CgWork {
    fn new(f: usize) -> Self {
        Self {
            r: vec![0.0; f],
            p: vec![0.0; f],
            ap: vec![0.0; f],
        }
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// out = (YᵀY + λI + Σ (c − 1) y yᵀ) v over the row's items.
fn apply_a(
    v: &[f32],
    row: &[(u32, f32)],
    other: &[f32],
    gram: &[f32],
    f: usize,
    reg: f32,
    out: &mut [f32],
) {
    for (a, o) in out.iter_mut().enumerate() {
        *o = dot(&gram[a * f..(a + 1) * f], v) + reg * v[a];
    }
    for &(i, c) in row {
        let y = &other[i as usize * f..(i as usize + 1) * f];
        let scale = (c - 1.0) * dot(y, v);
        out.iter_mut().zip(y).for_each(|(o, &yv)| *o += scale * yv);
    }
}

fn conjugate_gradient(
    x: &mut [f32],
    row: &[(u32, f32)],
    other: &[f32],
    gram: &[f32],
    f: usize,
    params: &AlsParams,
    w: &mut CgWork,
) {
    // r = b − A x, with b = Σ c y.
    apply_a(x, row, other, gram, f, params.regularization, &mut w.ap);
    w.r.iter_mut().zip(&w.ap).for_each(|(r, &ax)| *r = -ax);
    for &(i, c) in row {
        let y = &other[i as usize * f..(i as usize + 1) * f];
        w.r.iter_mut().zip(y).for_each(|(r, &yv)| *r += c * yv);
    }
    w.p.copy_from_slice(&w.r);
    let mut rs_old = dot(&w.r, &w.r);
    for _ in 0..params.cg_steps {
        if rs_old < 1e-12 {
            break;
        }
        apply_a(&w.p, row, other, gram, f, params.regularization, &mut w.ap);
        let step = rs_old / dot(&w.p, &w.ap);
        x.iter_mut().zip(&w.p).for_each(|(x, &p)| *x += step * p);
        w.r.iter_mut()
            .zip(&w.ap)
            .for_each(|(r, &ap)| *r -= step * ap);
        let rs_new = dot(&w.r, &w.r);
        let beta = rs_new / rs_old;
        w.p.iter_mut()
            .zip(&w.r)
            .for_each(|(p, &r)| *p = r + beta * *p);
        rs_old = rs_new;
    }
}

impl Recommender for Als {
    fn score(&self, user: u32, _history: History<'_>, scores: &mut [f32]) {
        let x = &self.users[user as usize * self.factors..(user as usize + 1) * self.factors];
        for (i, s) in scores.iter_mut().enumerate() {
            *s = dot(x, self.item(i));
        }
    }
}
