//! JSON parsing for signed data: duplicate member names are an error at every depth
//! (a verifier and a reader must never see different values), and nesting is capped by
//! serde_json's recursion limit (128), so hostile input cannot exhaust the stack.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Why strict parsing failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StrictJsonError {
    #[error("duplicate JSON member {0:?}")]
    DuplicateMember(String),
    #[error("invalid JSON: {0}")]
    Invalid(String),
}

/// Parses `bytes` (which must be UTF-8 JSON) into a `Value`, rejecting duplicate members.
pub(crate) fn parse(bytes: &[u8]) -> Result<Value, StrictJsonError> {
    let mut duplicate = None;
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let result = StrictSeed { duplicate: &mut duplicate }.deserialize(&mut deserializer).and_then(|value| {
        deserializer.end()?;
        Ok(value)
    });
    match (result, duplicate) {
        (_, Some(name)) => Err(StrictJsonError::DuplicateMember(name)),
        (Ok(value), None) => Ok(value),
        (Err(e), None) => Err(StrictJsonError::Invalid(e.to_string())),
    }
}

/// Checks that `bytes` is one JSON value without duplicate members, building nothing: for
/// large documents that are then read into a narrower shape.
pub(crate) fn check(bytes: &[u8]) -> Result<(), StrictJsonError> {
    let mut duplicate = None;
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let result =
        CheckSeed { duplicate: &mut duplicate }.deserialize(&mut deserializer).and_then(|()| deserializer.end());
    match (result, duplicate) {
        (_, Some(name)) => Err(StrictJsonError::DuplicateMember(name)),
        (Ok(()), None) => Ok(()),
        (Err(e), None) => Err(StrictJsonError::Invalid(e.to_string())),
    }
}

/// Parses a JSON object; anything else is `Invalid`.
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, StrictJsonError> {
    match parse(bytes)? {
        Value::Object(map) => Ok(map),
        _ => Err(StrictJsonError::Invalid("expected a JSON object".to_owned())),
    }
}

/// Carries the name of the first duplicate out of serde's error channel, so callers get
/// a typed error instead of matching on a message.
struct StrictSeed<'a> {
    duplicate: &'a mut Option<String>,
}

impl<'de> DeserializeSeed<'de> for StrictSeed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v).map(Value::Number).ok_or_else(|| E::custom("non-finite number"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(StrictSeed { duplicate: &mut *self.duplicate })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let value = access.next_value_seed(StrictSeed { duplicate: &mut *self.duplicate })?;
            if map.contains_key(&key) {
                *self.duplicate = Some(key.clone());
                return Err(de::Error::custom(format!("duplicate JSON member {key:?}")));
            }
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

/// [`StrictSeed`] without the value: remembers only the member names of the objects it is
/// inside of.
struct CheckSeed<'a> {
    duplicate: &'a mut Option<String>,
}

impl<'de> DeserializeSeed<'de> for CheckSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for CheckSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        if v.is_finite() { Ok(()) } else { Err(E::custom("non-finite number")) }
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(CheckSeed { duplicate: &mut *self.duplicate })?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<(), A::Error> {
        let mut names = std::collections::HashSet::new();
        while let Some(key) = access.next_key::<String>()? {
            access.next_value_seed(CheckSeed { duplicate: &mut *self.duplicate })?;
            if !names.insert(key.clone()) {
                *self.duplicate = Some(key.clone());
                return Err(de::Error::custom(format!("duplicate JSON member {key:?}")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_json() {
        let v = parse(br#"{"a":[1,-2,3.5,"x",null,true,{"b":{}}]}"#).unwrap();
        assert_eq!(v["a"][6]["b"], serde_json::json!({}));
    }

    #[test]
    fn rejects_duplicates_at_any_depth() {
        for (text, name) in [(r#"{"a":1,"a":2}"#, "a"), (r#"{"x":{"b":1,"b":1}}"#, "b"), (r#"[{"k":1,"k":2}]"#, "k")] {
            assert_eq!(parse(text.as_bytes()), Err(StrictJsonError::DuplicateMember(name.into())));
            assert_eq!(check(text.as_bytes()), Err(StrictJsonError::DuplicateMember(name.into())));
        }
        assert_eq!(check(br#"{"a":[1,-2,3.5,"x",null,true,{"b":{}}],"b":{"a":1}}"#), Ok(()));
        assert!(matches!(check(b"{} {}"), Err(StrictJsonError::Invalid(_))));
    }

    #[test]
    fn rejects_deep_nesting_and_trailing_data() {
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(matches!(parse(deep.as_bytes()), Err(StrictJsonError::Invalid(_))));
        assert!(matches!(parse(b"{} {}"), Err(StrictJsonError::Invalid(_))));
        assert!(matches!(parse(b"\xff"), Err(StrictJsonError::Invalid(_))));
        assert!(matches!(parse_object(b"[]"), Err(StrictJsonError::Invalid(_))));
    }
}
