//! Change sources for baton: OCI registry digests (base images), Helm repositories (charts) and
//! git branches (chart source, artifact source). Each source reports typed observations; the
//! daemon decides what is worth an event.
