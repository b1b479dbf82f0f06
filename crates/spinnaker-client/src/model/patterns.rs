//! Spinnaker's patterns are `java.util.regex` patterns. They are evaluated here with
//! `fancy-regex` (lookahead, lookbehind, backreferences, atomic groups, possessive
//! quantifiers) after rewriting the constructs whose meaning differs between Java and Rust:
//!
//! | Java | meaning in Java | rewritten to |
//! |---|---|---|
//! | `\Q...\E` | quoted literal | the literal, escaped |
//! | `\d \w \s` (and negations) | ASCII classes | explicit ASCII classes |
//! | `\v` | vertical whitespace | the class of vertical whitespace |
//! | `$`, `\Z` (not multiline) | end, or before a final line terminator | a lookahead |
//!
//! Constructs with no rewrite here (`\h \R \X \G`, `\p{javaX}`, `\p{InX}`, `\p{IsX}`) are
//! reported as [`PatternError::Unsupported`]: Java may well accept them, so callers must say
//! "cannot evaluate" instead of calling the pattern invalid or a constraint dead.
//! Compiled patterns are cached per thread, since Echo and Orca test the same few patterns
//! against every event.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

/// Why a pattern could not be evaluated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PatternError {
    /// Not a valid regular expression (Java would throw `PatternSyntaxException` too).
    Invalid(String),
    /// Uses a Java construct this crate does not evaluate; Java may accept it.
    Unsupported(String),
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PatternError::Invalid(why) => write!(f, "{why}"),
            PatternError::Unsupported(what) => {
                write!(f, "cannot evaluate this Java construct: {what}")
            }
        }
    }
}

impl std::error::Error for PatternError {}

type Compiled = Result<fancy_regex::Regex, PatternError>;

thread_local! {
    static CACHE: RefCell<HashMap<(bool, String), Compiled>> = RefCell::new(HashMap::new());
}

const CACHE_LIMIT: usize = 512;

/// Java's `$` outside multiline mode.
const BEFORE_FINAL_TERMINATOR: &str = r"(?=(?:\r\n|[\n\r\x{85}\x{2028}\x{2029}])?\z)";

fn java_escape(next: char, in_class: bool) -> Result<Option<&'static str>, PatternError> {
    let (outside, inside) = match next {
        'd' => ("[0-9]", "0-9"),
        'D' => ("[^0-9]", r"\x00-/:-\x{10FFFF}"),
        'w' => ("[0-9A-Za-z_]", "0-9A-Za-z_"),
        'W' => ("[^0-9A-Za-z_]", r"\W"),
        's' => (r"[\t\n\x0B\x0C\r ]", r"\t\n\x0B\x0C\r "),
        'S' => (r"[^\t\n\x0B\x0C\r ]", r"\S"),
        'v' => (
            r"[\n\x0B\x0C\r\x{85}\x{2028}\x{2029}]",
            r"\n\x0B\x0C\r\x{85}\x{2028}\x{2029}",
        ),
        'e' => (r"\x1B", r"\x1B"),
        'h' | 'R' | 'X' | 'G' => {
            return Err(PatternError::Unsupported(format!("\\{next}")));
        }
        _ => return Ok(None),
    };
    Ok(Some(if in_class { inside } else { outside }))
}

/// Whether an inline flag group (`(?m)`, `(?im:...)`) turns on multiline mode.
fn has_multiline_flag(pattern: &str) -> bool {
    pattern.match_indices("(?").any(|(i, _)| {
        pattern[i + 2..]
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .any(|c| c == 'm')
    })
}

/// Rewrites a Java pattern for fancy-regex.
fn rewrite(pattern: &str) -> Result<String, PatternError> {
    let multiline = has_multiline_flag(pattern);
    let mut out = String::new();
    let mut depth = 0usize;
    let mut rest = pattern;
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        if c != '\\' {
            match c {
                '[' => depth += 1,
                ']' if depth > 0 => depth -= 1,
                '$' if depth == 0 && !multiline => {
                    out.push_str(BEFORE_FINAL_TERMINATOR);
                    continue;
                }
                _ => {}
            }
            out.push(c);
            continue;
        }
        let Some(next) = rest.chars().next() else {
            out.push('\\');
            break;
        };
        rest = &rest[next.len_utf8()..];
        if next == 'Q' {
            let (quoted, after) = rest.split_once(r"\E").unwrap_or((rest, ""));
            out.push_str(&fancy_regex::escape(quoted));
            rest = after;
        } else if next == 'Z' && depth == 0 {
            out.push_str(BEFORE_FINAL_TERMINATOR);
        } else if (next == 'p' || next == 'P') && rest.starts_with('{') {
            let name = rest[1..].split('}').next().unwrap_or("");
            if ["java", "In", "Is"].iter().any(|p| name.starts_with(p)) {
                return Err(PatternError::Unsupported(format!("\\{next}{{{name}}}")));
            }
            out.push('\\');
            out.push(next);
        } else if let Some(class) = java_escape(next, depth > 0)? {
            out.push_str(class);
        } else {
            out.push('\\');
            out.push(next);
        }
    }
    Ok(out)
}

fn with_regex<T>(
    whole: bool,
    pattern: &str,
    f: impl FnOnce(&fancy_regex::Regex) -> T,
) -> Result<T, PatternError> {
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        let compiled = cache.entry((whole, pattern.to_owned())).or_insert_with(|| {
            let body = rewrite(pattern)?;
            let source = if whole {
                format!(r"\A(?:{body})\z")
            } else {
                body
            };
            fancy_regex::Regex::new(&source).map_err(|e| PatternError::Invalid(e.to_string()))
        });
        compiled.as_ref().map(f).map_err(Clone::clone)
    })
}

/// Whether `pattern` matches ALL of `text` (Java `Matcher.matches`).
pub(crate) fn full_match(pattern: &str, text: &str) -> Result<bool, PatternError> {
    with_regex(true, pattern, |re| re.is_match(text).unwrap_or(false))
}

/// Whether `pattern` is found anywhere in `text` (Java `Pattern.asPredicate`).
pub(crate) fn find(pattern: &str, text: &str) -> Result<bool, PatternError> {
    with_regex(false, pattern, |re| re.is_match(text).unwrap_or(false))
}

/// Whether `pattern` compiles.
pub(crate) fn check(pattern: &str) -> Result<(), PatternError> {
    with_regex(false, pattern, |_| ())
}
