//! dynasim-workload: what the simulated clients do, drawn from seeded generators.
//!
//! Arrivals are an open model (they do not wait for responses), Poisson with a rate that
//! can ramp within a phase and be multiplied by traffic-spike faults. Every generator is a
//! `ChaCha8Rng` derived from the run seed by name, so adding a generator shifts nothing else.

use dynasim_core::RegionId;
use dynasim_core::history::OpKind;
use dynasim_scenario::{ItemSize, KeyDist, Mix, Op, Phase, Rate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp1, Zipf};

/// Derive a child seed from the run seed and a name (FNV-1a of the name, mixed in), so
/// each generator has its own stable stream.
pub fn child_seed(seed: u64, name: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    dynasim_core::splitmix64(seed ^ hash)
}

pub fn rng_for(seed: u64, name: &str) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(child_seed(seed, name))
}

/// The keys a transaction on `key` covers: the aligned group of `items` keys holding
/// it, cut at the key count (`(first key, items)`). Aligned groups make transactional
/// writes and reads meet on the same items, so a torn read is observable.
pub fn transaction_group(key: u64, items: u16, key_count: u64) -> (u64, u16) {
    let items = u64::from(items.max(1));
    let first = key - key % items;
    let len = items.min(key_count.saturating_sub(first)).max(1);
    (first, len as u16)
}

/// Arrival rate of a phase at `offset_us` into it, ops/s, before spikes.
pub fn phase_rate(phase: &Phase, offset_us: u64) -> f64 {
    match phase.rate {
        Rate::Constant(r) => r,
        Rate::Ramp { from, to } => {
            let f = offset_us as f64 / phase.duration_us.max(1) as f64;
            from + (to - from) * f.clamp(0.0, 1.0)
        }
    }
}

/// One client region's arrival process: exponential gaps at a time-varying rate
/// (thinning against the instantaneous rate keeps it exact for ramps).
#[derive(Clone, Debug)]
pub struct Arrivals {
    rng: ChaCha8Rng,
    next_us: u64,
}

impl Arrivals {
    pub fn new(seed: u64, region: RegionId) -> Self {
        Arrivals {
            rng: rng_for(seed, &format!("arrivals/{}", region.0)),
            next_us: 0,
        }
    }

    /// Arrival times in `[from_us, to_us)` at a rate that stays `rate_per_s` across the
    /// window (the caller keeps windows short: one tick).
    pub fn take(&mut self, from_us: u64, to_us: u64, rate_per_s: f64, out: &mut Vec<u64>) {
        if rate_per_s <= 0.0 {
            self.next_us = self.next_us.max(to_us);
            return;
        }
        if self.next_us < from_us {
            self.next_us = from_us + self.gap_us(rate_per_s);
        }
        while self.next_us < to_us {
            out.push(self.next_us);
            self.next_us += self.gap_us(rate_per_s).max(1);
        }
    }

    fn gap_us(&mut self, rate_per_s: f64) -> u64 {
        let e: f64 = Exp1.sample(&mut self.rng);
        (e * 1e6 / rate_per_s) as u64
    }
}

/// Picks operations, keys and item sizes for one phase.
#[derive(Clone, Debug)]
pub struct Chooser {
    rng: ChaCha8Rng,
    mix: Vec<(Op, u32)>,
    mix_total: u32,
    dist: KeyDist,
    count: u64,
    zipf: Option<Zipf<f64>>,
    size: ItemSize,
}

impl Chooser {
    pub fn new(seed: u64, phase_index: usize, phase: &Phase) -> Self {
        let Mix {
            get,
            put,
            update,
            delete,
            query,
            conditional_put,
            transaction,
            transact_get,
            index_query,
        } = phase.mix;
        let mix: Vec<(Op, u32)> = [
            (Op::Get, get),
            (Op::Put, put),
            (Op::Update, update),
            (Op::Delete, delete),
            (Op::Query, query),
            (Op::ConditionalPut, conditional_put),
            (Op::Transaction, transaction),
            (Op::TransactGet, transact_get),
            (Op::IndexQuery, index_query),
        ]
        .into_iter()
        .filter(|(_, w)| *w > 0)
        .collect();
        let mix_total = mix.iter().map(|(_, w)| w).sum();
        assert!(
            mix_total > 0,
            "scenario validation guarantees a positive mix"
        );
        let count = phase.keys.count.max(1);
        let zipf = match phase.keys.dist {
            KeyDist::Zipf { exponent } => Zipf::new(count as f64, exponent).ok(),
            _ => None,
        };
        Chooser {
            rng: rng_for(seed, &format!("chooser/{phase_index}")),
            mix,
            mix_total,
            dist: phase.keys.dist,
            count,
            zipf,
            size: phase.item_size,
        }
    }

    pub fn op(&mut self) -> OpKind {
        let mut pick = self.rng.random_range(0..self.mix_total);
        for (op, w) in &self.mix {
            if pick < *w {
                return op.kind();
            }
            pick -= w;
        }
        unreachable!("pick is below the total weight")
    }

    pub fn key(&mut self) -> u64 {
        let key = match self.dist {
            KeyDist::Uniform => self.rng.random_range(0..self.count),
            KeyDist::Zipf { .. } => match &self.zipf {
                Some(z) => (z.sample(&mut self.rng) as u64).saturating_sub(1),
                None => self.rng.random_range(0..self.count),
            },
            KeyDist::HotKey {
                hot_keys,
                hot_fraction,
            } => {
                let hot = hot_keys.clamp(1, self.count);
                if self.rng.random_bool(hot_fraction.clamp(0.0, 1.0)) {
                    self.rng.random_range(0..hot)
                } else {
                    self.rng.random_range(0..self.count)
                }
            }
        };
        debug_assert!(key < self.count);
        key.min(self.count - 1)
    }

    pub fn item_bytes(&mut self) -> u64 {
        match self.size {
            ItemSize::Fixed { bytes } => bytes,
            ItemSize::Uniform {
                min_bytes,
                max_bytes,
            } => self.rng.random_range(min_bytes..=max_bytes.max(min_bytes)),
        }
    }

    /// A uniform draw in [0, 1) from this chooser's stream (retry jitter, etc.).
    pub fn unit(&mut self) -> f64 {
        self.rng.random::<f64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_seeds_differ_by_name_and_are_stable() {
        assert_ne!(child_seed(1, "a"), child_seed(1, "b"));
        assert_eq!(child_seed(7, "arrivals/0"), child_seed(7, "arrivals/0"));
    }

    #[test]
    fn poisson_arrivals_match_rate() {
        let mut a = Arrivals::new(3, RegionId(0));
        let mut out = Vec::new();
        for ms in 0..10_000u64 {
            a.take(ms * 1000, ms * 1000 + 1000, 2_000.0, &mut out);
        }
        let rate = out.len() as f64 / 10.0;
        assert!((1_900.0..2_100.0).contains(&rate), "rate {rate}");
        assert!(out.windows(2).all(|w| w[0] <= w[1]));
    }
}
