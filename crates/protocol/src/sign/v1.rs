//! Signature v1: HmacSHA1 / HmacSHA256 over the sorted parameters (docs/protocol.md §3).
//!
//! Client quirks tolerated, from §3.1: Python replaces `_` with `.` in names inside the string to sign;
//! Go leaves empty-valued parameters out of the string to sign but still sends them, so a mismatch is
//! retried with empty values dropped; `SignatureMethod` other than exactly `HmacSHA256` means SHA1.

use super::same;
use base64::Engine;
use hmac::{Hmac, Mac};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    HmacSha1,
    HmacSha256,
}

impl Method {
    pub fn from_param(value: Option<&str>) -> Method {
        if value == Some("HmacSHA256") {
            Method::HmacSha256
        } else {
            Method::HmacSha1
        }
    }
}

/// `POSThost/?A=1&B=2`: every parameter but `Signature`, sorted by name, raw (decoded) values.
pub fn string_to_sign(
    http_method: &str,
    host: &str,
    params: &[(String, String)],
    drop_empty: bool,
) -> String {
    let mut sorted: Vec<&(String, String)> = params
        .iter()
        .filter(|(k, v)| k != "Signature" && !(drop_empty && v.is_empty()))
        .collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let joined: Vec<String> = sorted
        .iter()
        .map(|(k, v)| format!("{}={v}", k.replace('_', ".")))
        .collect();
    format!("{http_method}{host}/?{}", joined.join("&"))
}

pub fn sign(method: Method, secret_key: &str, string_to_sign: &str) -> String {
    let key = secret_key.as_bytes();
    let raw = match method {
        Method::HmacSha1 => {
            let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key).expect("any key length");
            mac.update(string_to_sign.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        Method::HmacSha256 => {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
            mac.update(string_to_sign.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
    };
    base64::engine::general_purpose::STANDARD.encode(raw)
}

/// Verify `signature` (already percent-decoded) over `params` (all request parameters, decoded).
pub fn verify(
    method: Method,
    secret_key: &str,
    http_method: &str,
    host: &str,
    params: &[(String, String)],
    signature: &str,
) -> bool {
    [false, true].iter().any(|&drop_empty| {
        let sts = string_to_sign(http_method, host, params, drop_empty);
        same(
            sign(method, secret_key, &sts).as_bytes(),
            signature.as_bytes(),
        )
    })
}

#[cfg(test)]
mod tests {
    //! Golden vectors E and F of docs/protocol.md §3.2 and the official doc cross-check.
    use super::*;

    fn params(method: &str) -> Vec<(String, String)> {
        [
            ("ProjectId", "prj-demo1"),
            ("DeviceIds.0", "dev-1"),
            ("DeviceIds.1", "dev-2"),
            ("Action", "BatchDeleteDevices"),
            ("RequestClient", "SDK_PYTHON_3.1.194"),
            ("Nonce", "8675309"),
            ("Timestamp", "1700000000"),
            ("Version", "2022-03-25"),
            ("Region", "ap-guangzhou"),
            ("SecretId", "AKIDEXAMPLEEXAMPLEEXAMPLEEXAMPLE1234"),
            ("SignatureMethod", method),
            ("Language", "en-US"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    const KEY: &str = "ExampleSecretKeyExampleSecretKey";

    #[test]
    fn vector_e_post_hmac_sha256() {
        let p = params("HmacSHA256");
        let sts = string_to_sign("POST", "trro.tencentcloudapi.com", &p, false);
        assert_eq!(sts, "POSTtrro.tencentcloudapi.com/?Action=BatchDeleteDevices&DeviceIds.0=dev-1&DeviceIds.1=dev-2&Language=en-US&Nonce=8675309&ProjectId=prj-demo1&Region=ap-guangzhou&RequestClient=SDK_PYTHON_3.1.194&SecretId=AKIDEXAMPLEEXAMPLEEXAMPLEEXAMPLE1234&SignatureMethod=HmacSHA256&Timestamp=1700000000&Version=2022-03-25");
        assert_eq!(
            sign(Method::HmacSha256, KEY, &sts),
            "lgmMvUwSo7mWemxNeh7jl2RWJxH2CIInrNCnD8upj3w="
        );
        assert!(verify(
            Method::HmacSha256,
            KEY,
            "POST",
            "trro.tencentcloudapi.com",
            &p,
            "lgmMvUwSo7mWemxNeh7jl2RWJxH2CIInrNCnD8upj3w="
        ));
        assert!(!verify(
            Method::HmacSha256,
            "wrong",
            "POST",
            "trro.tencentcloudapi.com",
            &p,
            "lgmMvUwSo7mWemxNeh7jl2RWJxH2CIInrNCnD8upj3w="
        ));
    }

    #[test]
    fn vector_f_get_hmac_sha1() {
        let p = params("HmacSHA1");
        let sts = string_to_sign("GET", "trro.tencentcloudapi.com", &p, false);
        assert_eq!(Method::from_param(Some("HmacSHA1")), Method::HmacSha1);
        assert_eq!(
            sign(Method::HmacSha1, KEY, &sts),
            "4SeYVvqzLuVRzzBArWowfGAB6FE="
        );
    }

    #[test]
    fn official_doc_hmac_sha1() {
        let sts = "GETcvm.tencentcloudapi.com/?Action=DescribeInstances&InstanceIds.0=ins-09dx96dg&Limit=20&Nonce=11886&Offset=0&Region=ap-guangzhou&SecretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE&Timestamp=1465185768&Version=2017-03-12";
        assert_eq!(
            sign(Method::HmacSha1, "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", sts),
            "EliP9YW3pW28FpsEdkXt/+WcGeI="
        );
    }

    #[test]
    fn go_style_empty_values_are_tolerated() {
        let mut p = params("HmacSHA256");
        p.push(("Token".into(), String::new()));
        // Go signs without the empty pair but sends it.
        let sts = string_to_sign("POST", "h", &p, true);
        let sig = sign(Method::HmacSha256, KEY, &sts);
        assert!(verify(Method::HmacSha256, KEY, "POST", "h", &p, &sig));
        assert_eq!(Method::from_param(Some("hmacsha256")), Method::HmacSha1);
    }
}
