//! Accounts, API keys and console sign-ins.

use super::{conflict_or_db, db, SqliteStore};
use crate::model::{AccountId, ApiKey, ConsoleSession};
use crate::store::{Accounts, Result};
use async_trait::async_trait;
use r2d2_sqlite::rusqlite::{self, params, OptionalExtension, Row};

fn key_row(r: &Row<'_>) -> rusqlite::Result<ApiKey> {
    Ok(ApiKey {
        secret_id: r.get(0)?,
        account_id: AccountId(r.get(1)?),
        secret_key_sealed: r.get(2)?,
        created_at: r.get(3)?,
    })
}

#[async_trait]
impl Accounts for SqliteStore {
    async fn create_account(&self, account: &AccountId, now: i64) -> Result<()> {
        let id = account.0.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO accounts (account_id, created_at) VALUES (?1, ?2)",
                params![id, now],
            )
            .map_err(conflict_or_db)?;
            Ok(())
        })
        .await
    }

    async fn account_exists(&self, account: &AccountId) -> Result<bool> {
        let id = account.0.clone();
        self.run(move |c| {
            c.query_row("SELECT 1 FROM accounts WHERE account_id = ?1", [id], |_| {
                Ok(())
            })
            .optional()
            .map(|o| o.is_some())
            .map_err(db)
        })
        .await
    }

    async fn insert_key(&self, key: &ApiKey) -> Result<()> {
        let k = key.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO api_keys (secret_id, account_id, secret_key, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![k.secret_id, k.account_id.0, k.secret_key_sealed, k.created_at],
            )
            .map_err(conflict_or_db)?;
            Ok(())
        })
        .await
    }

    async fn find_key(&self, secret_id: &str) -> Result<Option<ApiKey>> {
        let id = secret_id.to_owned();
        self.run(move |c| {
            c.prepare_cached("SELECT secret_id, account_id, secret_key, created_at FROM api_keys WHERE secret_id = ?1")
                .and_then(|mut s| s.query_row([id], key_row).optional())
                .map_err(db)
        })
        .await
    }

    async fn list_keys(&self) -> Result<Vec<ApiKey>> {
        self.run(|c| {
            let mut s = c
                .prepare(
                    "SELECT secret_id, account_id, secret_key, created_at FROM api_keys ORDER BY created_at, secret_id",
                )
                .map_err(db)?;
            let rows = s.query_map([], key_row).map_err(db)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)
        })
        .await
    }

    async fn delete_key(&self, secret_id: &str) -> Result<bool> {
        let id = secret_id.to_owned();
        self.write(move |tx| {
            Ok(tx
                .execute("DELETE FROM api_keys WHERE secret_id = ?1", [id])
                .map_err(db)?
                > 0)
        })
        .await
    }

    async fn insert_console_session(&self, s: &ConsoleSession, now: i64) -> Result<()> {
        let s = s.clone();
        self.write(move |tx| {
            tx.execute("DELETE FROM console_sessions WHERE expires_at <= ?1", [now])
                .map_err(db)?;
            tx.execute(
                "INSERT INTO console_sessions (token_hash, secret_id, account_id, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![s.token_hash, s.secret_id, s.account_id.0, s.created_at, s.expires_at],
            )
            .map_err(conflict_or_db)?;
            Ok(())
        })
        .await
    }

    async fn console_session(&self, token_hash: &str) -> Result<Option<ConsoleSession>> {
        let hash = token_hash.to_owned();
        self.run(move |c| {
            c.prepare_cached(
                "SELECT token_hash, secret_id, account_id, created_at, expires_at
                 FROM console_sessions WHERE token_hash = ?1",
            )
            .and_then(|mut s| {
                s.query_row([hash], |r| {
                    Ok(ConsoleSession {
                        token_hash: r.get(0)?,
                        secret_id: r.get(1)?,
                        account_id: AccountId(r.get(2)?),
                        created_at: r.get(3)?,
                        expires_at: r.get(4)?,
                    })
                })
                .optional()
            })
            .map_err(db)
        })
        .await
    }

    async fn delete_console_session(&self, token_hash: &str) -> Result<bool> {
        let hash = token_hash.to_owned();
        self.write(move |tx| {
            Ok(tx
                .execute("DELETE FROM console_sessions WHERE token_hash = ?1", [hash])
                .map_err(db)?
                > 0)
        })
        .await
    }
}
