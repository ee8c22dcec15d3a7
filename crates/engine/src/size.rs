//! Item size as DynamoDB computes it (DM-26..DM-28): names plus values, in bytes.

use crate::config::{EngineConfig, NumberSizeModel};
use crate::number::Number;
use crate::value::{AttributeValue, Item};

/// Largest item, 400 KB (DM-26).
pub const ITEM_BYTES_MAX: usize = 400 * 1024;

/// Size of a whole item: for each attribute, name bytes plus value size (DM-27).
pub fn item_size(item: &Item, config: &EngineConfig) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value, config))
        .sum()
}

/// Size of one value without its name (DM-27).
pub fn value_size(value: &AttributeValue, config: &EngineConfig) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => number_size(n, config.number_size),
        AttributeValue::B(b) => b.len(),
        AttributeValue::Bool(_) | AttributeValue::Null => 1,
        // Documents: 3 bytes of overhead plus 1 byte per element.
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, v)| k.len() + value_size(v, config) + 1)
                .sum::<usize>()
        }
        AttributeValue::L(l) => 3 + l.iter().map(|v| value_size(v, config) + 1).sum::<usize>(),
        // Sets: the sum of the element sizes (dynalite adds nothing per element).
        AttributeValue::Ss(s) => s.iter().map(String::len).sum(),
        AttributeValue::Ns(s) => s.iter().map(|n| number_size(n, config.number_size)).sum(),
        AttributeValue::Bs(s) => s.iter().map(Vec::len).sum(),
    }
}

/// Size of a number (DM-27): zero is 1 byte; otherwise 1 byte of exponent plus one
/// byte per base-100 digit pair, plus 1 byte when negative.
pub fn number_size(n: &Number, model: NumberSizeModel) -> usize {
    if n.is_zero() {
        return 1;
    }
    let digits = n.significant_digits() as i64;
    let pairs = match model {
        NumberSizeModel::Simple => (digits + 1) / 2,
        NumberSizeModel::Aligned => {
            // Digits occupy powers e, e-1, .., e-digits+1; pairs are {2k+1, 2k}.
            let high = n.exponent();
            let low = high - digits + 1;
            high.div_euclid(2) - low.div_euclid(2) + 1
        }
    };
    let sign = usize::from(n.is_negative());
    1 + pairs as usize + sign
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dm28_worked_examples() {
        let config = EngineConfig::default();
        let item: Item = [("ab".to_string(), AttributeValue::s("xyz"))]
            .into_iter()
            .collect();
        assert_eq!(item_size(&item, &config), 5);
        let item: Item = [("n".to_string(), AttributeValue::n("123"))]
            .into_iter()
            .collect();
        assert_eq!(item_size(&item, &config), 4);
    }

    #[test]
    fn dm27_number_alignment() {
        let size = |s: &str| number_size(&Number::parse(s).unwrap(), NumberSizeModel::Aligned);
        assert_eq!(size("0"), 1);
        assert_eq!(size("12"), 2);
        assert_eq!(size("1.2"), 3);
        assert_eq!(size("-12"), 3);
        assert_eq!(size("100"), 2);
    }

    #[test]
    fn dm27_documents_and_sets() {
        let config = EngineConfig::default();
        let list = AttributeValue::L(vec![AttributeValue::s("ab"), AttributeValue::Null]);
        assert_eq!(value_size(&list, &config), 3 + (2 + 1) + (1 + 1));
        assert_eq!(
            value_size(&AttributeValue::M(Default::default()), &config),
            3
        );
        let set = AttributeValue::Ss(["a".to_string(), "bc".to_string()].into_iter().collect());
        assert_eq!(value_size(&set, &config), 3);
    }
}
