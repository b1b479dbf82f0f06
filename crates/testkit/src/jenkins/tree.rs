//! The `tree=` query parameter of `/api/json`: keep only the named properties.
//!
//! Syntax as in Jenkins' `TreeString`: `a,b[c,d],e{0,5}`. `_class` is always kept, as Jenkins
//! emits it regardless of the tree. Ranges (`{m,n}`) slice arrays. With a tree, `depth` does
//! not apply (stapler `Api.doJson` uses the tree's pruner instead of `ByDepth`); without one,
//! [`prune_depth`] cuts item lists (`jobs`) the way `ByDepth` does.

use serde_json::{Map, Value};

/// One node of a parsed tree.
#[derive(Debug, Default, Clone)]
pub(crate) struct Tree {
    fields: Vec<Field>,
}

/// An array slice `{lo,hi}`; `hi` open when `None`.
type Range = (usize, Option<usize>);

/// One property: its name, sub-tree and range.
type Field = (String, Option<Tree>, Option<Range>);

/// Parses a tree spec; an error names the offending position.
pub(crate) fn parse(spec: &str) -> Result<Tree, String> {
    let chars: Vec<char> = spec.chars().collect();
    let mut pos = 0;
    let tree = parse_list(&chars, &mut pos)?;
    if pos != chars.len() {
        return Err(format!(
            "unexpected {:?} at position {pos} in tree={spec}",
            chars[pos]
        ));
    }
    Ok(tree)
}

fn parse_list(c: &[char], pos: &mut usize) -> Result<Tree, String> {
    let mut tree = Tree::default();
    loop {
        let start = *pos;
        while *pos < c.len() && !matches!(c[*pos], ',' | '[' | ']' | '{' | '}') {
            *pos += 1;
        }
        let name: String = c[start..*pos].iter().collect();
        if name.is_empty() {
            return Err(format!("empty property name at position {start}"));
        }
        let mut sub = None;
        if *pos < c.len() && c[*pos] == '[' {
            *pos += 1;
            sub = Some(parse_list(c, pos)?);
            if *pos >= c.len() || c[*pos] != ']' {
                return Err(format!("missing ']' at position {}", *pos));
            }
            *pos += 1;
        }
        let mut range = None;
        if *pos < c.len() && c[*pos] == '{' {
            let s = *pos + 1;
            while *pos < c.len() && c[*pos] != '}' {
                *pos += 1;
            }
            if *pos >= c.len() {
                return Err("missing '}'".to_owned());
            }
            let body: String = c[s..*pos].iter().collect();
            *pos += 1;
            let (a, b) = body.split_once(',').unwrap_or((body.as_str(), ""));
            let lo = a.trim().parse().unwrap_or(0);
            let hi = b.trim().parse().ok();
            range = Some((
                lo,
                if b.is_empty() && !body.contains(',') {
                    Some(lo + 1)
                } else {
                    hi
                },
            ));
        }
        tree.fields.push((name, sub, range));
        if *pos < c.len() && c[*pos] == ',' {
            *pos += 1;
            continue;
        }
        return Ok(tree);
    }
}

/// Applies a tree to a document.
pub(crate) fn apply(tree: &Tree, v: &Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.iter().map(|i| apply(tree, i)).collect()),
        Value::Object(obj) => {
            let mut out = Map::new();
            if let Some(c) = obj.get("_class") {
                out.insert("_class".to_owned(), c.clone());
            }
            for (name, sub, range) in &tree.fields {
                let Some(value) = obj.get(name) else { continue };
                // A leaf names no sub-properties: nested objects keep only `_class`
                // (stapler's NamedPathPruner; python-jenkins relies on it to see that a
                // folder level was cut off).
                let mut value = match sub {
                    Some(sub) => apply(sub, value),
                    None => apply(&Tree::default(), value),
                };
                if let (Some((lo, hi)), Value::Array(items)) = (range, &mut value) {
                    let hi = hi.unwrap_or(items.len()).min(items.len());
                    let lo = (*lo).min(hi);
                    *items = items[lo..hi].to_vec();
                }
                out.insert(name.clone(), value);
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// `ByDepth(1 - depth)` for item lists: items nested deeper than `depth` show only their
/// summary properties (`@Exported(visibility >= 2)`: `name`, `url` in `AbstractItem`, `color`
/// in `Job`), so their own `jobs` are not shown.
pub(crate) fn prune_depth(doc: &mut Value, depth: usize) {
    if let Some(Value::Array(items)) = doc.get_mut("jobs") {
        for item in items {
            prune_item(item, 1, depth);
        }
    }
}

fn prune_item(item: &mut Value, level: usize, depth: usize) {
    let Value::Object(obj) = item else { return };
    if level > depth {
        obj.retain(|k, _| matches!(k.as_str(), "_class" | "name" | "url" | "color"));
    } else if let Some(Value::Array(children)) = obj.get_mut("jobs") {
        for child in children {
            prune_item(child, level + 1, depth);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_named_fields_and_class() {
        let doc = json!({"_class": "B", "number": 3, "result": null, "actions": [
            {"_class": "P", "parameters": [{"name": "A", "value": "1", "_class": "S"}]},
            {"_class": "C", "causes": []}], "url": "u"});
        let tree = parse("number,result,actions[parameters[name,value]]").unwrap();
        assert_eq!(
            apply(&tree, &doc),
            json!({"_class": "B", "number": 3, "result": null, "actions": [
                {"_class": "P", "parameters": [{"_class": "S", "name": "A", "value": "1"}]},
                {"_class": "C"}]})
        );
    }

    #[test]
    fn ranges_slice_arrays_and_bad_specs_are_rejected() {
        let doc = json!({"builds": [1, 2, 3, 4]});
        assert_eq!(
            apply(&parse("builds{1,3}").unwrap(), &doc),
            json!({"builds": [2, 3]})
        );
        assert!(parse("a[b").unwrap_err().contains("missing ']'"));
        let nested =
            json!({"jobs": [{"_class": "F", "name": "f", "jobs": [{"_class": "J", "name": "j"}]}]});
        assert_eq!(
            apply(&parse("jobs[name,jobs]").unwrap(), &nested),
            json!({"jobs": [{"_class": "F", "name": "f", "jobs": [{"_class": "J"}]}]}),
            "a leaf keeps only _class of nested objects"
        );
        assert!(parse("a,,b").unwrap_err().contains("empty property name"));
    }
}
