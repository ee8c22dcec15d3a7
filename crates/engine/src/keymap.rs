//! [`KeyMap`], the ordered storage of a table's items: encoded key to stored item.
//!
//! A table with a sort key keeps its items grouped by partition: an ordered map from
//! the encoded partition key to that partition's items, which are a sorted `Vec` while
//! the partition is small and an ordered map once it grows. A Query (QS-01) then
//! searches a map of partitions, not of items, and walks one contiguous run of memory.
//! A table without a sort key (one item per partition) keeps its items in a hash map,
//! for the point reads and writes that are nearly all its traffic (an overwrite does
//! not search a tree), beside an ordered set of its keys for Scan, built on the first
//! ordered read and kept from then on: only a new or removed key touches the set, and
//! a table nobody scans (a simulated workload's, until its final state is read) never
//! pays for one.
//!
//! Both layouts iterate in the same order, the byte order of the encoded keys (DM-24):
//! the partition component of a key is self-delimiting (no encoding of a partition key
//! is a proper prefix of another's), so two keys of different partitions compare as
//! their partition components do, and grouping by partition does not change the order
//! of Scan (QS-11), of its pages (QS-05) or of any digest that walks a table.

use crate::key::{ItemKey, KeySchema, ScalarAttributeType, component_len};
use crate::stored::StoredItem;
use std::collections::{BTreeMap, BTreeSet, HashMap, btree_map, btree_set, hash_map};
use std::fmt;
use std::ops::Bound;
use std::sync::OnceLock;

/// Most entries a partition keeps in a sorted `Vec`; a larger one becomes an ordered
/// map (an insert into the `Vec` moves the entries after it).
pub(crate) const SMALL_PARTITION_MAX: usize = 256;

/// Ordered map from [`ItemKey`] to [`StoredItem`], in key byte order.
#[derive(Clone)]
pub(crate) struct KeyMap(Repr);

#[derive(Clone)]
enum Repr {
    Flat(Flat),
    Grouped {
        hash_type: ScalarAttributeType,
        /// By encoded partition key; no partition is empty.
        partitions: BTreeMap<ItemKey, Partition>,
        len: usize,
    },
}

/// The entries of one partition, keyed by their whole encoded key.
/// A flat table: items by key, hashed (never iterated: its order is the hasher's), and
/// the same keys in order once something has asked for them in order. Invariant: once
/// built, `order` holds exactly the keys of `items`.
#[derive(Clone, Default)]
struct Flat {
    items: HashMap<ItemKey, StoredItem, foldhash::fast::FixedState>,
    order: OnceLock<BTreeSet<ItemKey>>,
}

impl Flat {
    /// The keys in order, built from the hashed keys on the first call.
    fn order(&self) -> &BTreeSet<ItemKey> {
        let order = self
            .order
            .get_or_init(|| self.items.keys().cloned().collect());
        debug_assert_eq!(
            order.len(),
            self.items.len(),
            "the ordered keys are the hashed ones"
        );
        order
    }
}

#[derive(Clone)]
enum Partition {
    /// Sorted by key, at most [`SMALL_PARTITION_MAX`] entries.
    Small(Vec<(ItemKey, StoredItem)>),
    Large(BTreeMap<ItemKey, StoredItem>),
}

impl Partition {
    fn get(&self, key: &ItemKey) -> Option<&StoredItem> {
        match self {
            Partition::Small(v) => v
                .binary_search_by(|(k, _)| k.cmp(key))
                .ok()
                .map(|i| &v[i].1),
            Partition::Large(m) => m.get(key),
        }
    }

    fn insert(&mut self, key: ItemKey, value: StoredItem) -> Option<StoredItem> {
        match self {
            Partition::Small(v) => match v.binary_search_by(|(k, _)| k.cmp(&key)) {
                Ok(i) => Some(std::mem::replace(&mut v[i].1, value)),
                Err(i) if v.len() < SMALL_PARTITION_MAX => {
                    v.insert(i, (key, value));
                    None
                }
                Err(_) => {
                    let mut map: BTreeMap<ItemKey, StoredItem> =
                        std::mem::take(v).into_iter().collect();
                    map.insert(key, value);
                    *self = Partition::Large(map);
                    None
                }
            },
            Partition::Large(m) => m.insert(key, value),
        }
    }

    fn remove(&mut self, key: &ItemKey) -> Option<StoredItem> {
        match self {
            Partition::Small(v) => v
                .binary_search_by(|(k, _)| k.cmp(key))
                .ok()
                .map(|i| v.remove(i).1),
            Partition::Large(m) => m.remove(key),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Partition::Small(v) => v.is_empty(),
            Partition::Large(m) => m.is_empty(),
        }
    }

    /// The entries within the bounds, which the caller has checked are not empty.
    /// `partition` is this partition's key, a proper prefix of all its keys: a bound
    /// that every key passes costs no search (a Query's whole partition, QS-01).
    fn range<'a>(
        &'a self,
        partition: &ItemKey,
        lower: Bound<&ItemKey>,
        upper: Bound<&ItemKey>,
    ) -> PartRange<'a> {
        let p = partition.as_bytes();
        let lower = match lower {
            Bound::Included(l) if l <= partition => Bound::Unbounded,
            Bound::Excluded(l) if l < partition => Bound::Unbounded,
            other => other,
        };
        let upper = match upper {
            Bound::Included(u) | Bound::Excluded(u)
                if u > partition && !u.as_bytes().starts_with(p) =>
            {
                Bound::Unbounded
            }
            other => other,
        };
        match self {
            Partition::Small(v) => {
                let start = match lower {
                    Bound::Unbounded => 0,
                    Bound::Included(l) => v.partition_point(|(k, _)| k < l),
                    Bound::Excluded(l) => v.partition_point(|(k, _)| k <= l),
                };
                let end = match upper {
                    Bound::Unbounded => v.len(),
                    Bound::Included(u) => v.partition_point(|(k, _)| k <= u),
                    Bound::Excluded(u) => v.partition_point(|(k, _)| k < u),
                };
                PartRange::Small(v[start..end.max(start)].iter())
            }
            Partition::Large(m) => PartRange::Large(m.range((lower, upper))),
        }
    }
}

/// True when `u` is the smallest byte string above every string that starts with `p`
/// (what a Query uses as the end of a partition).
fn is_prefix_end(u: &[u8], p: &[u8]) -> bool {
    let trimmed = p.len() - p.iter().rev().take_while(|b| **b == 0xFF).count();
    let Some(last) = trimmed.checked_sub(1) else {
        return false;
    };
    u.len() == trimmed && u[..last] == p[..last] && u[last] == p[last] + 1
}

/// True when no key can lie within the bounds (where `BTreeMap::range` would panic).
fn empty_range(lower: &Bound<ItemKey>, upper: &Bound<ItemKey>) -> bool {
    match (lower, upper) {
        (Bound::Included(l), Bound::Included(u)) => l > u,
        (Bound::Included(l), Bound::Excluded(u))
        | (Bound::Excluded(l), Bound::Included(u))
        | (Bound::Excluded(l), Bound::Excluded(u)) => l >= u,
        _ => false,
    }
}

impl KeyMap {
    /// The layout for a table of this key schema: grouped by partition when there is a
    /// sort key.
    pub(crate) fn for_schema(schema: &KeySchema) -> KeyMap {
        match schema.range {
            Some(_) => KeyMap::grouped(schema.hash.attribute_type),
            None => KeyMap::flat(),
        }
    }

    /// One ordered map of all entries.
    pub(crate) fn flat() -> KeyMap {
        KeyMap(Repr::Flat(Flat::default()))
    }

    /// Entries grouped by the partition component (of type `hash_type`) of their keys.
    pub(crate) fn grouped(hash_type: ScalarAttributeType) -> KeyMap {
        KeyMap(Repr::Grouped {
            hash_type,
            partitions: BTreeMap::new(),
            len: 0,
        })
    }

    pub(crate) fn len(&self) -> usize {
        match &self.0 {
            Repr::Flat(f) => f.items.len(),
            Repr::Grouped { len, .. } => *len,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn partition_key(hash_type: ScalarAttributeType, key: &ItemKey) -> ItemKey {
        let bytes = key.as_bytes();
        ItemKey::from_encoded(&bytes[..component_len(bytes, hash_type)])
    }

    pub(crate) fn get(&self, key: &ItemKey) -> Option<&StoredItem> {
        match &self.0 {
            Repr::Flat(f) => f.items.get(key),
            Repr::Grouped {
                hash_type,
                partitions,
                ..
            } => partitions
                .get(&Self::partition_key(*hash_type, key))?
                .get(key),
        }
    }

    /// Stores `value` under `key`; returns the entry it replaced.
    pub(crate) fn insert(&mut self, key: ItemKey, value: StoredItem) -> Option<StoredItem> {
        match &mut self.0 {
            Repr::Flat(f) => match f.items.entry(key) {
                hash_map::Entry::Occupied(mut o) => Some(o.insert(value)),
                hash_map::Entry::Vacant(v) => {
                    if let Some(order) = f.order.get_mut() {
                        let added = order.insert(v.key().clone());
                        debug_assert!(added, "the ordered keys match the hashed ones");
                    }
                    v.insert(value);
                    None
                }
            },
            Repr::Grouped {
                hash_type,
                partitions,
                len,
            } => {
                let old = partitions
                    .entry(Self::partition_key(*hash_type, &key))
                    .or_insert_with(|| Partition::Small(Vec::new()))
                    .insert(key, value);
                if old.is_none() {
                    *len += 1;
                }
                old
            }
        }
    }

    pub(crate) fn remove(&mut self, key: &ItemKey) -> Option<StoredItem> {
        match &mut self.0 {
            Repr::Flat(f) => {
                let old = f.items.remove(key)?;
                if let Some(order) = f.order.get_mut() {
                    let removed = order.remove(key);
                    debug_assert!(removed, "the ordered keys match the hashed ones");
                }
                Some(old)
            }
            Repr::Grouped {
                hash_type,
                partitions,
                len,
            } => {
                let partition_key = Self::partition_key(*hash_type, key);
                let partition = partitions.get_mut(&partition_key)?;
                let old = partition.remove(key)?;
                if partition.is_empty() {
                    partitions.remove(&partition_key);
                }
                *len -= 1;
                Some(old)
            }
        }
    }

    /// Every entry in key order.
    pub(crate) fn iter(&self) -> Iter<'_> {
        Iter {
            range: self.range(Bound::Unbounded, Bound::Unbounded),
            remaining: self.len(),
        }
    }

    pub(crate) fn values(&self) -> impl DoubleEndedIterator<Item = &StoredItem> + '_ {
        self.iter().map(|(_, v)| v)
    }

    /// The entries whose keys lie within the bounds, in key order (either direction).
    /// Unlike `BTreeMap::range`, bounds that admit no key give an empty range.
    pub(crate) fn range(&self, lower: Bound<ItemKey>, upper: Bound<ItemKey>) -> Range<'_> {
        if empty_range(&lower, &upper) {
            return Range::Empty;
        }
        match &self.0 {
            Repr::Flat(f) => Range::Flat {
                keys: f.order().range((lower, upper)),
                items: &f.items,
            },
            Repr::Grouped {
                hash_type,
                partitions,
                ..
            } => {
                // The partition component of the lower bound: the only partition below
                // the bound that can hold keys above it is the one the bound starts
                // with, and a bound that does start with a partition's key has that key
                // as its component (components are self-delimiting).
                let start = match &lower {
                    Bound::Unbounded => None,
                    Bound::Included(l) | Bound::Excluded(l) => {
                        Some(Self::partition_key(*hash_type, l))
                    }
                };
                if let Some(p) = &start {
                    // Within one partition, as a Query is: a point search, not a range.
                    let confined = match &upper {
                        Bound::Unbounded => false,
                        Bound::Included(u) | Bound::Excluded(u) => {
                            u.as_bytes().starts_with(p.as_bytes())
                                || is_prefix_end(u.as_bytes(), p.as_bytes())
                        }
                    };
                    // Only if `p` is a stored partition's key: a bound cut inside a
                    // partition key (an unterminated component) is a prefix of many.
                    if confined && let Some((key, partition)) = partitions.get_key_value(p) {
                        return Range::Part(partition.range(key, lower.as_ref(), upper.as_ref()));
                    }
                }
                // Every key of a partition is above its key, so a partition can hold a
                // key below the upper bound only if its key is below it.
                let outer_lower = start.as_ref().map_or(Bound::Unbounded, Bound::Included);
                let outer = partitions.range((outer_lower, upper.as_ref()));
                Range::Grouped(Grouped {
                    outer,
                    lower,
                    upper,
                    front: None,
                    back: None,
                })
            }
        }
    }
}

impl fmt::Debug for KeyMap {
    /// As a `BTreeMap` of the same entries prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a KeyMap {
    type Item = (&'a ItemKey, &'a StoredItem);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// The entries of one partition within a range.
pub(crate) enum PartRange<'a> {
    Small(std::slice::Iter<'a, (ItemKey, StoredItem)>),
    Large(btree_map::Range<'a, ItemKey, StoredItem>),
}

impl<'a> Iterator for PartRange<'a> {
    type Item = (&'a ItemKey, &'a StoredItem);
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            PartRange::Small(it) => it.next().map(|(k, v)| (k, v)),
            PartRange::Large(it) => it.next(),
        }
    }
}

impl DoubleEndedIterator for PartRange<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            PartRange::Small(it) => it.next_back().map(|(k, v)| (k, v)),
            PartRange::Large(it) => it.next_back(),
        }
    }
}

/// A range of a grouped map: the partitions it spans, each cut to the bounds.
pub(crate) struct Grouped<'a> {
    outer: btree_map::Range<'a, ItemKey, Partition>,
    lower: Bound<ItemKey>,
    upper: Bound<ItemKey>,
    front: Option<PartRange<'a>>,
    back: Option<PartRange<'a>>,
}

impl<'a> Iterator for Grouped<'a> {
    type Item = (&'a ItemKey, &'a StoredItem);
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(entry) = self.front.as_mut().and_then(Iterator::next) {
                return Some(entry);
            }
            match self.outer.next() {
                Some((key, partition)) => {
                    self.front =
                        Some(partition.range(key, self.lower.as_ref(), self.upper.as_ref()));
                }
                None => return self.back.as_mut()?.next(),
            }
        }
    }
}

impl DoubleEndedIterator for Grouped<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(entry) = self.back.as_mut().and_then(DoubleEndedIterator::next_back) {
                return Some(entry);
            }
            match self.outer.next_back() {
                Some((key, partition)) => {
                    self.back =
                        Some(partition.range(key, self.lower.as_ref(), self.upper.as_ref()));
                }
                None => return self.front.as_mut()?.next_back(),
            }
        }
    }
}

/// Entries of a [`KeyMap`] within bounds.
pub(crate) enum Range<'a> {
    Empty,
    /// Within one partition.
    Part(PartRange<'a>),
    Flat {
        keys: btree_set::Range<'a, ItemKey>,
        items: &'a HashMap<ItemKey, StoredItem, foldhash::fast::FixedState>,
    },
    Grouped(Grouped<'a>),
}

/// A flat table's entry for a key of its ordered set.
fn flat_entry<'a>(
    items: &'a HashMap<ItemKey, StoredItem, foldhash::fast::FixedState>,
    key: &'a ItemKey,
) -> (&'a ItemKey, &'a StoredItem) {
    (key, items.get(key).expect("every ordered key has an item"))
}

impl<'a> Iterator for Range<'a> {
    type Item = (&'a ItemKey, &'a StoredItem);
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Range::Empty => None,
            Range::Part(it) => it.next(),
            Range::Flat { keys, items } => keys.next().map(|k| flat_entry(items, k)),
            Range::Grouped(it) => it.next(),
        }
    }
}

impl DoubleEndedIterator for Range<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            Range::Empty => None,
            Range::Part(it) => it.next_back(),
            Range::Flat { keys, items } => keys.next_back().map(|k| flat_entry(items, k)),
            Range::Grouped(it) => it.next_back(),
        }
    }
}

/// Every entry of a [`KeyMap`], with its count.
pub(crate) struct Iter<'a> {
    range: Range<'a>,
    remaining: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a ItemKey, &'a StoredItem);
    fn next(&mut self) -> Option<Self::Item> {
        let entry = self.range.next()?;
        self.remaining -= 1;
        Some(entry)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let entry = self.range.next_back()?;
        self.remaining -= 1;
        Some(entry)
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{ItemKey, KeySchema, ScalarAttributeType};
    use crate::number::Number;
    use crate::value::{AttributeValue, Item};
    use std::sync::Arc;

    /// Partition key values whose encodings share prefixes, hold zero bytes and sort
    /// around each other.
    fn partition_value(ty: ScalarAttributeType, i: u8) -> AttributeValue {
        match ty {
            ScalarAttributeType::S => AttributeValue::s(
                ["a", "a\0", "a\0b", "ab", "b", "\0", "\u{ff}"][usize::from(i) % 7],
            ),
            ScalarAttributeType::B => AttributeValue::B(
                [&b"\0"[..], b"\0\0", b"\xff", b"\xff\0", b"x"][usize::from(i) % 5].to_vec(),
            ),
            ScalarAttributeType::N => AttributeValue::N(Number::from(
                [-100i64, -1, 0, 1, 10, 255][usize::from(i) % 6],
            )),
        }
    }

    fn key(ty: ScalarAttributeType, p: u8, s: u16) -> ItemKey {
        let schema = KeySchema::composite("pk", ty, "sk", ScalarAttributeType::N);
        let item: Item = [
            ("pk".to_string(), partition_value(ty, p)),
            (
                "sk".to_string(),
                AttributeValue::N(Number::from(i64::from(s) - 200)),
            ),
        ]
        .into_iter()
        .collect();
        ItemKey::from_item(&schema, &item).expect("valid key")
    }

    fn stored(n: usize) -> StoredItem {
        StoredItem::with_size(Arc::new(Item::new()), n)
    }

    /// Bounds as Query and Scan build them (DM-24, QS-01, QS-05): whole keys, a
    /// partition's prefix, the smallest string above a prefix, or nothing.
    fn bound(ty: ScalarAttributeType, pick: (u8, u8, u16)) -> Bound<ItemKey> {
        let (shape, p, s) = pick;
        let whole = key(ty, p, s);
        let bytes = whole.as_bytes();
        let partition = &bytes[..component_len(bytes, ty)];
        let above = |b: &[u8]| {
            let mut end = b.to_vec();
            while let Some(last) = end.pop() {
                if last < 0xFF {
                    end.push(last + 1);
                    return ItemKey::from_encoded(&end);
                }
            }
            ItemKey::from_encoded(&[0xFF; 40])
        };
        match shape % 7 {
            0 => Bound::Unbounded,
            1 => Bound::Included(whole),
            2 => Bound::Excluded(whole),
            3 => Bound::Included(ItemKey::from_encoded(partition)),
            4 => Bound::Excluded(above(partition)),
            5 => Bound::Included(above(bytes)),
            _ => Bound::Excluded(ItemKey::from_encoded(&bytes[..bytes.len() - 1])),
        }
    }

    type Entries<'a> = Vec<(&'a ItemKey, usize)>;

    fn sizes<'a>(it: impl Iterator<Item = (&'a ItemKey, &'a StoredItem)>) -> Entries<'a> {
        it.map(|(k, v)| (k, v.size_bytes)).collect()
    }

    proptest::proptest! {
        /// A grouped map holds, finds and orders exactly what one `BTreeMap` of the
        /// same writes does, across partitions that grow past the small-partition size
        /// and shrink again, for every range shape in both directions and with the two
        /// ends consumed alternately; a flat map read in order midway keeps its order.
        #[test]
        fn grouped_and_flat_equal_one_ordered_map(
            ty in proptest::sample::select(vec![ScalarAttributeType::S, ScalarAttributeType::N, ScalarAttributeType::B]),
            ops in proptest::collection::vec((0u8..7, 0u16..400, 0u8..4), 1..600),
            bounds in proptest::collection::vec(((0u8..7, 0u8..7, 0u16..400), (0u8..7, 0u8..7, 0u16..400)), 1..20),
        ) {
            let mut map = KeyMap::grouped(ty);
            let mut flat = KeyMap::flat();
            let mut reference: BTreeMap<ItemKey, StoredItem> = BTreeMap::new();
            for (n, (p, s, op)) in ops.iter().enumerate() {
                // Mostly one partition, so it passes SMALL_PARTITION_MAX.
                let p = if *op == 3 { *p } else { 0 };
                let k = key(ty, p, *s);
                if *op == 0 {
                    let a = map.remove(&k).map(|v| v.size_bytes);
                    proptest::prop_assert_eq!(a, reference.remove(&k).map(|v| v.size_bytes));
                    proptest::prop_assert_eq!(flat.remove(&k).map(|v| v.size_bytes), a);
                } else {
                    let a = map.insert(k.clone(), stored(n)).map(|v| v.size_bytes);
                    proptest::prop_assert_eq!(a, reference.insert(k.clone(), stored(n)).map(|v| v.size_bytes));
                    proptest::prop_assert_eq!(flat.insert(k, stored(n)).map(|v| v.size_bytes), a);
                }
                proptest::prop_assert_eq!(map.len(), reference.len());
                proptest::prop_assert_eq!(flat.len(), reference.len());
                // Halfway, read the flat map in order: it builds its ordered keys then,
                // and the writes after must keep them (the rest of the test reads them).
                if n == ops.len() / 2 {
                    proptest::prop_assert_eq!(sizes(flat.iter()), sizes(reference.iter()));
                }
            }
            proptest::prop_assert_eq!(map.is_empty(), reference.is_empty());
            let all = sizes(reference.iter());
            proptest::prop_assert_eq!(&sizes(map.iter()), &all);
            proptest::prop_assert_eq!(&sizes(flat.iter()), &all);
            proptest::prop_assert_eq!(sizes(map.iter().rev()), sizes(reference.iter().rev()));
            proptest::prop_assert_eq!(sizes(flat.iter().rev()), sizes(reference.iter().rev()));
            proptest::prop_assert_eq!(format!("{flat:?}"), format!("{reference:?}"));
            proptest::prop_assert_eq!(map.iter().len(), reference.len());
            proptest::prop_assert_eq!(format!("{map:?}"), format!("{reference:?}"));
            for k in reference.keys() {
                proptest::prop_assert_eq!(map.get(k).map(|v| v.size_bytes), reference.get(k).map(|v| v.size_bytes));
                proptest::prop_assert_eq!(flat.get(k).map(|v| v.size_bytes), reference.get(k).map(|v| v.size_bytes));
            }
            for p in 0..7 {
                for s in [0, 199, 399] {
                    let k = key(ty, p, s);
                    proptest::prop_assert_eq!(map.get(&k).map(|v| v.size_bytes), reference.get(&k).map(|v| v.size_bytes));
                }
            }
            for (lo, hi) in bounds {
                let (lo, hi) = (bound(ty, lo), bound(ty, hi));
                let expected: Entries<'_> = if empty_range(&lo, &hi) {
                    Vec::new()
                } else {
                    sizes(reference.range((lo.clone(), hi.clone())))
                };
                proptest::prop_assert_eq!(&sizes(map.range(lo.clone(), hi.clone())), &expected);
                proptest::prop_assert_eq!(&sizes(flat.range(lo.clone(), hi.clone())), &expected);
                let mut flat_backwards = sizes(flat.range(lo.clone(), hi.clone()).rev());
                flat_backwards.reverse();
                proptest::prop_assert_eq!(&flat_backwards, &expected);
                let mut backwards = sizes(map.range(lo.clone(), hi.clone()).rev());
                backwards.reverse();
                proptest::prop_assert_eq!(&backwards, &expected);
                // Alternate ends: front, back, front, ...
                let mut range = map.range(lo, hi);
                let (mut front, mut back) = (Vec::new(), Vec::new());
                while let Some((k, v)) = range.next() {
                    front.push((k, v.size_bytes));
                    let Some((k, v)) = range.next_back() else { break };
                    back.push((k, v.size_bytes));
                }
                back.reverse();
                front.extend(back);
                proptest::prop_assert_eq!(&front, &expected);
            }
        }
    }

    /// A partition past SMALL_PARTITION_MAX entries becomes an ordered map and keeps
    /// its order; removing every entry removes the partition.
    #[test]
    fn large_partition_and_emptying() {
        let ty = ScalarAttributeType::S;
        let mut map = KeyMap::grouped(ty);
        let count = u16::try_from(SMALL_PARTITION_MAX).unwrap() + 50;
        for s in (0..count).rev() {
            map.insert(key(ty, 0, s), stored(usize::from(s)));
            map.insert(key(ty, 1, s), stored(usize::from(s)));
        }
        let Repr::Grouped { partitions, .. } = &map.0 else {
            panic!("grouped")
        };
        assert!(
            partitions
                .values()
                .all(|p| matches!(p, Partition::Large(_)))
        );
        let got: Vec<usize> = map.iter().map(|(_, v)| v.size_bytes).collect();
        let want: Vec<usize> = (0..count).chain(0..count).map(usize::from).collect();
        assert_eq!(got, want);
        for s in 0..count {
            assert!(map.remove(&key(ty, 0, s)).is_some());
        }
        assert!(map.remove(&key(ty, 0, 0)).is_none());
        assert_eq!(map.len(), usize::from(count));
        let Repr::Grouped { partitions, .. } = &map.0 else {
            panic!("grouped")
        };
        assert_eq!(partitions.len(), 1);
    }
}
