//! CP-16: provisioned throughput may be raised at any time, but decreases are rationed
//! per UTC day: four at any time, then one more per hour in which none happened, at most
//! 27 a day. The table and each GSI have their own budget; a request that breaks either
//! is rejected as a whole with LimitExceededException.

use crate::error::{EngineError, ErrorKind};
use serde::{Deserialize, Serialize};

const HOUR_US: u64 = 3_600_000_000;
const DAY_US: u64 = 24 * HOUR_US;
/// Decreases allowed at any time in a UTC day.
pub const FREE_DECREASES_PER_DAY: u32 = 4;
/// Decreases allowed in one UTC day in all.
pub const DECREASES_PER_DAY_MAX: u32 = 27;

/// The decrease budget of one table or GSI. Time is microseconds since the Unix epoch
/// (or since the simulation's start, whose day boundaries then stand in for UTC's).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecreaseBudget {
    day: u64,
    decreases_today: u32,
    last_decrease_us: Option<u64>,
}

impl DecreaseBudget {
    /// Decreases made in the UTC day of `now_us`.
    pub fn decreases_today(&self, now_us: u64) -> u32 {
        if now_us / DAY_US == self.day {
            self.decreases_today
        } else {
            0
        }
    }

    /// Whether a decrease may be made at `now_us`.
    pub fn allows(&self, now_us: u64) -> bool {
        let today = self.decreases_today(now_us);
        if today < FREE_DECREASES_PER_DAY {
            return true;
        }
        let quiet_hour = self
            .last_decrease_us
            .is_none_or(|last| now_us >= last + HOUR_US);
        quiet_hour && today < DECREASES_PER_DAY_MAX
    }

    /// [`DecreaseBudget::allows`] as DynamoDB's error for `resource` (a table or index).
    pub fn check(&self, now_us: u64, resource: &str) -> Result<(), EngineError> {
        if self.allows(now_us) {
            return Ok(());
        }
        Err(EngineError::new(
            ErrorKind::LimitExceededException,
            format!(
                "Subscriber limit exceeded: Provisioned throughput decreases are limited within a given UTC day. After the first {FREE_DECREASES_PER_DAY} decreases, each subsequent decrease in the same UTC day can be performed at most once every 1 hours. Number of decreases today: {}. Resource: {resource}",
                self.decreases_today(now_us)
            ),
        ))
    }

    /// Record a decrease made at `now_us`.
    pub fn note(&mut self, now_us: u64) {
        let day = now_us / DAY_US;
        if day != self.day {
            self.day = day;
            self.decreases_today = 0;
        }
        self.decreases_today += 1;
        self.last_decrease_us = Some(now_us);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cp16_four_any_time_then_one_per_quiet_hour_at_most_27_a_day() {
        let mut b = DecreaseBudget::default();
        for i in 0..4 {
            assert!(b.allows(i * 60_000_000), "decrease {i}");
            b.note(i * 60_000_000);
        }
        assert!(
            !b.allows(5 * 60_000_000),
            "the fifth waits for a quiet hour"
        );
        let e = b.check(5 * 60_000_000, "Table: orders").unwrap_err();
        assert_eq!(e.kind, ErrorKind::LimitExceededException);
        assert!(
            e.message.contains("Number of decreases today: 4."),
            "{}",
            e.message
        );
        let mut now = 3 * 60_000_000 + HOUR_US;
        while b.allows(now) && now < DAY_US {
            b.note(now);
            now += HOUR_US;
        }
        // 4 + one at 1:03, 2:03, ..., 23:03: the daily maximum.
        assert_eq!(b.decreases_today(DAY_US - 1), DECREASES_PER_DAY_MAX);
        assert!(!b.allows(DAY_US - 1));
        assert!(b.allows(DAY_US), "a new UTC day starts a new budget");
    }
}
