//! The trace's byte encoding: a serde serializer that appends each value's fields to a
//! buffer at fixed width (integers and floats little-endian, lengths as `u64`, enum
//! variants by index). The trace is hashed, never decoded, so the encoding needs only
//! to be deterministic and to tell different records apart; fixed width costs a few
//! instructions per field where a varint encoder loops over every byte. (Postcard's
//! varints took about 8% of a simulation's instructions.)

use serde::ser::{self, Serialize};

/// Append `value`'s encoding to `out`.
pub fn encode_into<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), Error> {
    value.serialize(&mut FixedWidth { out })
}

/// A value serde could not encode (only a custom `Serialize` impl can fail).
#[derive(Debug)]
pub struct Error(String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

struct FixedWidth<'a> {
    out: &'a mut Vec<u8>,
}

impl FixedWidth<'_> {
    fn length(&mut self, len: usize) {
        self.out.extend_from_slice(&(len as u64).to_le_bytes());
    }
    fn variant(&mut self, index: u32) {
        self.out.extend_from_slice(&index.to_le_bytes());
    }
}

/// A sequence or map whose length serde did not know up front: the items, then their
/// count (so that the encoding still tells `[a, b]` from `[a], [b]`).
pub struct Compound<'s, 'a> {
    ser: &'s mut FixedWidth<'a>,
    count_after: Option<usize>,
}

impl Compound<'_, '_> {
    fn item(&mut self) {
        if let Some(count) = &mut self.count_after {
            *count += 1;
        }
    }
    fn end(self) {
        if let Some(count) = self.count_after {
            self.ser.length(count);
        }
    }
}

macro_rules! le_bytes {
    ($($method:ident: $ty:ty),* $(,)?) => {
        $(fn $method(self, v: $ty) -> Result<(), Error> {
            self.out.extend_from_slice(&v.to_le_bytes());
            Ok(())
        })*
    };
}

impl<'s, 'a> ser::Serializer for &'s mut FixedWidth<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'s, 'a>;
    type SerializeTuple = Compound<'s, 'a>;
    type SerializeTupleStruct = Compound<'s, 'a>;
    type SerializeTupleVariant = Compound<'s, 'a>;
    type SerializeMap = Compound<'s, 'a>;
    type SerializeStruct = Compound<'s, 'a>;
    type SerializeStructVariant = Compound<'s, 'a>;

    le_bytes!(
        serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_i128: i128, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_u128: u128,
    );

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out.push(u8::from(v));
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.serialize_u32(v.to_bits())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.serialize_u64(v.to_bits())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.serialize_u32(u32::from(v))
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.serialize_bytes(v.as_bytes())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        self.length(v.len());
        self.out.extend_from_slice(v);
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.out.push(0);
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        self.out.push(1);
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        index: u32,
        _variant: &'static str,
    ) -> Result<(), Error> {
        self.variant(index);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        index: u32,
        _variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.variant(index);
        value.serialize(self)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Compound<'s, 'a>, Error> {
        if let Some(len) = len {
            self.length(len);
        }
        Ok(Compound {
            ser: self,
            count_after: len.is_none().then_some(0),
        })
    }
    fn serialize_tuple(self, _len: usize) -> Result<Compound<'s, 'a>, Error> {
        Ok(Compound {
            ser: self,
            count_after: None,
        })
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Compound<'s, 'a>, Error> {
        self.serialize_tuple(0)
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'s, 'a>, Error> {
        self.variant(index);
        self.serialize_tuple(0)
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Compound<'s, 'a>, Error> {
        self.serialize_seq(len)
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'s, 'a>, Error> {
        self.serialize_tuple(0)
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'s, 'a>, Error> {
        self.variant(index);
        self.serialize_tuple(0)
    }
    fn is_human_readable(&self) -> bool {
        false
    }
}

impl ser::SerializeSeq for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.item();
        value.serialize(&mut *self.ser)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self);
        Ok(())
    }
}

/// Tuples and tuple structs and variants: the fields in order, nothing around them.
macro_rules! fields_in_order {
    ($($trait:ident :: $method:ident),* $(,)?) => {
        $(impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                value.serialize(&mut *self.ser)
            }
            fn end(self) -> Result<(), Error> {
                Ok(())
            }
        })*
    };
}

fields_in_order!(
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field,
);

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.item();
        key.serialize(&mut *self.ser)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(&mut *self.ser)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self);
        Ok(())
    }
}

/// Structs and struct variants: the fields in order, without their names.
macro_rules! named_fields_in_order {
    ($($trait:ident),* $(,)?) => {
        $(impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                _key: &'static str,
                value: &T,
            ) -> Result<(), Error> {
                value.serialize(&mut *self.ser)
            }
            fn skip_field(&mut self, _key: &'static str) -> Result<(), Error> {
                // A skipped field still marks its place, so that records differing only
                // in which optional fields are present encode differently.
                self.ser.out.push(0xff);
                Ok(())
            }
            fn end(self) -> Result<(), Error> {
                Ok(())
            }
        })*
    };
}

named_fields_in_order!(SerializeStruct, SerializeStructVariant);

#[cfg(test)]
mod tests {
    use super::encode_into;
    use serde::Serialize;
    use std::collections::BTreeMap;

    fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
        let mut out = Vec::new();
        encode_into(value, &mut out).expect("encodes");
        out
    }

    #[derive(Serialize)]
    enum Shape {
        Unit,
        Newtype(u16),
        Tuple(u8, u8),
        Struct { a: u8, b: Option<u8> },
    }

    #[test]
    fn integers_are_fixed_width_little_endian() {
        assert_eq!(encode(&1u8), [1]);
        assert_eq!(encode(&0x0102u16), [2, 1]);
        assert_eq!(encode(&1u64), [1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(encode(&-1i32), [0xff; 4]);
        assert_eq!(encode(&1.5f64), 1.5f64.to_bits().to_le_bytes());
        assert_eq!(encode(&true), [1]);
    }

    #[test]
    fn lengths_options_and_variants_are_encoded() {
        assert_eq!(encode("ab"), [2, 0, 0, 0, 0, 0, 0, 0, b'a', b'b']);
        assert_eq!(encode(&None::<u8>), [0]);
        assert_eq!(encode(&Some(7u8)), [1, 7]);
        assert_eq!(encode(&vec![1u8, 2]), [2, 0, 0, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(encode(&Shape::Unit), [0, 0, 0, 0]);
        assert_eq!(encode(&Shape::Newtype(3)), [1, 0, 0, 0, 3, 0]);
        assert_eq!(encode(&Shape::Tuple(4, 5)), [2, 0, 0, 0, 4, 5]);
        assert_eq!(encode(&Shape::Struct { a: 6, b: None }), [3, 0, 0, 0, 6, 0]);
        let map = BTreeMap::from([(1u8, 2u8)]);
        assert_eq!(encode(&map), [1, 0, 0, 0, 0, 0, 0, 0, 1, 2]);
    }

    /// Values that differ encode differently, for the shapes the trace records use.
    #[test]
    fn distinct_values_encode_distinctly() {
        let a = encode(&(vec!["a".to_string()], vec!["b".to_string()]));
        let b = encode(&(vec!["a".to_string(), "b".to_string()], Vec::<String>::new()));
        assert_ne!(a, b);
        assert_ne!(encode(&Some(0u8)), encode(&None::<u8>));
        assert_ne!(encode(&Shape::Newtype(0)), encode(&Shape::Tuple(0, 0)));
    }
}
