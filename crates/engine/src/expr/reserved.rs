//! DynamoDB's 573 reserved words (DM-33, EX-03), from the developer guide's
//! ReservedWords page, one per line in `reserved_words.txt`.

use std::collections::BTreeSet;
use std::sync::OnceLock;

const RESERVED_WORDS: &str = include_str!("reserved_words.txt");

/// Number of reserved words DynamoDB documents.
pub const RESERVED_WORDS_COUNT: usize = 573;

fn words() -> &'static BTreeSet<&'static str> {
    static WORDS: OnceLock<BTreeSet<&'static str>> = OnceLock::new();
    WORDS.get_or_init(|| {
        RESERVED_WORDS
            .lines()
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .collect()
    })
}

/// Whether `name` is a reserved word (case-insensitive).
pub fn is_reserved(name: &str) -> bool {
    if name.len() > 20 {
        return false;
    }
    let mut upper = [0u8; 20];
    for (i, b) in name.bytes().enumerate() {
        upper[i] = b.to_ascii_uppercase();
    }
    match std::str::from_utf8(&upper[..name.len()]) {
        Ok(word) => words().contains(word),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dm33_has_573_words() {
        assert_eq!(words().len(), RESERVED_WORDS_COUNT);
        assert!(is_reserved("name"));
        assert!(is_reserved("Status"));
        assert!(is_reserved("ZONE"));
        assert!(!is_reserved("pk"));
        assert!(!is_reserved("attribute_exists"));
    }
}
