//! Async client for Spinnaker Gate and Echo, plus the Spinnaker data model.
//!
//! The model (artifacts, expected artifacts, pipeline configs, executions) is pure serde data;
//! the client posts webhooks, finds executions and gives manual judgments.
