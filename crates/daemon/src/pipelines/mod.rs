//! Applying the rendered Spinnaker application and pipelines through Gate. Rendering, lint and
//! drift are pure and live in [`baton_core::pipelines`]; this module is the part that talks to
//! Gate and records the apply in the state store.

pub mod apply;
