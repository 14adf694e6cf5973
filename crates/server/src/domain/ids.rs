//! Identifiers and secrets the server generates, in the vendor's shapes: 16-character lowercase
//! project ids (`f3glr49rc96pralw`, api.json CreateProject), `AKID` + 32 characters secret ids,
//! 32-character secret keys, and numeric account ids like the vendor's account UINs.

use rand::distr::{Alphanumeric, Distribution, Uniform};
use rand::Rng;

const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

fn pick(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    let dist = Uniform::new(0, alphabet.len()).expect("non-empty alphabet");
    (0..len)
        .map(|_| alphabet[dist.sample(&mut rng)] as char)
        .collect()
}

pub fn project_id() -> String {
    pick(LOWER_ALNUM, 16)
}

pub fn account_id() -> String {
    format!("1{:011}", rand::rng().random_range(0..100_000_000_000u64))
}

pub fn secret_id() -> String {
    let tail: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    format!("AKID{tail}")
}

pub fn secret_key() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

/// A 16-character device token (the vendor's DeviceToken shape).
pub fn device_token() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(16)
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn shapes() {
        let p = super::project_id();
        assert_eq!(p.len(), 16);
        assert!(p
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        let a = super::account_id();
        assert_eq!(a.len(), 12);
        assert!(a.bytes().all(|b| b.is_ascii_digit()));
        assert!(super::secret_id().starts_with("AKID"));
        assert_eq!(super::secret_id().len(), 36);
        assert_eq!(super::secret_key().len(), 32);
        assert_eq!(super::device_token().len(), 16);
    }
}
