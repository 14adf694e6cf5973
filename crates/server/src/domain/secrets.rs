//! Secrets at rest: API secret keys, device tokens, project keys and callback sign keys are sealed
//! with AES-256-GCM under a key derived from the configured master key (SHA-256 of it), so a copied
//! database file does not hand them out. The signature schemes need the plain key to verify, so
//! hashing is not possible (docs/api.md §3). Without a master key values are stored as they are and
//! the server says so in its log at start.
//!
//! Sealed form: `enc1:` + base64(12-byte nonce || ciphertext+tag). Anything else is a plain value.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::Arc;

const PREFIX: &str = "enc1:";

#[derive(Clone, Default)]
pub struct Sealer {
    cipher: Option<Arc<Aes256Gcm>>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.cipher.is_some() {
            "Sealer(master key set)"
        } else {
            "Sealer(no master key)"
        })
    }
}

impl Sealer {
    pub fn new(master_key: Option<&str>) -> Sealer {
        let cipher = master_key.map(|k| {
            let key = Sha256::digest(k.as_bytes());
            Arc::new(Aes256Gcm::new_from_slice(&key).expect("32-byte key"))
        });
        Sealer { cipher }
    }

    pub fn is_sealing(&self) -> bool {
        self.cipher.is_some()
    }

    pub fn seal(&self, plain: &str) -> String {
        match &self.cipher {
            None => plain.to_owned(),
            Some(cipher) => {
                let mut nonce = [0u8; 12];
                rand::rng().fill_bytes(&mut nonce);
                let ct = cipher
                    .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
                    .expect("AES-GCM encryption of a short value cannot fail");
                let mut raw = nonce.to_vec();
                raw.extend_from_slice(&ct);
                format!(
                    "{PREFIX}{}",
                    base64::engine::general_purpose::STANDARD.encode(raw)
                )
            }
        }
    }

    pub fn open(&self, stored: &str) -> Result<String, String> {
        let Some(b64) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_owned());
        };
        let cipher = self
            .cipher
            .as_ref()
            .ok_or("the store holds sealed secrets but no master key is configured")?;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| e.to_string())?;
        if raw.len() < 12 {
            return Err("sealed secret too short".into());
        }
        let (nonce, ct) = raw.split_at(12);
        let plain = cipher
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| "sealed secret does not open with this master key".to_owned())?;
        String::from_utf8(plain).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::Sealer;

    #[test]
    fn seals_and_opens() {
        let s = Sealer::new(Some("correct horse"));
        let sealed = s.seal("ExampleSecretKey");
        assert!(sealed.starts_with("enc1:"));
        assert!(!sealed.contains("ExampleSecretKey"));
        assert_eq!(s.open(&sealed).unwrap(), "ExampleSecretKey");
        assert!(Sealer::new(Some("wrong")).open(&sealed).is_err());
        assert!(Sealer::new(None).open(&sealed).is_err());
        assert_eq!(Sealer::new(None).seal("x"), "x");
        assert_eq!(s.open("plain-value").unwrap(), "plain-value");
    }
}
