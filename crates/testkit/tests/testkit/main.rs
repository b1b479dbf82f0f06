//! The stand-ins checked from outside: fake-jenkins with python-jenkins and its spec, fake-spinnaker's Gate, Echo and Orca against the case table.
//!
//! One test binary for the crate (each file here is a module of it), so the suite links once.

mod fake_spinnaker_bin;
mod jenkins_http;
mod jenkins_spec_and_bin;
mod python_jenkins;
mod spinnaker_cases;
mod spinnaker_gate;
mod spinnaker_matching;
mod spinnaker_webhooks;
