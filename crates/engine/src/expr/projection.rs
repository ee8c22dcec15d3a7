//! Projecting an item onto document paths (PX-01): missing attributes are left out and
//! nested selections keep their enclosing structure (`a.b[1]` yields `{a:{b:[elem]}}`).

use super::ast::{ResolvedPath, Step};
use crate::value::{AttributeValue, Item};
use std::collections::BTreeMap;

/// A tree of selected parts, built from all paths before copying anything.
#[derive(Debug)]
enum Selection {
    All,
    Fields(BTreeMap<String, Selection>),
    Elements(BTreeMap<usize, Selection>),
}

impl Selection {
    fn insert(&mut self, path: &[Step]) {
        let Some((step, rest)) = path.split_first() else {
            *self = Selection::All;
            return;
        };
        match (self, step) {
            (Selection::All, _) => {}
            (Selection::Fields(f), Step::Name(n)) => {
                f.entry(n.clone())
                    .or_insert_with(|| Selection::empty_for(rest))
                    .insert(rest);
            }
            (Selection::Elements(e), Step::Index(i)) => {
                e.entry(*i)
                    .or_insert_with(|| Selection::empty_for(rest))
                    .insert(rest);
            }
            // A name and an index at one level conflict; binding rejects that (UX-09).
            _ => {}
        }
    }

    fn empty_for(rest: &[Step]) -> Selection {
        match rest.first() {
            None => Selection::All,
            Some(Step::Name(_)) => Selection::Fields(BTreeMap::new()),
            Some(Step::Index(_)) => Selection::Elements(BTreeMap::new()),
        }
    }

    fn apply(&self, value: &AttributeValue) -> Option<AttributeValue> {
        match (self, value) {
            (Selection::All, v) => Some(v.clone()),
            (Selection::Fields(fields), AttributeValue::M(m)) => {
                let out: crate::AttrMap = fields
                    .iter()
                    .filter_map(|(k, sel)| Some((k.clone(), sel.apply(m.get(k)?)?)))
                    .collect();
                (!out.is_empty()).then_some(AttributeValue::M(out))
            }
            (Selection::Elements(elements), AttributeValue::L(l)) => {
                let out: Vec<AttributeValue> = elements
                    .iter()
                    .filter_map(|(i, sel)| sel.apply(l.get(*i)?))
                    .collect();
                (!out.is_empty()).then_some(AttributeValue::L(out))
            }
            _ => None,
        }
    }
}

/// The parts of `item` named by `paths`.
pub fn project(item: &Item, paths: &[ResolvedPath]) -> Item {
    let mut top: BTreeMap<&str, Selection> = BTreeMap::new();
    for path in paths {
        let Some((Step::Name(first), rest)) = path.split_first() else {
            continue;
        };
        top.entry(first.as_str())
            .or_insert_with(|| Selection::empty_for(rest))
            .insert(rest);
    }
    top.into_iter()
        .filter_map(|(name, sel)| Some((name.to_string(), sel.apply(item.get(name)?)?)))
        .collect()
}
