//! End-to-end tests for baton live in `tests/`; this library is empty on purpose.
