//! SIGTERM / ctrl-c: the first cancels `shutdown` (stop taking work, drain); a second one exits
//! at once.

use tokio_util::sync::CancellationToken;

/// Watches for signals until the process ends.
pub fn spawn(shutdown: CancellationToken) {
    tokio::spawn(async move {
        wait().await;
        shutdown.cancel();
        tracing::info!("shutdown requested; draining (send the signal again to exit now)");
        wait().await;
        tracing::warn!("second signal: exiting without waiting");
        std::process::exit(130);
    });
}

async fn wait() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch SIGTERM; only ctrl-c stops the daemon");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
