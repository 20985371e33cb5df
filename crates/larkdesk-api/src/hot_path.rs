//! `GET /open-apis/helpdesk/v1/tickets/{digits}` without the router.
//!
//! GET ticket is the request clients repeat most. Through axum's router it pays for the route
//! lookup, the URL parameters (percent-decoded into reference-counted strings, stored in a
//! freshly allocated extension map) and the extractor machinery: 4.8k of the 31.8k instructions
//! a cached GET cost (bench/results/BENCHMARKS-history-to-2026-12-04.md, profile). When the last path segment is plain digits, none
//! of that can change the outcome, so such requests go straight to the same handler code
//! ([`tickets::serve_ticket`]); every other request, including `HEAD`, percent-encoded or
//! otherwise unusual ticket paths, goes through the router unchanged.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::Request;
use axum::http::Method;
use axum::response::{IntoResponse, Response};

use crate::auth::CallerHeaders;
use crate::routes::tickets;
use crate::state::SharedState;

const TICKET_PREFIX: &str = "/open-apis/helpdesk/v1/tickets/";

/// The router, with GET ticket taken off it when the path allows.
#[derive(Clone)]
pub struct HotPath {
    state: SharedState,
    router: Router,
}

impl HotPath {
    pub fn new(state: SharedState, router: Router) -> Self {
        Self { state, router }
    }
}

/// The ticket id of a GET ticket request the router would route to `get_ticket` with exactly
/// this path parameter: `GET`, the ticket prefix, then one segment of ASCII digits.
fn hot_ticket_id(request: &Request) -> Option<&str> {
    if request.method() != Method::GET {
        return None;
    }
    let segment = request.uri().path().strip_prefix(TICKET_PREFIX)?;
    (!segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit())).then_some(segment)
}

/// The router's future stays inline: boxing it to shrink the enum would cost every routed
/// request an allocation, to save a few hundred bytes of a future that lives for one request.
#[allow(clippy::large_enum_variant)]
pub enum HotPathFuture {
    Ticket(Pin<Box<dyn Future<Output = Response> + Send>>),
    Routed(axum::routing::future::RouteFuture<Infallible>),
}

impl Future for HotPathFuture {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Self::Ticket(future) => future.as_mut().poll(cx).map(Ok),
            Self::Routed(future) => Pin::new(future).poll(cx),
        }
    }
}

impl tower::Service<Request> for HotPath {
    type Response = Response;
    type Error = Infallible;
    type Future = HotPathFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let Some(raw_id) = hot_ticket_id(&request) else {
            return HotPathFuture::Routed(tower::Service::call(&mut self.router, request));
        };
        let id = tickets::parse_ticket_id(raw_id);
        let headers = CallerHeaders::from_headers(request.headers());
        let state = self.state.clone();
        HotPathFuture::Ticket(Box::pin(async move {
            tickets::serve_ticket(&state, &headers, || id)
                .await
                .into_response()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, uri: &str) -> Request {
        Request::builder()
            .method(method)
            .uri(uri)
            .body(axum::body::Body::empty())
            .expect("a valid request")
    }

    #[test]
    fn takes_only_plain_digit_ticket_ids_of_get() {
        let id = |method, uri| hot_ticket_id(&request(method, uri)).map(str::to_owned);
        let get = |uri| id(Method::GET, uri);
        assert_eq!(
            get("/open-apis/helpdesk/v1/tickets/7081979418813739877").as_deref(),
            Some("7081979418813739877")
        );
        assert_eq!(
            get("/open-apis/helpdesk/v1/tickets/12?user_id_type=open_id").as_deref(),
            Some("12")
        );
        // Too long for an i64: still the router's parameter, and the handler refuses it the same way.
        assert_eq!(
            get("/open-apis/helpdesk/v1/tickets/99999999999999999999").as_deref(),
            Some("99999999999999999999")
        );
        for uri in [
            "/open-apis/helpdesk/v1/tickets/",
            "/open-apis/helpdesk/v1/tickets",
            "/open-apis/helpdesk/v1/tickets/12/",
            "/open-apis/helpdesk/v1/tickets/12/messages",
            "/open-apis/helpdesk/v1/tickets/%31%32",
            "/open-apis/helpdesk/v1/tickets/abc",
            "/open-apis/helpdesk/v1/tickets/-12",
            "/open-apis/helpdesk/v1/tickets//12",
            "/open-apis/helpdesk/v2/tickets/12",
        ] {
            assert_eq!(get(uri), None, "{uri}");
        }
        for method in [Method::HEAD, Method::PUT, Method::POST, Method::DELETE] {
            assert_eq!(
                id(method.clone(), "/open-apis/helpdesk/v1/tickets/12"),
                None,
                "{method}"
            );
        }
    }
}
