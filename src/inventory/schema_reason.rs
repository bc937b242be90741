//! Says in a line why a proposed value fails its field's schema, naming the rule it breaks
//! but never the value: the answer goes back to the portal or wallet that sent it, and the
//! value may be long or be someone's personal data in a log.

use boon::{ErrorKind, ValidationError};

/// Longest reason, in characters: a configured pattern or enum could be long.
pub(crate) const MAX_REASON_CHARS: usize = 200;

/// The first failure the validator found, at its deepest cause, in words.
pub(crate) fn reason(error: &ValidationError<'_, '_>) -> String {
    let mut leaf = error;
    while let Some(cause) = leaf.causes.first() {
        leaf = cause;
    }
    let rule = rule(&leaf.kind);
    let location = leaf.instance_location.to_string();
    let text = if location.is_empty() { rule } else { format!("at {location}: {rule}") };
    truncate(&text)
}

fn rule(kind: &ErrorKind<'_, '_>) -> String {
    match kind {
        ErrorKind::Type { got, want } => {
            let want: Vec<String> = want.iter().map(|t| t.to_string()).collect();
            format!("must be {}, not {got}", want.join(" or "))
        }
        ErrorKind::MinLength { want, .. } => format!("must be at least {want} characters long"),
        ErrorKind::MaxLength { want, .. } => format!("must be at most {want} characters long"),
        ErrorKind::Pattern { want, .. } => format!("does not match the pattern {want}"),
        ErrorKind::Format { want, .. } => format!("is not a valid {want}"),
        ErrorKind::Enum { .. } => "is not one of the values the schema allows".to_owned(),
        ErrorKind::Const { .. } => "is not the value the schema allows".to_owned(),
        ErrorKind::Minimum { want, .. } => format!("must be at least {want}"),
        ErrorKind::Maximum { want, .. } => format!("must be at most {want}"),
        ErrorKind::ExclusiveMinimum { want, .. } => format!("must be more than {want}"),
        ErrorKind::ExclusiveMaximum { want, .. } => format!("must be less than {want}"),
        ErrorKind::MultipleOf { want, .. } => format!("must be a multiple of {want}"),
        ErrorKind::Required { want } => format!("lacks {}", want.join(", ")),
        ErrorKind::AdditionalProperties { .. } => "has fields the schema does not allow".to_owned(),
        ErrorKind::MinItems { want, .. } => format!("must have at least {want} items"),
        ErrorKind::MaxItems { want, .. } => format!("must have at most {want} items"),
        ErrorKind::FalseSchema => "is not allowed by the schema".to_owned(),
        // The rest are rarer in a record's fields; the keyword says which rule failed.
        other => match other.keyword_path() {
            Some(path) => format!("fails the schema's {path}"),
            None => "does not match the schema".to_owned(),
        },
    }
}

fn truncate(text: &str) -> String {
    if text.chars().count() <= MAX_REASON_CHARS {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(MAX_REASON_CHARS - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn reason_for(schema: Value, value: Value) -> String {
        let mut compiler = boon::Compiler::new();
        let mut schemas = boon::Schemas::new();
        compiler.add_resource("urn:test", schema).unwrap();
        let index = compiler.compile("urn:test", &mut schemas).unwrap();
        reason(&schemas.validate(&value, index).unwrap_err())
    }

    #[test]
    fn names_the_rule_not_the_value() {
        let secret = "s3cret-value-of-the-person";
        let pattern = json!({"type": "string", "pattern": "^[0-9]+$"});
        let said = reason_for(pattern, json!(secret));
        assert_eq!(said, "does not match the pattern ^[0-9]+$");
        let said = reason_for(json!({"type": "string", "maxLength": 3}), json!(secret));
        assert_eq!(said, "must be at most 3 characters long");
        let said = reason_for(json!({"type": "string"}), json!(12));
        assert_eq!(said, "must be string, not number");
        let said = reason_for(json!({"enum": ["a", "b"]}), json!(secret));
        assert!(!said.contains(secret), "{said}");
        let nested = json!({"type": "object", "properties": {"street": {"type": "string", "minLength": 2}}});
        assert_eq!(reason_for(nested, json!({"street": "x"})), "at /street: must be at least 2 characters long");
    }

    #[test]
    fn long_reasons_are_cut() {
        let pattern = format!("^{}$", "a".repeat(500));
        let said = reason_for(json!({"type": "string", "pattern": pattern}), json!("b"));
        assert_eq!(said.chars().count(), MAX_REASON_CHARS);
        assert!(said.ends_with('…'));
    }
}
