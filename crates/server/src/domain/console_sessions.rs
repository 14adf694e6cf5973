//! Console sign-in (docs/console.md): an API key pair is checked once and exchanged for a session
//! token that the browser keeps in an HttpOnly cookie. The server stores only the token's SHA-256,
//! so a copy of the database opens no session; the session belongs to the key, so deleting the key
//! (`teleoscope keys delete`) ends it; it expires after the configured lifetime.
//!
//! The CSRF token the console sends with every call is derived from the session token (an HMAC), so
//! it needs no storage and is worthless without the cookie.

use super::Domain;
use crate::errors::DomainError;
use crate::model::ConsoleSession;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A new session and its token (the cookie's value), which exists only in this answer.
#[derive(Debug)]
pub struct SignedIn {
    pub token: String,
    pub session: ConsoleSession,
}

/// The stored form of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The CSRF token of a session token.
pub fn csrf_token(token: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(token.as_bytes()).expect("any key length");
    mac.update(b"teleoscope console csrf");
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `given` is the CSRF token of `token`, compared in constant time.
pub fn csrf_matches(token: &str, given: &str) -> bool {
    csrf_token(token).as_bytes().ct_eq(given.as_bytes()).into()
}

impl Domain {
    /// Check a key pair and open a session of `lifetime_s` seconds. `Ok(None)`: the pair is wrong
    /// (an unknown SecretId and a wrong SecretKey are the same answer).
    pub async fn console_sign_in(
        &self,
        secret_id: &str,
        secret_key: &str,
        lifetime_s: i64,
    ) -> Result<Option<SignedIn>, DomainError> {
        let Some((account_id, key)) = self.key_secret(secret_id).await? else {
            return Ok(None);
        };
        if !bool::from(key.as_bytes().ct_eq(secret_key.as_bytes())) {
            return Ok(None);
        }
        let mut raw = [0u8; 32];
        rand::rng().fill_bytes(&mut raw);
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
        let now = self.clock.now();
        let session = ConsoleSession {
            token_hash: token_hash(&token),
            secret_id: secret_id.to_owned(),
            account_id,
            created_at: now,
            expires_at: now.saturating_add(lifetime_s),
        };
        self.store.insert_console_session(&session, now).await?;
        Ok(Some(SignedIn { token, session }))
    }

    /// The live session of a token: not expired, its key not deleted.
    pub async fn console_session(
        &self,
        token: &str,
    ) -> Result<Option<ConsoleSession>, DomainError> {
        let now = self.clock.now();
        Ok(self
            .store
            .console_session(&token_hash(token))
            .await?
            .filter(|s| s.expires_at > now))
    }

    /// End a session (sign-out).
    pub async fn console_sign_out(&self, token: &str) -> Result<(), DomainError> {
        self.store
            .delete_console_session(&token_hash(token))
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_belong_to_their_session() {
        let (a, b) = ("token-a", "token-b");
        assert!(csrf_matches(a, &csrf_token(a)));
        assert!(!csrf_matches(a, &csrf_token(b)));
        assert!(!csrf_matches(a, ""));
        assert_ne!(token_hash(a), a, "the stored form is not the token");
        assert_eq!(token_hash(a).len(), 64);
    }
}
