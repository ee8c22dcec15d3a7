//! The engine: tables by name and the single-item operations (IT-01..IT-06).

use crate::api::*;
use crate::capacity::{CapacityMode, ConsumedCapacity};
use crate::config::EngineConfig;
use crate::error::EngineError;
use crate::expr::eval::Evaluator;
use crate::expr::projection::project;
use crate::expr::update::apply_update;
use crate::expr::{Bindings, ExprCache, ExprTexts, Prepared, prepare};
use crate::index::{IndexKind, SecondaryIndex};
use crate::key::{AttributeDefinition, ItemKey, KeySchema, key_attributes};
use crate::keymap::KeyMap;
use crate::size::{ITEM_BYTES_MAX, item_size};
use crate::stored::{SharedItem, StoredItem};
use crate::value::{Item, validate_item};
use dynasim_core::SimTime;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// One table: its key schema and its items in key order.
#[derive(Clone, Debug)]
pub struct Table {
    pub(crate) name: String,
    pub(crate) schema: KeySchema,
    pub(crate) attribute_definitions: Vec<AttributeDefinition>,
    pub(crate) created_at: SimTime,
    /// Grouped by partition when the table has a sort key (see [`KeyMap`]).
    pub(crate) items: KeyMap,
    pub(crate) billing_mode: BillingMode,
    pub(crate) throughput: Option<ProvisionedThroughput>,
    /// Secondary indexes by name.
    pub(crate) indexes: BTreeMap<String, SecondaryIndex>,
    pub(crate) ttl: Option<TtlState>,
    /// The table's current stream (its ARN), if enabled.
    pub(crate) stream_arn: Option<String>,
    /// Bytes of each item collection (by encoded partition key), kept only with LSIs (CA-13).
    pub(crate) collection_bytes: BTreeMap<ItemKey, u64>,
    /// CP-16 decrease budgets: the table's under "", each GSI's under its name.
    pub(crate) decreases: BTreeMap<String, crate::decrease::DecreaseBudget>,
    /// Sum of item sizes.
    pub(crate) size_bytes: u64,
    /// Base changes the GSIs have not received yet, oldest first, when GSI propagation
    /// is asynchronous ([`EngineConfig::gsi_propagation_us`], RC-08).
    pub(crate) gsi_backlog: VecDeque<PendingIndexUpdate>,
}

/// A base-table change on its way to the table's GSIs (RC-08): applied to every GSI
/// once the table is read at or after `due_us`, in write order.
#[derive(Clone, Debug)]
pub(crate) struct PendingIndexUpdate {
    due_us: u64,
    key: ItemKey,
    old: Option<StoredItem>,
    new: Option<StoredItem>,
}

/// Billing mode (CP-04).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BillingMode {
    Provisioned,
    PayPerRequest,
}

impl BillingMode {
    pub fn name(self) -> &'static str {
        match self {
            BillingMode::Provisioned => "PROVISIONED",
            BillingMode::PayPerRequest => "PAY_PER_REQUEST",
        }
    }
}

/// A table's TTL setting (TTL-01..TTL-03).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TtlState {
    pub attribute_name: String,
    pub enabled: bool,
    /// When it was last enabled or disabled (one change per hour, TTL-01).
    pub changed_at: SimTime,
    /// This table's sweep delay and jitter, overriding the engine's (TTL-08).
    pub delete_delay_us: Option<u64>,
    pub delete_jitter_us: Option<u64>,
}

impl Table {
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn schema(&self) -> &KeySchema {
        &self.schema
    }
    pub fn attribute_definitions(&self) -> &[AttributeDefinition] {
        &self.attribute_definitions
    }
    pub fn created_at(&self) -> SimTime {
        self.created_at
    }
    /// Items in storage order (partition key, then sort key; DM-24).
    pub fn iter(
        &self,
    ) -> impl DoubleEndedIterator<Item = (&ItemKey, &Item)> + ExactSizeIterator + '_ {
        self.items.iter().map(|(key, stored)| (key, &*stored.item))
    }
    pub fn get(&self, key: &ItemKey) -> Option<&Item> {
        self.items.get(key).map(|stored| &*stored.item)
    }
    /// The stored item itself, to keep without copying it.
    pub fn get_shared(&self, key: &ItemKey) -> Option<&SharedItem> {
        self.items.get(key).map(|stored| &stored.item)
    }
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    /// The table's secondary indexes by name.
    pub fn indexes(&self) -> &BTreeMap<String, SecondaryIndex> {
        &self.indexes
    }
    pub fn index(&self, name: &str) -> Option<&SecondaryIndex> {
        self.indexes.get(name)
    }
    pub fn billing_mode(&self) -> BillingMode {
        self.billing_mode
    }
    pub fn ttl(&self) -> Option<&TtlState> {
        self.ttl.as_ref()
    }
    pub fn stream_arn(&self) -> Option<&str> {
        self.stream_arn.as_deref()
    }
    /// Sum of the stored items' sizes.
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }
    /// Item collection size of the partition holding `key` (tracked only with LSIs).
    pub fn collection_bytes(&self, key: &ItemKey) -> u64 {
        self.collection_bytes
            .get(&self.partition_of(key))
            .copied()
            .unwrap_or(0)
    }

    /// The encoded partition key prefix of a table key.
    pub(crate) fn partition_of(&self, key: &ItemKey) -> ItemKey {
        let bytes = key.as_bytes();
        let len = crate::key::component_len(bytes, self.schema.hash.attribute_type);
        ItemKey::from_encoded(&bytes[..len])
    }

    /// Rejects a write whose new image breaks an index key rule or the LSI item
    /// collection limit (CA-13); nothing is changed.
    pub(crate) fn check_write(
        &self,
        key: &ItemKey,
        new_image: &Item,
        config: &EngineConfig,
    ) -> Result<(), EngineError> {
        for index in self.indexes.values() {
            index.check_item(new_image)?;
        }
        if self.has_lsi() {
            let old = self.items.get(key);
            let before = self.collection_bytes(key);
            let old_bytes = old.map_or(0, |o| self.collection_footprint(&o.item, config));
            let after = before - old_bytes + self.collection_footprint(new_image, config);
            if after > config.item_collection_bytes_max && after > before {
                return Err(EngineError::new(
                    crate::error::ErrorKind::ItemCollectionSizeLimitExceededException,
                    "Item collection size limit exceeded",
                ));
            }
        }
        Ok(())
    }

    fn has_lsi(&self) -> bool {
        self.indexes.values().any(|i| i.kind == IndexKind::Local)
    }

    /// Bytes an item adds to its item collection: the item plus its LSI entries.
    fn collection_footprint(&self, item: &Item, config: &EngineConfig) -> u64 {
        let mut bytes = item_size(item, config) as u64;
        for index in self.indexes.values().filter(|i| i.kind == IndexKind::Local) {
            if index
                .schema
                .attributes()
                .all(|k| item.contains_key(&k.name))
            {
                bytes += item_size(&index.project(&self.schema, item), config) as u64;
            }
        }
        bytes
    }

    /// The one place items change: keeps indexes, sizes and collections in step.
    /// Returns the item it replaced or removed. `now_us` is the write's time: with
    /// asynchronous GSI propagation the GSIs receive the change
    /// `config.gsi_propagation_us` after it (LSIs and the table at once).
    pub(crate) fn store(
        &mut self,
        key: &ItemKey,
        new_image: Option<StoredItem>,
        config: &EngineConfig,
        now_us: u64,
    ) -> Option<StoredItem> {
        // A clone of the new item (an `Arc`) for the indexes, rather than a second
        // search of the table for the one just inserted.
        let old = match &new_image {
            Some(item) => self.items.insert(key.clone(), item.clone()),
            None => self.items.remove(key),
        };
        let new_image = new_image.as_ref();
        let schema = &self.schema;
        let lag_us = config.gsi_propagation_us;
        let mut held = false;
        for index in self.indexes.values_mut() {
            if lag_us > 0 && index.kind == IndexKind::Global {
                held = true;
                continue;
            }
            index.update(schema, key, old.as_ref(), new_image, config);
        }
        if held {
            self.hold_for_gsis(
                key,
                old.clone(),
                new_image.cloned(),
                now_us.saturating_add(lag_us),
                config,
            );
        }
        let old_size = old.as_ref().map_or(0, |o| o.size_bytes as u64);
        let new_size = new_image.map_or(0, |n| n.size_bytes as u64);
        self.size_bytes = self.size_bytes + new_size - old_size;
        if self.has_lsi() {
            let old_fp = old
                .as_ref()
                .map_or(0, |o| self.collection_footprint(&o.item, config));
            let new_fp = new_image.map_or(0, |n| self.collection_footprint(&n.item, config));
            let partition = self.partition_of(key);
            let entry = self.collection_bytes.entry(partition.clone()).or_insert(0);
            *entry = *entry + new_fp - old_fp;
            if *entry == 0 {
                self.collection_bytes.remove(&partition);
            }
        }
        old
    }

    /// Queue a change for the GSIs, due at `due_us` but never before the changes queued
    /// ahead of it (each item's index entries change in write order).
    fn hold_for_gsis(
        &mut self,
        key: &ItemKey,
        old: Option<StoredItem>,
        new: Option<StoredItem>,
        due_us: u64,
        config: &EngineConfig,
    ) {
        let due_us = self
            .gsi_backlog
            .back()
            .map_or(due_us, |last| last.due_us.max(due_us));
        self.gsi_backlog.push_back(PendingIndexUpdate {
            due_us,
            key: key.clone(),
            old,
            new,
        });
        // Past the bound the oldest changes reach the GSIs early, so a write burst
        // longer than the delay cannot grow memory without bound: propagation then runs
        // ahead of its delay, never behind it.
        while self.gsi_backlog.len() > config.gsi_backlog_max.max(1) {
            self.apply_oldest_to_gsis(config);
        }
    }

    /// Apply to the GSIs every held change due by `now_us` (RC-08); `u64::MAX` applies
    /// them all.
    pub(crate) fn propagate_to_gsis(&mut self, now_us: u64, config: &EngineConfig) {
        while self
            .gsi_backlog
            .front()
            .is_some_and(|pending| pending.due_us <= now_us)
        {
            self.apply_oldest_to_gsis(config);
        }
    }

    /// Apply the oldest held change (if any) to every GSI.
    fn apply_oldest_to_gsis(&mut self, config: &EngineConfig) {
        let Some(pending) = self.gsi_backlog.pop_front() else {
            return;
        };
        let schema = &self.schema;
        for index in self
            .indexes
            .values_mut()
            .filter(|i| i.kind == IndexKind::Global)
        {
            index.update(
                schema,
                &pending.key,
                pending.old.as_ref(),
                pending.new.as_ref(),
                config,
            );
        }
    }

    /// Base changes not yet applied to the GSIs (RC-08).
    pub fn gsi_backlog_len(&self) -> usize {
        self.gsi_backlog.len()
    }
}

/// What a successful write did to one item: the feed for streams and replication.
/// `old_image == new_image` means the write changed nothing (IT-09: no stream record).
/// The images are the stored items themselves (shared, not copies).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ItemChange {
    pub table: String,
    pub key: ItemKey,
    /// The key attributes of the item (the `Keys` of a stream record).
    pub key_attrs: Item,
    pub old_image: Option<SharedItem>,
    pub new_image: Option<SharedItem>,
}

impl ItemChange {
    /// True when the write left the item as it was (IT-09).
    pub fn is_noop(&self) -> bool {
        self.old_image == self.new_image
    }
}

/// A successful write: the DynamoDB response and the change it made.
#[derive(Clone, Debug, PartialEq)]
pub struct WriteOutcome<O> {
    pub output: O,
    pub change: ItemChange,
}

/// A region's tables. Sans-IO: time comes in as an argument, nothing else is read.
/// `Clone` gives a snapshot (e.g. a replica's durable state across a simulated crash).
#[derive(Clone, Debug)]
pub struct Engine {
    pub(crate) config: EngineConfig,
    pub(crate) tables: BTreeMap<String, Table>,
    pub(crate) cache: ExprCache,
    /// Streams by ARN, including disabled ones still inside retention (ST-11).
    pub(crate) streams: BTreeMap<String, crate::stream::Stream>,
    /// Last stream sequence number handed out (ST-02).
    pub(crate) sequence: u128,
    pub(crate) shard_counter: u64,
    /// The latest time any call passed in (replicated writes carry no time).
    pub(crate) now_max: SimTime,
    /// TransactWriteItems ClientRequestTokens (TX-04).
    pub(crate) tokens: BTreeMap<String, crate::transact::TokenEntry>,
}

impl Default for Engine {
    fn default() -> Engine {
        Engine::new(EngineConfig::default())
    }
}

/// A write that passed every check and is ready to apply.
#[derive(Clone, Debug)]
pub(crate) struct Planned {
    pub(crate) table: String,
    pub(crate) key: ItemKey,
    pub(crate) key_attrs: Item,
    /// The item to store, sized by the checks.
    pub(crate) new_image: Option<StoredItem>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReturnValues {
    None,
    AllOld,
    UpdatedOld,
    AllNew,
    UpdatedNew,
}

impl Engine {
    pub fn new(config: EngineConfig) -> Engine {
        let cache = ExprCache::new(config.expression_cache_entries_max);
        Engine {
            config,
            tables: BTreeMap::new(),
            cache,
            streams: BTreeMap::new(),
            sequence: 0,
            shard_counter: 0,
            now_max: SimTime::ZERO,
            tokens: BTreeMap::new(),
        }
    }

    /// Remembers the latest time seen.
    pub(crate) fn observe(&mut self, now: SimTime) {
        self.now_max = self.now_max.max(now);
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Expression parses so far (cache misses); repeated expressions do not re-parse.
    pub fn expression_parses(&self) -> u64 {
        self.cache.parses
    }

    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.get(name)
    }

    /// Table names in order.
    pub fn table_names(&self) -> impl Iterator<Item = &str> {
        self.tables.keys().map(String::as_str)
    }

    /// The stored item under `key`, without any request processing.
    pub fn get_raw(&self, table: &str, key: &ItemKey) -> Option<&Item> {
        self.tables.get(table)?.get(key)
    }

    /// [`Engine::get_raw`] as the stored `Arc`, for a caller that keeps the item.
    pub fn get_shared(&self, table: &str, key: &ItemKey) -> Option<&SharedItem> {
        self.tables.get(table)?.get_shared(key)
    }

    /// Write units a change costs each global secondary index of `table` that it touches
    /// (CA-06: a moved index entry is a delete plus a put), by index name. Callers that
    /// meter index capacity use this for writes they did not make through a request
    /// (replicated applies); requests report it as ConsumedCapacity INDEXES.
    pub fn gsi_write_units(&self, table: &str, change: &ItemChange) -> Vec<(String, f64)> {
        let Some(t) = self.tables.get(table) else {
            return Vec::new();
        };
        if t.indexes.values().all(|i| i.kind != IndexKind::Global) {
            return Vec::new();
        }
        let (_, indexes) = crate::capacity::change_units(t, change, &self.config);
        indexes
            .into_iter()
            .filter(|(_, (kind, _))| *kind == IndexKind::Global)
            .map(|(name, (_, units))| (name, units))
            .collect()
    }

    /// A table's items in storage order, for digests and convergence checks.
    pub fn iter_items(
        &self,
        table: &str,
    ) -> Option<impl DoubleEndedIterator<Item = (&ItemKey, &Item)> + ExactSizeIterator + '_> {
        self.tables.get(table).map(Table::iter)
    }

    /// PutItem (IT-01, IT-05, IT-06, EX-21, DM-26).
    pub fn put_item(
        &mut self,
        input: PutItemInput,
        now: SimTime,
    ) -> Result<WriteOutcome<PutItemOutput>, EngineError> {
        self.observe(now);
        let mode = CapacityMode::parse(input.return_consumed_capacity.as_deref())?;
        let (planned, return_values) = self.plan_put(input)?;
        let (change, consumed_capacity) = self.apply_planned(planned, now, mode, 1.0);
        let attributes = match return_values {
            ReturnValues::AllOld => change.old_image.clone(),
            _ => None,
        };
        Ok(WriteOutcome {
            output: PutItemOutput {
                attributes,
                consumed_capacity,
            },
            change,
        })
    }

    /// Every check of a PutItem, changing nothing: the write to make.
    pub(crate) fn plan_put(
        &mut self,
        input: PutItemInput,
    ) -> Result<(Planned, ReturnValues), EngineError> {
        validate_table_name(&input.table_name)?;
        reject_legacy(
            &[
                ("Expected", input.expected.is_some()),
                ("ConditionalOperator", input.conditional_operator.is_some()),
            ],
            &[("ConditionExpression", input.condition_expression.is_some())],
        )?;
        let return_values = parse_return_values(
            input.return_values.as_deref(),
            &[ReturnValues::None, ReturnValues::AllOld],
        )?;
        let return_old_on_failure =
            parse_return_on_failure(input.return_values_on_condition_check_failure.as_deref())?;
        check_return_consumed_capacity(input.return_consumed_capacity.as_deref())?;
        validate_item(&input.item)?;
        let bindings = Bindings {
            names: input.expression_attribute_names.as_ref(),
            values: input.expression_attribute_values.as_ref(),
        };
        let texts = ExprTexts {
            condition: input.condition_expression.as_deref(),
            ..ExprTexts::default()
        };
        let prepared = prepare(
            &mut self.cache,
            texts,
            bindings,
            self.config.update_arithmetic_chain,
        )?;
        let config = &self.config;
        let table = self
            .tables
            .get(&input.table_name)
            .ok_or_else(EngineError::resource_not_found)?;
        let key = ItemKey::from_item(&table.schema, &input.item)?;
        let size_bytes = item_size(&input.item, config);
        if size_bytes > ITEM_BYTES_MAX {
            return Err(EngineError::validation(
                "Item size has exceeded the maximum allowed size",
            ));
        }
        check_condition(
            &prepared,
            || table.get(&key),
            &bindings,
            config,
            return_old_on_failure,
        )?;
        table.check_write(&key, &input.item, config)?;
        let planned = Planned {
            key_attrs: key_attributes(&table.schema, &input.item),
            table: input.table_name,
            key,
            new_image: Some(StoredItem::with_size(Arc::new(input.item), size_bytes)),
        };
        Ok((planned, return_values))
    }

    /// Makes a planned write: storage, indexes, stream; returns the change and its
    /// capacity report (`factor` 2 for transactions, TX-05).
    pub(crate) fn apply_planned(
        &mut self,
        planned: Planned,
        now: SimTime,
        mode: CapacityMode,
        factor: f64,
    ) -> (ItemChange, Option<ConsumedCapacity>) {
        let config = &self.config;
        let table = self
            .tables
            .get_mut(&planned.table)
            .expect("a planned write names an existing table");
        let new_image = planned.new_image.as_ref().map(|n| Arc::clone(&n.item));
        let old_image = table.store(&planned.key, planned.new_image, config, now.0);
        let change = ItemChange {
            table: planned.table,
            key: planned.key,
            key_attrs: planned.key_attrs,
            old_image: old_image.map(|o| o.item),
            new_image,
        };
        let consumed = match mode {
            CapacityMode::None => None,
            _ => {
                let (units, indexes) = crate::capacity::change_units(table, &change, config);
                mode.write(&change.table, units, &indexes, factor)
            }
        };
        self.record_change(&change, now, false);
        (change, consumed)
    }

    /// GetItem (IT-02, PX-01). Reads are always of the latest state; `ConsistentRead`
    /// is accepted and makes no difference inside one replica.
    pub fn get_item(
        &mut self,
        input: &GetItemInput,
        now: SimTime,
    ) -> Result<GetItemOutput, EngineError> {
        self.observe(now);
        validate_table_name(&input.table_name)?;
        reject_legacy(
            &[("AttributesToGet", input.attributes_to_get.is_some())],
            &[(
                "ProjectionExpression",
                input.projection_expression.is_some(),
            )],
        )?;
        check_return_consumed_capacity(input.return_consumed_capacity.as_deref())?;
        let bindings = Bindings {
            names: input.expression_attribute_names.as_ref(),
            values: None,
        };
        let prepared = if input.projection_expression.is_some() || bindings.names.is_some() {
            let texts = ExprTexts {
                projection: input.projection_expression.as_deref(),
                ..ExprTexts::default()
            };
            Some(prepare(
                &mut self.cache,
                texts,
                bindings,
                self.config.update_arithmetic_chain,
            )?)
        } else {
            None
        };
        let table = self
            .tables
            .get(&input.table_name)
            .ok_or_else(EngineError::resource_not_found)?;
        let key = ItemKey::from_key(&table.schema, &input.key)?;
        let stored = table.items.get(&key);
        let item = stored.map(|stored| match &prepared {
            Some(p) if p.projection.is_some() => {
                Arc::new(project(&stored.item, &p.projection_paths))
            }
            _ => Arc::clone(&stored.item),
        });
        // CA-07: a missing item still costs the minimum.
        let bytes = stored.map_or(0, |s| s.size_bytes);
        let units = crate::capacity::read_units(bytes, input.consistent_read.unwrap_or(false));
        let consumed_capacity = CapacityMode::parse(input.return_consumed_capacity.as_deref())?
            .read(table, None, units);
        Ok(GetItemOutput {
            item,
            consumed_capacity,
        })
    }

    /// UpdateItem (IT-03, IT-05, UX-01..UX-11, DM-23, DM-26).
    pub fn update_item(
        &mut self,
        input: UpdateItemInput,
        now: SimTime,
    ) -> Result<WriteOutcome<UpdateItemOutput>, EngineError> {
        self.observe(now);
        let mode = CapacityMode::parse(input.return_consumed_capacity.as_deref())?;
        let (planned, return_values, touched) = self.plan_update(&input)?;
        let (change, consumed_capacity) = self.apply_planned(planned, now, mode, 1.0);
        let new_item = change.new_image.as_ref().expect("an update writes an item");
        let non_empty = |item: Item| (!item.is_empty()).then(|| Arc::new(item));
        let attributes = match return_values {
            ReturnValues::None => None,
            ReturnValues::AllOld => change.old_image.clone(),
            ReturnValues::AllNew => Some(Arc::clone(new_item)),
            ReturnValues::UpdatedOld => change
                .old_image
                .as_ref()
                .and_then(|old| non_empty(project(old, &touched))),
            ReturnValues::UpdatedNew => non_empty(project(new_item, &touched)),
        };
        Ok(WriteOutcome {
            output: UpdateItemOutput {
                attributes,
                consumed_capacity,
            },
            change,
        })
    }

    /// Every check of an UpdateItem, changing nothing: the write to make, the
    /// ReturnValues choice and the paths the update touched.
    #[allow(clippy::type_complexity)]
    pub(crate) fn plan_update(
        &mut self,
        input: &UpdateItemInput,
    ) -> Result<(Planned, ReturnValues, Vec<crate::expr::ast::ResolvedPath>), EngineError> {
        validate_table_name(&input.table_name)?;
        reject_legacy(
            &[
                ("AttributeUpdates", input.attribute_updates.is_some()),
                ("Expected", input.expected.is_some()),
                ("ConditionalOperator", input.conditional_operator.is_some()),
            ],
            &[
                ("UpdateExpression", input.update_expression.is_some()),
                ("ConditionExpression", input.condition_expression.is_some()),
            ],
        )?;
        let return_values = parse_return_values(
            input.return_values.as_deref(),
            &[
                ReturnValues::None,
                ReturnValues::AllOld,
                ReturnValues::UpdatedOld,
                ReturnValues::AllNew,
                ReturnValues::UpdatedNew,
            ],
        )?;
        let return_old_on_failure =
            parse_return_on_failure(input.return_values_on_condition_check_failure.as_deref())?;
        check_return_consumed_capacity(input.return_consumed_capacity.as_deref())?;
        let bindings = Bindings {
            names: input.expression_attribute_names.as_ref(),
            values: input.expression_attribute_values.as_ref(),
        };
        let texts = ExprTexts {
            condition: input.condition_expression.as_deref(),
            update: input.update_expression.as_deref(),
            ..ExprTexts::default()
        };
        let prepared = prepare(
            &mut self.cache,
            texts,
            bindings,
            self.config.update_arithmetic_chain,
        )?;
        let config = &self.config;
        let table = self
            .tables
            .get(&input.table_name)
            .ok_or_else(EngineError::resource_not_found)?;
        let key = ItemKey::from_key(&table.schema, &input.key)?;
        let old = table.get(&key);
        check_condition(&prepared, || old, &bindings, config, return_old_on_failure)?;
        let mut new_item = old.cloned().unwrap_or_else(|| input.key.clone());
        let touched = match &prepared.update {
            Some(update) => {
                if !config.nested_add_delete {
                    reject_nested_add_delete(update)?;
                }
                apply_update(update, &mut new_item, &bindings, &table.schema)?
            }
            None => Vec::new(),
        };
        validate_item(&new_item)?;
        let size_bytes = item_size(&new_item, config);
        if size_bytes > ITEM_BYTES_MAX {
            return Err(EngineError::validation(
                "Item size to update has exceeded the maximum allowed size",
            ));
        }
        table.check_write(&key, &new_item, config)?;
        let planned = Planned {
            table: input.table_name.clone(),
            key,
            key_attrs: input.key.clone(),
            new_image: Some(StoredItem::with_size(Arc::new(new_item), size_bytes)),
        };
        Ok((planned, return_values, touched))
    }

    /// DeleteItem (IT-04, IT-05, IT-06): deleting a missing item is not an error.
    pub fn delete_item(
        &mut self,
        input: DeleteItemInput,
        now: SimTime,
    ) -> Result<WriteOutcome<DeleteItemOutput>, EngineError> {
        self.observe(now);
        let mode = CapacityMode::parse(input.return_consumed_capacity.as_deref())?;
        let (planned, return_values) = self.plan_delete(&input)?;
        let (change, consumed_capacity) = self.apply_planned(planned, now, mode, 1.0);
        let attributes = match return_values {
            ReturnValues::AllOld => change.old_image.clone(),
            _ => None,
        };
        Ok(WriteOutcome {
            output: DeleteItemOutput {
                attributes,
                consumed_capacity,
            },
            change,
        })
    }

    /// Every check of a DeleteItem, changing nothing.
    pub(crate) fn plan_delete(
        &mut self,
        input: &DeleteItemInput,
    ) -> Result<(Planned, ReturnValues), EngineError> {
        validate_table_name(&input.table_name)?;
        reject_legacy(
            &[
                ("Expected", input.expected.is_some()),
                ("ConditionalOperator", input.conditional_operator.is_some()),
            ],
            &[("ConditionExpression", input.condition_expression.is_some())],
        )?;
        let return_values = parse_return_values(
            input.return_values.as_deref(),
            &[ReturnValues::None, ReturnValues::AllOld],
        )?;
        let return_old_on_failure =
            parse_return_on_failure(input.return_values_on_condition_check_failure.as_deref())?;
        check_return_consumed_capacity(input.return_consumed_capacity.as_deref())?;
        let bindings = Bindings {
            names: input.expression_attribute_names.as_ref(),
            values: input.expression_attribute_values.as_ref(),
        };
        let texts = ExprTexts {
            condition: input.condition_expression.as_deref(),
            ..ExprTexts::default()
        };
        let prepared = prepare(
            &mut self.cache,
            texts,
            bindings,
            self.config.update_arithmetic_chain,
        )?;
        let config = &self.config;
        let table = self
            .tables
            .get(&input.table_name)
            .ok_or_else(EngineError::resource_not_found)?;
        let key = ItemKey::from_key(&table.schema, &input.key)?;
        check_condition(
            &prepared,
            || table.get(&key),
            &bindings,
            config,
            return_old_on_failure,
        )?;
        let planned = Planned {
            table: input.table_name.clone(),
            key,
            key_attrs: input.key.clone(),
            new_image: None,
        };
        Ok((planned, return_values))
    }

    /// Replication's write: an unconditional put (`Some`) or delete (`None`) of a whole
    /// image under `key_attrs`, with no expressions and no capacity. The image is
    /// validated like a PutItem item and must carry the same key. Indexes are
    /// maintained and the change is streamed, stamped with the latest time seen.
    pub fn apply_replicated(
        &mut self,
        table: &str,
        key_attrs: &Item,
        new_image: Option<SharedItem>,
    ) -> Result<ItemChange, EngineError> {
        let now = self.now_max;
        self.apply_replicated_at(table, key_attrs, new_image, now)
    }

    /// [`Engine::apply_replicated`] with the time of the write, for the stream record's
    /// ApproximateCreationDateTime and shard rollover.
    pub fn apply_replicated_at(
        &mut self,
        table: &str,
        key_attrs: &Item,
        new_image: Option<SharedItem>,
        now: SimTime,
    ) -> Result<ItemChange, EngineError> {
        self.observe(now);
        let config = &self.config;
        let table_ref = self
            .tables
            .get_mut(table)
            .ok_or_else(EngineError::resource_not_found)?;
        let key = ItemKey::from_key(&table_ref.schema, key_attrs)?;
        let stored = match &new_image {
            Some(image) => Some(table_ref.check_replicated(&key, image, config)?),
            None => None,
        };
        let old_image = table_ref.store(&key, stored, config, now.0);
        let change = ItemChange {
            table: table.to_string(),
            key,
            key_attrs: key_attrs.clone(),
            old_image: old_image.map(|o| o.item),
            new_image,
        };
        self.record_change(&change, now, false);
        Ok(change)
    }

    /// [`Engine::apply_replicated`] for a caller that does not need the [`ItemChange`]
    /// back: the same checks, storage, indexes and stream record, but the change is only
    /// built when the table has a stream to record it in. The engine keeps `new_image`
    /// itself, so a host holding the same `Arc` shares the one copy.
    pub fn apply_replicated_image(
        &mut self,
        table: &str,
        key_attrs: &Item,
        new_image: Option<SharedItem>,
    ) -> Result<Option<SharedItem>, EngineError> {
        let table_ref = self
            .tables
            .get(table)
            .ok_or_else(EngineError::resource_not_found)?;
        let key = ItemKey::from_key(&table_ref.schema, key_attrs)?;
        let stored = match &new_image {
            Some(image) => Some(table_ref.check_replicated(&key, image, &self.config)?),
            None => None,
        };
        self.store_replicated(table, key, key_attrs, new_image, stored)
    }

    /// [`Engine::apply_replicated_image`] for an image another replica of the same
    /// global table validated when it was written (one key schema and one set of
    /// indexes across replicas, GT-06), under its encoded `key`: the checks are not
    /// repeated, since a simulation applies every write once per receiving region.
    /// Debug builds still assert them. `image_bytes` is the image's [`item_size`] (the
    /// caller sized it already, for capacity; 0 without an image).
    pub fn apply_validated_image(
        &mut self,
        table: &str,
        key: ItemKey,
        key_attrs: &Item,
        new_image: Option<SharedItem>,
        image_bytes: usize,
    ) -> Result<Option<SharedItem>, EngineError> {
        let config = &self.config;
        let table_ref = self
            .tables
            .get(table)
            .ok_or_else(EngineError::resource_not_found)?;
        debug_assert!(
            ItemKey::from_key(&table_ref.schema, key_attrs).is_ok_and(|k| k == key),
            "the encoded key is the key attributes'"
        );
        let stored = new_image.as_ref().map(|image| {
            debug_assert!(
                table_ref.check_replicated(&key, image, config).is_ok(),
                "a validated image passes the replicated-write checks"
            );
            debug_assert_eq!(image_bytes, item_size(image, config), "the caller sized it");
            StoredItem::with_size(Arc::clone(image), image_bytes)
        });
        self.store_replicated(table, key, key_attrs, new_image, stored)
    }

    /// Stores a replicated image (`stored` is it, sized) and records its stream change.
    fn store_replicated(
        &mut self,
        table: &str,
        key: ItemKey,
        key_attrs: &Item,
        new_image: Option<SharedItem>,
        stored: Option<StoredItem>,
    ) -> Result<Option<SharedItem>, EngineError> {
        let now = self.now_max;
        let config = &self.config;
        let table_ref = self
            .tables
            .get_mut(table)
            .ok_or_else(EngineError::resource_not_found)?;
        let old_image = table_ref.store(&key, stored, config, now.0).map(|o| o.item);
        if table_ref.stream_arn.is_none() {
            return Ok(old_image);
        }
        let change = ItemChange {
            table: table.to_string(),
            key,
            key_attrs: key_attrs.clone(),
            old_image,
            new_image,
        };
        self.record_change(&change, now, false);
        Ok(change.old_image)
    }
}

impl Table {
    /// The checks a replicated image passes before it is stored: valid like a PutItem
    /// item, carrying `key`, within the size limit and the index rules. Returns the
    /// image ready to store, sized.
    fn check_replicated(
        &self,
        key: &ItemKey,
        image: &SharedItem,
        config: &EngineConfig,
    ) -> Result<StoredItem, EngineError> {
        validate_item(image)?;
        let image_key = ItemKey::from_item(&self.schema, image)?;
        if image_key != *key {
            return Err(EngineError::validation(
                "The provided key element does not match the schema",
            ));
        }
        let size_bytes = item_size(image, config);
        if size_bytes > ITEM_BYTES_MAX {
            return Err(EngineError::validation(
                "Item size has exceeded the maximum allowed size",
            ));
        }
        self.check_write(key, image, config)?;
        Ok(StoredItem::with_size(Arc::clone(image), size_bytes))
    }
}

/// Evaluates the request's condition against the current item (or an empty item,
/// EX-21); a failure is ConditionalCheckFailedException, with the item if asked (IT-06).
/// The current item is looked up only when there is a condition: an unconditional
/// write should not pay a search of the table before the one that stores it.
fn check_condition<'a>(
    prepared: &Prepared,
    current: impl FnOnce() -> Option<&'a Item>,
    bindings: &Bindings<'_>,
    config: &EngineConfig,
    return_old_on_failure: bool,
) -> Result<(), EngineError> {
    let Some(condition) = &prepared.condition else {
        return Ok(());
    };
    let current = current();
    let empty = Item::new();
    let evaluator = Evaluator {
        item: current.unwrap_or(&empty),
        bindings,
        config,
    };
    if evaluator.condition(condition) {
        return Ok(());
    }
    let item = if return_old_on_failure {
        current.cloned()
    } else {
        None
    };
    Err(EngineError::conditional_check_failed(item))
}

fn reject_nested_add_delete(update: &crate::expr::ast::Update) -> Result<(), EngineError> {
    use crate::expr::ast::UpdateAction;
    for action in &update.actions {
        if let UpdateAction::Add(p, _) | UpdateAction::Delete(p, _) = action
            && p.0.len() > 1
        {
            return Err(EngineError::validation(
                "Invalid UpdateExpression: ADD and DELETE actions are only supported on top-level attributes",
            ));
        }
    }
    Ok(())
}

const RETURN_VALUES_ENUM: &str = "[ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]";

fn parse_return_values(
    value: Option<&str>,
    allowed: &[ReturnValues],
) -> Result<ReturnValues, EngineError> {
    let Some(text) = value else {
        return Ok(ReturnValues::None);
    };
    let parsed = match text {
        "NONE" => ReturnValues::None,
        "ALL_OLD" => ReturnValues::AllOld,
        "UPDATED_OLD" => ReturnValues::UpdatedOld,
        "ALL_NEW" => ReturnValues::AllNew,
        "UPDATED_NEW" => ReturnValues::UpdatedNew,
        _ => {
            return Err(EngineError::validation(format!(
                "1 validation error detected: Value '{text}' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: {RETURN_VALUES_ENUM}"
            )));
        }
    };
    if !allowed.contains(&parsed) {
        return Err(EngineError::validation(
            "Return values set to invalid value",
        ));
    }
    Ok(parsed)
}

/// ReturnConsumedCapacity is accepted (IT-07) but capacity is not modelled yet; a
/// value outside the enum is DynamoDB's ValidationException.
fn check_return_consumed_capacity(value: Option<&str>) -> Result<(), EngineError> {
    match value {
        None | Some("INDEXES" | "TOTAL" | "NONE") => Ok(()),
        Some(other) => Err(EngineError::validation(format!(
            "1 validation error detected: Value '{other}' at 'returnConsumedCapacity' failed to satisfy constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]"
        ))),
    }
}

fn parse_return_on_failure(value: Option<&str>) -> Result<bool, EngineError> {
    match value {
        None | Some("NONE") => Ok(false),
        Some("ALL_OLD") => Ok(true),
        Some(other) => Err(EngineError::validation(format!(
            "1 validation error detected: Value '{other}' at 'returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]"
        ))),
    }
}

/// IT-10: legacy parameters are not supported; mixed with expressions they get
/// DynamoDB's message.
fn reject_legacy(legacy: &[(&str, bool)], expressions: &[(&str, bool)]) -> Result<(), EngineError> {
    let legacy: Vec<&str> = legacy
        .iter()
        .filter(|(_, present)| *present)
        .map(|(n, _)| *n)
        .collect();
    if legacy.is_empty() {
        return Ok(());
    }
    let expressions: Vec<&str> = expressions
        .iter()
        .filter(|(_, present)| *present)
        .map(|(n, _)| *n)
        .collect();
    if !expressions.is_empty() {
        return Err(EngineError::validation(format!(
            "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {{{}}} Expression parameters: {{{}}}",
            legacy.join(", "),
            expressions.join(", ")
        )));
    }
    Err(EngineError::validation(format!(
        "dynasim does not support the legacy parameters {{{}}}; use expression parameters instead",
        legacy.join(", ")
    )))
}

/// Table names: 3 to 255 characters of `[a-zA-Z0-9_.-]` (DM-31, WP-07 message form).
pub fn validate_table_name(name: &str) -> Result<(), EngineError> {
    let valid_chars = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    // Every request names a table: the common valid name returns before any counting
    // (valid characters are ASCII, so its byte length is its length in characters).
    if valid_chars && (3..=255).contains(&name.len()) {
        return Ok(());
    }
    let mut errors = Vec::new();
    if !valid_chars {
        errors.push(format!(
            "Value '{name}' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
        ));
    }
    if name.chars().count() < 3 {
        errors.push(format!(
            "Value '{name}' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3"
        ));
    }
    if name.chars().count() > 255 {
        errors.push(format!(
            "Value '{name}' at 'tableName' failed to satisfy constraint: Member must have length less than or equal to 255"
        ));
    }
    match errors.len() {
        0 => Ok(()),
        1 => Err(EngineError::validation(format!(
            "1 validation error detected: {}",
            errors[0]
        ))),
        n => Err(EngineError::validation(format!(
            "{n} validation errors detected: {}",
            errors.join("; ")
        ))),
    }
}
