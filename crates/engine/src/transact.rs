//! BatchGetItem, BatchWriteItem (BA-01..BA-07), TransactWriteItems and TransactGetItems
//! (TX-01..TX-10). Every write of a batch or transaction is checked before any is made;
//! the changes come back so replication can ship them.

use crate::api::{
    AttributeNames, AttributeValues, DeleteItemInput, GetItemInput, PutItemInput, UpdateItemInput,
};
use crate::capacity::{CapacityMode, ConsumedCapacity, read_units};
use crate::engine::{Engine, ItemChange, Planned};
use crate::error::{CancellationReason, EngineError, ErrorKind};
use crate::expr::{Bindings, ExprTexts, prepare};
use crate::key::ItemKey;
use crate::size::item_size;
use crate::stored::SharedItem;
use crate::value::{Item, validate_item};
use dynasim_core::SimTime;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Most keys in one BatchGetItem (BA-01).
pub const BATCH_GET_KEYS_MAX: usize = 100;
/// Most requests in one BatchWriteItem (BA-04).
pub const BATCH_WRITE_REQUESTS_MAX: usize = 25;
/// Most bytes a batch returns or writes (BA-01, BA-04).
pub const BATCH_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Most actions in one transaction (TX-01, TX-02).
pub const TRANSACT_ITEMS_MAX: usize = 100;
/// Most bytes of one transaction (TX-01).
pub const TRANSACT_BYTES_MAX: usize = 4 * 1024 * 1024;

/// A remembered ClientRequestToken (TX-04): the request's fingerprint and when it finished.
#[derive(Clone, Debug)]
pub struct TokenEntry {
    pub fingerprint: String,
    pub finished_at: SimTime,
}

/// A batch or transaction's response and the changes it made, in request order.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchOutcome<O> {
    pub output: O,
    pub changes: Vec<ItemChange>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeysAndAttributes {
    pub keys: Vec<Item>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projection_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_attribute_names: Option<AttributeNames>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistent_read: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchGetItemInput {
    pub request_items: BTreeMap<String, KeysAndAttributes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_consumed_capacity: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchGetItemOutput {
    pub responses: BTreeMap<String, Vec<SharedItem>>,
    pub unprocessed_keys: BTreeMap<String, KeysAndAttributes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumed_capacity: Option<Vec<ConsumedCapacity>>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRequest {
    pub item: Item,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteRequest {
    pub key: Item,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WriteRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub put_request: Option<PutRequest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_request: Option<DeleteRequest>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchWriteItemInput {
    pub request_items: BTreeMap<String, Vec<WriteRequest>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_consumed_capacity: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchWriteItemOutput {
    pub unprocessed_items: BTreeMap<String, Vec<WriteRequest>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumed_capacity: Option<Vec<ConsumedCapacity>>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConditionCheck {
    pub table_name: String,
    pub key: Item,
    pub condition_expression: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_attribute_names: Option<AttributeNames>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_attribute_values: Option<AttributeValues>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_values_on_condition_check_failure: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TransactPut {
    pub table_name: String,
    pub item: Item,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_attribute_names: Option<AttributeNames>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_attribute_values: Option<AttributeValues>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_values_on_condition_check_failure: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TransactDelete {
    pub table_name: String,
    pub key: Item,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_attribute_names: Option<AttributeNames>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_attribute_values: Option<AttributeValues>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_values_on_condition_check_failure: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TransactUpdate {
    pub table_name: String,
    pub key: Item,
    pub update_expression: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_attribute_names: Option<AttributeNames>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_attribute_values: Option<AttributeValues>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_values_on_condition_check_failure: Option<String>,
}

/// One action: exactly one of the four.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TransactWriteItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition_check: Option<ConditionCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub put: Option<TransactPut>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<TransactDelete>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<TransactUpdate>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TransactWriteItemsInput {
    pub transact_items: Vec<TransactWriteItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_request_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_consumed_capacity: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TransactWriteItemsOutput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumed_capacity: Option<Vec<ConsumedCapacity>>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TransactGet {
    pub table_name: String,
    pub key: Item,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projection_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_attribute_names: Option<AttributeNames>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TransactGetItem {
    pub get: TransactGet,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TransactGetItemsInput {
    pub transact_items: Vec<TransactGetItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_consumed_capacity: Option<String>,
}

/// `Responses[i]`: `Item` absent when the item does not exist (TX-02).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ItemResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<SharedItem>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TransactGetItemsOutput {
    pub responses: Vec<ItemResponse>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumed_capacity: Option<Vec<ConsumedCapacity>>,
}

fn length_error(value_len: usize, at: &str, max: usize) -> EngineError {
    let constraint = if value_len == 0 {
        "greater than or equal to 1".to_string()
    } else {
        format!("less than or equal to {max}")
    };
    EngineError::validation(format!(
        "1 validation error detected: Value at '{at}' failed to satisfy constraint: Member must have length {constraint}"
    ))
}

fn duplicates() -> EngineError {
    EngineError::validation("Provided list of item keys contains duplicates")
}

/// Sums capacity reports per table, in table order.
fn merge(reports: Vec<ConsumedCapacity>) -> Vec<ConsumedCapacity> {
    let mut by_table: BTreeMap<String, ConsumedCapacity> = BTreeMap::new();
    for r in reports {
        let entry = by_table
            .entry(r.table_name.clone())
            .or_insert_with(|| ConsumedCapacity {
                table_name: r.table_name.clone(),
                ..ConsumedCapacity::default()
            });
        entry.capacity_units += r.capacity_units;
        let add = |a: &mut Option<f64>, b: Option<f64>| {
            if let Some(b) = b {
                *a = Some(a.unwrap_or(0.0) + b);
            }
        };
        add(&mut entry.read_capacity_units, r.read_capacity_units);
        add(&mut entry.write_capacity_units, r.write_capacity_units);
        if let Some(t) = r.table {
            let mine = entry.table.get_or_insert_with(Default::default);
            mine.capacity_units += t.capacity_units;
            add(&mut mine.read_capacity_units, t.read_capacity_units);
            add(&mut mine.write_capacity_units, t.write_capacity_units);
        }
        for (mine, theirs) in [
            (
                &mut entry.global_secondary_indexes,
                r.global_secondary_indexes,
            ),
            (
                &mut entry.local_secondary_indexes,
                r.local_secondary_indexes,
            ),
        ] {
            for (name, c) in theirs.into_iter().flatten() {
                let slot = mine
                    .get_or_insert_with(BTreeMap::new)
                    .entry(name)
                    .or_default();
                slot.capacity_units += c.capacity_units;
                add(&mut slot.read_capacity_units, c.read_capacity_units);
                add(&mut slot.write_capacity_units, c.write_capacity_units);
            }
        }
    }
    by_table.into_values().collect()
}

/// One transaction action, as the single-item request it amounts to.
enum Action {
    Check(DeleteItemInput),
    Put(PutItemInput),
    Delete(DeleteItemInput),
    Update(UpdateItemInput),
}

impl Action {
    fn from_request(item: &TransactWriteItem) -> Result<Action, EngineError> {
        let count = usize::from(item.condition_check.is_some())
            + usize::from(item.put.is_some())
            + usize::from(item.delete.is_some())
            + usize::from(item.update.is_some());
        if count != 1 {
            return Err(EngineError::validation(
                "TransactItems can only contain one of Check, Put, Update or Delete",
            ));
        }
        if let Some(c) = &item.condition_check {
            return Ok(Action::Check(DeleteItemInput {
                table_name: c.table_name.clone(),
                key: c.key.clone(),
                condition_expression: Some(c.condition_expression.clone()),
                expression_attribute_names: c.expression_attribute_names.clone(),
                expression_attribute_values: c.expression_attribute_values.clone(),
                return_values_on_condition_check_failure: c
                    .return_values_on_condition_check_failure
                    .clone(),
                ..DeleteItemInput::default()
            }));
        }
        if let Some(p) = &item.put {
            return Ok(Action::Put(PutItemInput {
                table_name: p.table_name.clone(),
                item: p.item.clone(),
                condition_expression: p.condition_expression.clone(),
                expression_attribute_names: p.expression_attribute_names.clone(),
                expression_attribute_values: p.expression_attribute_values.clone(),
                return_values_on_condition_check_failure: p
                    .return_values_on_condition_check_failure
                    .clone(),
                ..PutItemInput::default()
            }));
        }
        if let Some(d) = &item.delete {
            return Ok(Action::Delete(DeleteItemInput {
                table_name: d.table_name.clone(),
                key: d.key.clone(),
                condition_expression: d.condition_expression.clone(),
                expression_attribute_names: d.expression_attribute_names.clone(),
                expression_attribute_values: d.expression_attribute_values.clone(),
                return_values_on_condition_check_failure: d
                    .return_values_on_condition_check_failure
                    .clone(),
                ..DeleteItemInput::default()
            }));
        }
        let u = item.update.as_ref().expect("one action is present");
        Ok(Action::Update(UpdateItemInput {
            table_name: u.table_name.clone(),
            key: u.key.clone(),
            update_expression: Some(u.update_expression.clone()),
            condition_expression: u.condition_expression.clone(),
            expression_attribute_names: u.expression_attribute_names.clone(),
            expression_attribute_values: u.expression_attribute_values.clone(),
            return_values_on_condition_check_failure: u
                .return_values_on_condition_check_failure
                .clone(),
            ..UpdateItemInput::default()
        }))
    }

    fn table(&self) -> &str {
        match self {
            Action::Check(d) | Action::Delete(d) => &d.table_name,
            Action::Put(p) => &p.table_name,
            Action::Update(u) => &u.table_name,
        }
    }

    /// Request bytes counted against the 4 MB limit.
    fn bytes(&self, config: &crate::config::EngineConfig) -> usize {
        match self {
            Action::Check(d) | Action::Delete(d) => item_size(&d.key, config),
            Action::Put(p) => item_size(&p.item, config),
            Action::Update(u) => item_size(&u.key, config),
        }
    }
}

impl Engine {
    /// The input-shape checks of one action (TX-10: these fail the whole request):
    /// table, key and expressions. Returns the item's storage key.
    fn check_action_shape(&mut self, action: &Action) -> Result<ItemKey, EngineError> {
        crate::engine::validate_table_name(action.table())?;
        let (names, values, texts) = match action {
            Action::Check(d) | Action::Delete(d) => (
                d.expression_attribute_names.as_ref(),
                d.expression_attribute_values.as_ref(),
                ExprTexts {
                    condition: d.condition_expression.as_deref(),
                    ..ExprTexts::default()
                },
            ),
            Action::Put(p) => (
                p.expression_attribute_names.as_ref(),
                p.expression_attribute_values.as_ref(),
                ExprTexts {
                    condition: p.condition_expression.as_deref(),
                    ..ExprTexts::default()
                },
            ),
            Action::Update(u) => (
                u.expression_attribute_names.as_ref(),
                u.expression_attribute_values.as_ref(),
                ExprTexts {
                    condition: u.condition_expression.as_deref(),
                    update: u.update_expression.as_deref(),
                    ..ExprTexts::default()
                },
            ),
        };
        let chained = self.config().update_arithmetic_chain;
        prepare(&mut self.cache, texts, Bindings { names, values }, chained)?;
        let table = self
            .tables
            .get(action.table())
            .ok_or_else(EngineError::resource_not_found)?;
        match action {
            Action::Put(p) => {
                validate_item(&p.item)?;
                ItemKey::from_item(&table.schema, &p.item)
            }
            Action::Check(d) | Action::Delete(d) => ItemKey::from_key(&table.schema, &d.key),
            Action::Update(u) => ItemKey::from_key(&table.schema, &u.key),
        }
    }

    /// TransactWriteItems (TX-01, TX-04, TX-05, TX-09, TX-10): all or nothing.
    pub fn transact_write_items(
        &mut self,
        input: &TransactWriteItemsInput,
        now: SimTime,
    ) -> Result<BatchOutcome<TransactWriteItemsOutput>, EngineError> {
        self.observe(now);
        let n = input.transact_items.len();
        if n == 0 || n > TRANSACT_ITEMS_MAX {
            return Err(length_error(n, "transactItems", TRANSACT_ITEMS_MAX));
        }
        let mode = match input.return_consumed_capacity.as_deref() {
            Some("INDEXES") | Some("TOTAL") | Some("NONE") | None => {
                CapacityMode::parse(input.return_consumed_capacity.as_deref())?
            }
            Some(other) => return Err(CapacityMode::parse(Some(other)).unwrap_err()),
        };
        if let Some(token) = &input.client_request_token
            && !(1..=36).contains(&token.chars().count())
        {
            return Err(EngineError::validation(format!(
                "1 validation error detected: Value '{token}' at 'clientRequestToken' failed to satisfy constraint: Member must have length less than or equal to 36"
            )));
        }
        let actions: Vec<Action> = input
            .transact_items
            .iter()
            .map(Action::from_request)
            .collect::<Result<_, _>>()?;
        let mut seen: BTreeSet<(String, ItemKey)> = BTreeSet::new();
        let mut bytes = 0usize;
        for action in &actions {
            let key = self.check_action_shape(action)?;
            if !seen.insert((action.table().to_string(), key)) {
                return Err(EngineError::validation(
                    "Transaction request cannot include multiple operations on one item",
                ));
            }
            bytes += action.bytes(self.config());
        }
        if bytes > TRANSACT_BYTES_MAX {
            return Err(EngineError::validation(
                "Transaction request size has exceeded the maximum allowed size of 4 MB",
            ));
        }
        // TX-04: a token is remembered for `transaction_token_ttl_us` after it finished.
        let ttl = self.config().transaction_token_ttl_us;
        self.tokens
            .retain(|_, entry| now.saturating_sub(entry.finished_at) < ttl);
        let fingerprint = serde_json::to_string(&input.transact_items).expect("serializes");
        if let Some(token) = &input.client_request_token
            && let Some(entry) = self.tokens.get(token)
        {
            if entry.fingerprint != fingerprint {
                return Err(EngineError::new(
                    ErrorKind::IdempotentParameterMismatchException,
                    "Request with same ClientRequestToken has different parameters",
                ));
            }
            return Ok(BatchOutcome {
                output: TransactWriteItemsOutput::default(),
                changes: Vec::new(),
            });
        }
        let mut reasons = Vec::with_capacity(n);
        let mut planned: Vec<Option<Planned>> = Vec::with_capacity(n);
        let mut failed = false;
        for action in &actions {
            let result = match action {
                Action::Check(d) => self.plan_delete(d).map(|_| None),
                Action::Delete(d) => self.plan_delete(d).map(|(p, _)| Some(p)),
                Action::Put(p) => self.plan_put(p.clone()).map(|(p, _)| Some(p)),
                Action::Update(u) => self.plan_update(u).map(|(p, _, _)| Some(p)),
            };
            match result {
                Ok(p) => {
                    reasons.push(CancellationReason {
                        code: "None".to_string(),
                        message: None,
                        item: None,
                    });
                    planned.push(p);
                }
                Err(e) => {
                    failed = true;
                    let code = match e.kind {
                        ErrorKind::ConditionalCheckFailedException => "ConditionalCheckFailed",
                        ErrorKind::ItemCollectionSizeLimitExceededException => {
                            "ItemCollectionSizeLimitExceeded"
                        }
                        ErrorKind::ValidationException => "ValidationError",
                        _ => return Err(e),
                    };
                    reasons.push(CancellationReason {
                        code: code.to_string(),
                        message: Some(e.message),
                        item: e.item,
                    });
                    planned.push(None);
                }
            }
        }
        if failed {
            let codes: Vec<&str> = reasons.iter().map(|r| r.code.as_str()).collect();
            let mut error = EngineError::new(
                ErrorKind::TransactionCanceledException,
                format!(
                    "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
                    codes.join(", ")
                ),
            );
            error.cancellation_reasons = reasons;
            return Err(error);
        }
        let mut changes = Vec::new();
        let mut reports = Vec::new();
        for plan in planned.into_iter().flatten() {
            let (change, report) = self.apply_planned(plan, now, mode, 2.0);
            changes.push(change);
            reports.extend(report);
        }
        // Condition checks are reads at transactional cost (TX-05).
        for action in &actions {
            if let (Action::Check(d), CapacityMode::Total | CapacityMode::Indexes) = (action, mode)
            {
                let table = &self.tables[&d.table_name];
                let key = ItemKey::from_key(&table.schema, &d.key).expect("checked above");
                let bytes = table.items.get(&key).map_or(0, |i| i.size_bytes);
                reports.extend(mode.read(table, None, 2.0 * read_units(bytes, true)));
            }
        }
        if let Some(token) = &input.client_request_token {
            self.tokens.insert(
                token.clone(),
                TokenEntry {
                    fingerprint,
                    finished_at: now,
                },
            );
        }
        Ok(BatchOutcome {
            output: TransactWriteItemsOutput {
                consumed_capacity: (mode != CapacityMode::None).then(|| merge(reports)),
            },
            changes,
        })
    }

    /// TransactGetItems (TX-02): 1..100 gets, a missing item is an empty response.
    pub fn transact_get_items(
        &mut self,
        input: &TransactGetItemsInput,
        now: SimTime,
    ) -> Result<TransactGetItemsOutput, EngineError> {
        self.observe(now);
        let n = input.transact_items.len();
        if n == 0 || n > TRANSACT_ITEMS_MAX {
            return Err(length_error(n, "transactItems", TRANSACT_ITEMS_MAX));
        }
        let mode = match input.return_consumed_capacity.as_deref() {
            None | Some("NONE") => CapacityMode::None,
            Some("TOTAL") => CapacityMode::Total,
            Some(other) => {
                return Err(EngineError::validation(format!(
                    "1 validation error detected: Value '{other}' at 'returnConsumedCapacity' failed to satisfy constraint: Member must satisfy enum value set: [TOTAL, NONE]"
                )));
            }
        };
        let mut seen: BTreeSet<(String, ItemKey)> = BTreeSet::new();
        for get in &input.transact_items {
            let table = self
                .tables
                .get(&get.get.table_name)
                .ok_or_else(EngineError::resource_not_found)?;
            let key = ItemKey::from_key(&table.schema, &get.get.key)?;
            if !seen.insert((get.get.table_name.clone(), key)) {
                return Err(EngineError::validation(
                    "Transaction request cannot include multiple operations on one item",
                ));
            }
        }
        let mut responses = Vec::with_capacity(n);
        let mut reports = Vec::new();
        let mut bytes = 0usize;
        for get in &input.transact_items {
            let g = &get.get;
            let out = self.get_item(
                &GetItemInput {
                    table_name: g.table_name.clone(),
                    key: g.key.clone(),
                    projection_expression: g.projection_expression.clone(),
                    expression_attribute_names: g.expression_attribute_names.clone(),
                    consistent_read: Some(true),
                    ..GetItemInput::default()
                },
                now,
            )?;
            let table = &self.tables[&g.table_name];
            let key = ItemKey::from_key(&table.schema, &g.key).expect("checked above");
            let stored = table.items.get(&key).map_or(0, |i| i.size_bytes);
            bytes += stored;
            reports.extend(mode.read(table, None, 2.0 * read_units(stored, true)));
            responses.push(ItemResponse { item: out.item });
        }
        if bytes > TRANSACT_BYTES_MAX {
            return Err(EngineError::validation(
                "Transaction request size has exceeded the maximum allowed size of 4 MB",
            ));
        }
        Ok(TransactGetItemsOutput {
            responses,
            consumed_capacity: (mode != CapacityMode::None).then(|| merge(reports)),
        })
    }

    /// BatchGetItem (BA-01..BA-03): at most 100 keys; items past 16 MB come back in
    /// UnprocessedKeys. Each item is rounded to 4 KB separately.
    pub fn batch_get_item(
        &mut self,
        input: &BatchGetItemInput,
        now: SimTime,
    ) -> Result<BatchGetItemOutput, EngineError> {
        self.observe(now);
        let mode = CapacityMode::parse(input.return_consumed_capacity.as_deref())?;
        if input.request_items.is_empty() {
            return Err(length_error(0, "requestItems", BATCH_GET_KEYS_MAX));
        }
        let total: usize = input.request_items.values().map(|k| k.keys.len()).sum();
        if total > BATCH_GET_KEYS_MAX {
            return Err(EngineError::validation(
                "Too many items requested for the BatchGetItem call",
            ));
        }
        for (name, request) in &input.request_items {
            crate::engine::validate_table_name(name)?;
            if request.keys.is_empty() {
                return Err(length_error(
                    0,
                    "requestItems.member.keys",
                    BATCH_GET_KEYS_MAX,
                ));
            }
            let table = self
                .tables
                .get(name)
                .ok_or_else(EngineError::resource_not_found)?;
            let mut seen = BTreeSet::new();
            for key in &request.keys {
                if !seen.insert(ItemKey::from_key(&table.schema, key)?) {
                    return Err(duplicates());
                }
            }
        }
        let mut output = BatchGetItemOutput::default();
        let mut reports = Vec::new();
        let mut bytes = 0usize;
        for (name, request) in &input.request_items {
            let consistent = request.consistent_read.unwrap_or(false);
            for key in &request.keys {
                let table = &self.tables[name];
                let storage_key = ItemKey::from_key(&table.schema, key).expect("checked above");
                let size = table.items.get(&storage_key).map_or(0, |i| i.size_bytes);
                if bytes + size > BATCH_BYTES_MAX {
                    let unprocessed =
                        output
                            .unprocessed_keys
                            .entry(name.clone())
                            .or_insert_with(|| KeysAndAttributes {
                                keys: Vec::new(),
                                ..request.clone()
                            });
                    unprocessed.keys.push(key.clone());
                    continue;
                }
                bytes += size;
                let out = self.get_item(
                    &GetItemInput {
                        table_name: name.clone(),
                        key: key.clone(),
                        projection_expression: request.projection_expression.clone(),
                        expression_attribute_names: request.expression_attribute_names.clone(),
                        consistent_read: Some(consistent),
                        ..GetItemInput::default()
                    },
                    now,
                )?;
                reports.extend(mode.read(&self.tables[name], None, read_units(size, consistent)));
                let responses = output.responses.entry(name.clone()).or_default();
                responses.extend(out.item);
            }
            output.responses.entry(name.clone()).or_default();
        }
        output.consumed_capacity = (mode != CapacityMode::None).then(|| merge(reports));
        Ok(output)
    }

    /// BatchWriteItem (BA-04..BA-07): at most 25 puts and deletes, every one checked
    /// before any is written; duplicates rejected.
    pub fn batch_write_item(
        &mut self,
        input: &BatchWriteItemInput,
        now: SimTime,
    ) -> Result<BatchOutcome<BatchWriteItemOutput>, EngineError> {
        self.observe(now);
        let mode = CapacityMode::parse(input.return_consumed_capacity.as_deref())?;
        let total: usize = input.request_items.values().map(Vec::len).sum();
        if input.request_items.is_empty() {
            return Err(length_error(0, "requestItems", BATCH_WRITE_REQUESTS_MAX));
        }
        if input.request_items.values().any(Vec::is_empty) || total > BATCH_WRITE_REQUESTS_MAX {
            return Err(EngineError::validation(format!(
                "1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to {BATCH_WRITE_REQUESTS_MAX}, Member must have length greater than or equal to 1]"
            )));
        }
        let mut plans = Vec::with_capacity(total);
        let mut seen: BTreeSet<(String, ItemKey)> = BTreeSet::new();
        let mut bytes = 0usize;
        for (name, requests) in &input.request_items {
            for request in requests {
                let plan = match (&request.put_request, &request.delete_request) {
                    (Some(put), None) => {
                        bytes += item_size(&put.item, self.config());
                        self.plan_put(PutItemInput {
                            table_name: name.clone(),
                            item: put.item.clone(),
                            ..PutItemInput::default()
                        })?
                        .0
                    }
                    (None, Some(delete)) => {
                        bytes += item_size(&delete.key, self.config());
                        self.plan_delete(&DeleteItemInput {
                            table_name: name.clone(),
                            key: delete.key.clone(),
                            ..DeleteItemInput::default()
                        })?
                        .0
                    }
                    _ => {
                        return Err(EngineError::validation(
                            "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes",
                        ));
                    }
                };
                if !seen.insert((name.clone(), plan.key.clone())) {
                    return Err(duplicates());
                }
                plans.push(plan);
            }
        }
        if bytes > BATCH_BYTES_MAX {
            return Err(EngineError::validation(
                "Item size has exceeded the maximum allowed size",
            ));
        }
        let mut changes = Vec::with_capacity(plans.len());
        let mut reports = Vec::new();
        for plan in plans {
            let (change, report) = self.apply_planned(plan, now, mode, 1.0);
            changes.push(change);
            reports.extend(report);
        }
        Ok(BatchOutcome {
            output: BatchWriteItemOutput {
                unprocessed_items: BTreeMap::new(),
                consumed_capacity: (mode != CapacityMode::None).then(|| merge(reports)),
            },
            changes,
        })
    }
}
