//! Finds the line of a config key such as `categories[2].source` in the TOML text, so
//! errors found after parsing still point at the line to fix.

use toml_edit::{ImDocument, Item, Table, TableLike, Value};

/// 1-based line of the key at `key_path`, or of the nearest enclosing key or table found.
pub(super) fn line_of(text: &str, key_path: &str) -> Option<usize> {
    let doc = ImDocument::parse(text).ok()?;
    let offset = offset_of(doc.as_table(), key_path)?;
    Some(text.get(..offset)?.matches('\n').count() + 1)
}

/// A borrowed position in the document while walking a key path.
enum Node<'a> {
    Tables(&'a dyn TableLike),
    Item(&'a Item),
    Value(&'a Value),
}

fn offset_of(root: &Table, key_path: &str) -> Option<usize> {
    let mut node = Node::Tables(root);
    let mut best = None;
    for segment in segments(key_path)? {
        // A missing step ends the walk at the deepest position found so far.
        let Some((offset, next)) = step(segment, node) else { return best };
        best = offset.or(best);
        node = next;
    }
    best
}

/// One step down the document: the offset of what was found, and where we are now.
fn step<'a>(segment: Segment<'_>, node: Node<'a>) -> Option<(Option<usize>, Node<'a>)> {
    let start = |span: Option<std::ops::Range<usize>>| span.map(|s| s.start);
    match (segment, node) {
        (Segment::Key(k), Node::Tables(t)) => {
            let (key, item) = t.get_key_value(k)?;
            Some((start(key.span()), Node::Item(item)))
        }
        (Segment::Key(k), Node::Item(item)) => {
            let (key, item) = item.as_table_like()?.get_key_value(k)?;
            Some((start(key.span()), Node::Item(item)))
        }
        (Segment::Key(k), Node::Value(v)) => {
            let (key, item) = v.as_inline_table()?.get_key_value(k)?;
            Some((start(key.span()), Node::Item(item)))
        }
        (Segment::Index(i), Node::Item(Item::ArrayOfTables(array))) => {
            let t = array.get(i)?;
            Some((start(t.span()), Node::Tables(t)))
        }
        (Segment::Index(i), Node::Item(Item::Value(v)) | Node::Value(v)) => {
            let v = v.as_array()?.get(i)?;
            Some((start(v.span()), Node::Value(v)))
        }
        _ => None,
    }
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn segments(path: &str) -> Option<Vec<Segment<'_>>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, indexes) = part.split_once('[').unwrap_or((part, ""));
        out.push(Segment::Key(key));
        for index in indexes.split('[').filter(|s| !s.is_empty()) {
            out.push(Segment::Index(index.strip_suffix(']')?.parse().ok()?));
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::line_of;

    const TEXT: &str = "listen = \"x\"\n\n[controller]\nname = \"A\"\n\n[[categories]]\nid = \"a\"\n\n[[categories]]\nid = \"b\"\nsource = \"nope\"\n[[portal_clients]]\nid = \"p\"\nlimits = { max = 1 }\n";

    #[test]
    fn finds_lines_of_keys() {
        assert_eq!(line_of(TEXT, "listen"), Some(1));
        assert_eq!(line_of(TEXT, "controller.name"), Some(4));
        assert_eq!(line_of(TEXT, "categories[1].source"), Some(11));
        assert_eq!(line_of(TEXT, "categories[1].missing"), Some(9));
        assert_eq!(line_of(TEXT, "portal_clients[0].limits.max"), Some(14));
        assert_eq!(line_of(TEXT, "nothing"), None);
    }
}
