//! Units in scenario files: durations (`"38ms"`, `"1.5s"`, `"3m30s"`, `"200us"`), signed
//! offsets (`"+350ms"`, `"-500ms"`) and sizes (`"200B"`, `"4KiB"`, `"1MiB"`).
//!
//! Durations become whole microseconds; sizes become bytes. Sizes are binary, as in
//! DynamoDB's documentation: `KB` and `KiB` both mean 1024 bytes, `MB` and `MiB` 1024².
//! Parsing is exact integer arithmetic: `"1.5us"` is rejected rather than rounded.

/// Duration units, longest suffix first so `ms` is not read as `m` + `s`.
const DURATION_UNITS: &[(&str, u128)] = &[
    ("ms", 1_000),
    ("us", 1),
    ("µs", 1),
    ("h", 3_600_000_000),
    ("m", 60_000_000),
    ("s", 1_000_000),
];

const SIZE_UNITS: &[(&str, u128)] = &[
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("KB", 1 << 10),
    ("MB", 1 << 20),
    ("GB", 1 << 30),
    ("B", 1),
];

/// What a duration string should look like, for error messages.
pub const DURATION_EXPECTED: &str =
    "a duration with units such as \"38ms\", \"1.5s\", \"3m30s\" or \"200us\"";
pub const OFFSET_EXPECTED: &str = "a signed duration such as \"+350ms\" or \"-500ms\"";
pub const SIZE_EXPECTED: &str = "a size such as \"200B\", \"4KiB\" or \"1MiB\" (KB = KiB = 1024 B)";

/// Parses `"3m30s"`-style durations into microseconds.
pub fn parse_duration_us(text: &str) -> Option<u64> {
    let total = parse_compound(text.trim(), DURATION_UNITS)?;
    u64::try_from(total).ok()
}

/// Parses `"+350ms"` / `"-500ms"` (the sign is required) into signed microseconds.
pub fn parse_offset_us(text: &str) -> Option<i64> {
    let text = text.trim();
    let (negative, rest) = match text.as_bytes().first()? {
        b'+' => (false, &text[1..]),
        b'-' => (true, &text[1..]),
        _ => return None,
    };
    let magnitude = i64::try_from(parse_compound(rest, DURATION_UNITS)?).ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

/// Parses `"4KiB"`-style sizes into bytes.
pub fn parse_size_bytes(text: &str) -> Option<u64> {
    let total = parse_compound(text.trim(), SIZE_UNITS)?;
    u64::try_from(total).ok()
}

/// One or more `<number><unit>` terms, summed. Each number may have a fraction; the
/// result must be a whole number of base units.
fn parse_compound(text: &str, units: &[(&str, u128)]) -> Option<u128> {
    if text.is_empty() {
        return None;
    }
    let mut rest = text;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
            .unwrap_or(rest.len());
        if number_len == 0 {
            return None;
        }
        let (number, after) = rest.split_at(number_len);
        let (unit, scale) = units.iter().find(|(unit, _)| after.starts_with(unit))?;
        total = total.checked_add(scaled(number, *scale)?)?;
        rest = &after[unit.len()..];
    }
    Some(total)
}

/// `number * scale`, exactly; `None` if it is not a whole number of base units.
fn scaled(number: &str, scale: u128) -> Option<u128> {
    let (whole, fraction) = match number.split_once('.') {
        Some((w, f)) => (w, f),
        None => (number, ""),
    };
    if whole.is_empty() || whole.starts_with('_') || fraction.contains('.') {
        return None;
    }
    let digits = |s: &str| -> Option<u128> {
        let cleaned: String = s.chars().filter(|c| *c != '_').collect();
        if cleaned.is_empty() {
            return Some(0);
        }
        cleaned.parse::<u128>().ok()
    };
    let whole_value = digits(whole)?.checked_mul(scale)?;
    if fraction.is_empty() {
        return if number.ends_with('.') {
            None
        } else {
            Some(whole_value)
        };
    }
    if fraction.len() > 18 {
        return None;
    }
    let denominator = 10u128.checked_pow(u32::try_from(fraction.len()).ok()?)?;
    let numerator = digits(fraction)?.checked_mul(scale)?;
    if numerator % denominator != 0 {
        return None;
    }
    whole_value.checked_add(numerator / denominator)
}

/// Formats microseconds the way a user would write them (`"1.5s"`, `"38ms"`).
pub fn format_us(us: u64) -> String {
    if us != 0 && us.is_multiple_of(3_600_000_000) {
        format!("{}h", us / 3_600_000_000)
    } else if us != 0 && us.is_multiple_of(60_000_000) {
        format!("{}m", us / 60_000_000)
    } else if us >= 1_000_000 {
        trim_fraction(us as f64 / 1e6, "s")
    } else if us >= 1_000 {
        trim_fraction(us as f64 / 1e3, "ms")
    } else {
        format!("{us}us")
    }
}

fn trim_fraction(value: f64, unit: &str) -> String {
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_us("38ms"), Some(38_000));
        assert_eq!(parse_duration_us("1.5s"), Some(1_500_000));
        assert_eq!(parse_duration_us("3m30s"), Some(210_000_000));
        assert_eq!(parse_duration_us("200us"), Some(200));
        assert_eq!(parse_duration_us("1h"), Some(3_600_000_000));
        assert_eq!(parse_duration_us("1_500ms"), Some(1_500_000));
        assert_eq!(parse_duration_us("0s"), Some(0));
        for bad in [
            "", "38", "ms", "1.5us", "1..5s", "1.s", "-3s", "3 s", "3x", "5.m.s", "_1s",
        ] {
            assert_eq!(parse_duration_us(bad), None, "{bad}");
        }
    }

    #[test]
    fn offsets() {
        assert_eq!(parse_offset_us("+350ms"), Some(350_000));
        assert_eq!(parse_offset_us("-500ms"), Some(-500_000));
        assert_eq!(parse_offset_us("500ms"), None);
        assert_eq!(parse_offset_us("+"), None);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size_bytes("200B"), Some(200));
        assert_eq!(parse_size_bytes("4KiB"), Some(4096));
        assert_eq!(parse_size_bytes("4KB"), Some(4096));
        assert_eq!(parse_size_bytes("1MiB"), Some(1 << 20));
        assert_eq!(parse_size_bytes("1.5KiB"), Some(1536));
        assert_eq!(parse_size_bytes("4kb"), None);
        assert_eq!(parse_size_bytes("4"), None);
    }

    #[test]
    fn formatting_round_trips() {
        for us in [
            200,
            7_200_000_000,
            38_000,
            1_500_000,
            210_000_000,
            300_000_000,
        ] {
            assert_eq!(parse_duration_us(&format_us(us)), Some(us), "{us}");
        }
    }
}
