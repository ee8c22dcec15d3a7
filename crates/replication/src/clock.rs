//! [`SeenClock`]: a vector clock of origin sequences, kept inline.

use crdts::{CmRDT, CvRDT, Dot, DotRange};
use dynasim_core::RegionId;
use dynasim_core::limits::REGIONS_MAX;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt;

/// What a replica has seen: the highest sequence per origin region (a vector clock).
///
/// The clock `crdts::VClock<RegionId>` is, with the same operations (through the same
/// `CmRDT` and `CvRDT` traits), the same iteration order (by region) and the same
/// serialized form (`VClock { dots: {region: counter} }`), but stored inline for the
/// region ids a world uses (`0..REGIONS_MAX`): every version holds a clock and every
/// local write copies clocks several times, and with a B-tree per clock each copy was
/// an allocation (and each drop a free).
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct SeenClock {
    /// Counter per region id below [`REGIONS_MAX`]; 0 is "nothing seen", which a
    /// `VClock` stores no entry for.
    dense: [u64; REGIONS_MAX],
    /// Counters of larger region ids, all non-zero; `None` rather than an empty map, so
    /// equal clocks are equal values. Boxed: one pointer instead of a map's three words
    /// keeps the whole clock in 64 bytes (one cache line).
    #[allow(clippy::box_collection)]
    sparse: Option<Box<BTreeMap<RegionId, u64>>>,
}

/// The ids of the dense counters, for handing out `&RegionId` as `VClock` does.
static DENSE_REGIONS: [RegionId; REGIONS_MAX] = {
    let mut ids = [RegionId(0); REGIONS_MAX];
    let mut i = 0;
    while i < REGIONS_MAX {
        ids[i] = RegionId(i as u16);
        i += 1;
    }
    ids
};

impl SeenClock {
    pub fn new() -> Self {
        SeenClock::default()
    }

    /// The counter of `region`; 0 if nothing of it was seen.
    pub fn get(&self, region: &RegionId) -> u64 {
        match self.dense.get(usize::from(region.0)) {
            Some(counter) => *counter,
            None => self
                .sparse
                .as_ref()
                .and_then(|sparse| sparse.get(region).copied())
                .unwrap_or(0),
        }
    }

    /// Every non-zero counter, by region id (the order of `VClock::iter`).
    pub fn iter(&self) -> impl Iterator<Item = Dot<&RegionId>> + '_ {
        let dense = DENSE_REGIONS
            .iter()
            .zip(self.dense.iter())
            .filter(|(_, counter)| **counter > 0)
            .map(|(region, counter)| Dot::new(region, *counter));
        let sparse = self
            .sparse
            .iter()
            .flat_map(|sparse| sparse.iter())
            .map(|(region, counter)| Dot::new(region, *counter));
        dense.chain(sparse)
    }

    /// Raise every counter to at least `other`'s: `merge` without taking `other`.
    pub fn join(&mut self, other: &SeenClock) {
        for (mine, theirs) in self.dense.iter_mut().zip(other.dense.iter()) {
            *mine = (*mine).max(*theirs);
        }
        if let Some(sparse) = &other.sparse {
            for (region, counter) in sparse.iter() {
                self.apply(Dot::new(*region, *counter));
            }
        }
    }
}

impl CmRDT for SeenClock {
    type Op = Dot<RegionId>;
    type Validation = DotRange<RegionId>;

    fn validate_op(&self, dot: &Self::Op) -> Result<(), Self::Validation> {
        let next_counter = self.get(&dot.actor) + 1;
        if dot.counter > next_counter {
            Err(DotRange {
                actor: dot.actor,
                counter_range: next_counter..dot.counter,
            })
        } else {
            Ok(())
        }
    }

    /// Raise `dot.actor`'s counter to `dot.counter` (never lower it).
    fn apply(&mut self, dot: Self::Op) {
        if let Some(counter) = self.dense.get_mut(usize::from(dot.actor.0)) {
            *counter = (*counter).max(dot.counter);
        } else if self.get(&dot.actor) < dot.counter {
            self.sparse
                .get_or_insert_with(Box::default)
                .insert(dot.actor, dot.counter);
        }
    }
}

impl CvRDT for SeenClock {
    type Validation = Infallible;

    fn validate_merge(&self, _other: &Self) -> Result<(), Self::Validation> {
        Ok(())
    }

    fn merge(&mut self, other: Self) {
        self.join(&other);
    }
}

/// `VClock`'s form: its `dots` map.
#[derive(Serialize, Deserialize)]
#[serde(rename = "VClock")]
struct VClockForm {
    dots: BTreeMap<RegionId, u64>,
}

impl SeenClock {
    fn to_form(&self) -> VClockForm {
        VClockForm {
            dots: self.iter().map(|dot| (*dot.actor, dot.counter)).collect(),
        }
    }
}

impl Serialize for SeenClock {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_form().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SeenClock {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SeenClock, D::Error> {
        let form = VClockForm::deserialize(deserializer)?;
        let mut clock = SeenClock::new();
        for (region, counter) in form.dots {
            clock.apply(Dot::new(region, counter));
        }
        Ok(clock)
    }
}

impl fmt::Debug for SeenClock {
    /// As `VClock`'s derived `Debug` prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VClock")
            .field("dots", &self.to_form().dots)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crdts::VClock;

    #[test]
    fn fits_one_cache_line() {
        assert_eq!(std::mem::size_of::<SeenClock>(), 64);
    }

    /// Apply the same dots and merges to a `SeenClock` and a `VClock`: they agree on
    /// every counter, the iteration, equality, `Debug` and the serialized form.
    #[test]
    fn behaves_as_vclock() {
        let regions = [0u16, 1, 2, 6, 7, 9, 300];
        let mut ours = SeenClock::new();
        let mut theirs: VClock<RegionId> = VClock::new();
        let mut other_ours = SeenClock::new();
        let mut other_theirs: VClock<RegionId> = VClock::new();
        let mut state = 7u64;
        for step in 0..400u64 {
            state = dynasim_core::splitmix64(state);
            let region = RegionId(regions[(state % regions.len() as u64) as usize]);
            let counter = (state >> 8) % 50;
            if step % 3 == 0 {
                other_ours.apply(Dot::new(region, counter));
                other_theirs.apply(Dot::new(region, counter));
            } else {
                ours.apply(Dot::new(region, counter));
                theirs.apply(Dot::new(region, counter));
            }
            if step % 50 == 0 {
                ours.merge(other_ours.clone());
                theirs.merge(other_theirs.clone());
            }
            for r in regions {
                assert_eq!(ours.get(&RegionId(r)), theirs.get(&RegionId(r)));
            }
            let ours_dots: Vec<(RegionId, u64)> =
                ours.iter().map(|d| (*d.actor, d.counter)).collect();
            let theirs_dots: Vec<(RegionId, u64)> =
                theirs.iter().map(|d| (*d.actor, d.counter)).collect();
            assert_eq!(ours_dots, theirs_dots);
            assert_eq!(
                ours.validate_op(&Dot::new(region, counter + 2)).is_ok(),
                theirs.validate_op(&Dot::new(region, counter + 2)).is_ok()
            );
        }
        assert_eq!(format!("{ours:?}"), format!("{theirs:?}"));
        let json = serde_json::to_string(&ours).expect("serializes");
        assert_eq!(json, serde_json::to_string(&theirs).expect("serializes"));
        let back: SeenClock = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, ours);
        assert_eq!(
            postcard::to_stdvec(&ours).expect("serializes"),
            postcard::to_stdvec(&theirs).expect("serializes")
        );
        assert_eq!(SeenClock::new(), {
            let mut c = SeenClock::new();
            c.apply(Dot::new(RegionId(300), 0));
            c
        });
    }
}
