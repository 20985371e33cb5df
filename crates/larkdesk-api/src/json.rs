//! JSON in and out, Feishu style: responses are `application/json; charset=utf-8`; request bodies
//! are parsed as JSON whatever their Content-Type says (SDKs differ), and a body that is not the
//! JSON we expect becomes our own 154000 error instead of axum's plain-text rejection.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ApiResult};

pub const CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// A response of already serialized JSON, with Feishu's content type.
pub fn respond_bytes(status: StatusCode, bytes: bytes::Bytes) -> Response {
    let mut response = (status, bytes).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}

fn serialize<T: Serialize>(body: &T) -> ApiResult<Bytes> {
    serde_json::to_vec(body).map(Bytes::from).map_err(|e| {
        tracing::error!(error = %e, "response failed to serialize");
        ApiError::internal()
    })
}

/// A JSON response with Feishu's content type.
pub fn respond<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serialize(body) {
        Ok(bytes) => respond_bytes(status, bytes),
        Err(e) => e.into_response(),
    }
}

/// `{code:0,msg:"success",data}` with HTTP 200.
pub fn success<T: Serialize>(data: T) -> Response {
    respond(StatusCode::OK, &larkdesk_wire::Success::new(data))
}

/// The body [`success`] sends, serialized, for responses that are cached.
pub fn success_body<T: Serialize>(data: T) -> ApiResult<Bytes> {
    serialize(&larkdesk_wire::Success::new(data))
}

/// A success body made of already serialized JSON between a prefix and a suffix, in one
/// allocation (see the test below for the shape it must match).
pub fn success_around(prefix: &str, json: &str, suffix: &str) -> Bytes {
    let mut body = Vec::with_capacity(prefix.len() + json.len() + suffix.len());
    body.extend_from_slice(prefix.as_bytes());
    body.extend_from_slice(json.as_bytes());
    body.extend_from_slice(suffix.as_bytes());
    Bytes::from(body)
}

/// Parse a request body as JSON. An empty body parses as `{}` so optional-only bodies work.
pub fn parse_body<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> ApiResult<T> {
    let bytes = body.map_err(|e| ApiError::bad_request().with_message(e.body_text()))?;
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &bytes
    };
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request().with_message(format!("invalid JSON body: {e}")))
}

/// A field a request body must have: 154000 "NAME is required" without it.
pub fn required<T>(v: Option<T>, name: &str) -> ApiResult<T> {
    v.ok_or_else(|| ApiError::bad_request().with_message(format!("{name} is required")))
}

/// The `production` wire profile of a rendered `GET /tickets/:id` or `GET /tickets` body: each
/// ticket's `comments` object becomes a one-element list, as the production API is publicly
/// reported to send it (larksuite/oapi-sdk-python issue #91, 2024-12). Rendered bodies are cached
/// in the documented shape and converted per request, so apps of both profiles share the cache.
pub fn comments_as_list(body: bytes::Bytes) -> bytes::Bytes {
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return body;
    };
    let data = &mut value["data"];
    let wrap = |ticket: &mut serde_json::Value| {
        if let Some(comments) = ticket.get_mut("comments")
            && comments.is_object()
        {
            *comments = serde_json::Value::Array(vec![comments.take()]);
        }
    };
    if let Some(ticket) = data.get_mut("ticket") {
        wrap(ticket);
    }
    if let Some(tickets) = data.get_mut("tickets").and_then(serde_json::Value::as_array_mut) {
        tickets.iter_mut().for_each(wrap);
    }
    serde_json::to_vec(&value).map_or(body, bytes::Bytes::from)
}
