//! The value rules of the vendor model (api.json member documents), checked before anything is
//! stored. Each failure names the parameter, the value and what is allowed.

use crate::errors::DomainError;

type Rule = Result<(), DomainError>;

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// CreateProject.ProjectName: "长度不超过24个字符" (at most 24 characters), not empty.
pub fn project_name(v: &str) -> Rule {
    let n = chars(v);
    if n == 0 || n > 24 || v.chars().any(char::is_control) {
        return Err(DomainError::invalid(
            "ProjectName",
            v,
            "1 to 24 characters, no control characters",
        ));
    }
    Ok(())
}

/// CreateProject.ProjectDescription: "长度不超过120个字符" (at most 120 characters).
pub fn project_description(v: &str) -> Rule {
    if chars(v) > 120 || v.chars().any(|c| c.is_control() && c != '\n') {
        return Err(DomainError::invalid(
            "ProjectDescription",
            v,
            "at most 120 characters",
        ));
    }
    Ok(())
}

/// CreateDevice.DeviceId: "由小写英文字母、数字和下划线构成，长度不超过32" (lowercase letters, digits,
/// underscore; at most 32).
pub fn device_id(param: &'static str, v: &str) -> Rule {
    let ok = !v.is_empty()
        && v.len() <= 32
        && v.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !ok {
        return Err(DomainError::invalid(
            param,
            v,
            "1 to 32 characters of lowercase letters, digits and underscore",
        ));
    }
    Ok(())
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// CreateDevice.DeviceName: "长度小于24, 可包含中文、数字、英文字母和下划线" (fewer than 24 characters of
/// Chinese, digits, English letters and underscore).
pub fn device_name(v: &str) -> Rule {
    let n = chars(v);
    let ok = n > 0
        && n < 24
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || is_cjk(c));
    if !ok {
        return Err(DomainError::invalid(
            "DeviceName",
            v,
            "1 to 23 characters of Chinese characters, digits, English letters and underscore",
        ));
    }
    Ok(())
}

/// CreateDevice.DeviceToken: "由大小写英文字母和数字构成，须为16位" (exactly 16 letters or digits).
pub fn device_token(v: &str) -> Rule {
    if v.len() != 16 || !v.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(DomainError::invalid(
            "DeviceToken",
            v,
            "exactly 16 English letters or digits",
        ));
    }
    Ok(())
}

/// ModifyProjectSecMode.Key: "项目密钥 32位 小写英文+数字" (32 lowercase letters and digits).
pub fn project_key(v: &str) -> Rule {
    if v.len() != 32
        || !v
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return Err(DomainError::invalid(
            "Key",
            v,
            "exactly 32 lowercase English letters or digits",
        ));
    }
    Ok(())
}

/// The longest `SearchWords` of DescribeDeviceList and DescribePolicy, in characters. The vendor model
/// documents no limit (api.json: "对设备ID或Name按关键字进行模糊匹配", "模糊匹配关键字"). A word longer
/// than the longest DeviceId (32) or DeviceName (23) matches nothing; 64 keeps a margin (a pasted id
/// with a stray suffix gets an empty list, not an error) and keeps the LIKE pattern, every character
/// escaped, far below SQLite's limit of 50,000 bytes (past it, a search answered InternalError).
pub const MAX_SEARCH_WORDS: usize = 64;

/// `SearchWords`: at most [`MAX_SEARCH_WORDS`] characters, none a control character (no id or
/// name has one). Empty means "no filter" and is not checked here.
pub fn search_words(v: &str) -> Rule {
    if chars(v) > MAX_SEARCH_WORDS || v.chars().any(char::is_control) {
        return Err(DomainError::invalid(
            "SearchWords",
            v,
            format!("at most {MAX_SEARCH_WORDS} characters, no control characters"),
        ));
    }
    Ok(())
}

// --- what a device sends (docs/api.md §4.8; the README's device API section lists these) ---

/// Whether every character is printable ASCII (space to `~`): no control characters.
fn printable_ascii(v: &str) -> bool {
    v.bytes().all(|b| (b' '..=b'~').contains(&b))
}

/// ReportSessionMetrics.SessionId: the vendor's session ids are UUIDs with a suffix
/// (`c52cc0cc-3663-467b-a6d1-2f01d20ad7ae-1`, fixtures/describe-device-session-details.json); 1 to
/// 128 letters, digits and `-` `_` `.` `:` leave room for other SDKs' forms.
pub fn session_id(v: &str) -> Rule {
    let ok = !v.is_empty()
        && v.len() <= 128
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    if !ok {
        return Err(DomainError::invalid(
            "SessionId",
            v,
            "1 to 128 characters of letters, digits and - _ . :",
        ));
    }
    Ok(())
}

/// The longest `Ver`: the SDK's version, `2.4` in the vendor's Details example
/// (SessionDeviceDetail.Ver "sdk版本"); 32 holds any semantic version with a pre-release tag.
pub const MAX_VER: usize = 32;
/// The longest `SdkMode`: `server2` in the vendor's Details example (SessionDeviceDetail.SdkMode
/// "模式(p2p/server)").
pub const MAX_SDK_MODE: usize = 64;
/// The longest `NetIp`: an IPv6 address text with an IPv4 tail
/// (`ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255`).
pub const MAX_NET_IP: usize = 45;

/// ReportSessionMetrics.Ver: at most [`MAX_VER`] printable ASCII characters (empty: not stated).
pub fn sdk_version(v: &str) -> Rule {
    if v.len() > MAX_VER || !printable_ascii(v) {
        return Err(DomainError::invalid(
            "Ver",
            v,
            format!("at most {MAX_VER} printable ASCII characters"),
        ));
    }
    Ok(())
}

/// ReportSessionMetrics.SdkMode: at most [`MAX_SDK_MODE`] printable ASCII characters (empty: not
/// stated).
pub fn sdk_mode(v: &str) -> Rule {
    if v.len() > MAX_SDK_MODE || !printable_ascii(v) {
        return Err(DomainError::invalid(
            "SdkMode",
            v,
            format!("at most {MAX_SDK_MODE} printable ASCII characters"),
        ));
    }
    Ok(())
}

/// MultiNet.NetIp ("网卡IP", the link's interface address): an IPv4 or IPv6 address text of at
/// most [`MAX_NET_IP`] characters, or empty (not known). `param` names where it is
/// (`Samples.0.MultiNet.1.NetIp`).
/// `param` names the link's address (`Samples.<i>.MultiNet.<j>.NetIp`); built only for an error.
pub fn net_ip(param: impl FnOnce() -> String, v: &str) -> Rule {
    if !v.is_empty() && (v.len() > MAX_NET_IP || v.parse::<std::net::IpAddr>().is_err()) {
        return Err(DomainError::invalid(
            param(),
            v,
            format!("an IPv4 or IPv6 address of at most {MAX_NET_IP} characters"),
        ));
    }
    Ok(())
}

pub fn in_range(param: &'static str, v: i64, lo: i64, hi: i64) -> Rule {
    if v < lo || v > hi {
        return Err(DomainError::invalid(
            param,
            v.to_string(),
            format!("an integer from {lo} to {hi}"),
        ));
    }
    Ok(())
}

/// ModifyCallbackUrl.CallbackUrl: an absolute http or https URL with a host.
pub fn callback_url(v: &str) -> Rule {
    let rest = v
        .strip_prefix("http://")
        .or_else(|| v.strip_prefix("https://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
    let ok = v.len() <= 1024
        && matches!(host, Some(h) if !h.is_empty() && !h.starts_with(':'))
        && !v.chars().any(|c| c.is_whitespace() || c.is_control());
    if !ok {
        return Err(DomainError::InvalidHttpUrl {
            value: v.to_owned(),
        });
    }
    Ok(())
}

/// ModifyCallbackUrl.SignKey: printable ASCII, at most 64 characters (the vendor's example is 8).
pub fn sign_key(v: &str) -> Rule {
    if v.is_empty() || v.len() > 64 || !v.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(DomainError::invalid(
            "SignKey",
            v,
            "1 to 64 printable ASCII characters without spaces",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids() {
        assert!(project_name("project1").is_ok());
        assert!(project_name(&"x".repeat(24)).is_ok());
        assert!(project_name(&"x".repeat(25)).is_err());
        assert!(project_name("").is_err());
        assert!(project_name("测试项目").is_ok());
        assert!(device_id("DeviceId", "dev_0240702040008").is_ok());
        assert!(device_id("DeviceId", "Dev1").is_err());
        assert!(device_id("DeviceId", "dev-1").is_err());
        assert!(device_id("DeviceId", &"a".repeat(33)).is_err());
        assert!(device_name("车辆_01").is_ok());
        assert!(device_name("vin123").is_ok());
        assert!(device_name("with space").is_err());
        assert!(device_name(&"a".repeat(24)).is_err());
        assert!(device_token("abcd1234ABCD5678").is_ok());
        assert!(device_token("USEPROJECTKEYPWD").is_ok());
        assert!(device_token("abcd1234abcd123").is_err());
        assert!(device_token("abcd1234abcd123!").is_err());
        assert!(project_key("123456789012345678901234567abcde").is_ok());
        assert!(project_key("123456789012345678901234567ABCDE").is_err());
        assert!(callback_url("http://123.45.81.121:9999").is_ok());
        assert!(callback_url("https://example.com/cb?x=1").is_ok());
        assert!(callback_url("ftp://example.com").is_err());
        assert!(callback_url("http://").is_err());
        assert!(callback_url("http://exa mple.com").is_err());
        assert!(search_words(&"%".repeat(64)).is_ok());
        assert!(session_id("c52cc0cc-3663-467b-a6d1-2f01d20ad7ae-1").is_ok());
        assert!(session_id(&"s".repeat(129)).is_err());
        assert!(session_id("s 1").is_err());
        assert!(sdk_version("2.4").is_ok());
        assert!(sdk_version("").is_ok());
        assert!(sdk_version(&"1".repeat(33)).is_err());
        assert!(sdk_version("2.4\n").is_err());
        assert!(sdk_version("版本").is_err());
        assert!(sdk_mode("server2").is_ok());
        assert!(sdk_mode(&"p".repeat(65)).is_err());
        assert!(sdk_mode("p2p\u{7f}").is_err());
        for ip in [
            "",
            "192.168.11.2",
            "::1",
            "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255",
        ] {
            assert!(net_ip(|| "NetIp".into(), ip).is_ok(), "{ip}");
        }
        for ip in [
            "192.168.11",
            "256.1.1.1",
            "eth0",
            "192.168.11.2\n",
            " 10.0.0.1",
        ] {
            assert!(net_ip(|| "NetIp".into(), ip).is_err(), "{ip}");
        }
        assert!(search_words("车辆_01").is_ok());
        assert!(search_words(&"a".repeat(65)).is_err());
        assert!(search_words("a\tb").is_err());
    }
}
