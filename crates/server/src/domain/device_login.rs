//! Device credentials (docs/api.md §4.1):
//! - a registered device signs with SecretId `<ProjectId>:<DeviceId>` and its 16-character DeviceToken;
//! - in project shared-key mode, SecretId `<ProjectId>:<DeviceId>:<ExpireTime>` and the password
//!   Base64(HMAC-SHA256(project key, DeviceId + ExpireTime)) without `+`, `/`, `=`, then `_<ExpireTime>`.
//!   An unknown device may then register itself if the project's `AutoRegister` allows its type.
//!
//! A device whose token is `USEPROJECTKEYPWD` may log in only with the project key (api.json
//! ModifyProjectSecMode document).

use super::credential_cache::Known;
use super::Domain;
use crate::errors::DomainError;
use crate::model::{AccountId, AutoRegister, Device};
use base64::Engine;
use sha2::Sha256;
use std::sync::Arc;

/// The sentinel token of devices that must use the project key.
pub const USE_PROJECT_KEY: &str = "USEPROJECTKEYPWD";

/// Who a device credential names.
#[derive(Debug, Clone)]
pub struct DeviceLogin {
    pub account: AccountId,
    pub project_id: String,
    pub device_id: String,
    /// None: not registered yet (project-key login under `AutoRegister`).
    pub device: Option<Device>,
    /// The project's `AutoRegister` (0 off, 1 field, 2 remote, 3 both).
    pub auto_register: AutoRegister,
}

/// Why a device credential is refused although it names a project and device. The gateway says so
/// only to a caller whose signature with the credential's key is valid: anyone else gets the answer
/// of a wrong key, so a refusal cannot be used to learn which projects and devices exist.
#[derive(Debug)]
pub enum LoginRefusal {
    Expired { expire_time: i64 },
    ProjectKeyOnly,
}

/// A device credential resolved: who it names, the key its signature must use, and whether the
/// login is refused once that signature is shown to be valid.
#[derive(Debug)]
pub struct DeviceCredential {
    pub login: DeviceLogin,
    pub key: String,
    pub refusal: Option<LoginRefusal>,
}

/// The shared-key password of a device (the vendor's derivation).
pub fn project_key_password(project_key: &str, device_id: &str, expire_time: i64) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<Sha256>::new_from_slice(project_key.as_bytes()).expect("any key length");
    mac.update(format!("{device_id}{expire_time}").as_bytes());
    let b64 = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let cleaned: String = b64
        .chars()
        .filter(|c| !matches!(c, '+' | '/' | '='))
        .collect();
    format!("{cleaned}_{expire_time}")
}

impl Domain {
    /// Resolve a device SecretId to the login and the secret key its signature must use.
    /// `Ok(None)`: no such credential — the gateway answers it as a wrong signature.
    pub async fn device_login(
        &self,
        secret_id: &str,
    ) -> Result<Option<DeviceCredential>, DomainError> {
        let parts: Vec<&str> = secret_id.split(':').collect();
        let (project_id, device_id, expire) = match parts.as_slice() {
            [p, d] => (*p, *d, None),
            [p, d, e] => match e.parse::<i64>() {
                Ok(e) => (*p, *d, Some(e)),
                Err(_) => return Ok(None),
            },
            _ => return Ok(None),
        };
        // `<ProjectId>:<DeviceId>`, the cache's key, without the expiry.
        let name = &secret_id[..project_id.len() + 1 + device_id.len()];
        let Some(known) = self.known_credential(name, project_id, device_id).await? else {
            return Ok(None);
        };
        let project = &known.project;
        let login = DeviceLogin {
            account: project.account_id.clone(),
            project_id: project_id.to_owned(),
            device_id: device_id.to_owned(),
            device: known.device.clone(),
            auto_register: project.sec_mode.auto_register,
        };
        match expire {
            None => {
                let Some(token) = &known.token else {
                    return Ok(None);
                };
                // A device that must use the project key has the sentinel as its token: a caller
                // who signs with the sentinel itself learns that it must use the project key.
                let refusal = (token == USE_PROJECT_KEY).then_some(LoginRefusal::ProjectKeyOnly);
                Ok(Some(DeviceCredential {
                    login,
                    key: token.clone(),
                    refusal,
                }))
            }
            Some(expire_time) => {
                let Some(key) = &known.project_key else {
                    return Ok(None);
                };
                if login.device.is_none() && login.auto_register == AutoRegister::Off {
                    return Ok(None);
                }
                let refusal = (expire_time < self.clock.now())
                    .then_some(LoginRefusal::Expired { expire_time });
                Ok(Some(DeviceCredential {
                    key: project_key_password(key, device_id, expire_time),
                    login,
                    refusal,
                }))
            }
        }
    }

    /// What the store says of a device credential, secrets opened: from the cache for a registered
    /// device (`credential_cache.rs`), else read (and cached if the device is registered).
    async fn known_credential(
        &self,
        name: &str,
        project_id: &str,
        device_id: &str,
    ) -> Result<Option<Arc<Known>>, DomainError> {
        let ttl = self.settings.credential_ttl;
        if let Some(known) = self.credentials.get(name, ttl) {
            return Ok(Some(known));
        }
        let generation = self.credentials.generation();
        let Some((project, device)) = self.store.device_credential(project_id, device_id).await?
        else {
            return Ok(None);
        };
        let open = |sealed: &str| self.sealer.open(sealed).map_err(DomainError::Secret);
        let token = device.as_ref().map(|d| open(&d.token_sealed)).transpose()?;
        let project_key = match (&project.sec_mode.key_sealed, project.sec_mode.enabled) {
            (Some(k), true) => Some(open(k)?),
            _ => None,
        };
        let registered = device.is_some();
        let known = Arc::new(Known {
            project,
            device,
            token,
            project_key,
        });
        // Not a device that is not registered yet: its first report registers it.
        if registered {
            self.credentials.put(generation, name, known.clone());
        }
        Ok(Some(known))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_shape() {
        let p = project_key_password(
            "123456789012345678901234567abcde",
            "truck_01",
            1_900_000_000,
        );
        assert!(p.ends_with("_1900000000"));
        let head = p.trim_end_matches("_1900000000");
        assert!(head.chars().all(|c| c.is_ascii_alphanumeric()), "{p}");
        assert!(head.len() >= 40 && head.len() <= 43);
        // Deterministic, and bound to the device and the expiry.
        assert_eq!(
            p,
            project_key_password(
                "123456789012345678901234567abcde",
                "truck_01",
                1_900_000_000
            )
        );
        assert_ne!(
            p,
            project_key_password(
                "123456789012345678901234567abcde",
                "truck_02",
                1_900_000_000
            )
        );
    }
}
