//! JSON over HTTP on the gRPC port, for callers that do not speak gRPC
//! (curl, scripts, browsers):
//!
//! | route | body | answer |
//! |---|---|---|
//! | `POST /v1/tag` | a TagRequest | a TagResponse |
//! | `POST /v1/segment` | a SegmentRequest | a SegmentResponse |
//! | `GET /v1/model` | | a ModelInfo |
//! | `GET /healthz` | | `{"status": "SERVING"}` (503 `NOT_SERVING` while draining) |
//! | `GET /` | | the page ([`crate::web`]) |
//!
//! Bodies are the messages in protobuf's JSON mapping (lowerCamelCase
//! names or the proto names, enums by name or number, `content` as base64);
//! a field the message does not have is an error naming it. The handlers
//! call the same [`TaggerService`] methods the gRPC server does: the same
//! checks, limits, CPU slots, metrics and logs. A Tag answer is written by
//! [`crate::json::tag_response`], byte for byte what `fgf tag` writes.
//!
//! Errors are JSON in the manner of Google's HTTP APIs,
//! `{"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "..."}}`,
//! with the HTTP status of the gRPC code by the standard mapping
//! ([`http_status`]). With a bearer token configured, every route but
//! `/healthz` needs `Authorization: Bearer <token>` (401 otherwise), as the
//! Tagger rpcs do. A body over the decode ceiling is refused unread (413).
//!
//! Browser apps served from another origin (calling the JSON API or
//! gRPC-Web) need CORS: [`cors`] allows the origins given with
//! `--cors-origin`, for the whole port. Without one, no CORS header is sent
//! and browsers allow only this server's own page.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tonic::{Code, Status};

use crate::auth::BearerToken;
use crate::pb;
use crate::pb::tagger_server::Tagger as _;
use crate::service::TaggerService;
use crate::telemetry::Telemetry;

/// What the routes share.
#[derive(Clone)]
pub struct HttpApi {
    service: TaggerService,
    token: Option<BearerToken>,
    telemetry: Arc<Telemetry>,
    /// Largest body read (the gRPC decode ceiling).
    max_body: usize,
}

impl HttpApi {
    pub fn new(service: TaggerService, token: Option<BearerToken>, max_body: usize) -> Self {
        let telemetry = service.telemetry();
        HttpApi {
            service,
            token,
            telemetry,
            max_body,
        }
    }

    /// The routes, to merge into the server's router.
    pub fn router(self) -> Router {
        Router::new()
            .route("/v1/tag", post(tag))
            .route("/v1/segment", post(segment))
            .route("/v1/model", get(model))
            .route("/healthz", get(healthz))
            .method_not_allowed_fallback(method_not_allowed)
            .with_state(self)
            .merge(crate::web::router())
    }

    /// The token check of the Tagger rpcs: a refusal is counted and logged
    /// the same way.
    fn authorize(&self, request: &Request) -> Result<(), HttpError> {
        let Some(token) = &self.token else {
            return Ok(());
        };
        let header = request.headers().get(header::AUTHORIZATION);
        token.verify(header.map(HeaderValue::as_bytes)).map_err(|why| {
            self.telemetry.auth_failed(why);
            tracing::warn!(path = %request.uri().path(), reason = %why.name(), "HTTP call refused: bearer token");
            HttpError::from(&why.status())
        })
    }

    /// The body of `request`, read up to [`Self::max_body`] bytes, and the
    /// request's extensions (the peer address, for logs).
    async fn read(&self, request: Request) -> Result<(Bytes, axum::http::Extensions), HttpError> {
        self.authorize(&request)?;
        let (parts, body) = request.into_parts();
        let bytes = axum::body::to_bytes(body, self.max_body).await.map_err(|_| {
            let message = format!(
                "the request body is over {} bytes: send a smaller document (the document limit \
                 is --max-doc-bytes), or use gRPC's TagStream for many",
                self.max_body
            );
            HttpError {
                http: StatusCode::PAYLOAD_TOO_LARGE,
                code: Code::ResourceExhausted,
                message,
            }
        })?;
        Ok((bytes, parts.extensions))
    }
}

/// A message from a JSON body, or 400 naming what is wrong.
fn parse<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T, HttpError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(HttpError::invalid(format!(
            "the body is empty: send a {what} as JSON, e.g. {{\"text\": \"...\"}}"
        )));
    }
    serde_json::from_slice(body).map_err(|e| {
        HttpError::invalid(format!(
            "the body is not a {what} in protobuf's JSON mapping: {e}"
        ))
    })
}

fn request_with<T>(message: T, extensions: axum::http::Extensions) -> tonic::Request<T> {
    tonic::Request::from_parts(tonic::metadata::MetadataMap::new(), extensions, message)
}

async fn tag(State(api): State<HttpApi>, request: Request) -> Result<Response, HttpError> {
    let (body, extensions) = api.read(request).await?;
    let message: pb::TagRequest = parse(&body, "TagRequest")?;
    let response = api.service.tag(request_with(message, extensions)).await?;
    let body = crate::json::tag_response(&response.into_inner()).to_string();
    Ok(json(StatusCode::OK, body))
}

async fn segment(State(api): State<HttpApi>, request: Request) -> Result<Response, HttpError> {
    let (body, extensions) = api.read(request).await?;
    let message: pb::SegmentRequest = parse(&body, "SegmentRequest")?;
    let response = api
        .service
        .segment(request_with(message, extensions))
        .await?;
    serialized(&response.into_inner())
}

async fn model(State(api): State<HttpApi>, request: Request) -> Result<Response, HttpError> {
    api.authorize(&request)?;
    let message = request_with(
        pb::GetModelInfoRequest {},
        request.into_parts().0.extensions,
    );
    let response = api.service.get_model_info(message).await?;
    serialized(&response.into_inner())
}

async fn healthz(State(api): State<HttpApi>) -> Response {
    if api.service.draining().is_cancelled() {
        json(
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"status":"NOT_SERVING"}"#.to_string(),
        )
    } else {
        json(StatusCode::OK, r#"{"status":"SERVING"}"#.to_string())
    }
}

/// A message as JSON through its pbjson serde impl.
fn serialized<T: serde::Serialize>(message: &T) -> Result<Response, HttpError> {
    let body = serde_json::to_string(message)
        .map_err(|e| HttpError::from(&Status::internal(format!("encoding the answer: {e}"))))?;
    Ok(json(StatusCode::OK, body))
}

fn json(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(body),
    )
        .into_response()
}

/// An error answer: its HTTP status, the gRPC code it stands for, and the
/// message, written as
/// `{"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "..."}}`;
/// a 401 also says `WWW-Authenticate: Bearer`.
#[derive(Debug)]
pub struct HttpError {
    pub http: StatusCode,
    pub code: Code,
    pub message: String,
}

impl HttpError {
    fn invalid(message: String) -> Self {
        HttpError::from(&Status::invalid_argument(message))
    }
}

impl From<&Status> for HttpError {
    fn from(status: &Status) -> Self {
        HttpError {
            http: http_status(status.code()),
            code: status.code(),
            message: status.message().to_string(),
        }
    }
}

impl From<Status> for HttpError {
    fn from(status: Status) -> Self {
        HttpError::from(&status)
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": {
                "code": self.http.as_u16(),
                "status": crate::status::code_name(self.code),
                "message": self.message,
            }
        });
        let mut response = json(self.http, body.to_string());
        if self.http == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The HTTP status of a gRPC code, by the mapping Google's HTTP APIs and
/// grpc-gateway use (`google.rpc.Code`): INVALID_ARGUMENT 400,
/// UNAUTHENTICATED 401, RESOURCE_EXHAUSTED 429, UNAVAILABLE 503, ...
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        // 499 Client Closed Request (nginx's), as the mapping has it.
        Code::Cancelled => StatusCode::from_u16(499).expect("a valid status code"),
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

async fn method_not_allowed(request: Request) -> Response {
    let path = request.uri().path();
    let allowed = if path.starts_with("/v1/model") || path == "/healthz" {
        "GET"
    } else {
        "POST"
    };
    HttpError {
        http: StatusCode::METHOD_NOT_ALLOWED,
        code: Code::Unimplemented,
        message: format!("{} {path}: this route takes {allowed}", request.method()),
    }
    .into_response()
}

/// What the server answers on a path nobody serves: gRPC's UNIMPLEMENTED
/// to a gRPC call, a JSON 404 listing the routes to anything else.
pub async fn fallback(request: Request) -> Response {
    let grpc = request
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
    if grpc {
        return Status::unimplemented(format!("no such rpc: {}", request.uri().path()))
            .into_http::<Body>()
            .into_response();
    }
    HttpError {
        http: StatusCode::NOT_FOUND,
        code: Code::NotFound,
        message: format!(
            "no such route: {} {}; the JSON API has POST /v1/tag, POST /v1/segment, GET /v1/model \
             and GET /healthz",
            request.method(),
            request.uri().path()
        ),
    }
    .into_response()
}

/// The CORS layer for `origins` (`*` for any), or `None` without any: the
/// methods and headers the JSON API and gRPC-Web use (the bearer token,
/// gRPC-Web's own headers), and gRPC-Web's trailers exposed to scripts.
/// An origin that is not a valid header value is an error naming it.
pub fn cors(origins: &[String]) -> anyhow::Result<Option<tower_http::cors::CorsLayer>> {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    if origins.is_empty() {
        return Ok(None);
    }
    let allow =
        if origins.iter().any(|o| o == "*") {
            AllowOrigin::any()
        } else {
            let mut list = Vec::new();
            for origin in origins {
                let trimmed = origin.trim_end_matches('/');
                if !(trimmed.starts_with("http://") || trimmed.starts_with("https://")) {
                    anyhow::bail!(
                        "--cors-origin {origin:?}: give an origin as browsers send it, \
                     scheme://host[:port] (e.g. https://app.example.org), or * for any"
                    );
                }
                list.push(HeaderValue::from_str(trimmed).map_err(|_| {
                    anyhow::anyhow!("--cors-origin {origin:?} is not a valid origin")
                })?);
            }
            AllowOrigin::list(list)
        };
    let names = |names: &[&'static str]| -> Vec<header::HeaderName> {
        names
            .iter()
            .map(|n| header::HeaderName::from_static(n))
            .collect()
    };
    Ok(Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([
                axum::http::Method::GET,
                axum::http::Method::POST,
                axum::http::Method::OPTIONS,
            ])
            .allow_headers(names(&[
                "content-type",
                "authorization",
                "x-grpc-web",
                "x-user-agent",
                "grpc-timeout",
            ]))
            .expose_headers(names(&[
                "grpc-status",
                "grpc-message",
                "grpc-status-details-bin",
                "www-authenticate",
            ]))
            .max_age(std::time::Duration::from_secs(24 * 3600)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_codes_map_to_the_standard_http_statuses() {
        assert_eq!(http_status(Code::InvalidArgument), StatusCode::BAD_REQUEST);
        assert_eq!(http_status(Code::Unauthenticated), StatusCode::UNAUTHORIZED);
        assert_eq!(
            http_status(Code::ResourceExhausted),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            http_status(Code::Unavailable),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(http_status(Code::Cancelled).as_u16(), 499);
        assert_eq!(
            http_status(Code::DeadlineExceeded),
            StatusCode::GATEWAY_TIMEOUT
        );
    }

    #[test]
    fn requests_parse_from_protobuf_json() {
        let r: pb::TagRequest = serde_json::from_str(
            r#"{"id": "a", "text": "审批", "granularity": "GRANULARITY_SENTENCE", "include_evidence": true, "content": "aGk="}"#,
        )
        .unwrap();
        assert_eq!(r.granularity, pb::Granularity::Sentence as i32);
        assert!(r.include_evidence);
        assert_eq!(r.content, b"hi");
        let e = parse::<pb::TagRequest>(br#"{"txt": "x"}"#, "TagRequest").unwrap_err();
        assert_eq!(e.http, StatusCode::BAD_REQUEST);
        assert!(e.message.contains("unknown field `txt`"), "{}", e.message);
    }
}
