//! The response envelope: `{"Response": {<output fields>, "RequestId": "..."}}` on success and
//! `{"Response": {"Error": {"Code", "Message"}, "RequestId"}}` on failure, always with HTTP 200 and
//! `Content-Type: application/json` exactly (docs/protocol.md §4: the Python SDK ignores errors
//! under any other status or content type).

use crate::error::{ApiError, Language};
use serde_json::{Map, Value};

/// The only content type the vendor's SDKs accept for errors (§4.2: no charset parameter).
pub const CONTENT_TYPE: &str = "application/json";

/// Serialize a successful answer around `output`, the serialized output (a JSON object, as
/// `serde_json::to_vec` writes a wire response): its fields first, in the model's order, then the
/// RequestId, as the vendor answers. The output is spliced in, not parsed again: a large answer
/// (DescribeDeviceSessionDetails) is serialized once.
pub fn success(output: &[u8], request_id: &str) -> Vec<u8> {
    let inner = output
        .strip_prefix(b"{")
        .and_then(|o| o.strip_suffix(b"}"))
        .filter(|o| !o.iter().all(u8::is_ascii_whitespace))
        .unwrap_or(b"");
    let rid = Value::String(request_id.to_owned()).to_string();
    let mut out = Vec::with_capacity(inner.len() + rid.len() + 32);
    out.extend_from_slice(b"{\"Response\":{");
    out.extend_from_slice(inner);
    if !inner.is_empty() {
        out.push(b',');
    }
    out.extend_from_slice(b"\"RequestId\":");
    out.extend_from_slice(rid.as_bytes());
    out.extend_from_slice(b"}}");
    out
}

/// Serialize an error answer in the caller's language.
pub fn error(err: &ApiError, lang: Language, request_id: &str) -> Vec<u8> {
    let mut fields = Map::new();
    let mut error = Map::new();
    error.insert(
        "Code".to_owned(),
        Value::String(err.code.as_str().to_owned()),
    );
    error.insert(
        "Message".to_owned(),
        Value::String(err.message(lang).to_owned()),
    );
    fields.insert("Error".to_owned(), Value::Object(error));
    fields.insert("RequestId".to_owned(), Value::String(request_id.to_owned()));
    wrap(fields)
}

fn wrap(fields: Map<String, Value>) -> Vec<u8> {
    let mut root = Map::new();
    root.insert("Response".to_owned(), Value::Object(fields));
    serde_json::to_vec(&Value::Object(root)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;
    use serde::Serialize;

    #[test]
    fn success_adds_request_id() {
        #[derive(Serialize)]
        #[allow(non_snake_case)]
        struct Out {
            Total: i64,
        }
        let body = success(&serde_json::to_vec(&Out { Total: 3 }).unwrap(), "r-1");
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"Response":{"Total":3,"RequestId":"r-1"}}"#
        );
        // An empty output, and a request id that needs escaping.
        let body = success(b"{}", "r\"2");
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v, serde_json::json!({"Response": {"RequestId": "r\"2"}}));
    }

    #[test]
    fn error_has_code_message_and_request_id() {
        let body = error(
            &ApiError::missing_parameter("ProjectId"),
            Language::EnUs,
            "r-2",
        );
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v["Response"]["Error"]["Code"],
            Code::MissingParameter.as_str()
        );
        assert_eq!(
            v["Response"]["Error"]["Message"],
            "The request is missing a required parameter `ProjectId`."
        );
        assert_eq!(v["Response"]["RequestId"], "r-2");
        let zh = error(
            &ApiError::missing_parameter("ProjectId"),
            Language::ZhCn,
            "r-3",
        );
        assert!(String::from_utf8(zh).unwrap().contains("缺少必填参数"));
    }
}
