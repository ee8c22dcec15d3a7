//! Evaluation of condition expressions against an item (EX-13..EX-21).
//!
//! Evaluation never fails: a missing path or a type mismatch makes a comparison false
//! (and `<>` true), as in DynamoDB (EX-13).

use super::Bindings;
use super::ast::*;
use crate::config::{EngineConfig, StringSizeUnit};
use crate::number::Number;
use crate::value::{AttributeValue, Item, ValueType};
use std::borrow::Cow;
use std::cmp::Ordering;

/// Follows a resolved path through maps and lists; `None` if any step is missing or
/// has the wrong type (EX-08).
pub fn get_resolved<'i>(item: &'i Item, path: &[Step]) -> Option<&'i AttributeValue> {
    let (first, rest) = path.split_first()?;
    let Step::Name(name) = first else { return None };
    let mut current = item.get(name)?;
    for step in rest {
        current = match (step, current) {
            (Step::Name(n), AttributeValue::M(m)) => m.get(n)?,
            (Step::Index(i), AttributeValue::L(l)) => l.get(*i)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Follows a path as written, resolving `#name` placeholders on the way.
pub fn get_path<'i>(
    item: &'i Item,
    path: &Path,
    bindings: &Bindings<'_>,
) -> Option<&'i AttributeValue> {
    let (first, rest) = path.0.split_first()?;
    let mut current = item.get(bindings.step_name(first)?)?;
    for elem in rest {
        current = match (elem, current) {
            (PathElem::Index(i), AttributeValue::L(l)) => l.get(*i)?,
            (PathElem::Index(_), _) => return None,
            (name, AttributeValue::M(m)) => m.get(bindings.step_name(name)?)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Ordering for `<`, `<=`, `>`, `>=` and BETWEEN: only between two S, two N or two B
/// (EX-14). `None` means "not comparable", which makes the comparison false.
pub fn order(a: &AttributeValue, b: &AttributeValue) -> Option<Ordering> {
    match (a, b) {
        (AttributeValue::S(x), AttributeValue::S(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (AttributeValue::N(x), AttributeValue::N(y)) => Some(x.cmp(y)),
        (AttributeValue::B(x), AttributeValue::B(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// `size()` of a value (EX-19): string length, bytes, or element count.
pub fn size_of(value: &AttributeValue, config: &EngineConfig) -> Option<Number> {
    let n = match value {
        AttributeValue::S(s) => match config.string_size_unit {
            StringSizeUnit::Utf8Bytes => s.len(),
            StringSizeUnit::Chars => s.chars().count(),
        },
        AttributeValue::B(b) => b.len(),
        AttributeValue::Ss(s) => s.len(),
        AttributeValue::Ns(s) => s.len(),
        AttributeValue::Bs(s) => s.len(),
        AttributeValue::L(l) => l.len(),
        AttributeValue::M(m) => m.len(),
        AttributeValue::N(_) | AttributeValue::Bool(_) | AttributeValue::Null => return None,
    };
    Some(Number::from(i64::try_from(n).unwrap_or(i64::MAX)))
}

/// Evaluation context: the item, the request's placeholders and the engine options.
pub struct Evaluator<'a> {
    pub item: &'a Item,
    pub bindings: &'a Bindings<'a>,
    pub config: &'a EngineConfig,
}

impl<'a> Evaluator<'a> {
    fn operand(&self, op: &Operand) -> Option<Cow<'a, AttributeValue>> {
        match op {
            Operand::Path(p) => get_path(self.item, p, self.bindings).map(Cow::Borrowed),
            Operand::Value(v) => self.bindings.value(v).map(Cow::Borrowed),
            Operand::Size(inner) => {
                let value = self.operand(inner)?;
                size_of(&value, self.config).map(|n| Cow::Owned(AttributeValue::N(n)))
            }
        }
    }

    /// Whether the condition holds for the item.
    pub fn condition(&self, cond: &Condition) -> bool {
        match cond {
            Condition::Compare(c, a, b) => {
                let (a, b) = (self.operand(a), self.operand(b));
                match (c, a, b) {
                    (Comparator::Eq, Some(a), Some(b)) => a == b,
                    (Comparator::Ne, Some(a), Some(b)) => a != b,
                    (Comparator::Ne, _, _) => true,
                    (_, Some(a), Some(b)) => match order(&a, &b) {
                        Some(o) => match c {
                            Comparator::Lt => o == Ordering::Less,
                            Comparator::Le => o != Ordering::Greater,
                            Comparator::Gt => o == Ordering::Greater,
                            Comparator::Ge => o != Ordering::Less,
                            Comparator::Eq | Comparator::Ne => unreachable!("handled above"),
                        },
                        None => false,
                    },
                    _ => false,
                }
            }
            Condition::Between(x, low, high) => {
                let (Some(x), Some(low), Some(high)) =
                    (self.operand(x), self.operand(low), self.operand(high))
                else {
                    return false;
                };
                matches!(order(&x, &low), Some(Ordering::Greater | Ordering::Equal))
                    && matches!(order(&x, &high), Some(Ordering::Less | Ordering::Equal))
            }
            Condition::In(x, list) => {
                let Some(x) = self.operand(x) else {
                    return false;
                };
                list.iter().any(|o| self.operand(o).is_some_and(|v| v == x))
            }
            Condition::Function(f, args) => self.function(*f, args),
            Condition::Not(c) => !self.condition(c),
            Condition::And(a, b) => self.condition(a) && self.condition(b),
            Condition::Or(a, b) => self.condition(a) || self.condition(b),
        }
    }

    fn function(&self, f: CondFunction, args: &[Operand]) -> bool {
        let arg = |i: usize| args.get(i).and_then(|o| self.operand(o));
        match f {
            CondFunction::AttributeExists => arg(0).is_some(),
            CondFunction::AttributeNotExists => arg(0).is_none(),
            CondFunction::AttributeType => match (arg(0), arg(1)) {
                (Some(v), Some(t)) => match t.as_ref() {
                    AttributeValue::S(name) => ValueType::from_tag(name) == Some(v.value_type()),
                    _ => false,
                },
                _ => false,
            },
            CondFunction::BeginsWith => match (arg(0), arg(1)) {
                (Some(v), Some(prefix)) => match (v.as_ref(), prefix.as_ref()) {
                    (AttributeValue::S(s), AttributeValue::S(p)) => {
                        s.as_bytes().starts_with(p.as_bytes())
                    }
                    (AttributeValue::B(s), AttributeValue::B(p)) => s.starts_with(p),
                    _ => false,
                },
                _ => false,
            },
            CondFunction::Contains => match (arg(0), arg(1)) {
                (Some(v), Some(needle)) => contains(&v, &needle),
                _ => false,
            },
        }
    }
}

/// `contains(p, v)` (EX-18): substring of S, member of a set of v's type, or an element
/// of a list equal to v.
fn contains(haystack: &AttributeValue, needle: &AttributeValue) -> bool {
    match (haystack, needle) {
        (AttributeValue::S(s), AttributeValue::S(n)) => s.contains(n.as_str()),
        (AttributeValue::B(s), AttributeValue::B(n)) => {
            n.is_empty() || s.windows(n.len()).any(|w| w == n.as_slice())
        }
        (AttributeValue::Ss(set), AttributeValue::S(n)) => set.contains(n),
        (AttributeValue::Ns(set), AttributeValue::N(n)) => set.contains(n),
        (AttributeValue::Bs(set), AttributeValue::B(n)) => set.contains(n),
        (AttributeValue::L(list), n) => list.contains(n),
        _ => false,
    }
}
