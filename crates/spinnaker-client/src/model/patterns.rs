//! Java-style regex checks with a small per-thread cache of compiled patterns, since Echo and
//! Orca evaluate the same few patterns against every event.

use std::cell::RefCell;
use std::collections::HashMap;

use regex::Regex;

const CACHE_LIMIT: usize = 512;

thread_local! {
    static CACHE: RefCell<HashMap<(bool, String), Result<Regex, regex::Error>>> =
        RefCell::new(HashMap::new());
}

fn with_regex<T>(
    anchored: bool,
    pattern: &str,
    f: impl FnOnce(&Regex) -> T,
) -> Result<T, regex::Error> {
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        let key = (anchored, pattern.to_owned());
        if !cache.contains_key(&key) {
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            let source = if anchored {
                format!("^(?:{pattern})$")
            } else {
                pattern.to_owned()
            };
            cache.insert(key.clone(), Regex::new(&source));
        }
        match &cache[&key] {
            Ok(re) => Ok(f(re)),
            Err(e) => Err(e.clone()),
        }
    })
}

/// Whether `pattern` matches ALL of `text` (Java `Matcher.matches`).
pub(crate) fn full_match(pattern: &str, text: &str) -> Result<bool, regex::Error> {
    with_regex(true, pattern, |re| re.is_match(text))
}

/// Whether `pattern` is found anywhere in `text` (Java `Pattern.asPredicate`).
pub(crate) fn find(pattern: &str, text: &str) -> Result<bool, regex::Error> {
    with_regex(false, pattern, |re| re.is_match(text))
}

/// Whether `pattern` compiles.
pub(crate) fn check(pattern: &str) -> Result<(), regex::Error> {
    with_regex(false, pattern, |_| ())
}
