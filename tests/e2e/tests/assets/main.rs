//! The shipped assets checked with real tools: the Helm chart (`helm`) and the Jenkins shared
//! library, Job DSL and JCasC (`jenkins`); `support` finds the tools and runs them.
//!
//! One test binary for both (they share `support`), so the suite links once.

mod helm;
mod jenkins;
mod support;
