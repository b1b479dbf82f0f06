//! Shared test helpers: stores on both backends.

pub mod api;

use baton_daemon::store::{PoolSettings, Store};
use tempfile::TempDir;

/// A fresh SQLite store in a temp folder (keep the folder alive as long as the store).
pub async fn sqlite_with(settings: PoolSettings) -> (Store, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("state/baton.db").display());
    (Store::open_with(&url, settings).await.unwrap(), dir)
}

/// A fresh SQLite store with default pool settings.
pub async fn sqlite() -> (Store, TempDir) {
    sqlite_with(PoolSettings::default()).await
}

/// A fresh database on the rig's PostgreSQL. `None` (skip) when the rig is not up; panics
/// under CI, where the rig must be up.
pub async fn postgres() -> Option<Store> {
    let rig = testkit::rig::Rig::for_test()?;
    let url = rig.new_database("baton_store").await.unwrap();
    Some(Store::open(&url).await.unwrap())
}

/// Runs one async test body against SQLite and against PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    let (store, _dir) = $crate::common::sqlite().await;
                    super::$name(store).await;
                }

                #[tokio::test]
                async fn postgres() {
                    if let Some(store) = $crate::common::postgres().await {
                        super::$name(store).await;
                    }
                }
            }
        )*
    };
}
