//! Async client for the Jenkins REST API.
//!
//! It triggers builds (`build`, `buildWithParameters`), follows queue items to build numbers,
//! reads builds and their console text, and handles crumbs and auth errors. It knows nothing of
//! baton. Modules will be filled in by the jenkins-client work (issue 3).
