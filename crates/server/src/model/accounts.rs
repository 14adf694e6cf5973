//! Tenants, their API keys and their console sign-ins.

/// A tenant. Every project belongs to exactly one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountId(pub String);

/// An API key pair. The secret key is kept sealed (see `secrets`).
#[derive(Debug, Clone)]
pub struct ApiKey {
    pub secret_id: String,
    pub account_id: AccountId,
    pub secret_key_sealed: String,
    pub created_at: i64,
}

/// A signed-in console session as stored: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    pub token_hash: String,
    pub secret_id: String,
    pub account_id: AccountId,
    pub created_at: i64,
    pub expires_at: i64,
}
