//! Applying an update expression to an item (UX-02..UX-07, DM-23).
//!
//! All SET operands are evaluated against the item as it was before the update; then
//! SET, REMOVE, ADD and DELETE actions are applied. Paths never overlap (checked when
//! the expression is bound), so the order between actions on different paths only
//! matters for list indexes, which are applied in index order (UX-04, UX-05).

use super::Bindings;
use super::ast::*;
use super::eval::{get_path, get_resolved};
use crate::error::EngineError;
use crate::key::KeySchema;
use crate::value::{AttributeValue, Item};

fn invalid_path() -> EngineError {
    EngineError::validation(
        "The document path provided in the update expression is invalid for update",
    )
}
fn missing_attribute() -> EngineError {
    EngineError::validation(
        "The provided expression refers to an attribute that does not exist in the item",
    )
}
fn wrong_type() -> EngineError {
    EngineError::validation("An operand in the update expression has an incorrect data type")
}

/// Applies `update` to `item` in place and returns the resolved paths it touched
/// (for UPDATED_OLD / UPDATED_NEW). On error the item may be partly changed: callers
/// apply updates to a copy.
pub fn apply_update(
    update: &Update,
    item: &mut Item,
    bindings: &Bindings<'_>,
    schema: &KeySchema,
) -> Result<Vec<ResolvedPath>, EngineError> {
    let paths: Vec<ResolvedPath> = update
        .actions
        .iter()
        .map(|a| bindings.resolve(a.path()))
        .collect();
    for path in &paths {
        if let Some(Step::Name(top)) = path.first()
            && schema.is_key_attribute(top)
        {
            return Err(EngineError::validation(format!(
                "Cannot update attribute {top}. This attribute is part of the key"
            )));
        }
    }
    // Evaluate every SET value against the unchanged item first.
    let mut sets: Vec<(&ResolvedPath, AttributeValue)> = Vec::new();
    for (action, path) in update.actions.iter().zip(&paths) {
        if let UpdateAction::Set(_, value) = action {
            sets.push((path, set_value(value, item, bindings)?));
        }
    }
    sets.sort_by(|a, b| a.0.cmp(b.0));
    for (path, value) in sets {
        set_at(item, path, value)?;
    }
    let mut removes: Vec<&ResolvedPath> = update
        .actions
        .iter()
        .zip(&paths)
        .filter(|(a, _)| matches!(a, UpdateAction::Remove(_)))
        .map(|(_, p)| p)
        .collect();
    // Highest index first, so earlier removals do not shift later ones (UX-05).
    removes.sort_by(|a, b| b.cmp(a));
    for path in removes {
        remove_at(item, path)?;
    }
    for (action, path) in update.actions.iter().zip(&paths) {
        match action {
            UpdateAction::Add(_, v) => {
                let operand = bindings.value(v).ok_or_else(missing_attribute)?;
                let result = match get_resolved(item, path) {
                    None => operand.clone(),
                    Some(current) => add(current, operand)?,
                };
                set_at(item, path, result)?;
            }
            UpdateAction::Delete(_, v) => {
                let operand = bindings.value(v).ok_or_else(missing_attribute)?;
                let Some(current) = get_resolved(item, path) else {
                    continue;
                };
                match subtract_set(current, operand)? {
                    Some(rest) => set_at(item, path, rest)?,
                    // Removing every element removes the attribute (UX-07, DM-14).
                    None => remove_at(item, path)?,
                }
            }
            UpdateAction::Set(..) | UpdateAction::Remove(_) => {}
        }
    }
    Ok(paths)
}

fn set_value(
    value: &SetValue,
    item: &Item,
    bindings: &Bindings<'_>,
) -> Result<AttributeValue, EngineError> {
    let mut result = operand(&value.first, item, bindings)?;
    for (op, next) in &value.rest {
        let right = operand(next, item, bindings)?;
        let (AttributeValue::N(a), AttributeValue::N(b)) = (&result, &right) else {
            return Err(wrong_type());
        };
        result = AttributeValue::N(match op {
            ArithOp::Plus => a.checked_add(b)?,
            ArithOp::Minus => a.checked_sub(b)?,
        });
    }
    Ok(result)
}

fn operand(
    op: &SetOperand,
    item: &Item,
    bindings: &Bindings<'_>,
) -> Result<AttributeValue, EngineError> {
    match op {
        SetOperand::Path(p) => get_path(item, p, bindings)
            .cloned()
            .ok_or_else(missing_attribute),
        SetOperand::Value(v) => bindings.value(v).cloned().ok_or_else(missing_attribute),
        SetOperand::IfNotExists(p, fallback) => match get_path(item, p, bindings) {
            Some(v) => Ok(v.clone()),
            None => operand(fallback, item, bindings),
        },
        SetOperand::ListAppend(a, b) => {
            let (a, b) = (operand(a, item, bindings)?, operand(b, item, bindings)?);
            match (a, b) {
                (AttributeValue::L(mut a), AttributeValue::L(b)) => {
                    a.extend(b);
                    Ok(AttributeValue::L(a))
                }
                _ => Err(wrong_type()),
            }
        }
    }
}

/// ADD (UX-06): number addition or set union of the same set type.
fn add(current: &AttributeValue, operand: &AttributeValue) -> Result<AttributeValue, EngineError> {
    Ok(match (current, operand) {
        (AttributeValue::N(a), AttributeValue::N(b)) => AttributeValue::N(a.checked_add(b)?),
        (AttributeValue::Ss(a), AttributeValue::Ss(b)) => {
            AttributeValue::Ss(a.union(b).cloned().collect())
        }
        (AttributeValue::Ns(a), AttributeValue::Ns(b)) => {
            AttributeValue::Ns(a.union(b).cloned().collect())
        }
        (AttributeValue::Bs(a), AttributeValue::Bs(b)) => {
            AttributeValue::Bs(a.union(b).cloned().collect())
        }
        _ => return Err(wrong_type()),
    })
}

/// DELETE (UX-07): set difference; `None` when nothing is left.
fn subtract_set(
    current: &AttributeValue,
    operand: &AttributeValue,
) -> Result<Option<AttributeValue>, EngineError> {
    let rest = match (current, operand) {
        (AttributeValue::Ss(a), AttributeValue::Ss(b)) => {
            AttributeValue::Ss(a.difference(b).cloned().collect())
        }
        (AttributeValue::Ns(a), AttributeValue::Ns(b)) => {
            AttributeValue::Ns(a.difference(b).cloned().collect())
        }
        (AttributeValue::Bs(a), AttributeValue::Bs(b)) => {
            AttributeValue::Bs(a.difference(b).cloned().collect())
        }
        _ => return Err(wrong_type()),
    };
    let empty = match &rest {
        AttributeValue::Ss(s) => s.is_empty(),
        AttributeValue::Ns(s) => s.is_empty(),
        AttributeValue::Bs(s) => s.is_empty(),
        _ => false,
    };
    Ok(if empty { None } else { Some(rest) })
}

/// SET at a path (UX-04): the parent must exist; a list index past the end appends.
fn set_at(item: &mut Item, path: &[Step], value: AttributeValue) -> Result<(), EngineError> {
    let Some((Step::Name(first), rest)) = path.split_first() else {
        return Err(invalid_path());
    };
    if rest.is_empty() {
        item.insert(first.clone(), value);
        return Ok(());
    }
    let mut current = item.get_mut(first).ok_or_else(invalid_path)?;
    let (last, middle) = rest.split_last().ok_or_else(invalid_path)?;
    for step in middle {
        current = match (step, current) {
            (Step::Name(n), AttributeValue::M(m)) => m.get_mut(n).ok_or_else(invalid_path)?,
            (Step::Index(i), AttributeValue::L(l)) => l.get_mut(*i).ok_or_else(invalid_path)?,
            _ => return Err(invalid_path()),
        };
    }
    match (last, current) {
        (Step::Name(n), AttributeValue::M(m)) => {
            m.insert(n.clone(), value);
        }
        (Step::Index(i), AttributeValue::L(l)) => {
            if *i < l.len() {
                l[*i] = value;
            } else {
                l.push(value);
            }
        }
        _ => return Err(invalid_path()),
    }
    Ok(())
}

/// REMOVE at a path (UX-05): a missing final step does nothing; list elements shift.
fn remove_at(item: &mut Item, path: &[Step]) -> Result<(), EngineError> {
    let Some((Step::Name(first), rest)) = path.split_first() else {
        return Err(invalid_path());
    };
    if rest.is_empty() {
        item.remove(first);
        return Ok(());
    }
    let Some(mut current) = item.get_mut(first) else {
        return Ok(());
    };
    let (last, middle) = rest.split_last().ok_or_else(invalid_path)?;
    for step in middle {
        current = match (step, current) {
            (Step::Name(n), AttributeValue::M(m)) => match m.get_mut(n) {
                Some(v) => v,
                None => return Ok(()),
            },
            (Step::Index(i), AttributeValue::L(l)) => match l.get_mut(*i) {
                Some(v) => v,
                None => return Ok(()),
            },
            _ => return Err(invalid_path()),
        };
    }
    match (last, current) {
        (Step::Name(n), AttributeValue::M(m)) => {
            m.remove(n);
        }
        (Step::Index(i), AttributeValue::L(l)) => {
            if *i < l.len() {
                l.remove(*i);
            }
        }
        _ => return Err(invalid_path()),
    }
    Ok(())
}
