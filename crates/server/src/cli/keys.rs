//! `teleoscope keys create|list|delete`: API key management against the same store as the server,
//! also while it runs (SQLite WAL; the server reads keys per request, so changes apply at once).

use crate::domain::Domain;
use anyhow::Context;

pub async fn create(
    domain: &Domain,
    account: Option<&str>,
    secret_id: Option<&str>,
    secret_key: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let key = domain
        .create_key(account, secret_id, secret_key)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("creating the key")?;
    if json {
        println!("{}", serde_json::to_string(&key)?);
    } else {
        println!(
            "AccountId: {}\nSecretId:  {}\nSecretKey: {}",
            key.account_id, key.secret_id, key.secret_key
        );
        if !domain.sealer.is_sealing() {
            eprintln!("note: no master key is configured; the secret key is stored unsealed");
        }
    }
    Ok(())
}

pub async fn list(domain: &Domain, json: bool) -> anyhow::Result<()> {
    let keys = domain.store.list_keys().await?;
    if json {
        let rows: Vec<serde_json::Value> = keys
            .iter()
            .map(|k| serde_json::json!({"AccountId": k.account_id.0, "SecretId": k.secret_id, "CreatedAt": k.created_at}))
            .collect();
        println!("{}", serde_json::to_string(&rows)?);
    } else {
        println!("{:<14} {:<38} CREATED", "ACCOUNT", "SECRET ID");
        for k in keys {
            let created = chrono::DateTime::from_timestamp(k.created_at, 0)
                .map(|t| t.to_rfc3339())
                .unwrap_or_default();
            println!("{:<14} {:<38} {}", k.account_id.0, k.secret_id, created);
        }
    }
    Ok(())
}

pub async fn delete(domain: &Domain, secret_id: &str) -> anyhow::Result<()> {
    if !domain.store.delete_key(secret_id).await? {
        anyhow::bail!("no key with SecretId `{secret_id}`");
    }
    println!("deleted {secret_id}");
    Ok(())
}
