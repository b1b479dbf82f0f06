//! Shared test helpers: stores on both backends.
#![allow(dead_code)]

use baton::store::{PoolSettings, Store};
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
    // Until the rig lands on this branch: an admin URL in BATON_TEST_PG.
    let Ok(admin) = std::env::var("BATON_TEST_PG") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs PostgreSQL: set BATON_TEST_PG"
        );
        eprintln!("SKIP (postgres): BATON_TEST_PG is not set");
        return None;
    };
    let name = format!("baton_store_{:08x}", rand::random::<u32>());
    let conn = Store::open(&admin).await.unwrap();
    conn.execute_raw(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let url = admin.rsplit_once('/').unwrap().0.to_owned() + "/" + &name;
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
