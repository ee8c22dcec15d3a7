//! [`AttrMap`]: attribute name to value, kept sorted by name in one vector.
//!
//! Items and `M` values are small maps (a handful of attributes) that are built once,
//! read often and stored by the hundred thousand. A `BTreeMap` gives each of them a
//! ~600-byte node whatever its size, and a lookup walks that node in cold memory; one
//! sorted vector holds exactly the entries and is searched in place. The API mirrors
//! the part of `BTreeMap` the workspace uses, with the same iteration order (by name),
//! equality, hashing, `Debug` and serde forms, so an item serialises byte for byte as
//! it did as a `BTreeMap` (trace hashes, WAL and spill files keep their format).
//!
//! Invariant: `entries` is strictly increasing by name (no duplicates). Every method
//! that builds the vector in bulk re-establishes it with [`AttrMap::normalize`], which
//! keeps the *last* of duplicate names, as inserting them one by one into a map would.

use crate::value::AttributeValue;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// An attribute name: up to 24 bytes inline (almost every name), so a lookup compares
/// names inside the entry vector instead of following a pointer per entry.
pub type Name = compact_str::CompactString;

type Entry = (Name, AttributeValue);

/// Attribute name to value, iterated in name order (deterministic). See the module docs.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct AttrMap {
    entries: Vec<Entry>,
}

/// Iterator over `(&name, &value)` in name order.
pub type Iter<'a> =
    std::iter::Map<std::slice::Iter<'a, Entry>, fn(&'a Entry) -> (&'a Name, &'a AttributeValue)>;
/// Iterator over `(&name, &mut value)` in name order.
pub type IterMut<'a> = std::iter::Map<
    std::slice::IterMut<'a, Entry>,
    fn(&'a mut Entry) -> (&'a Name, &'a mut AttributeValue),
>;
/// Owning iterator over `(name, value)` in name order.
pub type IntoIter = std::vec::IntoIter<Entry>;

fn pair_ref(entry: &Entry) -> (&Name, &AttributeValue) {
    (&entry.0, &entry.1)
}

fn pair_mut(entry: &mut Entry) -> (&Name, &mut AttributeValue) {
    (&entry.0, &mut entry.1)
}

impl AttrMap {
    pub const fn new() -> AttrMap {
        AttrMap {
            entries: Vec::new(),
        }
    }

    pub fn with_capacity(capacity: usize) -> AttrMap {
        AttrMap {
            entries: Vec::with_capacity(capacity),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Index of `name`, or where it would be inserted.
    fn search(&self, name: &str) -> Result<usize, usize> {
        self.entries
            .binary_search_by(|(key, _)| key.as_str().cmp(name))
    }

    pub fn get(&self, name: &str) -> Option<&AttributeValue> {
        self.search(name).ok().map(|i| &self.entries[i].1)
    }

    pub fn get_key_value(&self, name: &str) -> Option<(&Name, &AttributeValue)> {
        self.search(name).ok().map(|i| pair_ref(&self.entries[i]))
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut AttributeValue> {
        match self.search(name) {
            Ok(i) => Some(&mut self.entries[i].1),
            Err(_) => None,
        }
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.search(name).is_ok()
    }

    /// Insert or replace; returns the replaced value.
    pub fn insert(
        &mut self,
        name: impl Into<Name>,
        value: AttributeValue,
    ) -> Option<AttributeValue> {
        let name = name.into();
        match self.search(name.as_str()) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (name, value));
                None
            }
        }
    }

    pub fn remove(&mut self, name: &str) -> Option<AttributeValue> {
        self.remove_entry(name).map(|(_, value)| value)
    }

    pub fn remove_entry(&mut self, name: &str) -> Option<(Name, AttributeValue)> {
        match self.search(name) {
            Ok(i) => Some(self.entries.remove(i)),
            Err(_) => None,
        }
    }

    /// The entry for `name`, to read, fill or change in place.
    pub fn entry(&mut self, name: impl Into<Name>) -> MapEntry<'_> {
        let name = name.into();
        match self.search(name.as_str()) {
            Ok(index) => MapEntry::Occupied(OccupiedEntry { map: self, index }),
            Err(index) => MapEntry::Vacant(VacantEntry {
                map: self,
                index,
                name,
            }),
        }
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&Name, &mut AttributeValue) -> bool) {
        self.entries.retain_mut(|(name, value)| keep(name, value));
    }

    /// Move every entry of `other` in (its values win over ours), leaving it empty.
    pub fn append(&mut self, other: &mut AttrMap) {
        self.entries.append(&mut other.entries);
        Self::normalize(&mut self.entries);
    }

    pub fn iter(&self) -> Iter<'_> {
        self.entries.iter().map(pair_ref)
    }

    pub fn iter_mut(&mut self) -> IterMut<'_> {
        self.entries.iter_mut().map(pair_mut)
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &Name> + ExactSizeIterator + Clone {
        self.entries.iter().map(|(name, _)| name)
    }

    pub fn values(
        &self,
    ) -> impl DoubleEndedIterator<Item = &AttributeValue> + ExactSizeIterator + Clone {
        self.entries.iter().map(|(_, value)| value)
    }

    pub fn values_mut(
        &mut self,
    ) -> impl DoubleEndedIterator<Item = &mut AttributeValue> + ExactSizeIterator {
        self.entries.iter_mut().map(|(_, value)| value)
    }

    pub fn into_keys(self) -> impl DoubleEndedIterator<Item = Name> + ExactSizeIterator {
        self.entries.into_iter().map(|(name, _)| name)
    }

    pub fn into_values(
        self,
    ) -> impl DoubleEndedIterator<Item = AttributeValue> + ExactSizeIterator {
        self.entries.into_iter().map(|(_, value)| value)
    }

    pub fn first_key_value(&self) -> Option<(&Name, &AttributeValue)> {
        self.entries.first().map(pair_ref)
    }

    pub fn last_key_value(&self) -> Option<(&Name, &AttributeValue)> {
        self.entries.last().map(pair_ref)
    }

    /// Restore the invariant after a bulk build: sort by name (stable, so equal names
    /// keep their arrival order) and keep the last of each run of equal names.
    fn normalize(entries: &mut Vec<Entry>) {
        let sorted_unique = entries.windows(2).all(|pair| pair[0].0 < pair[1].0);
        if sorted_unique {
            return;
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        // Reverse, keep the first of each run (the last that arrived), reverse back.
        entries.reverse();
        entries.dedup_by(|later, kept| later.0 == kept.0);
        entries.reverse();
        debug_assert!(entries.windows(2).all(|pair| pair[0].0 < pair[1].0));
    }
}

/// A view into one name's slot, from [`AttrMap::entry`].
pub enum MapEntry<'a> {
    Occupied(OccupiedEntry<'a>),
    Vacant(VacantEntry<'a>),
}

pub struct OccupiedEntry<'a> {
    map: &'a mut AttrMap,
    index: usize,
}

pub struct VacantEntry<'a> {
    map: &'a mut AttrMap,
    index: usize,
    name: Name,
}

impl<'a> MapEntry<'a> {
    pub fn key(&self) -> &str {
        match self {
            MapEntry::Occupied(entry) => &entry.map.entries[entry.index].0,
            MapEntry::Vacant(entry) => &entry.name,
        }
    }

    pub fn or_insert(self, default: AttributeValue) -> &'a mut AttributeValue {
        self.or_insert_with(|| default)
    }

    pub fn or_insert_with(self, make: impl FnOnce() -> AttributeValue) -> &'a mut AttributeValue {
        match self {
            MapEntry::Occupied(entry) => entry.into_mut(),
            MapEntry::Vacant(entry) => entry.insert(make()),
        }
    }

    pub fn and_modify(mut self, change: impl FnOnce(&mut AttributeValue)) -> MapEntry<'a> {
        if let MapEntry::Occupied(entry) = &mut self {
            change(entry.get_mut());
        }
        self
    }
}

impl<'a> OccupiedEntry<'a> {
    pub fn get(&self) -> &AttributeValue {
        &self.map.entries[self.index].1
    }
    pub fn get_mut(&mut self) -> &mut AttributeValue {
        &mut self.map.entries[self.index].1
    }
    pub fn into_mut(self) -> &'a mut AttributeValue {
        &mut self.map.entries[self.index].1
    }
    pub fn insert(&mut self, value: AttributeValue) -> AttributeValue {
        std::mem::replace(self.get_mut(), value)
    }
    pub fn remove(self) -> AttributeValue {
        self.map.entries.remove(self.index).1
    }
}

impl<'a> VacantEntry<'a> {
    pub fn insert(self, value: AttributeValue) -> &'a mut AttributeValue {
        self.map.entries.insert(self.index, (self.name, value));
        &mut self.map.entries[self.index].1
    }
}

impl fmt::Debug for AttrMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl std::ops::Index<&str> for AttrMap {
    type Output = AttributeValue;

    /// Panics if `name` is absent, as `BTreeMap`'s index does.
    fn index(&self, name: &str) -> &AttributeValue {
        self.get(name).expect("no entry found for key")
    }
}

impl<N: Into<Name>> FromIterator<(N, AttributeValue)> for AttrMap {
    fn from_iter<I: IntoIterator<Item = (N, AttributeValue)>>(iter: I) -> AttrMap {
        let mut entries: Vec<Entry> = iter
            .into_iter()
            .map(|(name, value)| (name.into(), value))
            .collect();
        AttrMap::normalize(&mut entries);
        AttrMap { entries }
    }
}

impl<N: Into<Name>> Extend<(N, AttributeValue)> for AttrMap {
    fn extend<I: IntoIterator<Item = (N, AttributeValue)>>(&mut self, iter: I) {
        self.entries
            .extend(iter.into_iter().map(|(name, value)| (name.into(), value)));
        AttrMap::normalize(&mut self.entries);
    }
}

impl<const N: usize> From<[(String, AttributeValue); N]> for AttrMap {
    fn from(entries: [(String, AttributeValue); N]) -> AttrMap {
        entries.into_iter().collect()
    }
}

impl From<std::collections::BTreeMap<String, AttributeValue>> for AttrMap {
    /// Already in name order and unique, so no sort.
    fn from(map: std::collections::BTreeMap<String, AttributeValue>) -> AttrMap {
        AttrMap {
            entries: map
                .into_iter()
                .map(|(name, value)| (name.into(), value))
                .collect(),
        }
    }
}

impl IntoIterator for AttrMap {
    type Item = (Name, AttributeValue);
    type IntoIter = IntoIter;
    fn into_iter(self) -> IntoIter {
        self.entries.into_iter()
    }
}

impl<'a> IntoIterator for &'a AttrMap {
    type Item = (&'a Name, &'a AttributeValue);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &'a mut AttrMap {
    type Item = (&'a Name, &'a mut AttributeValue);
    type IntoIter = IterMut<'a>;
    fn into_iter(self) -> IterMut<'a> {
        self.iter_mut()
    }
}

impl Serialize for AttrMap {
    /// As a map in name order: the same bytes a `BTreeMap` wrote.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.entries.len()))?;
        for (name, value) in &self.entries {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for AttrMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<AttrMap, D::Error> {
        struct MapVisitor;
        impl<'de> Visitor<'de> for MapVisitor {
            type Value = AttrMap;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of attribute names to attribute values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<AttrMap, A::Error> {
                // Cap the hint: it comes from the input.
                let mut entries = Vec::with_capacity(access.size_hint().unwrap_or(0).min(64));
                while let Some(entry) = access.next_entry::<Name, AttributeValue>()? {
                    entries.push(entry);
                }
                AttrMap::normalize(&mut entries);
                Ok(AttrMap { entries })
            }
        }
        deserializer.deserialize_map(MapVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn s(text: &str) -> AttributeValue {
        AttributeValue::S(text.into())
    }

    /// The same operations on an `AttrMap` and a `BTreeMap` leave equal contents, and
    /// the serialised forms are identical (items keep their wire and trace bytes).
    #[test]
    fn behaves_as_a_btree_map() {
        let mut ours = AttrMap::new();
        let mut theirs = BTreeMap::new();
        let names = ["m", "a", "z", "b", "a", "m", "", "zz", "b"];
        for (i, name) in names.iter().enumerate() {
            let value = s(&i.to_string());
            assert_eq!(
                ours.insert(name.to_string(), value.clone()),
                theirs.insert(name.to_string(), value)
            );
        }
        assert_eq!(ours.remove("z"), theirs.remove("z"));
        assert_eq!(ours.remove("nope"), theirs.remove("nope"));
        assert_eq!(ours.len(), theirs.len());
        assert!(
            ours.iter()
                .map(|(k, v)| (k.as_str(), v))
                .eq(theirs.iter().map(|(k, v)| (k.as_str(), v)))
        );
        assert_eq!(ours.get("a"), theirs.get("a"));
        assert_eq!(
            serde_json::to_string(&ours).unwrap(),
            serde_json::to_string(&theirs).unwrap()
        );
        assert_eq!(format!("{ours:?}"), format!("{theirs:?}"));
        let back: AttrMap = serde_json::from_str(&serde_json::to_string(&ours).unwrap()).unwrap();
        assert_eq!(back, ours);
        assert_eq!(AttrMap::from(theirs.clone()), ours);
    }

    /// Bulk builds sort and keep the last of duplicate names, like repeated inserts.
    #[test]
    fn bulk_builds_keep_the_last_duplicate() {
        let built: AttrMap = [("b", "1"), ("a", "2"), ("b", "3"), ("c", "4"), ("a", "5")]
            .into_iter()
            .map(|(n, v)| (n.to_string(), s(v)))
            .collect();
        let names: Vec<&str> = built.keys().map(Name::as_str).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(built.get("a"), Some(&s("5")));
        assert_eq!(built.get("b"), Some(&s("3")));
        let parsed: AttrMap =
            serde_json::from_str(r#"{"x":{"S":"1"},"w":{"S":"2"},"x":{"S":"3"}}"#).unwrap();
        assert_eq!(parsed.get("x"), Some(&s("3")));
        assert_eq!(parsed.keys().next().map(Name::as_str), Some("w"));
        let mut extended = built.clone();
        extended.extend([("0".to_string(), s("6")), ("c".to_string(), s("7"))]);
        assert_eq!(extended.len(), 4);
        assert_eq!(extended.get("c"), Some(&s("7")));
    }

    #[test]
    fn entry_fills_and_changes_in_place() {
        let mut map = AttrMap::new();
        map.entry("b").or_insert(s("1"));
        map.entry("a").or_insert_with(|| s("2"));
        map.entry("b").and_modify(|v| *v = s("3")).or_insert(s("x"));
        assert_eq!(map.get("b"), Some(&s("3")));
        assert_eq!(map.keys().cloned().collect::<Vec<_>>(), ["a", "b"]);
        map.retain(|name, _| name != "a");
        assert_eq!(map.len(), 1);
        assert_eq!(map["b"], s("3"));
    }
}
