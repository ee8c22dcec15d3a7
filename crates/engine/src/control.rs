//! Control plane (CP-01..CP-22, TTL-01, TTL-02): CreateTable with indexes, billing and
//! streams, DescribeTable, UpdateTable, DeleteTable, ListTables, Update/DescribeTimeToLive.
//! Tables become ACTIVE at once; the CREATING/UPDATING delay belongs to the caller.

use crate::api::*;
use crate::config::EngineConfig;
use crate::engine::{BillingMode, Engine, Table, TtlState, validate_table_name};
use crate::error::{EngineError, ErrorKind};
use crate::index::{IndexKind, ProjectionSpec, SecondaryIndex};
use crate::key::{AttributeDefinition, KeySchema, KeySchemaElement};
use dynasim_core::SimTime;
use std::collections::{BTreeMap, BTreeSet};

fn invalid(message: impl AsRef<str>) -> EngineError {
    EngineError::validation(format!(
        "One or more parameter values were invalid: {}",
        message.as_ref()
    ))
}

fn parse_billing(value: Option<&str>) -> Result<Option<BillingMode>, EngineError> {
    match value {
        None => Ok(None),
        Some("PROVISIONED") => Ok(Some(BillingMode::Provisioned)),
        Some("PAY_PER_REQUEST") => Ok(Some(BillingMode::PayPerRequest)),
        Some(other) => Err(EngineError::validation(format!(
            "1 validation error detected: Value '{other}' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]"
        ))),
    }
}

fn check_throughput(t: &ProvisionedThroughput, at: &str) -> Result<(), EngineError> {
    for (value, field) in [
        (t.read_capacity_units, "readCapacityUnits"),
        (t.write_capacity_units, "writeCapacityUnits"),
    ] {
        if value < 1 {
            return Err(EngineError::validation(format!(
                "1 validation error detected: Value '{value}' at '{at}.{field}' failed to satisfy constraint: Member must have value greater than or equal to 1"
            )));
        }
    }
    Ok(())
}

/// StreamViewType values (ST-04).
pub(crate) fn parse_view_type(spec: &StreamSpecification) -> Result<Option<String>, EngineError> {
    if !spec.stream_enabled {
        if spec.stream_view_type.is_some() {
            return Err(EngineError::validation(
                "One or more parameter values were invalid: StreamViewType may not be specified when StreamEnabled is false",
            ));
        }
        return Ok(None);
    }
    match spec.stream_view_type.as_deref() {
        Some(v @ ("KEYS_ONLY" | "NEW_IMAGE" | "OLD_IMAGE" | "NEW_AND_OLD_IMAGES")) => {
            Ok(Some(v.to_string()))
        }
        None => Err(EngineError::validation(
            "One or more parameter values were invalid: StreamViewType must be specified when StreamEnabled is true",
        )),
        Some(other) => Err(EngineError::validation(format!(
            "1 validation error detected: Value '{other}' at 'streamSpecification.streamViewType' failed to satisfy constraint: Member must satisfy enum value set: [NEW_AND_OLD_IMAGES, NEW_IMAGE, OLD_IMAGE, KEYS_ONLY]"
        ))),
    }
}

fn index_schema(
    elements: &[KeySchemaElement],
    definitions: &[AttributeDefinition],
) -> Result<KeySchema, EngineError> {
    KeySchema::from_request(elements, definitions, false).map_err(|e| {
        if e.message.contains("Some index key attributes are not defined") {
            let keys: Vec<&str> = elements.iter().map(|e| e.attribute_name.as_str()).collect();
            let defs: Vec<&str> = definitions
                .iter()
                .map(|d| d.attribute_name.as_str())
                .collect();
            invalid(format!(
                "Some index key attributes are not defined in AttributeDefinitions. Keys: [{}], AttributeDefinitions: [{}]",
                keys.join(", "),
                defs.join(", ")
            ))
        } else {
            e
        }
    })
}

fn parse_projection(projection: &Projection) -> Result<ProjectionSpec, EngineError> {
    let kind = projection.projection_type.as_deref();
    if projection.non_key_attributes.is_some() && kind != Some("INCLUDE") {
        return Err(invalid(format!(
            "ProjectionType is {}, but NonKeyAttributes is specified",
            kind.unwrap_or("null")
        )));
    }
    match kind {
        Some("ALL") => Ok(ProjectionSpec::All),
        Some("KEYS_ONLY") => Ok(ProjectionSpec::KeysOnly),
        Some("INCLUDE") => {
            let attrs = projection.non_key_attributes.clone().unwrap_or_default();
            if attrs.is_empty() {
                return Err(invalid(
                    "NonKeyAttributes must be specified when ProjectionType is INCLUDE",
                ));
            }
            Ok(ProjectionSpec::Include(attrs.into_iter().collect()))
        }
        None => Err(invalid("Unknown ProjectionType: null")),
        Some(other) => Err(EngineError::validation(format!(
            "1 validation error detected: Value '{other}' at 'projection.projectionType' failed to satisfy constraint: Member must satisfy enum value set: [ALL, INCLUDE, KEYS_ONLY]"
        ))),
    }
}

fn validate_index_name(name: &str) -> Result<(), EngineError> {
    let ok = (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(EngineError::validation(format!(
            "1 validation error detected: Value '{name}' at 'indexName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 3 and 255"
        )))
    }
}

/// Non-key attributes projected by INCLUDE across all indexes, counted with repeats (CP-07).
fn projected_count(indexes: &BTreeMap<String, SecondaryIndex>) -> usize {
    indexes
        .values()
        .map(|i| match &i.projection {
            ProjectionSpec::Include(set) => set.len(),
            _ => 0,
        })
        .sum()
}

fn check_projected_limit(
    indexes: &BTreeMap<String, SecondaryIndex>,
    config: &EngineConfig,
) -> Result<(), EngineError> {
    if projected_count(indexes) > config.projected_attributes_max {
        return Err(EngineError::new(
            ErrorKind::LimitExceededException,
            format!(
                "One or more parameter values were invalid: Number of projected attributes in all indexes exceeds limit of {}",
                config.projected_attributes_max
            ),
        ));
    }
    Ok(())
}

fn build_gsi(
    gsi: &GlobalSecondaryIndex,
    definitions: &[AttributeDefinition],
    billing: BillingMode,
) -> Result<SecondaryIndex, EngineError> {
    validate_index_name(&gsi.index_name)?;
    let schema = index_schema(&gsi.key_schema, definitions)?;
    let projection = parse_projection(&gsi.projection)?;
    let throughput = match (billing, &gsi.provisioned_throughput) {
        (BillingMode::PayPerRequest, Some(_)) => {
            return Err(invalid(format!(
                "ProvisionedThroughput should not be specified for index: {} when BillingMode is PAY_PER_REQUEST",
                gsi.index_name
            )));
        }
        (_, Some(t)) => {
            check_throughput(t, "globalSecondaryIndexes.provisionedThroughput")?;
            Some((t.read_capacity_units, t.write_capacity_units))
        }
        (_, None) => None,
    };
    Ok(SecondaryIndex::new(
        gsi.index_name.clone(),
        IndexKind::Global,
        schema,
        projection,
        throughput,
    ))
}

impl Engine {
    /// CreateTable (CP-01..CP-10). The table is ACTIVE at once. Errors: name rules
    /// (DM-31), key schemas (CP-03), billing (CP-04), index rules and limits (CP-05..CP-07),
    /// ResourceInUseException for an existing name (CP-02).
    pub fn create_table(
        &mut self,
        input: CreateTableInput,
        now: SimTime,
    ) -> Result<CreateTableOutput, EngineError> {
        self.observe(now);
        validate_table_name(&input.table_name)?;
        let config = self.config().clone();
        let billing =
            parse_billing(input.billing_mode.as_deref())?.unwrap_or(BillingMode::Provisioned);
        match (billing, &input.provisioned_throughput) {
            (BillingMode::PayPerRequest, Some(_)) => {
                return Err(invalid(
                    "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
                ));
            }
            (BillingMode::Provisioned, None) if config.require_provisioned_throughput => {
                return Err(invalid(
                    "ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
                ));
            }
            (_, Some(t)) => check_throughput(t, "provisionedThroughput")?,
            _ => {}
        }
        let has_indexes =
            input.global_secondary_indexes.is_some() || input.local_secondary_indexes.is_some();
        let schema = KeySchema::from_request(
            &input.key_schema,
            &input.attribute_definitions,
            config.reject_unused_attribute_definitions && !has_indexes,
        )?;
        let definitions = &input.attribute_definitions;
        let mut indexes: BTreeMap<String, SecondaryIndex> = BTreeMap::new();
        if let Some(lsis) = &input.local_secondary_indexes {
            if lsis.is_empty() {
                return Err(invalid("List of LocalSecondaryIndexes is empty"));
            }
            if schema.range.is_none() {
                return Err(invalid(
                    "Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex",
                ));
            }
            for lsi in lsis {
                validate_index_name(&lsi.index_name)?;
                let index = index_schema(&lsi.key_schema, definitions)?;
                if index.range.is_none() {
                    return Err(invalid(format!(
                        "Index KeySchema does not have a range key for index: {}",
                        lsi.index_name
                    )));
                }
                if index.hash.name != schema.hash.name {
                    return Err(invalid(format!(
                        "Index KeySchema does not have the same leading hash key as table KeySchema for index: {}. index hash key: {}, table hash key: {}",
                        lsi.index_name, index.hash.name, schema.hash.name
                    )));
                }
                let projection = parse_projection(&lsi.projection)?;
                if indexes.contains_key(&lsi.index_name) {
                    return Err(invalid(format!("Duplicate index name: {}", lsi.index_name)));
                }
                indexes.insert(
                    lsi.index_name.clone(),
                    SecondaryIndex::new(
                        lsi.index_name.clone(),
                        IndexKind::Local,
                        index,
                        projection,
                        None,
                    ),
                );
            }
            if lsis.len() > config.lsi_per_table_max {
                return Err(invalid(format!(
                    "Number of LocalSecondaryIndexes exceeds per-table limit of {}",
                    config.lsi_per_table_max
                )));
            }
        }
        if let Some(gsis) = &input.global_secondary_indexes {
            if gsis.is_empty() {
                return Err(invalid("List of GlobalSecondaryIndexes is empty"));
            }
            for gsi in gsis {
                let index = build_gsi(gsi, definitions, billing)?;
                if billing == BillingMode::Provisioned
                    && input.provisioned_throughput.is_some()
                    && index.throughput.is_none()
                {
                    return Err(invalid(format!(
                        "ProvisionedThroughput must be specified for index: {}",
                        gsi.index_name
                    )));
                }
                if indexes.contains_key(&gsi.index_name) {
                    return Err(invalid(format!("Duplicate index name: {}", gsi.index_name)));
                }
                indexes.insert(gsi.index_name.clone(), index);
            }
            if gsis.len() > config.gsi_per_table_max {
                return Err(invalid(format!(
                    "GlobalSecondaryIndex count exceeds the per-table limit of {}",
                    config.gsi_per_table_max
                )));
            }
        }
        if has_indexes && config.reject_unused_attribute_definitions {
            let used: BTreeSet<&str> = schema
                .attributes()
                .chain(indexes.values().flat_map(|i| i.schema.attributes()))
                .map(|k| k.name.as_str())
                .collect();
            if definitions
                .iter()
                .any(|d| !used.contains(d.attribute_name.as_str()))
                || used.len() != definitions.len()
            {
                return Err(invalid(
                    "Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
                ));
            }
        }
        check_projected_limit(&indexes, &config)?;
        let view_type = match &input.stream_specification {
            Some(spec) => parse_view_type(spec)?,
            None => None,
        };
        if self.tables.contains_key(&input.table_name) {
            return Err(EngineError::new(
                ErrorKind::ResourceInUseException,
                format!("Table already exists: {}", input.table_name),
            ));
        }
        let items = crate::keymap::KeyMap::for_schema(&schema);
        let table = Table {
            name: input.table_name.clone(),
            schema,
            attribute_definitions: input.attribute_definitions,
            created_at: now,
            items,
            billing_mode: billing,
            throughput: input.provisioned_throughput,
            indexes,
            ttl: None,
            stream_arn: None,
            collection_bytes: BTreeMap::new(),
            decreases: BTreeMap::new(),
            size_bytes: 0,
            gsi_backlog: Default::default(),
        };
        self.tables.insert(input.table_name.clone(), table);
        if let Some(view_type) = view_type {
            self.enable_stream(&input.table_name, view_type, now);
        }
        let mut description = self.describe(&input.table_name)?;
        description.table_status = "CREATING".to_string();
        Ok(CreateTableOutput {
            table_description: description,
        })
    }

    /// The table's description (CP-20); ItemCount and sizes are exact, not 6 h stale.
    fn describe(&self, name: &str) -> Result<TableDescription, EngineError> {
        let table = self
            .tables
            .get(name)
            .ok_or_else(EngineError::resource_not_found)?;
        let config = self.config();
        let arn = table_arn(config, name);
        let index_description = |i: &SecondaryIndex| IndexDescription {
            index_name: i.name.clone(),
            key_schema: i.schema.to_elements(),
            projection: Projection {
                projection_type: Some(i.projection.type_name().to_string()),
                non_key_attributes: match &i.projection {
                    ProjectionSpec::Include(set) => Some(set.iter().cloned().collect()),
                    _ => None,
                },
            },
            index_status: (i.kind == IndexKind::Global).then(|| "ACTIVE".to_string()),
            provisioned_throughput: match (i.kind, table.billing_mode) {
                (IndexKind::Local, _) => None,
                (_, BillingMode::PayPerRequest) => Some(ProvisionedThroughput::default()),
                _ => i.throughput.map(|(r, w)| ProvisionedThroughput {
                    read_capacity_units: r,
                    write_capacity_units: w,
                }),
            },
            item_count: i.len() as u64,
            index_size_bytes: i.size_bytes(),
            index_arn: format!("{arn}/index/{}", i.name),
        };
        let of_kind = |kind: IndexKind| {
            let list: Vec<IndexDescription> = table
                .indexes
                .values()
                .filter(|i| i.kind == kind)
                .map(index_description)
                .collect();
            (!list.is_empty()).then_some(list)
        };
        let stream = table.stream_arn.as_ref().and_then(|a| self.streams.get(a));
        Ok(TableDescription {
            table_name: table.name.clone(),
            key_schema: table.schema.to_elements(),
            attribute_definitions: table.attribute_definitions.clone(),
            table_status: "ACTIVE".to_string(),
            item_count: table.items.len() as u64,
            table_size_bytes: table.size_bytes,
            table_arn: arn.clone(),
            creation_date_time: table.created_at.as_secs_f64(),
            billing_mode_summary: Some(BillingModeSummary {
                billing_mode: table.billing_mode.name().to_string(),
            }),
            provisioned_throughput: match table.billing_mode {
                BillingMode::PayPerRequest => Some(ProvisionedThroughput::default()),
                BillingMode::Provisioned => table.throughput,
            },
            global_secondary_indexes: of_kind(IndexKind::Global),
            local_secondary_indexes: of_kind(IndexKind::Local),
            stream_specification: stream.map(|s| StreamSpecification {
                stream_enabled: true,
                stream_view_type: Some(s.view_type.clone()),
            }),
            latest_stream_arn: self.latest_stream(name).map(|s| s.arn.clone()),
            latest_stream_label: self.latest_stream(name).map(|s| s.label.clone()),
        })
    }

    /// DescribeTable (CP-20).
    pub fn describe_table(&self, table_name: &str) -> Result<DescribeTableOutput, EngineError> {
        validate_table_name(table_name)?;
        Ok(DescribeTableOutput {
            table: self.describe(table_name)?,
        })
    }

    /// DeleteTable (CP-22): the table and its indexes go at once; its stream is disabled
    /// and stays readable for the retention period (ST-11).
    pub fn delete_table(
        &mut self,
        table_name: &str,
        now: SimTime,
    ) -> Result<TableDescription, EngineError> {
        self.observe(now);
        validate_table_name(table_name)?;
        let mut description = self.describe(table_name)?;
        if let Some(arn) = self.tables[table_name].stream_arn.clone() {
            self.disable_stream(&arn, now);
        }
        self.tables.remove(table_name);
        description.table_status = "DELETING".to_string();
        Ok(description)
    }

    /// ListTables (CP-21): names in byte order, at most `Limit` (1..100, default 100).
    pub fn list_tables(&self, input: &ListTablesInput) -> Result<ListTablesOutput, EngineError> {
        let limit = input.limit.unwrap_or(100);
        if !(1..=100).contains(&limit) {
            let bound = if limit < 1 {
                "greater than or equal to 1"
            } else {
                "less than or equal to 100"
            };
            return Err(EngineError::validation(format!(
                "1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value {bound}"
            )));
        }
        let limit = usize::try_from(limit).expect("limit is 1..=100");
        let start = input.exclusive_start_table_name.as_deref();
        if let Some(name) = start {
            validate_table_name(name).map_err(|e| {
                EngineError::validation(
                    e.message
                        .replace("'tableName'", "'exclusiveStartTableName'"),
                )
            })?;
        }
        let names: Vec<String> = self
            .tables
            .keys()
            .filter(|n| start.is_none_or(|s| n.as_str() > s))
            .take(limit + 1)
            .cloned()
            .collect();
        let more = names.len() > limit;
        let table_names: Vec<String> = names.into_iter().take(limit).collect();
        Ok(ListTablesOutput {
            last_evaluated_table_name: if more {
                table_names.last().cloned()
            } else {
                None
            },
            table_names,
        })
    }

    /// UpdateTable (CP-14..CP-18): one GSI create or delete per call, GSI throughput,
    /// billing mode, stream on/off. A new GSI is backfilled at once.
    pub fn update_table(
        &mut self,
        input: UpdateTableInput,
        now: SimTime,
    ) -> Result<UpdateTableOutput, EngineError> {
        self.observe(now);
        validate_table_name(&input.table_name)?;
        let config = self.config().clone();
        let billing = parse_billing(input.billing_mode.as_deref())?;
        let view_change = match &input.stream_specification {
            Some(spec) => Some(parse_view_type(spec)?),
            None => None,
        };
        let updates = input
            .global_secondary_index_updates
            .clone()
            .unwrap_or_default();
        if input.global_secondary_index_updates.is_some() && updates.is_empty() {
            return Err(invalid("List of GlobalSecondaryIndexUpdates is empty"));
        }
        let structural = updates
            .iter()
            .filter(|u| u.create.is_some() || u.delete.is_some())
            .count();
        if structural > 1 {
            return Err(EngineError::new(
                ErrorKind::LimitExceededException,
                "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table",
            ));
        }
        let nothing = billing.is_none()
            && input.provisioned_throughput.is_none()
            && updates.is_empty()
            && view_change.is_none();
        if nothing {
            return Err(EngineError::validation(
                "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required",
            ));
        }
        if !updates.is_empty() && self.config.gsi_propagation_us > 0 {
            // The index changes below work on the indexes as they stand: hand the GSIs
            // what they are still owed first (RC-08; early, which propagation may be).
            let config = &self.config;
            if let Some(table) = self.tables.get_mut(&input.table_name) {
                table.propagate_to_gsis(u64::MAX, config);
            }
        }
        let table = self
            .tables
            .get(&input.table_name)
            .ok_or_else(EngineError::resource_not_found)?;
        let new_billing = billing.unwrap_or(table.billing_mode);
        if let Some(t) = &input.provisioned_throughput {
            if new_billing == BillingMode::PayPerRequest {
                return Err(invalid(
                    "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
                ));
            }
            check_throughput(t, "provisionedThroughput")?;
        }
        let mut indexes = table.indexes.clone();
        let mut definitions = table.attribute_definitions.clone();
        for def in input.attribute_definitions.iter().flatten() {
            match definitions
                .iter_mut()
                .find(|d| d.attribute_name == def.attribute_name)
            {
                Some(existing) if existing.attribute_type != def.attribute_type => {
                    return Err(invalid(format!(
                        "Cannot change the type of an existing key attribute: {}",
                        def.attribute_name
                    )));
                }
                Some(_) => {}
                None => definitions.push(def.clone()),
            }
        }
        let mut backfill: Option<String> = None;
        for update in &updates {
            if let Some(create) = &update.create {
                if input.attribute_definitions.is_none() {
                    return Err(invalid(
                        "Attribute definitions must be specified when creating an index",
                    ));
                }
                if indexes.contains_key(&create.index_name) {
                    return Err(EngineError::validation(
                        "One or more parameter values were invalid: Attempting to create an index which already exists",
                    ));
                }
                let index = build_gsi(create, &definitions, new_billing)?;
                if indexes
                    .values()
                    .filter(|i| i.kind == IndexKind::Global)
                    .count()
                    >= config.gsi_per_table_max
                {
                    return Err(EngineError::new(
                        ErrorKind::LimitExceededException,
                        format!(
                            "Subscriber limit exceeded: The number of global secondary indexes exceeds the per-table limit of {}",
                            config.gsi_per_table_max
                        ),
                    ));
                }
                backfill = Some(create.index_name.clone());
                indexes.insert(create.index_name.clone(), index);
            }
            if let Some(delete) = &update.delete {
                match indexes.get(&delete.index_name) {
                    Some(i) if i.kind == IndexKind::Global => {
                        indexes.remove(&delete.index_name);
                    }
                    _ => {
                        return Err(EngineError::new(
                            ErrorKind::ResourceNotFoundException,
                            format!(
                                "Requested resource not found: Index: {} not found",
                                delete.index_name
                            ),
                        ));
                    }
                }
            }
            if let Some(change) = &update.update {
                check_throughput(
                    &change.provisioned_throughput,
                    "globalSecondaryIndexUpdates.update.provisionedThroughput",
                )?;
                match indexes.get_mut(&change.index_name) {
                    Some(i) if i.kind == IndexKind::Global => {
                        let t = change.provisioned_throughput;
                        i.throughput = Some((t.read_capacity_units, t.write_capacity_units));
                    }
                    _ => {
                        return Err(EngineError::new(
                            ErrorKind::ResourceNotFoundException,
                            format!(
                                "Requested resource not found: Index: {} not found",
                                change.index_name
                            ),
                        ));
                    }
                }
            }
        }
        check_projected_limit(&indexes, &config)?;
        // CP-16: every decrease in the request must fit its resource's budget.
        let lowered = |old: Option<(i64, i64)>, new: (i64, i64)| {
            old.is_some_and(|(r, w)| new.0 < r || new.1 < w)
        };
        let mut decreased: Vec<String> = Vec::new();
        if let (Some(t), Some(old)) = (&input.provisioned_throughput, &table.throughput)
            && lowered(
                Some((old.read_capacity_units, old.write_capacity_units)),
                (t.read_capacity_units, t.write_capacity_units),
            )
        {
            decreased.push(String::new());
        }
        for change in updates.iter().filter_map(|u| u.update.as_ref()) {
            let t = change.provisioned_throughput;
            let old = table
                .indexes
                .get(&change.index_name)
                .and_then(|i| i.throughput);
            if lowered(old, (t.read_capacity_units, t.write_capacity_units)) {
                decreased.push(change.index_name.clone());
            }
        }
        for name in &decreased {
            let resource = if name.is_empty() {
                format!("Table: {}", input.table_name)
            } else {
                format!("Table: {}, Index: {name}", input.table_name)
            };
            table
                .decreases
                .get(name)
                .cloned()
                .unwrap_or_default()
                .check(now.as_us(), &resource)?;
        }
        match (&view_change, &table.stream_arn) {
            (Some(Some(_)), Some(_)) => {
                return Err(EngineError::validation(format!(
                    "Table already has an enabled stream: TableName: {}",
                    input.table_name
                )));
            }
            (Some(None), None) => {
                return Err(EngineError::validation(format!(
                    "Table does not have a stream to disable: TableName: {}",
                    input.table_name
                )));
            }
            _ => {}
        }
        // Validation done: apply.
        let table = self
            .tables
            .get_mut(&input.table_name)
            .expect("table checked above");
        if let Some(name) = backfill {
            let index = indexes.get_mut(&name).expect("index just created");
            // A backfill skips items whose index key has the wrong type, as DynamoDB
            // reports them as violations instead of failing the index.
            for (key, stored) in &table.items {
                if index.check_item(&stored.item).is_ok() {
                    index.update(&table.schema, key, None, Some(stored), &self.config);
                }
            }
        }
        table.indexes = indexes;
        table.attribute_definitions = definitions;
        table.billing_mode = new_billing;
        for name in decreased {
            table.decreases.entry(name).or_default().note(now.as_us());
        }
        if let Some(t) = input.provisioned_throughput {
            table.throughput = Some(t);
        }
        let old_stream = table.stream_arn.clone();
        match view_change {
            Some(Some(view_type)) => self.enable_stream(&input.table_name, view_type, now),
            Some(None) => {
                if let Some(arn) = old_stream {
                    self.disable_stream(&arn, now);
                }
            }
            None => {}
        }
        let mut description = self.describe(&input.table_name)?;
        description.table_status = "UPDATING".to_string();
        Ok(UpdateTableOutput {
            table_description: description,
        })
    }

    /// UpdateTimeToLive (TTL-01, TTL-02): one change per `ttl_change_interval_us`; a new
    /// attribute needs a disable first.
    pub fn update_time_to_live(
        &mut self,
        input: UpdateTimeToLiveInput,
        now: SimTime,
    ) -> Result<UpdateTimeToLiveOutput, EngineError> {
        self.observe(now);
        validate_table_name(&input.table_name)?;
        let spec = &input.time_to_live_specification;
        crate::value::validate_attribute_name(&spec.attribute_name)?;
        let interval = self.config().ttl_change_interval_us;
        let table = self
            .tables
            .get_mut(&input.table_name)
            .ok_or_else(EngineError::resource_not_found)?;
        match &table.ttl {
            Some(state) if state.enabled && spec.enabled => {
                return Err(EngineError::validation("TimeToLive is already enabled"));
            }
            Some(state) if !state.enabled && !spec.enabled => {
                return Err(EngineError::validation("TimeToLive is already disabled"));
            }
            None if !spec.enabled => {
                return Err(EngineError::validation("TimeToLive is already disabled"));
            }
            Some(state) if state.enabled && state.attribute_name != spec.attribute_name => {
                return Err(EngineError::validation(
                    "TimeToLive is active on a different AttributeName: current AttributeName is "
                        .to_string()
                        + &state.attribute_name,
                ));
            }
            Some(state) if now.saturating_sub(state.changed_at) < interval => {
                return Err(EngineError::validation(
                    "Time to live has been modified multiple times within a fixed interval",
                ));
            }
            _ => {}
        }
        table.ttl = Some(TtlState {
            attribute_name: spec.attribute_name.clone(),
            enabled: spec.enabled,
            changed_at: now,
            delete_delay_us: None,
            delete_jitter_us: None,
        });
        Ok(UpdateTimeToLiveOutput {
            time_to_live_specification: spec.clone(),
        })
    }

    /// DescribeTimeToLive (TTL-01).
    pub fn describe_time_to_live(
        &self,
        table_name: &str,
    ) -> Result<DescribeTimeToLiveOutput, EngineError> {
        validate_table_name(table_name)?;
        let table = self
            .tables
            .get(table_name)
            .ok_or_else(EngineError::resource_not_found)?;
        let description = match &table.ttl {
            Some(state) if state.enabled => TimeToLiveDescription {
                time_to_live_status: "ENABLED".to_string(),
                attribute_name: Some(state.attribute_name.clone()),
            },
            _ => TimeToLiveDescription {
                time_to_live_status: "DISABLED".to_string(),
                attribute_name: None,
            },
        };
        Ok(DescribeTimeToLiveOutput {
            time_to_live_description: description,
        })
    }
}

/// `arn:aws:dynamodb:<region>:<account>:table/<name>`.
pub fn table_arn(config: &EngineConfig, name: &str) -> String {
    format!(
        "arn:aws:dynamodb:{}:{}:table/{name}",
        config.region_name, config.account_id
    )
}
