//! Extractors whose refusals are problem responses with our error codes, so handlers take
//! their input as it is and never unwrap a rejection by hand.

use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;

use super::ApiError;
use crate::protocol::ErrorCode;

/// A JSON body: `unsupported_media_type` without a JSON content type or with a charset
/// other than UTF-8, `payload_too_large`
/// over the route's cap, `malformed_body` when it does not parse into `T`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        if let Some(charset) = foreign_charset(request.headers()) {
            let detail = format!("JSON is UTF-8; charset={charset} is not accepted");
            return Err(ApiError::new(ErrorCode::UnsupportedMediaType, detail));
        }
        let axum::Json(ObjectOnly(value)) = axum::Json::<ObjectOnly<T>>::from_request(request, state).await?;
        Ok(Self(value))
    }
}

/// For `#[serde(deserialize_with)]` on a body's optional nested object: absent or `null`
/// is `None`, an object is read, an array is refused like at the top.
pub(crate) fn optional_object<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    let read: Option<ObjectOnly<T>> = serde::Deserialize::deserialize(deserializer)?;
    Ok(read.map(|ObjectOnly(value)| value))
}

/// `T` read only from a JSON object. Serde's derive also reads a struct from an array of
/// its fields in order (`[null, null]`), which no body of ours is: the schema says object.
struct ObjectOnly<T>(T);

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit<T>(std::marker::PhantomData<T>);
        impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for Visit<T> {
            type Value = T;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        deserializer.deserialize_map(Visit(std::marker::PhantomData)).map(ObjectOnly)
    }
}

/// The `charset` of the `Content-Type`, when it names one other than UTF-8 (RFC 8259: JSON
/// exchanged between systems is UTF-8).
fn foreign_charset(headers: &HeaderMap) -> Option<String> {
    let content_type = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        let value = value.trim().trim_matches('"');
        let named = name.trim().eq_ignore_ascii_case("charset");
        (named && !value.eq_ignore_ascii_case("utf-8") && !value.eq_ignore_ascii_case("utf8")).then(|| value.to_owned())
    })
}

/// A query string: `invalid_parameter` when it does not parse into `T`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(value) = Query::<T>::from_request_parts(parts, state).await?;
        Ok(Self(value))
    }
}
