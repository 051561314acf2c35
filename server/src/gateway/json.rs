//! The JSON of etcd's HTTP gateway (grpc-gateway 1.x with `OrigName`): request bodies in, answers
//! and errors out.
//!
//! Messages use the serde that `detcd-proto` generates from etcd's `.proto` files, so field names,
//! base64 bytes and string-encoded 64-bit integers are those of the gateway by construction. An
//! empty body is the empty request, as in the gateway. Errors are the gateway's
//! `{"error":..,"message":..,"code":..}` (in that order) with the HTTP status grpc-gateway 1.x gives the gRPC
//! code; a body that is not the request's JSON is `InvalidArgument` (HTTP 400). Nothing here
//! panics on what a client sends.

use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tonic::{Code, Status};

/// One request message from a body; an empty body is the default request.
pub fn decode<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, Status> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|error| Status::invalid_argument(error.to_string()))
}

/// Every request message in a streaming call's body (JSON values one after another).
pub fn decode_all<T: DeserializeOwned>(body: &[u8]) -> Result<Vec<T>, Status> {
    let values = serde_json::Deserializer::from_slice(body).into_iter::<T>();
    values.map(|value| value.map_err(|error| Status::invalid_argument(error.to_string()))).collect()
}

/// A unary answer: the message as JSON, HTTP 200.
pub fn answer<T: Serialize>(message: &T) -> Response {
    match serde_json::to_vec(message) {
        Ok(bytes) => json_response(StatusCode::OK, bytes),
        Err(error) => failure(&Status::internal(error.to_string())),
    }
}

/// The gateway's error body, its fields in grpc-gateway's order (clients and etcd's own tests
/// compare the text).
#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: &'a str,
    code: i32,
}

/// The error line that ends a stream: grpc-gateway's `StreamError`, fields in its order.
#[derive(Serialize)]
struct StreamError<'a> {
    grpc_code: i32,
    http_code: u16,
    message: &'a str,
    http_status: &'a str,
}

/// A failed call as the gateway reports it.
pub fn failure(status: &Status) -> Response {
    let body = ErrorBody {
        error: status.message(),
        message: status.message(),
        code: status.code() as i32,
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    json_response(http_status(status.code()), bytes)
}

/// One line of a streaming answer: `{"result":..}` for a message, `{"error":..}` for the error
/// that ends the stream.
pub fn stream_line<T: Serialize>(item: Result<T, Status>) -> Vec<u8> {
    let mut line = match item.and_then(|message| {
        serde_json::to_vec(&message).map_err(|error| Status::internal(error.to_string()))
    }) {
        Ok(message) => [&b"{\"result\":"[..], &message, b"}"].concat(),
        Err(status) => {
            let http = http_status(status.code());
            let error = StreamError {
                grpc_code: status.code() as i32,
                http_code: http.as_u16(),
                message: status.message(),
                http_status: http.canonical_reason().unwrap_or_default(),
            };
            let error = serde_json::to_vec(&error).unwrap_or_default();
            [&b"{\"error\":"[..], &error, b"}"].concat()
        }
    };
    line.push(b'\n');
    line
}

fn json_response(code: StatusCode, bytes: Vec<u8>) -> Response {
    (code, [(header::CONTENT_TYPE, "application/json")], Body::from(bytes)).into_response()
}

/// grpc-gateway 1.x's `HTTPStatusFromCode`.
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::REQUEST_TIMEOUT,
        Code::InvalidArgument | Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::FailedPrecondition => StatusCode::PRECONDITION_FAILED,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use detcd_proto::etcdserverpb as pb;

    #[test]
    fn a_put_decodes_from_base64_with_proto_field_names() {
        let put: pb::PutRequest = decode(br#"{"key":"Zm9v","value":"YmFy","lease":"7"}"#).unwrap();
        assert_eq!(
            (put.key.as_slice(), put.value.as_slice(), put.lease),
            (&b"foo"[..], &b"bar"[..], 7)
        );
        let empty: pb::RangeRequest = decode(b" \n").unwrap();
        assert_eq!(empty, pb::RangeRequest::default());
    }

    #[test]
    fn malformed_or_mistyped_bodies_are_invalid_arguments() {
        for body in [&b"{"[..], b"[1]", br#"{"key":5}"#, br#"{"no_such_field":1}"#] {
            let status = decode::<pb::PutRequest>(body).unwrap_err();
            assert_eq!(status.code(), Code::InvalidArgument, "{body:?}");
        }
        assert_eq!(http_status(Code::InvalidArgument), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn answers_write_int64_as_strings_and_bytes_as_base64() {
        let header = pb::ResponseHeader { revision: 12, ..Default::default() };
        let kv = detcd_proto::mvccpb::KeyValue { key: b"foo".to_vec(), ..Default::default() };
        let range =
            pb::RangeResponse { header: Some(header), kvs: vec![kv], count: 1, more: false };
        let json = serde_json::to_string(&range).unwrap();
        assert_eq!(json, r#"{"header":{"revision":"12"},"kvs":[{"key":"Zm9v"}],"count":"1"}"#);
    }

    #[test]
    fn stream_lines_wrap_results_and_errors() {
        let ok = stream_line::<pb::LeaseKeepAliveResponse>(Ok(pb::LeaseKeepAliveResponse {
            header: None,
            id: 5,
            ttl: 60,
        }));
        assert_eq!(ok, b"{\"result\":{\"ID\":\"5\",\"TTL\":\"60\"}}\n");
        let failed = stream_line::<pb::WatchResponse>(Err(Status::not_found("gone")));
        let text = String::from_utf8(failed).unwrap();
        assert_eq!(
            text,
            "{\"error\":{\"grpc_code\":5,\"http_code\":404,\"message\":\"gone\",\
             \"http_status\":\"Not Found\"}}\n"
        );
    }

    #[test]
    fn an_error_body_has_grpc_gateway_s_field_order() {
        let response = failure(&Status::invalid_argument("\"leader\" field must be provided"));
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body = futures::executor::block_on(axum::body::to_bytes(response.into_body(), 1024));
        assert_eq!(
            String::from_utf8(body.unwrap().to_vec()).unwrap(),
            r#"{"error":"\"leader\" field must be provided","message":"\"leader\" field must be provided","code":3}"#
        );
    }
}
