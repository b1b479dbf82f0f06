//! The Java semantics Echo and Orca apply to webhook payloads, written here from the JDK and
//! Jackson behaviour (not shared with spinnaker-client, so the stand-in stays an independent
//! oracle for baton's lint and explain).
//!
//! - `java.util.regex.Pattern`: evaluated with `fancy-regex` (lookaround, backreferences,
//!   atomic groups, possessive quantifiers) after translating what differs: `\Q...\E` quoting,
//!   ASCII-only `\d \w \s` (Java's default without `UNICODE_CHARACTER_CLASS`), `\v` (vertical
//!   whitespace), and `$`/`\Z` matching before a final line terminator. `\h \R \X \G` and
//!   `\p{java...}` classes are not translated: such a pattern is reported as unsupported.
//! - `Object.toString()` of what Jackson reads into a `Map` (`LinkedHashMap`, `ArrayList`,
//!   `Integer`/`Long`, `Double`, `Boolean`).
//! - Jackson's coercion of JSON scalars into a `String` field (`StringDeserializer`).

use std::cell::RefCell;
use std::collections::HashMap;

use serde_json::Value;

/// Something the JVM would have thrown while Echo or Orca evaluated an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Thrown(pub String);

impl Thrown {
    pub(crate) fn npe(what: &str) -> Self {
        Thrown(format!("java.lang.NullPointerException: {what}"))
    }
}

thread_local! {
    static COMPILED: RefCell<HashMap<String, Result<fancy_regex::Regex, String>>> =
        RefCell::new(HashMap::new());
}

/// `Pattern.compile(p).asPredicate().test(text)`: the pattern is FOUND somewhere in `text`.
pub(crate) fn find(pattern: &str, text: &str) -> Result<bool, Thrown> {
    with_compiled(pattern, false, |re| re.is_match(text).unwrap_or(false))
}

/// `Pattern.compile(p).matcher(text).matches()`: the pattern matches ALL of `text`.
pub(crate) fn full_match(pattern: &str, text: &str) -> Result<bool, Thrown> {
    with_compiled(pattern, true, |re| re.is_match(text).unwrap_or(false))
}

fn with_compiled(
    pattern: &str,
    whole: bool,
    f: impl FnOnce(&fancy_regex::Regex) -> bool,
) -> Result<bool, Thrown> {
    let key = format!("{}{pattern}", if whole { 'W' } else { 'F' });
    COMPILED.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() > 1024 {
            cache.clear();
        }
        let compiled = cache.entry(key).or_insert_with(|| {
            let body = translate(pattern)?;
            let source = if whole {
                format!(r"\A(?:{body})\z")
            } else {
                body
            };
            fancy_regex::Regex::new(&source).map_err(|e| e.to_string())
        });
        match compiled {
            Ok(re) => Ok(f(re)),
            Err(e) => Err(Thrown(format!(
                "java.util.regex.PatternSyntaxException: {e} near index 0\n{pattern}"
            ))),
        }
    })
}

const LINE_END: &str = r"(?=(?:\r\n|[\n\r\u{85}\u{2028}\u{2029}])?\z)";

/// Rewrites a Java pattern into fancy-regex syntax; `Err` names a construct not translated.
fn translate(java: &str) -> Result<String, String> {
    let multiline = java.contains("(?m") || java.contains("(?sm") || java.contains("(?im");
    let chars: Vec<char> = java.chars().collect();
    let mut out = String::with_capacity(java.len() + 8);
    let mut in_class = 0usize;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() {
            let next = chars[i + 1];
            i += 2;
            match next {
                'Q' => {
                    let mut literal = String::new();
                    while i < chars.len() && !(chars[i] == '\\' && chars.get(i + 1) == Some(&'E')) {
                        literal.push(chars[i]);
                        i += 1;
                    }
                    i = (i + 2).min(chars.len().max(i));
                    for ch in literal.chars() {
                        if ch.is_ascii_alphanumeric() || ch == ' ' || !ch.is_ascii() {
                            out.push(ch);
                        } else {
                            out.push('\\');
                            out.push(ch);
                        }
                    }
                }
                'd' => out.push_str(if in_class > 0 { "0-9" } else { "[0-9]" }),
                'D' => out.push_str(if in_class > 0 {
                    r"\x00-/:-\x{10FFFF}"
                } else {
                    "[^0-9]"
                }),
                'w' => out.push_str(if in_class > 0 {
                    "a-zA-Z_0-9"
                } else {
                    "[a-zA-Z_0-9]"
                }),
                'W' => out.push_str(if in_class > 0 { r"\W" } else { "[^a-zA-Z_0-9]" }),
                's' => out.push_str(if in_class > 0 {
                    r" \t\n\x0B\f\r"
                } else {
                    r"[ \t\n\x0B\f\r]"
                }),
                'S' => out.push_str(if in_class > 0 {
                    r"\S"
                } else {
                    r"[^ \t\n\x0B\f\r]"
                }),
                'v' => out.push_str(if in_class > 0 {
                    r"\n\x0B\f\r\x{85}\x{2028}\x{2029}"
                } else {
                    r"[\n\x0B\f\r\x{85}\x{2028}\x{2029}]"
                }),
                'Z' if in_class == 0 => out.push_str(LINE_END),
                'e' => out.push_str(r"\x1B"),
                'h' | 'R' | 'X' | 'G' => {
                    return Err(format!("the Java construct \\{next} is not translated"));
                }
                'p' | 'P' if chars.get(i) == Some(&'{') => {
                    let end = chars[i..].iter().position(|&c| c == '}').map(|p| i + p);
                    let name: String = chars[i + 1..end.unwrap_or(i + 1)].iter().collect();
                    if name.starts_with("java") || name.starts_with("In") || name.starts_with("Is")
                    {
                        return Err(format!("the Java class \\p{{{name}}} is not translated"));
                    }
                    out.push('\\');
                    out.push(next);
                }
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
            continue;
        }
        match c {
            '[' => {
                in_class += 1;
                out.push(c);
            }
            ']' if in_class > 0 => {
                in_class -= 1;
                out.push(c);
            }
            '$' if in_class == 0 && !multiline => out.push_str(LINE_END),
            _ => out.push(c),
        }
        i += 1;
    }
    Ok(out)
}

/// `toString()` of a value Jackson read into a Java `Map`.
pub(crate) fn to_string(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number_to_string(n),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(to_string).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Object(m) => {
            let inner: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}={}", to_string(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

/// `Integer`/`Long.toString` for integers, `Double.toString` for the rest.
fn number_to_string(n: &serde_json::Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    let d = n.as_f64().unwrap_or(0.0);
    let abs = d.abs();
    if d == 0.0 || (1e-3..1e7).contains(&abs) {
        let s = format!("{d}");
        return if s.contains('.') { s } else { format!("{s}.0") };
    }
    // Computerized scientific notation: one digit before the point, at least one after.
    let s = format!("{d:e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let mantissa = if mantissa.contains('.') {
        mantissa.to_owned()
    } else {
        format!("{mantissa}.0")
    };
    format!("{mantissa}E{exp}")
}

/// Jackson's `StringDeserializer`: strings as they are, numbers and booleans as text, null as
/// absent; an object or array fails ("Cannot deserialize value of type `java.lang.String`").
pub(crate) fn coerce_string(v: &Value, path: &str) -> Result<Option<String>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Bool(_) | Value::Number(_) => Ok(Some(to_string(v))),
        Value::Array(_) | Value::Object(_) => Err(format!(
            "Cannot deserialize value of type `java.lang.String` from {} value at {path}",
            if v.is_array() { "Array" } else { "Object" }
        )),
    }
}

/// Jackson's boolean coercion for a primitive `boolean` field (null = false).
pub(crate) fn coerce_bool(v: &Value, path: &str) -> Result<bool, String> {
    match v {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(*b),
        Value::Number(n) if n.is_i64() || n.is_u64() => Ok(n.as_i64() != Some(0)),
        Value::String(s) if s == "true" || s == "false" => Ok(s == "true"),
        other => Err(format!(
            "Cannot deserialize value of type `boolean` from {} at {path}",
            to_string(other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn java_only_constructs_evaluate() {
        assert_eq!(find(r"^(?!prod)", "dev"), Ok(true));
        assert_eq!(find(r"^(?!prod)", "production"), Ok(false));
        assert_eq!(
            full_match(r"\Qvalues-dev.yaml\E", "values-dev.yaml"),
            Ok(true)
        );
        assert_eq!(
            full_match(r"\Qvalues-dev.yaml\E", "values-devXyaml"),
            Ok(false)
        );
        assert_eq!(full_match(r"(a)\1", "aa"), Ok(true));
        assert_eq!(
            find(r"dev$", "dev\n"),
            Ok(true),
            "Java's $ allows a final newline"
        );
        assert_eq!(full_match(r"\d+", "١٢"), Ok(false), "Java's \\d is ASCII");
        assert!(find("[one,two", "one").is_err());
        assert!(find(r"\R", "x").is_err());
    }

    #[test]
    fn to_string_and_coercion_follow_java() {
        assert_eq!(to_string(&json!(["uno", "one"])), "[uno, one]");
        assert_eq!(to_string(&json!({"a": 1, "b": [true]})), "{a=1, b=[true]}");
        assert_eq!(to_string(&json!(1.0)), "1.0");
        assert_eq!(to_string(&json!(1.5e10)), "1.5E10");
        assert_eq!(coerce_string(&json!(3), "v"), Ok(Some("3".into())));
        assert!(coerce_string(&json!({}), "v").is_err());
        assert_eq!(coerce_bool(&json!(null), "b"), Ok(false));
    }
}
