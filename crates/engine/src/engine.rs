//! The engine: tables by name and the single-item operations (IT-01..IT-06).

use crate::api::*;
use crate::config::EngineConfig;
use crate::error::EngineError;
use crate::expr::eval::Evaluator;
use crate::expr::projection::project;
use crate::expr::update::apply_update;
use crate::expr::{Bindings, ExprCache, ExprTexts, Prepared, prepare};
use crate::key::{AttributeDefinition, ItemKey, KeySchema, key_attributes};
use crate::size::{ITEM_BYTES_MAX, item_size};
use crate::value::{Item, validate_item};
use dynasim_core::SimTime;
use std::collections::BTreeMap;
use std::collections::btree_map;

/// One table: its key schema and its items in key order.
#[derive(Clone, Debug)]
pub struct Table {
    name: String,
    schema: KeySchema,
    attribute_definitions: Vec<AttributeDefinition>,
    created_at: SimTime,
    items: BTreeMap<ItemKey, Item>,
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
    pub fn iter(&self) -> btree_map::Iter<'_, ItemKey, Item> {
        self.items.iter()
    }
    pub fn get(&self, key: &ItemKey) -> Option<&Item> {
        self.items.get(key)
    }
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    pub fn describe(&self) -> TableDescription {
        TableDescription {
            table_name: self.name.clone(),
            key_schema: self.schema.to_elements(),
            attribute_definitions: self.attribute_definitions.clone(),
            table_status: "ACTIVE".to_string(),
            item_count: self.items.len() as u64,
        }
    }
}

/// What a successful write did to one item: the feed for streams and replication.
/// `old_image == new_image` means the write changed nothing (IT-09: no stream record).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ItemChange {
    pub table: String,
    pub key: ItemKey,
    /// The key attributes of the item (the `Keys` of a stream record).
    pub key_attrs: Item,
    pub old_image: Option<Item>,
    pub new_image: Option<Item>,
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
    config: EngineConfig,
    tables: BTreeMap<String, Table>,
    cache: ExprCache,
}

impl Default for Engine {
    fn default() -> Engine {
        Engine::new(EngineConfig::default())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReturnValues {
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
        }
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Expression parses so far (cache misses); repeated expressions do not re-parse.
    pub fn expression_parses(&self) -> u64 {
        self.cache.parses
    }

    /// Creates a table, immediately ACTIVE (the control-plane delay of CP-01 belongs to
    /// the caller, which knows time). Errors: name rules (DM-31), key schema (CP-03),
    /// ResourceInUseException for an existing name (CP-02).
    pub fn create_table(
        &mut self,
        input: CreateTableInput,
        now: SimTime,
    ) -> Result<CreateTableOutput, EngineError> {
        validate_table_name(&input.table_name)?;
        let schema = KeySchema::from_request(
            &input.key_schema,
            &input.attribute_definitions,
            self.config.reject_unused_attribute_definitions,
        )?;
        if self.tables.contains_key(&input.table_name) {
            return Err(EngineError::new(
                crate::error::ErrorKind::ResourceInUseException,
                format!("Table already exists: {}", input.table_name),
            ));
        }
        let table = Table {
            name: input.table_name.clone(),
            schema,
            attribute_definitions: input.attribute_definitions,
            created_at: now,
            items: BTreeMap::new(),
        };
        let description = table.describe();
        self.tables.insert(input.table_name, table);
        Ok(CreateTableOutput {
            table_description: description,
        })
    }

    /// Deletes a table and its items.
    pub fn delete_table(
        &mut self,
        table_name: &str,
        _now: SimTime,
    ) -> Result<TableDescription, EngineError> {
        validate_table_name(table_name)?;
        let table = self
            .tables
            .remove(table_name)
            .ok_or_else(EngineError::resource_not_found)?;
        Ok(table.describe())
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
        self.tables.get(table)?.items.get(key)
    }

    /// A table's items in storage order, for digests and convergence checks.
    pub fn iter_items(&self, table: &str) -> Option<btree_map::Iter<'_, ItemKey, Item>> {
        self.tables.get(table).map(Table::iter)
    }

    /// PutItem (IT-01, IT-05, IT-06, EX-21, DM-26).
    pub fn put_item(
        &mut self,
        input: PutItemInput,
        now: SimTime,
    ) -> Result<WriteOutcome<PutItemOutput>, EngineError> {
        let _ = now;
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
            .get_mut(&input.table_name)
            .ok_or_else(EngineError::resource_not_found)?;
        let key = ItemKey::from_item(&table.schema, &input.item)?;
        if item_size(&input.item, config) > ITEM_BYTES_MAX {
            return Err(EngineError::validation(
                "Item size has exceeded the maximum allowed size",
            ));
        }
        check_condition(
            &prepared,
            table.items.get(&key),
            &bindings,
            config,
            return_old_on_failure,
        )?;
        let key_attrs = key_attributes(&table.schema, &input.item);
        let new_image = input.item.clone();
        let old_image = table.items.insert(key.clone(), input.item);
        let attributes = match return_values {
            ReturnValues::AllOld => old_image.clone(),
            _ => None,
        };
        let change = ItemChange {
            table: input.table_name,
            key,
            key_attrs,
            old_image,
            new_image: Some(new_image),
        };
        Ok(WriteOutcome {
            output: PutItemOutput { attributes },
            change,
        })
    }

    /// GetItem (IT-02, PX-01). Reads are always of the latest state; `ConsistentRead`
    /// is accepted and makes no difference inside one replica.
    pub fn get_item(
        &mut self,
        input: &GetItemInput,
        now: SimTime,
    ) -> Result<GetItemOutput, EngineError> {
        let _ = now;
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
        let item = table.items.get(&key).map(|item| match &prepared {
            Some(p) if p.projection.is_some() => project(item, &p.projection_paths),
            _ => item.clone(),
        });
        Ok(GetItemOutput { item })
    }

    /// UpdateItem (IT-03, IT-05, UX-01..UX-11, DM-23, DM-26).
    pub fn update_item(
        &mut self,
        input: UpdateItemInput,
        now: SimTime,
    ) -> Result<WriteOutcome<UpdateItemOutput>, EngineError> {
        let _ = now;
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
            projection: None,
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
            .get_mut(&input.table_name)
            .ok_or_else(EngineError::resource_not_found)?;
        let key = ItemKey::from_key(&table.schema, &input.key)?;
        let old = table.items.get(&key);
        check_condition(&prepared, old, &bindings, config, return_old_on_failure)?;
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
        if item_size(&new_item, config) > ITEM_BYTES_MAX {
            return Err(EngineError::validation(
                "Item size to update has exceeded the maximum allowed size",
            ));
        }
        let old_image = table.items.insert(key.clone(), new_item.clone());
        let non_empty = |item: Item| (!item.is_empty()).then_some(item);
        let attributes = match return_values {
            ReturnValues::None => None,
            ReturnValues::AllOld => old_image.clone(),
            ReturnValues::AllNew => Some(new_item.clone()),
            ReturnValues::UpdatedOld => old_image
                .as_ref()
                .and_then(|old| non_empty(project(old, &touched))),
            ReturnValues::UpdatedNew => non_empty(project(&new_item, &touched)),
        };
        let key_attrs = input.key;
        let change = ItemChange {
            table: input.table_name,
            key,
            key_attrs,
            old_image,
            new_image: Some(new_item),
        };
        Ok(WriteOutcome {
            output: UpdateItemOutput { attributes },
            change,
        })
    }

    /// DeleteItem (IT-04, IT-05, IT-06): deleting a missing item is not an error.
    pub fn delete_item(
        &mut self,
        input: DeleteItemInput,
        now: SimTime,
    ) -> Result<WriteOutcome<DeleteItemOutput>, EngineError> {
        let _ = now;
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
            .get_mut(&input.table_name)
            .ok_or_else(EngineError::resource_not_found)?;
        let key = ItemKey::from_key(&table.schema, &input.key)?;
        check_condition(
            &prepared,
            table.items.get(&key),
            &bindings,
            config,
            return_old_on_failure,
        )?;
        let old_image = table.items.remove(&key);
        let attributes = match return_values {
            ReturnValues::AllOld => old_image.clone(),
            _ => None,
        };
        let change = ItemChange {
            table: input.table_name,
            key,
            key_attrs: input.key,
            old_image,
            new_image: None,
        };
        Ok(WriteOutcome {
            output: DeleteItemOutput { attributes },
            change,
        })
    }

    /// Replication's write: an unconditional put (`Some`) or delete (`None`) of a whole
    /// image under `key_attrs`, with no expressions and no capacity. The image is
    /// validated like a PutItem item and must carry the same key.
    pub fn apply_replicated(
        &mut self,
        table: &str,
        key_attrs: &Item,
        new_image: Option<Item>,
    ) -> Result<ItemChange, EngineError> {
        let config = &self.config;
        let table_ref = self
            .tables
            .get_mut(table)
            .ok_or_else(EngineError::resource_not_found)?;
        let key = ItemKey::from_key(&table_ref.schema, key_attrs)?;
        let old_image = match &new_image {
            Some(image) => {
                validate_item(image)?;
                let image_key = ItemKey::from_item(&table_ref.schema, image)?;
                if image_key != key {
                    return Err(EngineError::validation(
                        "The provided key element does not match the schema",
                    ));
                }
                if item_size(image, config) > ITEM_BYTES_MAX {
                    return Err(EngineError::validation(
                        "Item size has exceeded the maximum allowed size",
                    ));
                }
                table_ref.items.insert(key.clone(), image.clone())
            }
            None => table_ref.items.remove(&key),
        };
        Ok(ItemChange {
            table: table.to_string(),
            key,
            key_attrs: key_attrs.clone(),
            old_image,
            new_image,
        })
    }
}

/// Evaluates the request's condition against the current item (or an empty item,
/// EX-21); a failure is ConditionalCheckFailedException, with the item if asked (IT-06).
fn check_condition(
    prepared: &Prepared,
    current: Option<&Item>,
    bindings: &Bindings<'_>,
    config: &EngineConfig,
    return_old_on_failure: bool,
) -> Result<(), EngineError> {
    let Some(condition) = &prepared.condition else {
        return Ok(());
    };
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
    let mut errors = Vec::new();
    let valid_chars = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
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
