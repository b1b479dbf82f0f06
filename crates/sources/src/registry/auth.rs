//! Per-registry auth and rate state: cached bearer tokens, the 429 window, the request budget.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use tokio::time::Instant;

use super::config::RequestBudget;

/// Token endpoint answer (Docker's `token` or OAuth2's `access_token`).
#[derive(Deserialize)]
pub(crate) struct TokenResponse {
    pub token: Option<String>,
    pub access_token: Option<String>,
    pub expires_in: Option<u64>,
}

/// Default token lifetime when the endpoint does not say (the distribution spec's 60 s).
pub(crate) const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60);

#[derive(Default)]
struct Inner {
    tokens: HashMap<String, (SecretString, Instant)>,
    basic: bool,
    blocked_until: Option<Instant>,
    window: Option<(Instant, u32)>,
    rate_limit_remaining: Option<String>,
    requests: BTreeMap<(String, u16), u64>,
}

/// Shared mutable state of one registry client.
#[derive(Default)]
pub(crate) struct RegistryState {
    inner: Mutex<Inner>,
}

/// Auth to attach to the next request.
pub(crate) enum Auth {
    None,
    Basic,
    Bearer(SecretString),
}

impl RegistryState {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn auth_for(&self, scope: &str, now: Instant) -> Auth {
        let inner = self.lock();
        match inner.tokens.get(scope) {
            Some((tok, exp)) if *exp > now => Auth::Bearer(tok.clone()),
            _ if inner.basic => Auth::Basic,
            _ => Auth::None,
        }
    }

    pub fn store_token(&self, scope: &str, token: SecretString, lifetime: Duration, now: Instant) {
        // Renew a little early so a token never expires in flight.
        let margin = (lifetime / 10).min(Duration::from_secs(30));
        self.lock()
            .tokens
            .insert(scope.to_string(), (token, now + lifetime - margin));
    }

    pub fn drop_token(&self, scope: &str) {
        self.lock().tokens.remove(scope);
    }

    pub fn use_basic(&self) {
        self.lock().basic = true;
    }

    /// Remaining wait when a 429 window is open.
    pub fn blocked_for(&self, now: Instant) -> Option<Duration> {
        self.lock()
            .blocked_until
            .filter(|u| *u > now)
            .map(|u| u - now)
    }

    pub fn block_until(&self, until: Instant) {
        let mut inner = self.lock();
        inner.blocked_until = Some(inner.blocked_until.map_or(until, |u| u.max(until)));
    }

    /// Takes one request from the budget; false when it is spent.
    pub fn take_budget(&self, budget: Option<RequestBudget>, now: Instant) -> bool {
        let Some(b) = budget else { return true };
        let mut inner = self.lock();
        let (start, count) = match inner.window {
            Some((start, count)) if now < start + b.per => (start, count),
            _ => (now, 0),
        };
        if count >= b.requests {
            inner.window = Some((start, count));
            return false;
        }
        inner.window = Some((start, count + 1));
        true
    }

    pub fn record(&self, method: &str, status: u16, rate_limit_remaining: Option<String>) {
        let mut inner = self.lock();
        *inner
            .requests
            .entry((method.to_string(), status))
            .or_default() += 1;
        if rate_limit_remaining.is_some() {
            inner.rate_limit_remaining = rate_limit_remaining;
        }
    }

    pub fn rate_limit_remaining(&self) -> Option<String> {
        self.lock().rate_limit_remaining.clone()
    }

    pub fn requests(&self) -> BTreeMap<(String, u16), u64> {
        self.lock().requests.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn tokens_expire_before_their_lifetime() {
        let s = RegistryState::default();
        let now = Instant::now();
        s.store_token(
            "repository:a:pull",
            SecretString::from("t"),
            Duration::from_secs(300),
            now,
        );
        assert!(matches!(
            s.auth_for("repository:a:pull", now),
            Auth::Bearer(_)
        ));
        assert!(matches!(s.auth_for("repository:b:pull", now), Auth::None));
        tokio::time::advance(Duration::from_secs(269)).await;
        assert!(matches!(
            s.auth_for("repository:a:pull", Instant::now()),
            Auth::Bearer(_)
        ));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(matches!(
            s.auth_for("repository:a:pull", Instant::now()),
            Auth::None
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn budget_resets_per_window() {
        let s = RegistryState::default();
        let b = Some(RequestBudget {
            requests: 2,
            per: Duration::from_secs(60),
        });
        assert!(s.take_budget(b, Instant::now()));
        assert!(s.take_budget(b, Instant::now()));
        assert!(!s.take_budget(b, Instant::now()));
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(s.take_budget(b, Instant::now()));
    }
}
