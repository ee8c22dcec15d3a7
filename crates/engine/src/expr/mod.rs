//! Expressions: parsing (cached per string), binding to a request's placeholders with
//! DynamoDB's validation messages (EX-03..EX-07, EX-15..EX-20, UX-06, UX-09), and
//! evaluation.

pub mod ast;
pub mod eval;
pub mod parser;
pub mod projection;
pub mod reserved;
pub mod update;

use crate::api::{AttributeNames, AttributeValues};
use crate::error::EngineError;
use crate::value::{AttributeValue, ValueType};
use ast::*;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

/// Which request parameter an expression came from (EX-01); names its messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExprKind {
    Condition,
    Filter,
    KeyCondition,
    Update,
    /// An update expression parsed with chained `+`/`-` allowed (UX-02 option).
    UpdateChained,
    Projection,
}

impl ExprKind {
    /// The parameter name used in messages, e.g. `ConditionExpression`.
    pub fn name(self) -> &'static str {
        match self {
            ExprKind::Condition => "ConditionExpression",
            ExprKind::Filter => "FilterExpression",
            ExprKind::KeyCondition => "KeyConditionExpression",
            ExprKind::Update | ExprKind::UpdateChained => "UpdateExpression",
            ExprKind::Projection => "ProjectionExpression",
        }
    }
}

/// A request's ExpressionAttributeNames and ExpressionAttributeValues.
#[derive(Clone, Copy, Debug, Default)]
pub struct Bindings<'a> {
    pub names: Option<&'a AttributeNames>,
    pub values: Option<&'a AttributeValues>,
}

impl<'a> Bindings<'a> {
    /// The attribute name a path step stands for (`None` for an index or an undefined
    /// placeholder; binding rejects undefined placeholders before evaluation).
    pub fn step_name<'s>(&'s self, elem: &'s PathElem) -> Option<&'s str> {
        match elem {
            PathElem::Name(n) => Some(n),
            PathElem::Placeholder(p) => self.names?.get(p).map(String::as_str),
            PathElem::Index(_) => None,
        }
    }
    pub fn value(&self, placeholder: &str) -> Option<&'a AttributeValue> {
        self.values?.get(placeholder)
    }
    /// The path with placeholders substituted.
    pub fn resolve(&self, path: &Path) -> ResolvedPath {
        path.0
            .iter()
            .map(|e| match e {
                PathElem::Index(i) => Step::Index(*i),
                other => Step::Name(self.step_name(other).unwrap_or_default().to_string()),
            })
            .collect()
    }
}

/// Parsed expressions, cached per (kind, text) with FIFO eviction. Only successful
/// parses are cached. Ordered maps, not hash maps: no hasher seeded from the OS.
#[derive(Clone, Debug)]
pub struct ExprCache {
    conditions: BTreeMap<String, Arc<Condition>>,
    updates: BTreeMap<String, Arc<Update>>,
    projections: BTreeMap<String, Arc<Projection>>,
    order: VecDeque<(ExprKind, String)>,
    entries_max: usize,
    /// Parses performed (cache misses), for tests and benchmarks.
    pub parses: u64,
}

impl ExprCache {
    pub fn new(entries_max: usize) -> ExprCache {
        ExprCache {
            conditions: BTreeMap::new(),
            updates: BTreeMap::new(),
            projections: BTreeMap::new(),
            order: VecDeque::new(),
            entries_max: entries_max.max(1),
            parses: 0,
        }
    }

    fn remember(&mut self, kind: ExprKind, text: &str) {
        self.parses += 1;
        self.order.push_back((kind, text.to_string()));
        while self.order.len() > self.entries_max {
            let Some((kind, old)) = self.order.pop_front() else {
                break;
            };
            match kind {
                ExprKind::Update | ExprKind::UpdateChained => self.updates.remove(&old).map(|_| ()),
                ExprKind::Projection => self.projections.remove(&old).map(|_| ()),
                _ => self.conditions.remove(&old).map(|_| ()),
            };
        }
    }

    pub fn condition(&mut self, text: &str, kind: ExprKind) -> Result<Arc<Condition>, EngineError> {
        if let Some(c) = self.conditions.get(text) {
            return Ok(Arc::clone(c));
        }
        let parsed = Arc::new(parser::parse_condition(text, kind)?);
        self.conditions
            .insert(text.to_string(), Arc::clone(&parsed));
        self.remember(kind, text);
        Ok(parsed)
    }

    pub fn update(&mut self, text: &str, chained: bool) -> Result<Arc<Update>, EngineError> {
        if let Some(u) = self.updates.get(text) {
            return Ok(Arc::clone(u));
        }
        let parsed = Arc::new(parser::parse_update(text, chained)?);
        self.updates.insert(text.to_string(), Arc::clone(&parsed));
        self.remember(ExprKind::Update, text);
        Ok(parsed)
    }

    pub fn projection(&mut self, text: &str) -> Result<Arc<Projection>, EngineError> {
        if let Some(p) = self.projections.get(text) {
            return Ok(Arc::clone(p));
        }
        let parsed = Arc::new(parser::parse_projection(text)?);
        self.projections
            .insert(text.to_string(), Arc::clone(&parsed));
        self.remember(ExprKind::Projection, text);
        Ok(parsed)
    }
}

/// Parses, binds and evaluates one condition expression against an item (the
/// building block of ConditionExpression and, later, FilterExpression). Unused and
/// undefined placeholders are errors as in a request (EX-04, EX-05).
pub fn evaluate_condition(
    cache: &mut ExprCache,
    text: &str,
    bindings: Bindings<'_>,
    item: &crate::value::Item,
    config: &crate::config::EngineConfig,
) -> Result<bool, EngineError> {
    let texts = ExprTexts {
        condition: Some(text),
        ..ExprTexts::default()
    };
    let prepared = prepare(cache, texts, bindings, config.update_arithmetic_chain)?;
    let condition = prepared
        .condition
        .as_deref()
        .expect("prepare returns the condition it was given");
    Ok(eval::Evaluator {
        item,
        bindings: &bindings,
        config,
    }
    .condition(condition))
}

/// The expression strings of one request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExprTexts<'a> {
    pub condition: Option<&'a str>,
    pub update: Option<&'a str>,
    pub projection: Option<&'a str>,
    /// Query's KeyConditionExpression (QS-01).
    pub key_condition: Option<&'a str>,
    /// Query's and Scan's FilterExpression (QS-03, QS-06).
    pub filter: Option<&'a str>,
}

/// A request's parsed and bound expressions, ready to evaluate.
#[derive(Clone, Debug, Default)]
pub struct Prepared {
    pub condition: Option<Arc<Condition>>,
    pub update: Option<Arc<Update>>,
    pub projection: Option<Arc<Projection>>,
    /// The projection's resolved paths.
    pub projection_paths: Vec<ResolvedPath>,
    pub key_condition: Option<Arc<Condition>>,
    pub filter: Option<Arc<Condition>>,
}

/// Parses (through the cache) and binds a request's expressions, enforcing EX-04..EX-07
/// and the per-expression checks, in DynamoDB's order: map shape, then each
/// expression, then unused placeholders.
pub fn prepare(
    cache: &mut ExprCache,
    texts: ExprTexts<'_>,
    bindings: Bindings<'_>,
    chained_arithmetic: bool,
) -> Result<Prepared, EngineError> {
    // Most writes a workload sends carry no expression at all: answer them without
    // running (and fetching the code of) every check below, which all pass then.
    if texts == ExprTexts::default() && bindings.names.is_none() && bindings.values.is_none() {
        return Ok(Prepared::default());
    }
    check_maps(texts, bindings)?;
    let mut prepared = Prepared::default();
    if let Some(text) = texts.update {
        let update = cache.update(text, chained_arithmetic)?;
        bind_update(&update, &bindings)?;
        prepared.update = Some(update);
    }
    if let Some(text) = texts.condition {
        let condition = cache.condition(text, ExprKind::Condition)?;
        bind_condition(&condition, &bindings, ExprKind::Condition)?;
        prepared.condition = Some(condition);
    }
    if let Some(text) = texts.key_condition {
        let condition = cache.condition(text, ExprKind::KeyCondition)?;
        bind_condition(&condition, &bindings, ExprKind::KeyCondition)?;
        prepared.key_condition = Some(condition);
    }
    if let Some(text) = texts.filter {
        let condition = cache.condition(text, ExprKind::Filter)?;
        bind_condition(&condition, &bindings, ExprKind::Filter)?;
        prepared.filter = Some(condition);
    }
    if let Some(text) = texts.projection {
        let projection = cache.projection(text)?;
        check_defined(&*projection, &bindings, ExprKind::Projection)?;
        let paths: Vec<ResolvedPath> = projection
            .paths
            .iter()
            .map(|p| bindings.resolve(p))
            .collect();
        check_overlaps(&paths, ExprKind::Projection)?;
        prepared.projection = Some(projection);
        prepared.projection_paths = paths;
    }
    check_unused(&prepared, &bindings)?;
    Ok(prepared)
}

/// EX-06 and EX-07: map shape and placeholder syntax.
fn check_maps(texts: ExprTexts<'_>, bindings: Bindings<'_>) -> Result<(), EngineError> {
    let with_values = texts.condition.is_some()
        || texts.update.is_some()
        || texts.key_condition.is_some()
        || texts.filter.is_some();
    let any = with_values || texts.projection.is_some();
    if let Some(names) = bindings.names {
        if !any {
            return Err(EngineError::validation(
                "ExpressionAttributeNames can only be specified when using expressions",
            ));
        }
        if names.is_empty() {
            return Err(EngineError::validation(
                "ExpressionAttributeNames must not be empty",
            ));
        }
        for key in names.keys() {
            if !valid_placeholder(key, '#') {
                return Err(EngineError::validation(format!(
                    "ExpressionAttributeNames contains invalid key: Syntax error; key: \"{key}\""
                )));
            }
        }
        for value in names.values() {
            if value.is_empty() {
                return Err(EngineError::validation(
                    "ExpressionAttributeNames contains invalid value: Empty attribute name",
                ));
            }
        }
    }
    if let Some(values) = bindings.values {
        if !with_values {
            return Err(EngineError::validation(
                "ExpressionAttributeValues can only be specified when using expressions",
            ));
        }
        if values.is_empty() {
            return Err(EngineError::validation(
                "ExpressionAttributeValues must not be empty",
            ));
        }
        for (key, value) in values {
            if !valid_placeholder(key, ':') {
                return Err(EngineError::validation(format!(
                    "ExpressionAttributeValues contains invalid key: Syntax error; key: \"{key}\""
                )));
            }
            value.validate()?;
        }
    }
    Ok(())
}

/// `#` or `:` followed by one or more of `[A-Za-z0-9_]` (EX-07), at most 255 bytes (EX-02).
fn valid_placeholder(key: &str, sigil: char) -> bool {
    key.len() <= 255
        && key.strip_prefix(sigil).is_some_and(|rest| {
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
}

fn invalid(kind: ExprKind, message: String) -> EngineError {
    EngineError::validation(format!("Invalid {}: {message}", kind.name()))
}

/// EX-05: every placeholder used must be defined (names first, then values).
fn check_defined(
    expr: &dyn Placeholders,
    bindings: &Bindings<'_>,
    kind: ExprKind,
) -> Result<(), EngineError> {
    let mut missing_name: Option<String> = None;
    let mut missing_value: Option<String> = None;
    expr.visit_placeholders(
        &mut |n| {
            if missing_name.is_none() && bindings.names.is_none_or(|m| !m.contains_key(n)) {
                missing_name = Some(n.to_string());
            }
        },
        &mut |v| {
            if missing_value.is_none() && bindings.values.is_none_or(|m| !m.contains_key(v)) {
                missing_value = Some(v.to_string());
            }
        },
    );
    if let Some(n) = missing_name {
        return Err(invalid(
            kind,
            format!(
                "An expression attribute name used in the document path is not defined; attribute name: {n}"
            ),
        ));
    }
    if let Some(v) = missing_value {
        return Err(invalid(
            kind,
            format!(
                "An expression attribute value used in expression is not defined; attribute value: {v}"
            ),
        ));
    }
    Ok(())
}

/// EX-04: every supplied placeholder must be used by some expression of the request.
fn check_unused(prepared: &Prepared, bindings: &Bindings<'_>) -> Result<(), EngineError> {
    if bindings.names.is_none() && bindings.values.is_none() {
        return Ok(());
    }
    // The map's own keys that some expression uses (a placeholder with no entry is
    // `check_defined`'s error, not this one's): borrowed, so nothing is copied.
    let mut names: BTreeSet<&str> = BTreeSet::new();
    let mut values: BTreeSet<&str> = BTreeSet::new();
    let exprs: [Option<&dyn Placeholders>; 5] = [
        prepared
            .key_condition
            .as_deref()
            .map(|c| c as &dyn Placeholders),
        prepared.filter.as_deref().map(|c| c as &dyn Placeholders),
        prepared
            .condition
            .as_deref()
            .map(|c| c as &dyn Placeholders),
        prepared.update.as_deref().map(|u| u as &dyn Placeholders),
        prepared
            .projection
            .as_deref()
            .map(|p| p as &dyn Placeholders),
    ];
    for expr in exprs.into_iter().flatten() {
        expr.visit_placeholders(
            &mut |n| {
                if let Some((key, _)) = bindings.names.and_then(|m| m.get_key_value(n)) {
                    names.insert(key.as_str());
                }
            },
            &mut |v| {
                if let Some((key, _)) = bindings.values.and_then(|m| m.get_key_value(v)) {
                    values.insert(key.as_str());
                }
            },
        );
    }
    if let Some(map) = bindings.names {
        let unused: Vec<&str> = map
            .keys()
            .filter(|k| !names.contains(k.as_str()))
            .map(String::as_str)
            .collect();
        if !unused.is_empty() {
            return Err(EngineError::validation(format!(
                "Value provided in ExpressionAttributeNames unused in expressions: keys: {{{}}}",
                unused.join(", ")
            )));
        }
    }
    if let Some(map) = bindings.values {
        let unused: Vec<&str> = map
            .keys()
            .filter(|k| !values.contains(k.as_str()))
            .map(String::as_str)
            .collect();
        if !unused.is_empty() {
            return Err(EngineError::validation(format!(
                "Value provided in ExpressionAttributeValues unused in expressions: keys: {{{}}}",
                unused.join(", ")
            )));
        }
    }
    Ok(())
}

/// UX-09 / PX-01: no two paths may overlap or conflict.
fn check_overlaps(paths: &[ResolvedPath], kind: ExprKind) -> Result<(), EngineError> {
    for (j, later) in paths.iter().enumerate() {
        for earlier in &paths[..j] {
            let mut diverged = false;
            for (a, b) in earlier.iter().zip(later) {
                match (a, b) {
                    (Step::Name(x), Step::Name(y)) if x == y => {}
                    (Step::Index(x), Step::Index(y)) if x == y => {}
                    (Step::Name(_), Step::Name(_)) | (Step::Index(_), Step::Index(_)) => {
                        diverged = true;
                        break;
                    }
                    _ => {
                        return Err(invalid(
                            kind,
                            format!(
                                "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: {}, path two: {}",
                                path_display(earlier),
                                path_display(later)
                            ),
                        ));
                    }
                }
            }
            if !diverged {
                return Err(invalid(
                    kind,
                    format!(
                        "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: {}, path two: {}",
                        path_display(earlier),
                        path_display(later)
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn operand_type(op: &Operand, bindings: &Bindings<'_>) -> Option<ValueType> {
    match op {
        Operand::Value(v) => bindings.value(v).map(AttributeValue::value_type),
        Operand::Size(_) => Some(ValueType::N),
        Operand::Path(_) => None,
    }
}

fn show_value(value: &AttributeValue) -> String {
    let inner = match value {
        AttributeValue::S(s) => s.clone(),
        AttributeValue::N(n) => n.to_string(),
        other => format!("{other:?}"),
    };
    format!("AttributeValue: {{{}:{inner}}}", value.value_type())
}

/// Binding checks of a condition (EX-15..EX-20): defined placeholders, distinct
/// operands, literal operand types, BETWEEN bounds.
fn bind_condition(
    cond: &Condition,
    bindings: &Bindings<'_>,
    kind: ExprKind,
) -> Result<(), EngineError> {
    check_defined(cond, bindings, kind)?;
    let mut distinct: Option<String> = None;
    let mut function: Option<String> = None;
    walk_condition(cond, bindings, &mut distinct, &mut function);
    match distinct.or(function) {
        Some(message) => Err(invalid(kind, message)),
        None => Ok(()),
    }
}

fn same_path(a: &Operand, b: &Operand, bindings: &Bindings<'_>) -> Option<ResolvedPath> {
    match (a, b) {
        (Operand::Path(x), Operand::Path(y)) => {
            let x = bindings.resolve(x);
            (x == bindings.resolve(y)).then_some(x)
        }
        _ => None,
    }
}

fn walk_condition(
    cond: &Condition,
    b: &Bindings<'_>,
    distinct: &mut Option<String>,
    function: &mut Option<String>,
) {
    let distinct_check = |op: &str, x: &Operand, y: &Operand, distinct: &mut Option<String>| {
        if distinct.is_none()
            && let Some(p) = same_path(x, y, b)
        {
            *distinct = Some(format!(
                "The first operand must be distinct from the remaining operands for this operator or function; operator: {op}, first operand: {}",
                path_display(&p)
            ));
        }
    };
    let size_check = |ops: &[&Operand], function: &mut Option<String>| {
        for op in ops {
            if let Operand::Size(inner) = op
                && let Some(t @ (ValueType::N | ValueType::Bool | ValueType::Null)) =
                    operand_type(inner, b)
            {
                function.get_or_insert(format!(
                        "Incorrect operand type for operator or function; operator or function: size, operand type: {t}"
                    ));
            }
        }
    };
    match cond {
        Condition::Compare(c, x, y) => {
            distinct_check(&c.to_string(), x, y, distinct);
            size_check(&[x, y], function);
        }
        Condition::Between(x, low, high) => {
            size_check(&[x, low, high], function);
            if let (Operand::Value(l), Operand::Value(h)) = (low, high)
                && let (Some(l), Some(h)) = (b.value(l), b.value(h))
            {
                if l.value_type() != h.value_type() {
                    function.get_or_insert(format!(
                            "The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: {}, upper bound operand: {}",
                            show_value(l),
                            show_value(h)
                        ));
                } else if eval::order(l, h) == Some(std::cmp::Ordering::Greater) {
                    function.get_or_insert(format!(
                            "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: {}, upper bound operand: {}",
                            show_value(l),
                            show_value(h)
                        ));
                }
            }
        }
        Condition::In(x, list) => {
            let mut all: Vec<&Operand> = vec![x];
            all.extend(list);
            size_check(&all, function);
        }
        Condition::Function(f, args) => {
            let refs: Vec<&Operand> = args.iter().collect();
            size_check(&refs, function);
            if let [x, y] = args.as_slice()
                && matches!(f, CondFunction::BeginsWith | CondFunction::Contains)
            {
                distinct_check(f.name(), x, y, distinct);
            }
            match f {
                CondFunction::BeginsWith => {
                    for a in args {
                        if let Some(t) =
                            operand_type(a, b).filter(|t| !matches!(t, ValueType::S | ValueType::B))
                        {
                            function.get_or_insert(format!(
                                "Incorrect operand type for operator or function; operator or function: begins_with, operand type: {t}"
                            ));
                        }
                    }
                }
                CondFunction::AttributeType => {
                    let type_operand = args.get(1);
                    match type_operand.and_then(|o| match o {
                        Operand::Value(v) => b.value(v),
                        _ => None,
                    }) {
                        Some(AttributeValue::S(name)) => {
                            if ValueType::from_tag(name).is_none() {
                                function.get_or_insert(format!(
                                    "Invalid attribute type name found; type: {name}, valid types: {{B,NULL,SS,BOOL,L,BS,N,NS,S,M}}"
                                ));
                            }
                        }
                        Some(other) => {
                            function.get_or_insert(format!(
                                "Incorrect operand type for operator or function; operator or function: attribute_type, operand type: {}",
                                other.value_type()
                            ));
                        }
                        None => {
                            function.get_or_insert(
                                "Incorrect operand type for operator or function; operator or function: attribute_type, operand type: {NS,SS,L,BS,N,M,B,BOOL,NULL,S}".to_string(),
                            );
                        }
                    }
                }
                _ => {}
            }
        }
        Condition::Not(c) => walk_condition(c, b, distinct, function),
        Condition::And(x, y) | Condition::Or(x, y) => {
            walk_condition(x, b, distinct, function);
            walk_condition(y, b, distinct, function);
        }
    }
}

/// Binding checks of an update (UX-06, UX-09, UX-03): defined placeholders, no
/// overlapping paths, ADD/DELETE operand types, literal types for `+`, `-`, list_append.
fn bind_update(update: &Update, bindings: &Bindings<'_>) -> Result<(), EngineError> {
    let kind = ExprKind::Update;
    check_defined(update, bindings, kind)?;
    let paths: Vec<ResolvedPath> = update
        .actions
        .iter()
        .map(|a| bindings.resolve(a.path()))
        .collect();
    check_overlaps(&paths, kind)?;
    let mut function: Option<String> = None;
    for action in &update.actions {
        match action {
            UpdateAction::Add(_, v) | UpdateAction::Delete(_, v) => {
                let op = if matches!(action, UpdateAction::Add(..)) {
                    "ADD"
                } else {
                    "DELETE"
                };
                if let Some(t) = bindings.value(v).map(AttributeValue::value_type) {
                    let allowed = t.is_set() || (op == "ADD" && t == ValueType::N);
                    if !allowed {
                        return Err(invalid(
                            kind,
                            format!(
                                "Incorrect operand type for operator or function; operator: {op}, operand type: {}",
                                t.long_name()
                            ),
                        ));
                    }
                }
            }
            UpdateAction::Set(_, value) => {
                if !value.rest.is_empty() {
                    for (i, operand) in std::iter::once(&value.first)
                        .chain(value.rest.iter().map(|(_, o)| o))
                        .enumerate()
                    {
                        let op = if i == 0 {
                            value.rest[0].0
                        } else {
                            value.rest[i - 1].0
                        };
                        let name = if op == ArithOp::Plus { "+" } else { "-" };
                        check_set_literal(operand, bindings, name, ValueType::N, &mut function);
                    }
                }
                walk_set_operand(&value.first, bindings, &mut function);
                for (_, o) in &value.rest {
                    walk_set_operand(o, bindings, &mut function);
                }
            }
            UpdateAction::Remove(_) => {}
        }
    }
    match function {
        Some(message) => Err(invalid(kind, message)),
        None => Ok(()),
    }
}

fn check_set_literal(
    op: &SetOperand,
    b: &Bindings<'_>,
    name: &str,
    want: ValueType,
    out: &mut Option<String>,
) {
    if let SetOperand::Value(v) = op
        && let Some(t) = b
            .value(v)
            .map(AttributeValue::value_type)
            .filter(|t| *t != want)
    {
        out.get_or_insert(format!(
                "Incorrect operand type for operator or function; operator or function: {name}, operand type: {t}"
            ));
    }
}

fn walk_set_operand(op: &SetOperand, b: &Bindings<'_>, out: &mut Option<String>) {
    match op {
        SetOperand::ListAppend(x, y) => {
            check_set_literal(x, b, "list_append", ValueType::L, out);
            check_set_literal(y, b, "list_append", ValueType::L, out);
            walk_set_operand(x, b, out);
            walk_set_operand(y, b, out);
        }
        SetOperand::IfNotExists(_, fallback) => walk_set_operand(fallback, b, out),
        SetOperand::Path(_) | SetOperand::Value(_) => {}
    }
}
