//! `BATON__A__B=value` environment overrides, applied while the file is decoded.
//!
//! The file is decoded straight into the typed [`super::Config`] (no generic tree of a
//! 10,000-image config in memory). The overrides are a small tree of key paths
//! ([`Overrides`]); `super::layer` wraps the file's deserializer and, at each map whose path has
//! overrides, replaces the file's value of an overridden key with the environment's and adds
//! overridden keys the file lacks ([`FromEnv`]).
//!
//! An environment value is a string; it reads as a bool or a number where the field wants one
//! (`BATON__OUTBOX__MAX_ATTEMPTS=8`), as a string everywhere else. Lists cannot be overridden.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, Visitor};

use super::layer::Overlay;

/// One level of overrides: key -> value or deeper level.
#[derive(Debug, Default)]
pub(super) struct Overrides(pub(super) BTreeMap<String, Node>);

#[derive(Debug)]
pub(super) enum Node {
    Value(String),
    Level(Overrides),
}

impl Overrides {
    /// The `BATON__*` keys of `env`, lower-cased, `__` splitting levels. A key that is both a
    /// value and a level (`BATON__API` and `BATON__API__AUTH`) keeps the level.
    pub(super) fn from_env<'a>(env: impl IntoIterator<Item = (&'a String, &'a String)>) -> Self {
        let mut root = Overrides::default();
        for (key, value) in env {
            let Some(rest) = key.strip_prefix("BATON__") else {
                continue;
            };
            let parts: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
            let Some((last, levels)) = parts.split_last() else {
                continue;
            };
            let mut level = &mut root;
            for p in levels {
                let node = level
                    .0
                    .entry(p.clone())
                    .or_insert_with(|| Node::Level(Overrides::default()));
                if let Node::Value(_) = node {
                    *node = Node::Level(Overrides::default());
                }
                let Node::Level(next) = node else {
                    unreachable!("made a level above")
                };
                level = next;
            }
            level
                .0
                .entry(last.clone())
                .or_insert_with(|| Node::Value(value.clone()));
        }
        root
    }
}

/// What the environment gives for one key: a value, or a level of overrides (a section the
/// file lacks). A value reads as a bool or a number where the field wants one, else a string.
pub(super) struct FromEnv<'o, E> {
    env: Env<'o>,
    error: PhantomData<E>,
}

#[derive(Clone, Copy)]
enum Env<'o> {
    Level(&'o Overrides),
    Value(&'o str),
}

impl<'o, E> FromEnv<'o, E> {
    pub(super) fn level(level: &'o Overrides) -> Self {
        Self::of(Env::Level(level))
    }

    pub(super) fn node(node: &'o Node) -> Self {
        Self::of(match node {
            Node::Level(level) => Env::Level(level),
            Node::Value(v) => Env::Value(v),
        })
    }

    fn of(env: Env<'o>) -> Self {
        FromEnv {
            env,
            error: PhantomData,
        }
    }
}

impl<'de, E: de::Error> Deserializer<'de> for FromEnv<'_, E> {
    type Error = E;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        let text = match self.env {
            Env::Level(level) => {
                return visitor.visit_map(Overlay::new(None::<NoMap<E>>, Some(level)));
            }
            Env::Value(text) => text,
        };
        let v = text.trim();
        if let Ok(b) = v.parse::<bool>() {
            visitor.visit_bool(b)
        } else if let Ok(n) = v.parse::<u64>() {
            visitor.visit_u64(n)
        } else if let Ok(n) = v.parse::<i64>() {
            visitor.visit_i64(n)
        } else if let Ok(n) = v.parse::<f64>() {
            visitor.visit_f64(n)
        } else {
            visitor.visit_str(text)
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.env {
            Env::Value(text) => visitor.visit_str(text),
            Env::Level(_) => self.deserialize_any(visitor),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        visitor.visit_some(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, E> {
        match self.env {
            Env::Value(text) => visitor.visit_enum(text.into_deserializer()),
            Env::Level(_) => self.deserialize_any(visitor),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf
        unit unit_struct newtype_struct seq tuple tuple_struct map struct ignored_any
    }
}

/// The file side of a section the file lacks.
struct NoMap<E>(PhantomData<E>);

impl<'de, E: de::Error> MapAccess<'de> for NoMap<E> {
    type Error = E;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, _: K) -> Result<Option<K::Value>, E> {
        Ok(None)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, _: S) -> Result<S::Value, E> {
        Err(de::Error::custom("value without a key"))
    }
}
