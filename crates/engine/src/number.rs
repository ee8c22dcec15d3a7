//! Exact DynamoDB numbers (DM-05..DM-11): at most 38 significant digits, magnitude
//! 1E-130 ..= 9.99..E+125, kept normalised (no leading/trailing zeros) so equal numbers
//! have equal representations. Never f64: arithmetic goes through `bigdecimal`.

use crate::error::EngineError;
use bigdecimal::BigDecimal;
use bigdecimal::num_bigint::{BigInt, Sign};
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// Most significant digits a number may carry (DM-07).
pub const DIGITS_MAX: usize = 38;
/// Largest exponent of the leading digit (DM-08: 9.99..E+125).
pub const EXPONENT_MAX: i64 = 125;
/// Smallest exponent of the leading digit (DM-08: 1E-130).
pub const EXPONENT_MIN: i64 = -130;

/// An exact decimal number as DynamoDB stores it.
///
/// Invariant: `len` significant digits packed two per byte (high nibble first), the
/// first and last of them non-zero, unused nibbles zero; `exponent` is the power of ten
/// of the first digit. Zero is `len == 0, exponent == 0, negative == false`. Because the
/// form is canonical, derived `Eq`/`Hash` agree with numeric equality ("1" == "1.0").
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Number {
    negative: bool,
    exponent: i16,
    len: u8,
    packed: [u8; DIGITS_MAX / 2],
}

impl Number {
    pub const ZERO: Number = Number {
        negative: false,
        exponent: 0,
        len: 0,
        packed: [0; DIGITS_MAX / 2],
    };

    /// Parses DynamoDB's number syntax (`-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?`), with
    /// DynamoDB's messages for bad syntax, overflow, underflow and precision (DM-09).
    pub fn parse(text: &str) -> Result<Number, EngineError> {
        Number::parse_bytes(text.as_bytes())
    }

    /// [`Number::parse`] of text given as bytes (the errors quote it as UTF-8 text, so
    /// for a `&str` they are the same): integers formatted on the stack need no UTF-8
    /// check first.
    fn parse_bytes(bytes: &[u8]) -> Result<Number, EngineError> {
        let bad = || {
            if bytes.is_empty() {
                EngineError::validation("The parameter cannot be converted to a numeric value")
            } else {
                EngineError::validation(format!(
                    "The parameter cannot be converted to a numeric value: {}",
                    String::from_utf8_lossy(bytes)
                ))
            }
        };
        let mut i = 0;
        let negative = bytes.first() == Some(&b'-');
        if negative {
            i += 1;
        }
        let mantissa_start = i;
        let mut int_len: i64 = 0;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
            int_len += 1;
        }
        let mut frac_len = 0;
        if i < bytes.len() && bytes[i] == b'.' {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
                frac_len += 1;
            }
        }
        if int_len == 0 && frac_len == 0 {
            return Err(bad());
        }
        let mantissa_end = i;
        let mut exponent: i64 = 0;
        if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
            i += 1;
            let exp_negative = match bytes.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            let exp_start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                // Saturate: anything this large is an overflow or underflow anyway.
                exponent = (exponent * 10 + i64::from(bytes[i] - b'0')).min(1_000_000_000_000);
                i += 1;
            }
            if i == exp_start {
                return Err(bad());
            }
            if exp_negative {
                exponent = -exponent;
            }
        }
        if i != bytes.len() {
            return Err(bad());
        }
        let digits = bytes[mantissa_start..mantissa_end]
            .iter()
            .filter(|b| b.is_ascii_digit())
            .map(|b| b - b'0');
        Number::from_digits(negative, digits, int_len - 1 + exponent)
    }

    /// Builds a number from decimal digits where the first digit has power of ten
    /// `first_exponent`; strips zeros and checks range and precision (DM-07..DM-09).
    fn from_digits(
        negative: bool,
        digits: impl Iterator<Item = u8>,
        first_exponent: i64,
    ) -> Result<Number, EngineError> {
        let mut exponent = first_exponent;
        // The significant digits go straight into the packed form (no buffer per number):
        // `len` counts the digits from the first nonzero one on, trailing zeros included,
        // `kept` those up to the last nonzero one (what remains once they are stripped).
        let mut packed = [0u8; DIGITS_MAX / 2];
        let mut len = 0usize;
        let mut kept = 0usize;
        for d in digits {
            debug_assert!(d <= 9);
            if len == 0 && d == 0 {
                exponent -= 1;
                continue;
            }
            if len < DIGITS_MAX {
                packed[len / 2] |= d << if len.is_multiple_of(2) { 4 } else { 0 };
            }
            len += 1;
            if d != 0 {
                kept = len;
            }
        }
        if kept == 0 {
            return Ok(Number::ZERO);
        }
        if exponent > EXPONENT_MAX {
            return Err(EngineError::validation(
                "Number overflow. Attempting to store a number with magnitude larger than supported range",
            ));
        }
        if exponent < EXPONENT_MIN {
            return Err(EngineError::validation(
                "Number underflow. Attempting to store a number with magnitude smaller than supported range",
            ));
        }
        if kept > DIGITS_MAX {
            return Err(EngineError::validation(
                "Attempting to store more than 38 significant digits in a Number",
            ));
        }
        let number = Number {
            negative,
            exponent: i16::try_from(exponent).expect("exponent range checked above"),
            len: u8::try_from(kept).expect("digit count checked above"),
            packed,
        };
        debug_assert!(number.digit(0) != 0);
        Ok(number)
    }

    pub fn is_zero(&self) -> bool {
        self.len == 0
    }
    pub fn is_negative(&self) -> bool {
        self.negative
    }
    /// Count of significant digits (0 for zero).
    pub fn significant_digits(&self) -> usize {
        usize::from(self.len)
    }
    /// Power of ten of the leading digit (0 for zero).
    pub fn exponent(&self) -> i64 {
        i64::from(self.exponent)
    }
    /// The i-th significant digit, most significant first.
    pub fn digit(&self, i: usize) -> u8 {
        debug_assert!(i < usize::from(self.len));
        let byte = self.packed[i / 2];
        if i.is_multiple_of(2) {
            byte >> 4
        } else {
            byte & 0x0F
        }
    }
    pub fn digits(&self) -> impl Iterator<Item = u8> + '_ {
        (0..usize::from(self.len)).map(|i| self.digit(i))
    }

    /// Exact sum; an out-of-range or over-precise result is DynamoDB's error.
    pub fn checked_add(&self, other: &Number) -> Result<Number, EngineError> {
        Number::from_big(&(self.to_big() + other.to_big()))
    }
    /// Exact difference; an out-of-range or over-precise result is DynamoDB's error.
    pub fn checked_sub(&self, other: &Number) -> Result<Number, EngineError> {
        Number::from_big(&(self.to_big() - other.to_big()))
    }
    /// The value as an integer, if it is one and fits in `i128` (exact; no rounding).
    pub fn to_i128(&self) -> Option<i128> {
        if self.is_zero() {
            return Some(0);
        }
        let len = i64::from(self.len);
        let exponent = self.exponent();
        if exponent < len - 1 || exponent > 38 {
            return None;
        }
        let mut value: i128 = 0;
        for i in 0..=exponent {
            let digit = if i < len { self.digit(i as usize) } else { 0 };
            value = value.checked_mul(10)?.checked_add(i128::from(digit))?;
        }
        Some(if self.negative { -value } else { value })
    }

    pub fn negated(&self) -> Number {
        if self.is_zero() {
            *self
        } else {
            Number {
                negative: !self.negative,
                ..*self
            }
        }
    }

    fn to_big(self) -> BigDecimal {
        if self.is_zero() {
            return BigDecimal::from(0);
        }
        let mut text = String::with_capacity(usize::from(self.len));
        for d in self.digits() {
            text.push(char::from(b'0' + d));
        }
        let magnitude = BigInt::parse_bytes(text.as_bytes(), 10).expect("digits are decimal");
        let signed = if self.negative { -magnitude } else { magnitude };
        // value = digits * 10^(exponent - (len - 1)); BigDecimal scale is the negation.
        BigDecimal::new(signed, i64::from(self.len) - 1 - i64::from(self.exponent))
    }

    fn from_big(value: &BigDecimal) -> Result<Number, EngineError> {
        let (int, scale) = value.as_bigint_and_exponent();
        let (sign, magnitude) = int.into_parts();
        let text = magnitude.to_str_radix(10);
        let len = i64::try_from(text.len()).unwrap_or(i64::MAX);
        let digits = text.bytes().map(|b| b - b'0');
        Number::from_digits(sign == Sign::Minus, digits, len - 1 - scale)
    }

    /// Compares magnitudes (absolute values).
    fn cmp_magnitude(&self, other: &Number) -> Ordering {
        match (self.is_zero(), other.is_zero()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            (false, false) => {}
        }
        // Unused nibbles are zero, so the packed arrays compare like the digit strings.
        self.exponent
            .cmp(&other.exponent)
            .then_with(|| self.packed.cmp(&other.packed))
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Number) -> Ordering {
        fn class(n: &Number) -> i8 {
            if n.is_zero() {
                0
            } else if n.negative {
                -1
            } else {
                1
            }
        }
        match class(self).cmp(&class(other)) {
            Ordering::Equal if self.negative => other.cmp_magnitude(self),
            Ordering::Equal => self.cmp_magnitude(other),
            unequal => unequal,
        }
    }
}
impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Number) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl FromStr for Number {
    type Err = EngineError;
    fn from_str(s: &str) -> Result<Number, EngineError> {
        Number::parse(s)
    }
}

impl From<i64> for Number {
    fn from(value: i64) -> Number {
        let mut digits = DecimalDigits::new(value.unsigned_abs());
        if value < 0 {
            digits.push_front(b'-');
        }
        Number::parse_bytes(digits.as_bytes()).expect("every i64 fits in 38 digits")
    }
}

impl From<u64> for Number {
    fn from(value: u64) -> Number {
        Number::parse_bytes(DecimalDigits::new(value).as_bytes())
            .expect("every u64 fits in 38 digits")
    }
}

/// An integer's decimal text on the stack: numbers made from integers (value ids, TTL
/// expiries, counters) on every simulated write need no `String`.
struct DecimalDigits {
    /// u64::MAX has 20 digits, and a sign makes 21.
    bytes: [u8; 21],
    start: usize,
}

impl DecimalDigits {
    fn new(mut value: u64) -> DecimalDigits {
        let mut out = DecimalDigits {
            bytes: [0; 21],
            start: 21,
        };
        loop {
            out.push_front(b'0' + (value % 10) as u8);
            value /= 10;
            if value == 0 {
                return out;
            }
        }
    }

    fn push_front(&mut self, byte: u8) {
        self.start -= 1;
        self.bytes[self.start] = byte;
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[self.start..]
    }
}

/// Plain decimal text with no exponent, as dynalite renders stored numbers (DM-10):
/// "1.50" prints "1.5" and "1E+2" prints "100".
impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0");
        }
        let mut out = String::with_capacity(usize::from(self.len) + 8);
        if self.negative {
            out.push('-');
        }
        let len = i64::from(self.len);
        let exp = i64::from(self.exponent);
        if exp < 0 {
            out.push_str("0.");
            for _ in 0..(-exp - 1) {
                out.push('0');
            }
            for d in self.digits() {
                out.push(char::from(b'0' + d));
            }
        } else {
            for i in 0..=exp.max(len - 1) {
                if i == exp + 1 {
                    out.push('.');
                }
                let d = if i < len { self.digit(i as usize) } else { 0 };
                out.push(char::from(b'0' + d));
            }
        }
        f.write_str(&out)
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Number({self})")
    }
}

impl serde::Serialize for Number {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Number {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Number, D::Error> {
        let text = String::deserialize(deserializer)?;
        Number::parse(&text).map_err(|e| serde::de::Error::custom(e.message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Number {
        Number::parse(s).unwrap()
    }
    fn err(s: &str) -> String {
        Number::parse(s).unwrap_err().message
    }

    /// An integer converts to the number its decimal text parses to, at both ends of
    /// each type's range and around powers of ten.
    #[test]
    fn integers_convert_as_their_text_parses() {
        for v in [
            0u64,
            1,
            9,
            10,
            99,
            100,
            1_000_000,
            123_456_789,
            u64::MAX - 1,
            u64::MAX,
        ] {
            assert_eq!(Number::from(v), n(&v.to_string()), "{v}");
            assert_eq!(Number::from(v).to_string(), v.to_string());
        }
        for v in [
            0i64,
            1,
            -1,
            -10,
            42,
            -123_456_789,
            i64::MIN,
            i64::MIN + 1,
            i64::MAX,
        ] {
            assert_eq!(Number::from(v), n(&v.to_string()), "{v}");
            assert_eq!(Number::from(v).to_string(), v.to_string());
        }
    }

    /// Zeros around the significant digits never count towards the 38 (DM-09), however
    /// many there are; the packed digits are the same however the number was written.
    #[test]
    fn dm09_only_significant_digits_count() {
        let forty_zeros = "0".repeat(40);
        assert_eq!(n(&format!("1{forty_zeros}")), n("1e40"));
        assert_eq!(n(&format!("{forty_zeros}12.5{forty_zeros}")), n("12.5"));
        assert_eq!(n(&format!("0.{forty_zeros}3")), n("3e-41"));
        let digits38 = "12345678901234567890123456789012345678";
        assert_eq!(
            n(&format!("{digits38}{forty_zeros}")).significant_digits(),
            38
        );
        assert_eq!(n(&format!("{digits38}.{forty_zeros}")), n(digits38));
        assert_eq!(
            err(&format!("{digits38}9")),
            "Attempting to store more than 38 significant digits in a Number"
        );
        assert_eq!(
            err(&format!("{digits38}{forty_zeros}1")),
            "Attempting to store more than 38 significant digits in a Number"
        );
        assert!(n(&format!("-0.{forty_zeros}")).is_zero());
        assert_eq!(n("-000120").to_string(), "-120");
    }

    #[test]
    fn dm10_normalises_to_plain_decimal() {
        for (input, shown) in [
            ("1.50", "1.5"),
            ("1E+2", "100"),
            ("-0.000", "0"),
            ("007", "7"),
            (".5", "0.5"),
            ("5.", "5"),
            ("-1.25e-3", "-0.00125"),
            ("123.456", "123.456"),
            ("1e-130", &format!("0.{}1", "0".repeat(129))),
            ("1e125", &format!("1{}", "0".repeat(125))),
        ] {
            assert_eq!(n(input).to_string(), shown, "{input}");
        }
    }

    #[test]
    fn dm07_dm08_dm09_limits_and_messages() {
        assert_eq!(
            err("1e126"),
            "Number overflow. Attempting to store a number with magnitude larger than supported range"
        );
        assert_eq!(
            err("1e-131"),
            "Number underflow. Attempting to store a number with magnitude smaller than supported range"
        );
        assert_eq!(
            err(&"1".repeat(39)),
            "Attempting to store more than 38 significant digits in a Number"
        );
        assert_eq!(
            err("abc"),
            "The parameter cannot be converted to a numeric value: abc"
        );
        assert_eq!(
            err(""),
            "The parameter cannot be converted to a numeric value"
        );
        for bad in [
            "1e", "--1", "+1", "1.2.3", " 1", "0x10", "NaN", "Infinity", "1_000", ".",
        ] {
            assert!(Number::parse(bad).is_err(), "{bad}");
        }
        assert!(Number::parse(&format!("9.{}e125", "9".repeat(37))).is_ok());
        assert!(Number::parse(&format!("{}000", "1".repeat(38))).is_ok());
        assert!(Number::parse("1e999999999999999999999999").is_err());
        assert!(
            Number::parse("0e999999999999999999999999")
                .unwrap()
                .is_zero()
        );
    }

    #[test]
    fn dm05_numeric_ordering_and_equality() {
        let ordered = [
            "-100", "-1.5", "-1.25", "-1", "-0.001", "0", "0.001", "1", "1.25", "1.5", "9", "10",
            "100",
        ];
        for w in ordered.windows(2) {
            assert!(n(w[0]) < n(w[1]), "{} < {}", w[0], w[1]);
        }
        assert_eq!(n("1"), n("1.000"));
        assert_eq!(n("100"), n("1e2"));
    }

    #[test]
    fn integers_convert_exactly() {
        assert_eq!(n("0").to_i128(), Some(0));
        assert_eq!(n("1.2e3").to_i128(), Some(1200));
        assert_eq!(n("-42").to_i128(), Some(-42));
        assert_eq!(n("1.5").to_i128(), None);
        assert_eq!(n("1e39").to_i128(), None);
        assert_eq!(Number::from(i64::MIN).to_i128(), Some(i128::from(i64::MIN)));
    }

    #[test]
    fn dm11_exact_arithmetic() {
        assert_eq!(n("0.1").checked_add(&n("0.2")).unwrap().to_string(), "0.3");
        assert_eq!(n("1").checked_sub(&n("3")).unwrap().to_string(), "-2");
        assert_eq!(n("-5").checked_add(&n("5")).unwrap(), Number::ZERO);
        let max = n(&format!("9.{}e125", "9".repeat(37)));
        assert!(max.checked_add(&max).is_err());
        assert!(n("1e30").checked_add(&n("1e-30")).is_err());
    }
}
