//! The digest a receipt gives of a corrected record, computed the same way by the gateway
//! that signs it and the wallet that checks it against a later bundle: both are two signed
//! statements about one record, and the digest is what ties them together.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// `sha256:<hex>` of a record's JSON with every object's keys sorted (by their UTF-8
/// bytes), without whitespace, as serde_json writes it. For strings, integers and
/// ordinary decimals this is RFC 8785's form; `docs/receipt-format.md` says how to
/// recompute it.
pub fn record_digest(record: &Map<String, Value>) -> String {
    let mut text = Vec::new();
    write_sorted(&mut text, &Value::Object(record.clone()));
    format!("sha256:{}", hex::encode(Sha256::digest(&text)))
}

fn write_sorted(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (key, member)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_scalar(out, &Value::String(key.clone()));
                out.push(b':');
                write_sorted(out, member);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_sorted(out, item);
            }
            out.push(b']');
        }
        scalar => write_scalar(out, scalar),
    }
}

fn write_scalar(out: &mut Vec<u8>, value: &Value) {
    // Writing a scalar `Value` into a Vec cannot fail.
    let _ = serde_json::to_writer(out, value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(text: &str) -> Map<String, Value> {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn a_digest_does_not_depend_on_key_order_at_any_depth() {
        let a = record(r#"{"b":1,"a":{"y":2,"x":[{"q":1,"p":"é"}]}}"#);
        let b = record(r#"{"a":{"x":[{"p":"é","q":1}],"y":2},"b":1}"#);
        assert_eq!(record_digest(&a), record_digest(&b));
        let expected = hex::encode(Sha256::digest(r#"{"a":{"x":[{"p":"é","q":1}],"y":2},"b":1}"#.as_bytes()));
        assert_eq!(record_digest(&a), format!("sha256:{expected}"));
    }

    #[test]
    fn any_change_of_a_value_changes_the_digest() {
        let a = record(r#"{"id":"C-1","street":"Kerkstraat 1"}"#);
        let b = record(r#"{"id":"C-1","street":"Kerkstraat 2"}"#);
        assert_ne!(record_digest(&a), record_digest(&b));
    }
}
