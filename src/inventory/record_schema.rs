//! A category's JSON Schema (draft 2020-12) for one record: checked and compiled when the
//! config loads, then used to judge each value a rectification proposes at its field's
//! place in the record.

use std::collections::HashMap;
use std::error::Error;

use serde_json::Value;

use super::Category;
use super::schema_reason::reason;

/// Largest schema of one category, as JSON text: it is configuration, not data, and a
/// config file is at most 1 MiB anyway.
pub(crate) const MAX_SCHEMA_BYTES: usize = 64 * 1024;
/// Deepest nesting of objects and arrays in a schema.
pub(crate) const MAX_SCHEMA_DEPTH: usize = 32;
/// Most local `$ref`s followed while looking for one field's place.
const MAX_REF_HOPS: usize = 16;
/// The one dialect we accept; a schema without `$schema` is read as it.
const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";
/// How TOML's dates reach a `serde_json::Value`: not JSON, so not a schema.
const TOML_DATETIME_KEY: &str = "$__toml_private_datetime";

/// Where the schema describes one field of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldPlace {
    /// JSON pointer of the field's subschema in the category's schema.
    pub pointer: String,
    /// Whether the object holding the field lists it in `required`: then it cannot be
    /// removed (a `null` in a merge patch removes).
    pub required: bool,
}

/// Finds the subschema of the dotted field `path` by walking `properties`, following
/// local `$ref`s (`#/…`) where an object names no `properties` of its own.
pub(crate) fn field_place(root: &Value, path: &str) -> Result<FieldPlace, String> {
    let mut pointer = String::new();
    let mut required = false;
    for name in path.split('.') {
        let mut node = root.pointer(&pointer).ok_or_else(|| format!("{pointer:?} is not in the schema"))?;
        let mut hops = 0;
        loop {
            let properties = node.get("properties").and_then(Value::as_object);
            if properties.is_some_and(|p| p.contains_key(name)) {
                break;
            }
            let Some(target) = node.get("$ref").and_then(Value::as_str) else {
                let at = if pointer.is_empty() { "the schema's top level".to_owned() } else { format!("{pointer:?}") };
                return Err(format!("{path:?} is not described by the schema: no properties.{name} at {at}"));
            };
            let Some(local) = target.strip_prefix('#').filter(|p| p.is_empty() || p.starts_with('/')) else {
                return Err(format!("{path:?}: only local $refs (\"#/…\") are followed, not {target:?}"));
            };
            hops += 1;
            if hops > MAX_REF_HOPS {
                return Err(format!("{path:?}: more than {MAX_REF_HOPS} $refs in a row"));
            }
            pointer = local.to_owned();
            node = root.pointer(&pointer).ok_or_else(|| format!("{path:?}: $ref {target:?} is not in the schema"))?;
        }
        required = node
            .get("required")
            .and_then(Value::as_array)
            .is_some_and(|names| names.iter().any(|n| n.as_str() == Some(name)));
        pointer = format!("{pointer}/properties/{}", name.replace('~', "~0").replace('/', "~1"));
    }
    Ok(FieldPlace { pointer, required })
}

/// Checks what the compiler does not bound: size, depth, dialect, and values TOML can
/// write but JSON cannot.
fn check_bounds(schema: &Value) -> Result<(), String> {
    if serde_json::to_string(schema).map_or(true, |text| text.len() > MAX_SCHEMA_BYTES) {
        return Err(format!("at most {MAX_SCHEMA_BYTES} bytes as JSON"));
    }
    if !schema.is_object() {
        return Err("must be a table (a JSON object) describing one record".to_owned());
    }
    if let Some(dialect) = schema.get("$schema") {
        if dialect.as_str().map(|d| d.trim_end_matches('#')) != Some(DRAFT_2020_12) {
            return Err(format!("$schema must be {DRAFT_2020_12:?} (or absent)"));
        }
    }
    check_nesting(schema, 0)
}

fn check_nesting(value: &Value, depth: usize) -> Result<(), String> {
    if depth > MAX_SCHEMA_DEPTH {
        return Err(format!("nested more than {MAX_SCHEMA_DEPTH} levels deep"));
    }
    match value {
        Value::Object(members) => {
            if members.contains_key(TOML_DATETIME_KEY) {
                return Err("holds a TOML date or time, which JSON has not: quote it".to_owned());
            }
            members.values().try_for_each(|v| check_nesting(v, depth + 1))
        }
        Value::Array(items) => items.iter().try_for_each(|v| check_nesting(v, depth + 1)),
        _ => Ok(()),
    }
}

/// Refuses to load any schema from anywhere: a category's schema is whole in the config,
/// and neither a file on this machine nor a URL may be read because a `$ref` names it.
struct NoLoading;

impl boon::UrlLoader for NoLoading {
    fn load(&self, url: &str) -> Result<Value, Box<dyn Error>> {
        Err(format!("{url} is not loaded: only $refs within the category's schema resolve").into())
    }
}

/// The compiled subschema of one rectifiable field.
struct FieldSchema {
    index: boon::SchemaIndex,
    required: bool,
}

/// Compiles the schemas of an inventory's categories, one after the other.
pub(crate) struct SchemaCompiler {
    compiler: boon::Compiler,
    compiled: RecordSchemas,
}

impl SchemaCompiler {
    pub(crate) fn new() -> Self {
        let mut compiler = boon::Compiler::new();
        compiler.set_default_draft(boon::Draft::V2020_12);
        compiler.use_loader(Box::new(NoLoading));
        Self { compiler, compiled: RecordSchemas::default() }
    }

    /// Compiles `category`'s schema, if it has one, and the subschema of each of its
    /// rectifiable fields; errors name the category's member at fault and why.
    pub(crate) fn add(&mut self, category: &Category) -> Result<(), (&'static str, String)> {
        let Some(schema) = &category.schema else { return Ok(()) };
        let id = &category.id;
        check_bounds(schema).map_err(|m| ("schema", format!("category {id:?}: the schema {m}")))?;
        // Category ids are [a-z0-9_-], so this is a valid URL; it is never fetched.
        let location = format!("urn:gdpr-gateway:inventory:{id}");
        let compile_err = |e: boon::CompileError| format!("category {id:?}: the schema does not compile: {e:#}");
        self.compiler.add_resource(&location, schema.clone()).map_err(|e| ("schema", compile_err(e)))?;
        self.compiler.compile(&location, &mut self.compiled.schemas).map_err(|e| ("schema", compile_err(e)))?;
        let mut fields = HashMap::new();
        for field in &category.rectifiable {
            let place = field_place(schema, field).map_err(|m| ("rectifiable", format!("category {id:?}: {m}")))?;
            let at = format!("{location}#{}", encode_fragment(&place.pointer));
            let index = self.compiler.compile(&at, &mut self.compiled.schemas).map_err(|e| {
                ("rectifiable", format!("category {id:?}: {field:?}: its subschema does not compile: {e:#}"))
            })?;
            fields.insert(field.clone(), FieldSchema { index, required: place.required });
        }
        self.compiled.fields.insert(id.clone(), fields);
        Ok(())
    }

    pub(crate) fn finish(self) -> RecordSchemas {
        self.compiled
    }
}

/// Percent-encodes a JSON pointer for a URL fragment; the compiler decodes it again.
fn encode_fragment(pointer: &str) -> String {
    let mut out = String::with_capacity(pointer.len());
    for byte in pointer.bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~$".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The compiled schemas of an inventory, by category and rectifiable field.
#[derive(Default)]
pub(crate) struct RecordSchemas {
    schemas: boon::Schemas,
    fields: HashMap<String, HashMap<String, FieldSchema>>,
}

impl RecordSchemas {
    /// Judges `value`, proposed for `field` of `category`, against the field's subschema;
    /// the reason names the rule it breaks, never the value. A category without a schema
    /// takes any value; `null` removes the field, which its object may require.
    pub(crate) fn check(&self, category: &str, field: &str, value: &Value) -> Result<(), String> {
        let Some(field) = self.fields.get(category).and_then(|fields| fields.get(field)) else {
            return Ok(());
        };
        if value.is_null() {
            return match field.required {
                true => Err("the schema requires this field, so it cannot be removed (null)".to_owned()),
                false => Ok(()),
            };
        }
        if !self.schemas.contains(field.index) {
            // Indexes come from these schemas; should one not, refuse rather than panic.
            return Err("no schema for this field".to_owned());
        }
        self.schemas.validate(value, field.index).map_err(|e| reason(&e))
    }
}

impl std::fmt::Debug for RecordSchemas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut fields: Vec<String> =
            self.fields.iter().flat_map(|(c, fields)| fields.keys().map(move |k| format!("{c}.{k}"))).collect();
        fields.sort();
        f.debug_struct("RecordSchemas").field("fields", &fields).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn address_schema() -> Value {
        json!({
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "maxLength": 5},
                "a/b": {"type": "integer"},
                "address": {"$ref": "#/$defs/address"},
            },
            "$defs": {
                "address": {
                    "type": "object",
                    "required": ["postcode"],
                    "properties": {
                        "street": {"type": "string"},
                        "postcode": {"type": "string", "pattern": "^[0-9]{4} ?[A-Z]{2}$"},
                    },
                },
            },
        })
    }

    #[test]
    fn walks_properties_and_local_refs() {
        let schema = address_schema();
        let place = |p| field_place(&schema, p);
        assert_eq!(place("name"), Ok(FieldPlace { pointer: "/properties/name".into(), required: true }));
        assert_eq!(
            place("address.street"),
            Ok(FieldPlace { pointer: "/$defs/address/properties/street".into(), required: false })
        );
        assert_eq!(
            place("address.postcode"),
            Ok(FieldPlace { pointer: "/$defs/address/properties/postcode".into(), required: true })
        );
        assert_eq!(place("a/b").map(|p| p.pointer), Ok("/properties/a~1b".into()));
    }

    #[test]
    fn names_the_missing_step() {
        let schema = address_schema();
        let err = field_place(&schema, "address.zip").unwrap_err();
        assert!(err.contains("no properties.zip at \"/$defs/address\""), "{err}");
        let err = field_place(&schema, "phone").unwrap_err();
        assert!(err.contains("no properties.phone at the schema's top level"), "{err}");
        let err = field_place(&schema, "name.first").unwrap_err();
        assert!(err.contains("no properties.first"), "{err}");
        let remote = json!({"properties": {"a": {"$ref": "https://example.com/a.json"}}});
        assert!(field_place(&remote, "a.b").unwrap_err().contains("only local $refs"));
        let circle = json!({"$defs": {"x": {"$ref": "#/$defs/x"}}, "properties": {"a": {"$ref": "#/$defs/x"}}});
        assert!(field_place(&circle, "a.b").unwrap_err().contains("more than 16 $refs"));
    }

    #[test]
    fn bounds_size_depth_and_dialect() {
        let mut deep = json!({"type": "string"});
        for _ in 0..MAX_SCHEMA_DEPTH {
            deep = json!({ "items": deep });
        }
        assert!(check_bounds(&deep).unwrap_err().contains("nested more than"));
        let big = json!({ "description": "x".repeat(MAX_SCHEMA_BYTES) });
        assert!(check_bounds(&big).unwrap_err().contains("bytes"));
        let draft7 = json!({ "$schema": "http://json-schema.org/draft-07/schema#" });
        assert!(check_bounds(&draft7).unwrap_err().contains("$schema"));
        assert!(check_bounds(&json!({ "$schema": DRAFT_2020_12 })).is_ok());
        assert!(check_bounds(&json!(true)).is_err());
    }

    #[test]
    fn fragments_are_percent_encoded() {
        assert_eq!(encode_fragment("/properties/a b/properties/é"), "/properties/a%20b/properties/%C3%A9");
    }
}
