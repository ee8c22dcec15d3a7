//! Secondary indexes (CP-05..CP-07, CA-13): definitions, projections and the
//! entries kept in step with the base table on every write.
//!
//! An index entry is stored under the index key's encoding followed by the table key's
//! encoding. Both encodings are self-delimiting and order-preserving, so entries sort
//! by index partition key, then index sort key, then table key, as in DynamoDB.

use crate::config::EngineConfig;
use crate::error::EngineError;
use crate::key::{ItemKey, KeySchema};
use crate::keymap::KeyMap;
use crate::stored::StoredItem;
use crate::value::{AttributeValue, Item};
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Global or local secondary index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexKind {
    Global,
    Local,
}

/// What an index projects (CP-07).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProjectionSpec {
    KeysOnly,
    Include(BTreeSet<String>),
    All,
}

impl ProjectionSpec {
    pub fn type_name(&self) -> &'static str {
        match self {
            ProjectionSpec::KeysOnly => "KEYS_ONLY",
            ProjectionSpec::Include(_) => "INCLUDE",
            ProjectionSpec::All => "ALL",
        }
    }
}

/// One secondary index and its entries.
#[derive(Clone, Debug)]
pub struct SecondaryIndex {
    pub name: String,
    pub kind: IndexKind,
    pub schema: KeySchema,
    pub projection: ProjectionSpec,
    /// Provisioned throughput of a GSI (read, write); `None` on demand or for an LSI.
    pub throughput: Option<(i64, i64)>,
    /// Entries keyed by index key ++ table key, holding the projected item (the table's
    /// own copy when the index projects everything).
    pub(crate) entries: KeyMap,
}

impl SecondaryIndex {
    pub fn new(
        name: String,
        kind: IndexKind,
        schema: KeySchema,
        projection: ProjectionSpec,
        throughput: Option<(i64, i64)>,
    ) -> SecondaryIndex {
        SecondaryIndex {
            name,
            kind,
            schema,
            projection,
            throughput,
            entries: KeyMap::flat(),
        }
    }

    /// Entries in index order.
    pub fn entries(&self) -> impl Iterator<Item = (&ItemKey, &Item)> {
        self.entries.iter().map(|(key, entry)| (key, &*entry.item))
    }

    /// Sum of the entries' sizes.
    pub(crate) fn size_bytes(&self) -> u64 {
        self.entries.values().map(|e| e.size_bytes as u64).sum()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Checks an item about to be written: an index key attribute that is present must
    /// have the declared type and a valid value; an absent one makes the item sparse.
    pub fn check_item(&self, item: &Item) -> Result<(), EngineError> {
        for key in self.schema.attributes() {
            let Some(value) = item.get(&key.name) else {
                continue;
            };
            let matches = matches!(
                (key.attribute_type, value),
                (crate::key::ScalarAttributeType::S, AttributeValue::S(_))
                    | (crate::key::ScalarAttributeType::N, AttributeValue::N(_))
                    | (crate::key::ScalarAttributeType::B, AttributeValue::B(_))
            );
            if !matches {
                return Err(EngineError::validation(format!(
                    "One or more parameter values were invalid: Type mismatch for Index Key {} Expected: {} Actual: {} IndexName: {}",
                    key.name,
                    key.attribute_type.tag(),
                    value.value_type().tag(),
                    self.name
                )));
            }
            let empty = match value {
                AttributeValue::S(s) => s.is_empty().then_some("string"),
                AttributeValue::B(b) => b.is_empty().then_some("binary"),
                _ => None,
            };
            if let Some(kind) = empty {
                return Err(EngineError::validation(format!(
                    "One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty {kind} value. IndexName: {}, IndexKey: {}",
                    self.name, key.name
                )));
            }
        }
        Ok(())
    }

    /// The entry an item contributes, or `None` when it lacks an index key attribute
    /// (sparse index). The item must have passed [`SecondaryIndex::check_item`].
    pub fn entry(
        &self,
        table_schema: &KeySchema,
        table_key: &ItemKey,
        item: &Item,
    ) -> Option<(ItemKey, Item)> {
        let key = self.entry_key(table_key, item)?;
        Some((key, self.project(table_schema, item)))
    }

    /// The storage key of the entry an item contributes, without projecting it.
    pub fn entry_key(&self, table_key: &ItemKey, item: &Item) -> Option<ItemKey> {
        let table_key = table_key.as_bytes();
        let mut bytes = Vec::with_capacity(32 + table_key.len());
        if !ItemKey::encode_item_key(&self.schema, item, &mut bytes) {
            return None;
        }
        bytes.extend_from_slice(table_key);
        Some(ItemKey::from_encoded(&bytes))
    }

    /// The attributes this index stores for `item` (CP-07): table and index keys always.
    pub fn project(&self, table_schema: &KeySchema, item: &Item) -> Item {
        self.projected(table_schema, item).into_owned()
    }

    /// [`SecondaryIndex::project`] borrowing `item` when the index projects everything.
    pub(crate) fn projected<'a>(&self, table_schema: &KeySchema, item: &'a Item) -> Cow<'a, Item> {
        match &self.projection {
            ProjectionSpec::All => Cow::Borrowed(item),
            spec => Cow::Owned(self.project_listed(table_schema, item, spec)),
        }
    }

    /// The table and index key attributes, plus the listed ones for INCLUDE: any
    /// projection but ALL.
    fn project_listed(&self, table_schema: &KeySchema, item: &Item, spec: &ProjectionSpec) -> Item {
        item.iter()
            .filter(|(name, _)| {
                table_schema.is_key_attribute(name)
                    || self.schema.is_key_attribute(name)
                    || matches!(spec, ProjectionSpec::Include(set) if set.contains(name.as_str()))
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The stored entry of a stored table item: the same `Arc` and size when the index
    /// projects everything, else a projected copy sized once.
    fn stored_entry(
        &self,
        table_schema: &KeySchema,
        table_key: &ItemKey,
        item: &StoredItem,
        config: &EngineConfig,
    ) -> Option<(ItemKey, StoredItem)> {
        let key = self.entry_key(table_key, &item.item)?;
        let entry = match &self.projection {
            ProjectionSpec::All => item.clone(),
            spec => StoredItem::new(
                Arc::new(self.project_listed(table_schema, &item.item, spec)),
                config,
            ),
        };
        Some((key, entry))
    }

    /// Whether an attribute name is available in this index's entries.
    pub fn projects(&self, table_schema: &KeySchema, name: &str) -> bool {
        match &self.projection {
            ProjectionSpec::All => true,
            ProjectionSpec::KeysOnly => {
                table_schema.is_key_attribute(name) || self.schema.is_key_attribute(name)
            }
            ProjectionSpec::Include(set) => {
                set.contains(name)
                    || table_schema.is_key_attribute(name)
                    || self.schema.is_key_attribute(name)
            }
        }
    }

    /// Replaces the entry of one table item: removes the old entry, inserts the new.
    pub(crate) fn update(
        &mut self,
        table_schema: &KeySchema,
        table_key: &ItemKey,
        old: Option<&StoredItem>,
        new: Option<&StoredItem>,
        config: &EngineConfig,
    ) {
        let old_key = old.and_then(|o| self.entry_key(table_key, &o.item));
        let new_entry = new.and_then(|n| self.stored_entry(table_schema, table_key, n, config));
        match (old_key, new_entry) {
            (Some(o), Some((n, v))) if o == n => {
                self.entries.insert(n, v);
            }
            (old_key, new_entry) => {
                if let Some(o) = old_key {
                    self.entries.remove(&o);
                }
                if let Some((n, v)) = new_entry {
                    self.entries.insert(n, v);
                }
            }
        }
    }
}
