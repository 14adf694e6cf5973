//! Accounts and API keys (docs/api.md §3): created from the command line, looked up on every request.

use super::{ids, Domain};
use crate::errors::{DomainError, Resource, StoreError};
use crate::model::{AccountId, ApiKey};

/// The longest SecretId a key may have: the vendor's have 36 characters. The gateway answers a longer
/// one at once, without a lookup.
pub const MAX_SECRET_ID: usize = 128;

/// A key pair as shown once to the operator who created it.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NewKey {
    pub account_id: String,
    pub secret_id: String,
    pub secret_key: String,
}

impl Domain {
    /// Create a key; a new account unless `account` names an existing one. Explicit ids and keys are
    /// for fixtures and migrations from the cloud service.
    pub async fn create_key(
        &self,
        account: Option<&str>,
        secret_id: Option<&str>,
        secret_key: Option<&str>,
    ) -> Result<NewKey, DomainError> {
        let now = self.clock.now();
        let account = match account {
            Some(a) => {
                let a = AccountId(a.to_owned());
                if !self.store.account_exists(&a).await? {
                    return Err(DomainError::not_found(Resource::Account, a.0));
                }
                a
            }
            None => {
                let a = AccountId(ids::account_id());
                self.store.create_account(&a, now).await?;
                a
            }
        };
        let secret_id = secret_id.map(str::to_owned).unwrap_or_else(ids::secret_id);
        let secret_key = secret_key
            .map(str::to_owned)
            .unwrap_or_else(ids::secret_key);
        if secret_id.is_empty()
            || secret_id.len() > MAX_SECRET_ID
            || secret_id.contains([':', '/'])
            || secret_id.chars().any(char::is_whitespace)
        {
            return Err(DomainError::invalid(
                "SecretId",
                secret_id,
                format!("1 to {MAX_SECRET_ID} characters, without ':', '/' or spaces"),
            ));
        }
        if secret_key.is_empty() {
            return Err(DomainError::invalid("SecretKey", secret_key, "non-empty"));
        }
        let key = ApiKey {
            secret_id: secret_id.clone(),
            account_id: account.clone(),
            secret_key_sealed: self.sealer.seal(&secret_key),
            created_at: now,
        };
        self.store.insert_key(&key).await.map_err(|e| match e {
            StoreError::Conflict => DomainError::AlreadyExists {
                param: "SecretId",
                value: secret_id.clone(),
            },
            other => other.into(),
        })?;
        Ok(NewKey {
            account_id: account.0,
            secret_id,
            secret_key,
        })
    }

    /// The account and the plain secret key of a SecretId, if it exists.
    pub async fn key_secret(
        &self,
        secret_id: &str,
    ) -> Result<Option<(AccountId, String)>, DomainError> {
        match self.store.find_key(secret_id).await? {
            None => Ok(None),
            Some(k) => {
                let plain = self
                    .sealer
                    .open(&k.secret_key_sealed)
                    .map_err(DomainError::Secret)?;
                Ok(Some((k.account_id, plain)))
            }
        }
    }
}
