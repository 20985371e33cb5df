//! Request bodies are read in full before routing, up to [`MAX_BODY_BYTES`].
//!
//! Reading everything (and draining, without keeping, an oversized body up to
//! [`MAX_DRAIN_BYTES`]) means a client that is still uploading always gets to read our answer:
//! answering early and closing would reset the connection and lose the response.

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use http_body_util::BodyExt;

use crate::error::ApiError;

/// Largest request body we accept (2 MiB): Feishu's helpdesk bodies are a few KiB.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// How much of an oversized body we read and discard before giving up on the connection.
pub const MAX_DRAIN_BYTES: usize = 64 * 1024 * 1024;

/// The request with its whole body in memory, or the error response to send instead.
pub async fn read_whole(request: Request) -> Result<Request, Response> {
    // Most requests (an SDK's GET, but the Node SDK's `{}`) have no body: nothing to read, and
    // the request need not be taken apart and rebuilt.
    if axum::body::HttpBody::is_end_stream(request.body()) {
        return Ok(request);
    }
    let (parts, mut body) = request.into_parts();
    let mut kept = BytesMut::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err(ApiError::bad_request()
                .with_message("request body could not be read")
                .into_response());
        };
        if let Ok(data) = frame.into_data() {
            seen += data.len();
            if seen <= MAX_BODY_BYTES {
                kept.extend_from_slice(&data);
            } else if seen > MAX_DRAIN_BYTES {
                break;
            }
        }
    }
    if seen > MAX_BODY_BYTES {
        return Err(ApiError::bad_request()
            .with_message(format!("request body is larger than {MAX_BODY_BYTES} bytes"))
            .into_response());
    }
    Ok(Request::from_parts(parts, Body::from(kept.freeze())))
}
