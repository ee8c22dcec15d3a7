//! Errors for users: each names the file, line and column, the field path and what was
//! expected, e.g. `x.toml:42:10: fault[2].target: heal names unknown fault "spilt"`.

use std::fmt;
use std::ops::Range;
use toml::de::{DeTable, DeValue};

/// One problem in a scenario file. `line` and `column` are 1-based (column counts
/// characters); `path` is the TOML field path with 0-based array indexes
/// (`fault[2].target`), empty for problems with the file as a whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub path: String,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        write!(f, "{}", self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{file}: cannot read scenario: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    /// The file was read but is not a valid scenario; every problem found is listed, in
    /// file order.
    #[error("{}", render(.diagnostics))]
    Invalid { diagnostics: Vec<Diagnostic> },
}

impl ScenarioError {
    /// The diagnostics (empty for I/O errors).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            ScenarioError::Io { .. } => &[],
            ScenarioError::Invalid { diagnostics } => diagnostics,
        }
    }
}

fn render(diagnostics: &[Diagnostic]) -> String {
    let lines: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
    let mut text = lines.join("\n");
    if diagnostics.len() > 1 {
        text.push_str(&format!("\n{} errors", diagnostics.len()));
    }
    text
}

/// A problem found before it has a place: byte span, field path, message.
#[derive(Clone, Debug)]
pub(crate) struct Issue {
    pub span: Range<usize>,
    pub path: String,
    pub message: String,
}

/// 1-based line and character column of a byte offset (clamped into the text).
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

pub(crate) fn to_diagnostics(text: &str, file: &str, mut issues: Vec<Issue>) -> Vec<Diagnostic> {
    issues.sort_by_key(|issue| issue.span.start);
    issues
        .into_iter()
        .map(|issue| {
            let (line, column) = line_column(text, issue.span.start);
            Diagnostic {
                file: file.to_string(),
                line,
                column,
                path: issue.path,
                message: issue.message,
            }
        })
        .collect()
}

/// The field path of the innermost key or value whose span contains `offset`, found by
/// walking the spanned parse tree (serde's errors carry a span but no path).
pub(crate) fn path_at(text: &str, offset: usize) -> String {
    let Ok(root) = DeTable::parse(text) else {
        return String::new();
    };
    let mut path = String::new();
    walk_table(root.get_ref(), offset, &mut path);
    path
}

fn walk_table(table: &DeTable<'_>, offset: usize, path: &mut String) {
    for (key, value) in table.iter() {
        let in_key = key.span().contains(&offset);
        let in_value = value.span().contains(&offset);
        if in_key || in_value || contains_deep(value.get_ref(), offset) {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(key.get_ref());
            if !in_key {
                walk_value(value.get_ref(), offset, path);
            }
            return;
        }
    }
}

fn walk_value(value: &DeValue<'_>, offset: usize, path: &mut String) {
    match value {
        DeValue::Table(table) => walk_table(table, offset, path),
        DeValue::Array(array) => {
            for (index, item) in array.iter().enumerate() {
                if item.span().contains(&offset) || contains_deep(item.get_ref(), offset) {
                    path.push_str(&format!("[{index}]"));
                    walk_value(item.get_ref(), offset, path);
                    return;
                }
            }
        }
        _ => {}
    }
}

/// Whether any key or value under `value` contains `offset` (tables from `[[x]]` headers
/// have spans that do not cover their bodies).
fn contains_deep(value: &DeValue<'_>, offset: usize) -> bool {
    match value {
        DeValue::Table(table) => table.iter().any(|(key, value)| {
            key.span().contains(&offset)
                || value.span().contains(&offset)
                || contains_deep(value.get_ref(), offset)
        }),
        DeValue::Array(array) => array
            .iter()
            .any(|item| item.span().contains(&offset) || contains_deep(item.get_ref(), offset)),
        _ => false,
    }
}

/// For serde's "unknown field `x`, expected one of `a`, `b`" (or "unknown variant"),
/// the closest expected name, if it is close enough to be a typo.
pub(crate) fn did_you_mean(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))?;
    let (given, expected) = rest.split_once('`')?;
    let candidates = expected.split('`').skip(1).step_by(2);
    let (distance, best) = candidates.map(|c| (edit_distance(given, c), c)).min()?;
    let allowed = (given.chars().count() / 3).max(1);
    (distance > 0 && distance <= allowed).then(|| best.to_string())
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let m = "unknown field `replica`, expected one of `name`, `replicas`, `witness`";
        assert_eq!(did_you_mean(m).as_deref(), Some("replicas"));
        let m = "unknown variant `strong`, expected `mrec` or `mrsc`";
        assert_eq!(did_you_mean(m), None);
        assert_eq!(did_you_mean("unknown field `x`"), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn line_columns_count_characters() {
        assert_eq!(line_column("a\nµb", 4), (2, 2));
        assert_eq!(
            line_column("a\nµb", 3),
            (2, 1),
            "inside a character: clamped back"
        );
        assert_eq!(line_column("ab", 99), (1, 3));
    }
}
