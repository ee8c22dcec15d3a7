//! Capacity and throttling (reference section 6): unit arithmetic, provisioned token
//! buckets with 300 s of burst, per-partition limits, on-demand peak doubling.

use serde::{Deserialize, Serialize};

/// Read units for an item of `bytes` (CA-01, CA-04, CA-07): 4 KB steps, half when
/// eventually consistent, at least one step even for a missing item.
pub fn read_units(bytes: u64, strong: bool) -> f64 {
    let steps = bytes.div_ceil(4096).max(1) as f64;
    if strong { steps } else { steps / 2.0 }
}

/// Write units for an item of `bytes` (CA-02, CA-04): 1 KB steps, at least one.
pub fn write_units(bytes: u64) -> f64 {
    bytes.div_ceil(1024).max(1) as f64
}

/// A token bucket refilled at `rate_per_s`, holding at most `rate_per_s * burst_s`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenBucket {
    pub rate_per_s: f64,
    pub burst_s: f64,
    tokens: f64,
    last_us: u64,
}

impl TokenBucket {
    /// A new bucket starts full of burst (DynamoDB tables start with burst credit).
    pub fn new(rate_per_s: f64, burst_s: f64) -> Self {
        assert!(rate_per_s >= 0.0 && burst_s >= 0.0);
        TokenBucket {
            rate_per_s,
            burst_s,
            tokens: rate_per_s * burst_s.max(1.0),
            last_us: 0,
        }
    }

    fn refill(&mut self, now_us: u64) {
        let elapsed_s = now_us.saturating_sub(self.last_us) as f64 / 1e6;
        let cap = self.rate_per_s * self.burst_s.max(1.0);
        self.tokens = (self.tokens + elapsed_s * self.rate_per_s).min(cap);
        self.last_us = self.last_us.max(now_us);
    }

    pub fn has(&mut self, units: f64, now_us: u64) -> bool {
        self.refill(now_us);
        self.tokens >= units.min(self.rate_per_s * self.burst_s.max(1.0))
    }

    pub fn take(&mut self, units: f64, now_us: u64) {
        self.refill(now_us);
        self.tokens -= units;
    }

    /// Spend even past zero (replicated writes are never refused, only delayed: their
    /// debt throttles local traffic, as GT-07 describes).
    pub fn force(&mut self, units: f64, now_us: u64) {
        self.take(units, now_us);
    }

    pub fn set_rate(&mut self, rate_per_s: f64, now_us: u64) {
        self.refill(now_us);
        self.rate_per_s = rate_per_s;
    }
}

/// A partition's storage node as a single queue: each request occupies it for the
/// share of a second its units are of the partition's limit (1 WCU of 1,000 WCU/s is
/// 1 ms), so requests arriving while it is busy wait. Nearly idle partitions add
/// microseconds; one near its limit adds up to `wait_max_us` (the backlog is bounded:
/// past it, admission control and throttling are what push back).
#[derive(Clone, Copy, Debug, Default)]
pub struct PartitionQueue {
    busy_until_us: u64,
}

impl PartitionQueue {
    /// Queue a request of `units` at `now_us` on a partition serving `limit_per_s`;
    /// returns how long it waits before service.
    pub fn wait_us(&mut self, now_us: u64, units: f64, limit_per_s: f64, wait_max_us: u64) -> u64 {
        if wait_max_us == 0 || limit_per_s <= 0.0 {
            return 0;
        }
        let start_us = self.busy_until_us.max(now_us);
        let wait_us = (start_us - now_us).min(wait_max_us);
        let occupancy_us = (units / limit_per_s * 1e6) as u64;
        self.busy_until_us = (start_us + occupancy_us).min(now_us + wait_max_us + occupancy_us);
        debug_assert!(wait_us <= wait_max_us);
        wait_us
    }
}

/// Why a request was throttled (ER-03 ThrottlingReasons).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ThrottleReason {
    TableReadProvisionedThroughputExceeded,
    TableWriteProvisionedThroughputExceeded,
    TableReadKeyRangeThroughputExceeded,
    TableWriteKeyRangeThroughputExceeded,
    TableReadMaxOnDemandThroughputExceeded,
    TableWriteMaxOnDemandThroughputExceeded,
    /// CA-06: a GSI without write capacity back-pressures the base table.
    IndexWriteProvisionedThroughputExceeded,
    IndexWriteMaxOnDemandThroughputExceeded,
    /// An index query beyond the GSI's own read capacity (CP-06, ER-03).
    IndexReadProvisionedThroughputExceeded,
    IndexReadMaxOnDemandThroughputExceeded,
}

impl ThrottleReason {
    /// The ThrottlingReasons name DynamoDB reports (ER-03).
    pub fn name(self) -> &'static str {
        match self {
            ThrottleReason::TableReadProvisionedThroughputExceeded => {
                "TableReadProvisionedThroughputExceeded"
            }
            ThrottleReason::TableWriteProvisionedThroughputExceeded => {
                "TableWriteProvisionedThroughputExceeded"
            }
            ThrottleReason::TableReadKeyRangeThroughputExceeded => {
                "TableReadKeyRangeThroughputExceeded"
            }
            ThrottleReason::TableWriteKeyRangeThroughputExceeded => {
                "TableWriteKeyRangeThroughputExceeded"
            }
            ThrottleReason::TableReadMaxOnDemandThroughputExceeded => {
                "TableReadMaxOnDemandThroughputExceeded"
            }
            ThrottleReason::TableWriteMaxOnDemandThroughputExceeded => {
                "TableWriteMaxOnDemandThroughputExceeded"
            }
            ThrottleReason::IndexWriteProvisionedThroughputExceeded => {
                "IndexWriteProvisionedThroughputExceeded"
            }
            ThrottleReason::IndexWriteMaxOnDemandThroughputExceeded => {
                "IndexWriteMaxOnDemandThroughputExceeded"
            }
            ThrottleReason::IndexReadProvisionedThroughputExceeded => {
                "IndexReadProvisionedThroughputExceeded"
            }
            ThrottleReason::IndexReadMaxOnDemandThroughputExceeded => {
                "IndexReadMaxOnDemandThroughputExceeded"
            }
        }
    }
}

/// On-demand scaling: instantly serves up to twice the previous peak (CA-17), starting
/// from the documented initial throughput (CA-18). The peak is tracked per second.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OnDemand {
    pub peak_per_s: f64,
    second: u64,
    used_this_second: f64,
}

impl OnDemand {
    /// `initial_per_s` is what a new table sustains at once (4,000 WRU / 12,000 RRU):
    /// that is twice an implied previous peak.
    pub fn new(initial_per_s: f64) -> Self {
        OnDemand {
            peak_per_s: initial_per_s / 2.0,
            second: 0,
            used_this_second: 0.0,
        }
    }

    pub fn admit(&mut self, units: f64, now_us: u64) -> bool {
        let second = now_us / 1_000_000;
        if second != self.second {
            // The last full second becomes the new peak if it was higher.
            self.peak_per_s = self.peak_per_s.max(self.used_this_second);
            self.second = second;
            self.used_this_second = 0.0;
        }
        if self.used_this_second + units > 2.0 * self.peak_per_s {
            return false;
        }
        self.used_this_second += units;
        true
    }

    /// Whether `units` more would be admitted now (nothing is spent).
    pub fn has(&mut self, units: f64, now_us: u64) -> bool {
        let _ = self.admit(0.0, now_us);
        self.used_this_second + units <= 2.0 * self.peak_per_s
    }

    pub fn force(&mut self, units: f64, now_us: u64) {
        let _ = self.admit(0.0, now_us);
        self.used_this_second += units;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_partition_queues_requests_up_to_the_bound() {
        let mut q = PartitionQueue::default();
        // 1 WCU on a 1,000 WCU/s partition occupies it for 1 ms.
        assert_eq!(q.wait_us(1_000_000, 1.0, 1_000.0, 20_000), 0);
        assert_eq!(q.wait_us(1_000_000, 1.0, 1_000.0, 20_000), 1_000);
        assert_eq!(q.wait_us(1_000_500, 1.0, 1_000.0, 20_000), 1_500);
        assert_eq!(q.wait_us(1_010_000, 1.0, 1_000.0, 20_000), 0, "idle again");
        // A burst far beyond the limit waits at most the bound, and the backlog stops
        // growing there.
        let waits: Vec<u64> = (0..100)
            .map(|_| q.wait_us(2_000_000, 1.0, 1_000.0, 20_000))
            .collect();
        assert_eq!(*waits.iter().max().unwrap(), 20_000);
        assert_eq!(q.wait_us(2_021_000, 1.0, 1_000.0, 20_000), 0);
        assert_eq!(
            PartitionQueue::default().wait_us(5, 1.0, 1_000.0, 0),
            0,
            "off"
        );
    }

    #[test]
    fn ca04_unit_rounding() {
        assert_eq!(read_units(3584, true), 1.0);
        assert_eq!(read_units(8192, true), 2.0);
        assert_eq!(read_units(8192, false), 1.0);
        assert_eq!(
            read_units(0, false),
            0.5,
            "CA-07: a missing item still costs"
        );
        assert_eq!(write_units(2048), 2.0);
        assert_eq!(write_units(10), 1.0);
    }

    #[test]
    fn ca09_burst_absorbs_then_throttles() {
        // 100 WCU with 300 s of burst: 150/s for a while is absorbed, then throttled.
        let mut b = TokenBucket::new(100.0, 300.0);
        let mut admitted = 0u32;
        let mut first_throttle_s = None;
        for ms in 0..1_000_000u64 {
            let now = ms * 1_000;
            if ms % 1000 < 150 && b.has(1.0, now) {
                b.take(1.0, now);
                admitted += 1;
            } else if ms % 1000 < 150 && first_throttle_s.is_none() {
                first_throttle_s = Some(ms / 1000);
            }
        }
        let t = first_throttle_s.expect("burst runs out");
        assert!(
            (550..=650).contains(&t),
            "30,000 burst units / 50 extra per s = 600 s, got {t}"
        );
        assert!(admitted > 100 * 1000);
    }

    #[test]
    fn ca17_on_demand_absorbs_double_and_throttles_quadruple() {
        let mut od = OnDemand::new(4000.0); // implied peak 2,000/s
        let served = |od: &mut OnDemand, rate: u64, second: u64| {
            (0..rate)
                .filter(|i| od.admit(1.0, second * 1_000_000 + i * 1_000_000 / rate))
                .count() as u64
        };
        assert_eq!(
            served(&mut od, 4000, 1),
            4000,
            "2x the previous peak is served"
        );
        let mut od = OnDemand::new(4000.0);
        assert!(
            served(&mut od, 8000, 1) < 8000,
            "4x the previous peak throttles"
        );
    }
}
