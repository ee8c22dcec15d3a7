//! Parsed expressions. Paths and values keep their placeholders (`#n`, `:v`) unresolved
//! so one parse can be cached per expression string and bound to each request's
//! ExpressionAttributeNames/Values later.

use std::fmt;

/// One step of a document path as written (EX-08).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PathElem {
    /// A bare attribute name.
    Name(String),
    /// `#placeholder`, resolved through ExpressionAttributeNames (EX-03).
    Placeholder(String),
    /// `[n]`, a list index.
    Index(usize),
}

/// A document path as written, e.g. `a.#b[3]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Path(pub Vec<PathElem>);

/// A path step after placeholder substitution.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    Name(String),
    Index(usize),
}

/// A path after placeholder substitution.
pub type ResolvedPath = Vec<Step>;

/// DynamoDB's rendering of a path in messages: `[a, b, [3]]` (UX-09).
pub fn path_display(path: &[Step]) -> String {
    let parts: Vec<String> = path
        .iter()
        .map(|s| match s {
            Step::Name(n) => n.clone(),
            Step::Index(i) => format!("[{i}]"),
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

/// Comparators of condition expressions (EX-12).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Comparator {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl fmt::Display for Comparator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Comparator::Eq => "=",
            Comparator::Ne => "<>",
            Comparator::Lt => "<",
            Comparator::Le => "<=",
            Comparator::Gt => ">",
            Comparator::Ge => ">=",
        })
    }
}

/// An operand of a condition (EX-12 grammar: path, `:value` or `size(path)`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Operand {
    Path(Path),
    Value(String),
    Size(Box<Operand>),
}

/// Boolean functions usable as a condition (EX-15..EX-18).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CondFunction {
    AttributeExists,
    AttributeNotExists,
    AttributeType,
    BeginsWith,
    Contains,
}

impl CondFunction {
    pub fn name(self) -> &'static str {
        match self {
            CondFunction::AttributeExists => "attribute_exists",
            CondFunction::AttributeNotExists => "attribute_not_exists",
            CondFunction::AttributeType => "attribute_type",
            CondFunction::BeginsWith => "begins_with",
            CondFunction::Contains => "contains",
        }
    }
}

/// A condition / filter expression (EX-12).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Condition {
    Compare(Comparator, Operand, Operand),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    Function(CondFunction, Vec<Operand>),
    Not(Box<Condition>),
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
}

/// An operand on the right of `SET path =` (UX-02, UX-03).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SetOperand {
    Path(Path),
    Value(String),
    IfNotExists(Path, Box<SetOperand>),
    ListAppend(Box<SetOperand>, Box<SetOperand>),
}

/// `+` or `-` in a SET value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArithOp {
    Plus,
    Minus,
}

/// The value of a SET action: an operand, then zero or more `+`/`-` operands
/// (one at most unless `EngineConfig::update_arithmetic_chain`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SetValue {
    pub first: SetOperand,
    pub rest: Vec<(ArithOp, SetOperand)>,
}

/// One action of an update expression (UX-01..UX-07).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum UpdateAction {
    Set(Path, SetValue),
    Remove(Path),
    Add(Path, String),
    Delete(Path, String),
}

impl UpdateAction {
    pub fn path(&self) -> &Path {
        match self {
            UpdateAction::Set(p, _)
            | UpdateAction::Remove(p)
            | UpdateAction::Add(p, _)
            | UpdateAction::Delete(p, _) => p,
        }
    }
}

/// A parsed update expression: actions in source order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Update {
    pub actions: Vec<UpdateAction>,
}

/// A parsed projection expression (PX-01).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Projection {
    pub paths: Vec<Path>,
}

/// Visits every placeholder of a parsed expression.
pub trait Placeholders {
    fn visit_placeholders(&self, names: &mut dyn FnMut(&str), values: &mut dyn FnMut(&str));
}

impl Path {
    fn visit(&self, names: &mut dyn FnMut(&str)) {
        for e in &self.0 {
            if let PathElem::Placeholder(p) = e {
                names(p);
            }
        }
    }
}

impl Operand {
    fn visit(&self, names: &mut dyn FnMut(&str), values: &mut dyn FnMut(&str)) {
        match self {
            Operand::Path(p) => p.visit(names),
            Operand::Value(v) => values(v),
            Operand::Size(inner) => inner.visit(names, values),
        }
    }
}

impl Placeholders for Condition {
    fn visit_placeholders(&self, names: &mut dyn FnMut(&str), values: &mut dyn FnMut(&str)) {
        match self {
            Condition::Compare(_, a, b) => {
                a.visit(names, values);
                b.visit(names, values);
            }
            Condition::Between(a, b, c) => {
                for o in [a, b, c] {
                    o.visit(names, values);
                }
            }
            Condition::In(a, list) => {
                a.visit(names, values);
                for o in list {
                    o.visit(names, values);
                }
            }
            Condition::Function(_, args) => {
                for o in args {
                    o.visit(names, values);
                }
            }
            Condition::Not(c) => c.visit_placeholders(names, values),
            Condition::And(a, b) | Condition::Or(a, b) => {
                a.visit_placeholders(names, values);
                b.visit_placeholders(names, values);
            }
        }
    }
}

impl SetOperand {
    fn visit(&self, names: &mut dyn FnMut(&str), values: &mut dyn FnMut(&str)) {
        match self {
            SetOperand::Path(p) => p.visit(names),
            SetOperand::Value(v) => values(v),
            SetOperand::IfNotExists(p, o) => {
                p.visit(names);
                o.visit(names, values);
            }
            SetOperand::ListAppend(a, b) => {
                a.visit(names, values);
                b.visit(names, values);
            }
        }
    }
}

impl Placeholders for Update {
    fn visit_placeholders(&self, names: &mut dyn FnMut(&str), values: &mut dyn FnMut(&str)) {
        for action in &self.actions {
            match action {
                UpdateAction::Set(p, v) => {
                    p.visit(names);
                    v.first.visit(names, values);
                    for (_, o) in &v.rest {
                        o.visit(names, values);
                    }
                }
                UpdateAction::Remove(p) => p.visit(names),
                UpdateAction::Add(p, v) | UpdateAction::Delete(p, v) => {
                    p.visit(names);
                    values(v);
                }
            }
        }
    }
}

impl Placeholders for Projection {
    fn visit_placeholders(&self, names: &mut dyn FnMut(&str), _values: &mut dyn FnMut(&str)) {
        for p in &self.paths {
            p.visit(names);
        }
    }
}
