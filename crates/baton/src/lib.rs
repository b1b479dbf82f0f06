//! The baton daemon and CLI: config, state store, durable outbox, chart sync, base-image cron,
//! image events, the HTTP API and the operator verbs.
