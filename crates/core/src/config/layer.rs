//! The wrapper around the file's deserializer that applies the environment overrides
//! ([`super::env`]) and keeps the key path of the value being decoded.
//!
//! The path lets a typed value that does not parse (a URL, a cron, a version) be reported at
//! its key and decoding go on, so one load reports every problem at once as before, not only
//! the first: while [`collect`] runs, [`defer`] records a problem at the current path and the
//! value decodes as a placeholder; the loader then refuses the config with every problem.

use std::cell::RefCell;
use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};

use super::Problem;
use super::env::{FromEnv, Node, Overrides};

thread_local! {
    /// The key path being decoded on this thread.
    static PATH: RefCell<Vec<Segment>> = const { RefCell::new(Vec::new()) };
    /// Problems deferred by the load running on this thread ([`collect`]).
    static DEFERRED: RefCell<Option<Vec<Problem>>> = const { RefCell::new(None) };
}

enum Segment {
    Key(String),
    Index(usize),
}

/// Runs `decode` collecting deferred problems; returns its result and them.
pub(super) fn collect<T>(decode: impl FnOnce() -> T) -> (T, Vec<Problem>) {
    PATH.with(|p| p.borrow_mut().clear());
    DEFERRED.with(|d| *d.borrow_mut() = Some(Vec::new()));
    let out = decode();
    let problems = DEFERRED.with(|d| d.borrow_mut().take()).unwrap_or_default();
    (out, problems)
}

/// Records `message` at the current path and returns `placeholder`, or fails with `message`
/// outside [`collect`].
pub(super) fn defer<T, E: de::Error>(
    message: String,
    placeholder: impl FnOnce() -> T,
) -> Result<T, E> {
    DEFERRED.with(|d| match d.borrow_mut().as_mut() {
        Some(problems) => {
            problems.push(Problem::new(current_path(), message));
            Ok(placeholder())
        }
        None => Err(E::custom(message)),
    })
}

fn current_path() -> String {
    PATH.with(|p| {
        let mut out = String::new();
        for s in p.borrow().iter() {
            match s {
                Segment::Key(k) if out.is_empty() => out.push_str(k),
                Segment::Key(k) => {
                    out.push('.');
                    out.push_str(k);
                }
                Segment::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    })
}

/// Decodes with `segment` pushed onto the path.
fn at<T>(segment: Segment, f: impl FnOnce() -> T) -> T {
    PATH.with(|p| p.borrow_mut().push(segment));
    let out = f();
    PATH.with(|p| p.borrow_mut().pop());
    out
}

/// A deserializer with the overrides of its path (`None`: none below here).
pub(super) struct Layer<'o, D> {
    inner: D,
    level: Option<&'o Overrides>,
}

impl<'o, D> Layer<'o, D> {
    pub(super) fn new(inner: D, overrides: &'o Overrides) -> Self {
        let level = (!overrides.0.is_empty()).then_some(overrides);
        Layer { inner, level }
    }
}

macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*)),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
            self.inner.$method($($arg,)* Wrap { visitor, level: self.level })
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Layer<'_, D> {
    type Error = D::Error;

    forward! {
        deserialize_any(), deserialize_bool(), deserialize_i8(), deserialize_i16(),
        deserialize_i32(), deserialize_i64(), deserialize_i128(), deserialize_u8(),
        deserialize_u16(), deserialize_u32(), deserialize_u64(), deserialize_u128(),
        deserialize_f32(), deserialize_f64(), deserialize_char(), deserialize_str(),
        deserialize_string(), deserialize_bytes(), deserialize_byte_buf(), deserialize_option(),
        deserialize_unit(), deserialize_unit_struct(name: &'static str),
        deserialize_newtype_struct(name: &'static str), deserialize_seq(),
        deserialize_tuple(len: usize), deserialize_tuple_struct(name: &'static str, len: usize),
        deserialize_map(), deserialize_struct(name: &'static str, fields: &'static [&'static str]),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]),
        deserialize_identifier(), deserialize_ignored_any(),
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// The visitor of a value: hands the real visitor maps and lists that track the path and
/// apply the overrides.
struct Wrap<'o, V> {
    visitor: V,
    level: Option<&'o Overrides>,
}

macro_rules! pass {
    ($($method:ident($ty:ty)),* $(,)?) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> {
            self.visitor.$method(v)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(f)
    }

    pass! {
        visit_bool(bool), visit_i8(i8), visit_i16(i16), visit_i32(i32), visit_i64(i64),
        visit_i128(i128), visit_u8(u8), visit_u16(u16), visit_u32(u32), visit_u64(u64),
        visit_u128(u128), visit_f32(f32), visit_f64(f64), visit_char(char), visit_str(&str),
        visit_borrowed_str(&'de str), visit_string(String), visit_bytes(&[u8]),
        visit_borrowed_bytes(&'de [u8]), visit_byte_buf(Vec<u8>),
    }

    /// An empty (`jenkins:`) section still takes the overrides below it.
    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        match self.level {
            Some(level) => self.visitor.visit_some(FromEnv::level(level)),
            None => self.visitor.visit_none(),
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        match self.level {
            Some(level) => self.visitor.visit_some(FromEnv::level(level)),
            None => self.visitor.visit_unit(),
        }
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.visitor.visit_some(Layer {
            inner: d,
            level: self.level,
        })
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.visitor.visit_newtype_struct(Layer {
            inner: d,
            level: self.level,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_seq(Items {
            inner: seq,
            index: 0,
        })
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_enum(data)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_map(Overlay::new(Some(map), self.level))
    }
}

/// A list of the file: each item decoded at its index.
struct Items<A> {
    inner: A,
    index: usize,
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Items<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        let index = self.index;
        self.index += 1;
        at(Segment::Index(index), || {
            self.inner
                .next_element_seed(LayerSeed { seed, level: None })
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

/// Where the value of the key just returned comes from.
pub(super) enum Current<'o> {
    /// From the file, with the overrides below that key if any.
    File(Option<&'o Node>),
    /// Only from the environment.
    Env(&'o Node),
}

/// A map of the file with overrides applied: the file's keys first, then overridden keys the
/// file does not have. Each value is decoded at its key.
pub(super) struct Overlay<'o, A> {
    inner: Option<A>,
    level: Option<&'o Overrides>,
    seen: Vec<&'o str>,
    key: String,
    current: Current<'o>,
}

impl<'o, A> Overlay<'o, A> {
    pub(super) fn new(inner: Option<A>, level: Option<&'o Overrides>) -> Self {
        Overlay {
            inner,
            level,
            seen: Vec::new(),
            key: String::new(),
            current: Current::File(None),
        }
    }
}

impl<'de, 'o, A: MapAccess<'de>> MapAccess<'de> for Overlay<'o, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        if let Some(map) = self.inner.as_mut() {
            if let Some(key) = map.next_key::<String>()? {
                let node = self.level.and_then(|l| l.0.get_key_value(&key));
                if let Some((k, _)) = node {
                    self.seen.push(k);
                }
                self.current = Current::File(node.map(|(_, n)| n));
                self.key.clone_from(&key);
                return seed.deserialize(key.into_deserializer()).map(Some);
            }
            self.inner = None;
        }
        let Some(level) = self.level else {
            return Ok(None);
        };
        let next = level
            .0
            .iter()
            .find(|(k, _)| !self.seen.contains(&k.as_str()));
        let Some((key, node)) = next else {
            return Ok(None);
        };
        self.seen.push(key);
        self.current = Current::Env(node);
        self.key.clone_from(key);
        seed.deserialize(key.as_str().into_deserializer()).map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        let (current, inner) = (&self.current, self.inner.as_mut());
        at(Segment::Key(std::mem::take(&mut self.key)), || {
            match (current, inner) {
                (Current::File(None), Some(map)) => {
                    map.next_value_seed(LayerSeed { seed, level: None })
                }
                (Current::File(Some(Node::Level(level))), Some(map)) => {
                    map.next_value_seed(LayerSeed {
                        seed,
                        level: Some(level),
                    })
                }
                (Current::File(Some(node)), Some(map)) => {
                    map.next_value::<de::IgnoredAny>()?;
                    seed.deserialize(FromEnv::node(node))
                }
                (Current::Env(node), _) => seed.deserialize(FromEnv::node(node)),
                (Current::File(_), None) => Err(de::Error::custom("value without a key")),
            }
        })
    }
}

/// Deserializes a file value with the overrides below its key.
struct LayerSeed<'o, S> {
    seed: S,
    level: Option<&'o Overrides>,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for LayerSeed<'_, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.seed.deserialize(Layer {
            inner: d,
            level: self.level,
        })
    }
}
