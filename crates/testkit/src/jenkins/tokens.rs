//! `POST /me/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken`.

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;

use super::Shared;
use super::routes::{Ctx, error_page};

/// `ApiTokenProperty.DescriptorImpl.doGenerateNewToken` (`@RequirePOST`): anonymous gets a bare
/// 403; a blank name becomes "Token created on <time>"; the answer is `okJSON` around the new
/// token, which then authenticates like a configured one. Values look like Jenkins' ("11" + 32
/// hex digits).
pub(crate) fn generate(shared: &Shared, ctx: &Ctx) -> Response {
    if ctx.method != Method::POST {
        let mut rsp = error_page(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
        rsp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return rsp;
    }
    let Some(user) = ctx.caller.name() else {
        return error_page(StatusCode::FORBIDDEN, "Forbidden");
    };
    let name = match ctx.param("newTokenName").map(str::trim) {
        Some(n) if !n.is_empty() => n.to_owned(),
        _ => format!(
            "Token created on {}",
            shared.clock.epoch_ms(shared.clock.now())
        ),
    };
    let raw: [u8; 32] = rand::random();
    let value = format!("11{}", hex::encode(&raw[..16]));
    let u = hex::encode(&raw[16..]);
    let uuid = format!(
        "{}-{}-{}-{}-{}",
        &u[..8],
        &u[8..12],
        &u[12..16],
        &u[16..20],
        &u[20..]
    );
    shared
        .lock()
        .generated_tokens
        .push((user.to_owned(), secrecy::SecretString::from(value.clone())));
    ctx.json(serde_json::json!({
        "status": "ok",
        "data": {"tokenName": name, "tokenUuid": uuid, "tokenValue": value},
    }))
}
