//! The latency model (reference section 10.1, LT-01..LT-04): every operation's latency is
//! composed of sampled parts, in microseconds. Defaults are the reference's suggestions
//! (unconfirmed there, so every figure is configurable).

use rand::Rng;
use rand_distr::{Distribution, Exp, StandardNormal};
use serde::{Deserialize, Serialize};

/// A log-normal distribution given by its median and shape.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub median_us: f64,
    /// Standard deviation of the underlying normal (0.3 gives p99 about 2x median).
    pub sigma: f64,
}

impl Spread {
    /// `median * e^(sigma * z)` with `z` standard normal: the log-normal with `ln(median)`
    /// as its mean, without a logarithm per sample (latency sampling is on every request;
    /// the product differs from `e^(ln(median) + sigma * z)` only in the last bits).
    pub fn sample(&self, rng: &mut impl Rng) -> u64 {
        let sigma = self.sigma.max(1e-6);
        if !sigma.is_finite() {
            return self.median_us as u64;
        }
        let z: f64 = StandardNormal.sample(rng);
        (self.median_us.max(1.0) * (sigma * z).exp()) as u64
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatencyModel {
    /// Client to the region's request router.
    pub front_end: Spread,
    /// Router to the partition leader (a cross-AZ hop two times in three).
    pub cross_az: Spread,
    /// Storage node work for a read.
    pub read_service: Spread,
    /// Storage node work for a write (WAL append), before replica acks.
    pub write_service: Spread,
    /// A DAX hit (LT-04: hundreds of microseconds).
    pub dax_hit: Spread,
    /// Probability of a server-side retry (RC-11) adding `tail`.
    pub tail_probability: f64,
    pub tail: Spread,
    /// Mean delay until the lagging (third) AZ replica applies a write.
    pub follower_lag_mean_us: f64,
    /// Longest a request waits in a busy partition's queue; the backlog never grows past
    /// it. 0 turns queueing off. (The reference has no figure: **unconfirmed**, 20 ms.)
    #[serde(default = "partition_queue_wait_max_us_default")]
    pub partition_queue_wait_max_us: u64,
}

fn partition_queue_wait_max_us_default() -> u64 {
    20_000
}

impl Default for LatencyModel {
    fn default() -> Self {
        LatencyModel {
            front_end: Spread {
                median_us: 300.0,
                sigma: 0.25,
            },
            cross_az: Spread {
                median_us: 700.0,
                sigma: 0.3,
            },
            read_service: Spread {
                median_us: 900.0,
                sigma: 0.35,
            },
            write_service: Spread {
                median_us: 1_800.0,
                sigma: 0.35,
            },
            dax_hit: Spread {
                median_us: 250.0,
                sigma: 0.2,
            },
            tail_probability: 0.001,
            tail: Spread {
                median_us: 20_000.0,
                sigma: 0.6,
            },
            follower_lag_mean_us: 10_000.0,
            partition_queue_wait_max_us: partition_queue_wait_max_us_default(),
        }
    }
}

impl LatencyModel {
    fn tail(&self, rng: &mut impl Rng) -> u64 {
        if rng.random_bool(self.tail_probability.clamp(0.0, 1.0)) {
            self.tail.sample(rng)
        } else {
            0
        }
    }

    /// A read served by a storage replica; `remote_az` when it sits in another AZ.
    pub fn read_us(&self, remote_az: bool, rng: &mut impl Rng) -> u64 {
        let hop = if remote_az {
            self.cross_az.sample(rng)
        } else {
            0
        };
        self.front_end.sample(rng) + hop + self.read_service.sample(rng) + self.tail(rng)
    }

    /// A write: to the leader, WAL append, then the faster of two follower acks
    /// (2-of-3 quorum, RC-03).
    pub fn write_us(&self, remote_az: bool, rng: &mut impl Rng) -> u64 {
        let hop = if remote_az {
            self.cross_az.sample(rng)
        } else {
            0
        };
        let ack = self.cross_az.sample(rng).min(self.cross_az.sample(rng));
        self.front_end.sample(rng) + hop + self.write_service.sample(rng) + ack + self.tail(rng)
    }

    pub fn dax_hit_us(&self, rng: &mut impl Rng) -> u64 {
        self.front_end.sample(rng) + self.dax_hit.sample(rng)
    }

    /// When the lagging follower applies a write made at `now_us`.
    pub fn follower_lag_us(&self, rng: &mut impl Rng) -> u64 {
        match Exp::new(1.0 / self.follower_lag_mean_us.max(1.0)) {
            Ok(d) => d.sample(rng) as u64,
            Err(_) => 0,
        }
    }
}
