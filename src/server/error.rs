//! Errors as HTTP responses in OpenAI's shape: `{"error": {"message", "type", "param",
//! "code"}}` with the right status, and the JSON body extractor whose rejections (malformed
//! JSON, a wrong type, a body over the limit) become such errors, naming the field.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::AppState;
use std::sync::Arc;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    kind: &'static str,
    param: Option<String>,
    code: Option<&'static str>,
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            kind,
            param: None,
            code: None,
            retry_after: None,
        }
    }

    /// 400: the request is wrong; `param` names the field.
    pub fn invalid(param: impl Into<String>, message: impl Into<String>) -> Self {
        let mut e = ApiError::new(StatusCode::BAD_REQUEST, "invalid_request_error", message);
        let param = param.into();
        e.param = (!param.is_empty()).then_some(param);
        e
    }

    /// 400 for a field that would change the meaning of the request and is not supported.
    pub fn unsupported(param: &str, why: &str) -> Self {
        let mut e = ApiError::invalid(param, format!("'{param}' is not supported: {why}"));
        e.code = Some("unsupported_parameter");
        e
    }

    pub fn not_found(param: &str, message: impl Into<String>) -> Self {
        let mut e = ApiError::new(StatusCode::NOT_FOUND, "invalid_request_error", message);
        e.param = Some(param.to_string());
        e.code = Some("model_not_found");
        e
    }

    pub fn unauthorized() -> Self {
        let mut e = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "missing or wrong API key: send the header 'Authorization: Bearer <key>'",
        );
        e.code = Some("invalid_api_key");
        e
    }

    /// 503 with `Retry-After`: busy (queue full) or not ready (loading, shutting down).
    pub fn unavailable(message: impl Into<String>, retry_after: u64) -> Self {
        let mut e = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "server_error", message);
        e.retry_after = Some(retry_after);
        e
    }

    pub fn too_large(limit: usize) -> Self {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            format!(
                "the request body is larger than the server's limit of {limit} bytes (server.body_limit)"
            ),
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", message)
    }

    /// The JSON body of this error (also sent as the last SSE event of a failed stream).
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({
            "error": {
                "message": self.message,
                "type": self.kind,
                "param": self.param,
                "code": self.code,
            }
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, axum::Json(self.body())).into_response();
        if let Some(s) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        r
    }
}

/// A JSON body, parsed whatever its content type says (`curl -d` sends form encoding): a
/// malformed body or a wrong field is a 400 naming the field and, for syntax, line and column.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Arc<AppState>> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::too_large(state.config.body_limit as usize)
            } else {
                ApiError::invalid("", format!("cannot read the request body: {e}"))
            }
        })?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(de).map(Body).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let path = if path == "." { String::new() } else { path };
            let what = if inner.is_syntax() || inner.is_eof() {
                format!("the body is not valid JSON: {inner}")
            } else if path.is_empty() {
                format!("invalid request: {inner}")
            } else {
                format!("{path}: {inner}")
            };
            ApiError::invalid(path, what)
        })
    }
}
