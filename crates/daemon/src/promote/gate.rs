//! A Gate client built from the `spinnaker:` section and its secret.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use spinnaker_client::{Auth, Client};

use baton_core::config::model::{GateAuth, Spinnaker};

/// Timeout of each Gate call made for promotion, status and superseding.
pub const GATE_TIMEOUT: Duration = Duration::from_secs(15);

/// Builds the Gate client for `spinnaker` with `secret` (the password, token or client key
/// [`baton_core::config::secrets::Secrets::gate`] read). For x509 the certificate file is read here
/// (it is not secret) and joined with the key.
pub fn client(spinnaker: &Spinnaker, secret: Option<&SecretString>) -> anyhow::Result<Client> {
    crate::install_crypto_provider();
    let missing = || anyhow::anyhow!("spinnaker.auth: the secret file was not read");
    let auth = match &spinnaker.auth {
        GateAuth::None => Auth::None,
        GateAuth::Basic { user, .. } => Auth::Basic {
            user: user.clone(),
            password: secret.ok_or_else(missing)?.clone(),
        },
        GateAuth::Bearer { .. } => Auth::Bearer {
            token: secret.ok_or_else(missing)?.clone(),
        },
        GateAuth::X509 { cert_file, .. } => {
            let cert = std::fs::read_to_string(cert_file).map_err(|e| {
                anyhow::anyhow!(
                    "spinnaker.auth.cert_file: cannot read {}: {e}",
                    cert_file.display()
                )
            })?;
            let key = secret.ok_or_else(missing)?.expose_secret();
            Auth::X509 {
                pem: SecretString::from(format!("{cert}\n{key}")),
            }
        }
    };
    Ok(Client::builder(spinnaker.gate_url.as_str())
        .auth(auth)
        .timeout(GATE_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .build()?)
}
