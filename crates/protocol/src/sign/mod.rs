//! Request signatures: TC3-HMAC-SHA256 (`tc3`) and the older v1 HmacSHA1/HmacSHA256 (`v1`).
//! Both sides live here: the server verifies, and the simulator, benchmark and tests sign.

pub mod tc3;
pub mod v1;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

pub(crate) fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Constant-time comparison of two signatures.
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// `YYYY-MM-DD` of a UNIX timestamp in UTC (the TC3 credential scope date, docs/protocol.md §2.2).
pub fn utc_date(timestamp: i64) -> String {
    // Howard Hinnant's days-to-civil algorithm.
    let days = timestamp.div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_dates() {
        assert_eq!(super::utc_date(1_700_000_000), "2023-11-14");
        assert_eq!(super::utc_date(1_551_113_065), "2019-02-25");
        assert_eq!(super::utc_date(0), "1970-01-01");
        assert_eq!(super::utc_date(951_782_400), "2000-02-29");
    }
}
