//! Provisioned auto scaling (CA-16): target tracking as Application Auto Scaling runs it
//! for DynamoDB, an external controller that reacts over minutes. Each minute the
//! controller reads the units consumed in that minute (throttled requests consume
//! nothing, so a throttled table looks only as busy as its capacity lets it be). When
//! utilisation stays above the target for `scale_out_after_us` it raises capacity to
//! `consumed / target`; when it stays more than 20 points below the target for the
//! longer `scale_in_after_us` it lowers it the same way, within the decrease budget of
//! CP-16. Bounds are `[min_units, max_units]`. The lag before a scale-out is the point:
//! requests are throttled until the new capacity arrives.

use dynasim_engine::DecreaseBudget;
use serde::{Deserialize, Serialize};

const MINUTE_US: u64 = 60_000_000;
/// Scale-in alarms fire this many percentage points below the target (DynamoDB's
/// target tracking policy creates its low alarm at target minus 20).
const SCALE_IN_MARGIN_PERCENT: f64 = 20.0;

/// Target tracking settings for one dimension (reads or writes) of one table.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AutoScalingSpec {
    /// Target utilisation, percent of provisioned units (20..90 in DynamoDB).
    pub target_percent: f64,
    pub min_units: f64,
    pub max_units: f64,
    /// Consecutive minutes above target before scaling out (2 in DynamoDB's alarms).
    pub scale_out_after_us: u64,
    /// Consecutive minutes below target before scaling in (15).
    pub scale_in_after_us: u64,
}

/// A capacity change the controller made.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScalingAction {
    pub from_units: f64,
    pub to_units: f64,
    /// Consumed units per second over the last minute.
    pub consumed_per_s: f64,
}

/// The controller's state for one dimension of one table.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AutoScaler {
    spec: AutoScalingSpec,
    /// Start of the minute being measured, and the cumulative consumption at its start.
    minute_start_us: u64,
    consumed_at_minute_start: f64,
    minutes_above: u64,
    minutes_below: u64,
}

impl AutoScaler {
    pub fn new(spec: AutoScalingSpec) -> Self {
        assert!(
            spec.min_units <= spec.max_units && spec.target_percent > 0.0,
            "auto scaling bounds are validated when the scenario loads"
        );
        AutoScaler {
            spec,
            minute_start_us: 0,
            consumed_at_minute_start: 0.0,
            minutes_above: 0,
            minutes_below: 0,
        }
    }

    pub fn spec(&self) -> &AutoScalingSpec {
        &self.spec
    }

    /// Called as often as the caller likes with the cumulative units consumed so far and
    /// the current provisioned units; evaluates once per completed minute. A scale-in
    /// spends the table's (or index's) CP-16 decrease `budget`, which manual changes share.
    pub fn tick(
        &mut self,
        consumed_total: f64,
        provisioned: f64,
        now_us: u64,
        budget: &mut DecreaseBudget,
    ) -> Option<ScalingAction> {
        if now_us < self.minute_start_us + MINUTE_US {
            return None;
        }
        let consumed_per_s = (consumed_total - self.consumed_at_minute_start) / 60.0;
        self.minute_start_us += MINUTE_US;
        self.consumed_at_minute_start = consumed_total;
        let utilisation = 100.0 * consumed_per_s / provisioned.max(f64::MIN_POSITIVE);
        let target = self.spec.target_percent;
        if utilisation > target {
            self.minutes_above += 1;
            self.minutes_below = 0;
        } else if utilisation < target - SCALE_IN_MARGIN_PERCENT {
            self.minutes_below += 1;
            self.minutes_above = 0;
        } else {
            self.minutes_above = 0;
            self.minutes_below = 0;
        }
        let wanted = (consumed_per_s * 100.0 / target)
            .ceil()
            .clamp(self.spec.min_units, self.spec.max_units);
        let out_due = self.minutes_above * MINUTE_US >= self.spec.scale_out_after_us;
        let in_due = self.minutes_below * MINUTE_US >= self.spec.scale_in_after_us;
        let to_units = if out_due && wanted > provisioned {
            self.minutes_above = 0;
            wanted
        } else if in_due && wanted < provisioned && budget.allows(now_us) {
            self.minutes_below = 0;
            budget.note(now_us);
            wanted
        } else {
            return None;
        };
        Some(ScalingAction {
            from_units: provisioned,
            to_units,
            consumed_per_s,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> AutoScalingSpec {
        AutoScalingSpec {
            target_percent: 70.0,
            min_units: 10.0,
            max_units: 1_000.0,
            scale_out_after_us: 2 * MINUTE_US,
            scale_in_after_us: 15 * MINUTE_US,
        }
    }

    /// Drive `minutes` of steady consumption at `per_s`, returning the actions.
    fn run(
        (s, budget): (&mut AutoScaler, &mut DecreaseBudget),
        consumed: &mut f64,
        provisioned: &mut f64,
        start_min: u64,
        minutes: u64,
        per_s: f64,
    ) -> Vec<(u64, ScalingAction)> {
        let mut out = Vec::new();
        for m in start_min + 1..=start_min + minutes {
            *consumed += per_s.min(*provisioned) * 60.0;
            if let Some(a) = s.tick(*consumed, *provisioned, m * MINUTE_US, budget) {
                *provisioned = a.to_units;
                out.push((m, a));
            }
        }
        out
    }

    #[test]
    fn scales_out_after_two_minutes_above_target_and_keeps_chasing_a_throttled_load() {
        let mut s = AutoScaler::new(spec());
        let mut budget = DecreaseBudget::default();
        let (mut consumed, mut provisioned) = (0.0, 100.0);
        let actions = run(
            (&mut s, &mut budget),
            &mut consumed,
            &mut provisioned,
            0,
            10,
            400.0,
        );
        // Minute 2: 100/s consumed (capped by throttling) is 100% > 70%: to 143.
        assert_eq!(actions[0].0, 2);
        assert_eq!(actions[0].1.to_units, 143.0);
        // Each step can only see what the last capacity let through, so it takes several.
        assert!(actions.len() >= 3, "{actions:?}");
        assert!(provisioned >= 400.0 / 0.7 - 1.0, "{provisioned}");
        assert!(actions.windows(2).all(|w| w[1].0 - w[0].0 >= 2));
    }

    #[test]
    fn scales_in_only_after_fifteen_quiet_minutes_and_within_the_decrease_budget() {
        let mut s = AutoScaler::new(spec());
        let mut budget = DecreaseBudget::default();
        let (mut consumed, mut provisioned) = (0.0, 500.0);
        let actions = run(
            (&mut s, &mut budget),
            &mut consumed,
            &mut provisioned,
            0,
            14,
            50.0,
        );
        assert!(actions.is_empty(), "not before 15 minutes");
        let actions = run(
            (&mut s, &mut budget),
            &mut consumed,
            &mut provisioned,
            14,
            1,
            50.0,
        );
        assert_eq!(actions.len(), 1);
        assert_eq!(provisioned, 72.0, "50 / 0.7 rounded up");
        // Never below the minimum.
        let actions = run(
            (&mut s, &mut budget),
            &mut consumed,
            &mut provisioned,
            15,
            30,
            1.0,
        );
        assert_eq!(actions.len(), 1);
        assert_eq!(provisioned, 10.0);
    }
}
