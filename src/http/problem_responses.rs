//! The problem answers of each operation in the OpenAPI document, generated from the list
//! of error codes the handler declares with [`problems!`]: status, description and body
//! come from the codes themselves, never typed by hand.

use std::collections::BTreeMap;

use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};

use crate::protocol::ErrorCode;
use crate::protocol::problem::PROBLEM_CONTENT_TYPE;

/// One response per status among `codes`, described by the codes it carries (in the order
/// given), each an `application/problem+json` body with one example per code.
pub(crate) fn responses(codes: &[ErrorCode]) -> BTreeMap<String, RefOr<Response>> {
    let mut by_status: BTreeMap<u16, Vec<ErrorCode>> = BTreeMap::new();
    for code in codes {
        by_status.entry(code.status()).or_default().push(*code);
    }
    by_status
        .into_iter()
        .map(|(status, codes)| {
            let names: Vec<&str> = codes.iter().map(|c| c.as_str()).collect();
            let examples = codes.iter().map(|code| (code.as_str(), RefOr::T(example(*code))));
            let content = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .examples_from_iter(examples)
                .build();
            let response =
                ResponseBuilder::new().description(names.join(", ")).content(PROBLEM_CONTENT_TYPE, content).build();
            (status.to_string(), RefOr::T(response))
        })
        .collect()
}

/// The body `code` answers, as the server writes it (its `detail` varies per occurrence).
fn example(code: ErrorCode) -> utoipa::openapi::example::Example {
    let body = serde_json::json!({
        "type": code.type_uri(),
        "title": code.title(),
        "status": code.status(),
        "error_code": code.as_str(),
        "request_id": "0f6b3c9e2a4d4b8e9c1a7f5d3e2b6a90",
    });
    ExampleBuilder::new().summary(code.title()).value(Some(body)).build()
}

/// Declares `$name`, the problem answers an operation gives, for its `responses(…)`:
/// `problems!(CreatePairingProblems: MalformedBody, InvalidParameter);`
macro_rules! problems {
    ($name:ident: $($code:ident),+ $(,)?) => {
        #[doc = concat!("Problem answers: ", $(stringify!($code), " ",)+)]
        pub(crate) struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> std::collections::BTreeMap<
                String,
                utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
            > {
                $crate::http::problem_responses::responses(&[$($crate::protocol::ErrorCode::$code),+])
            }
        }
    };
}
pub(crate) use problems;
