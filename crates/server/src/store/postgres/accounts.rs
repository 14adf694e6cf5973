//! Accounts, API keys and console sign-ins.

use super::{conflict_or_db, db, PgStore};
use crate::model::{AccountId, ApiKey, ConsoleSession};
use crate::store::{Accounts, Result};
use async_trait::async_trait;
use tokio_postgres::Row;

const KEY_COLS: &str = "secret_id, account_id, secret_key, created_at";

fn key_row(r: &Row) -> ApiKey {
    ApiKey {
        secret_id: r.get(0),
        account_id: AccountId(r.get(1)),
        secret_key_sealed: r.get(2),
        created_at: r.get(3),
    }
}

#[async_trait]
impl Accounts for PgStore {
    async fn create_account(&self, account: &AccountId, now: i64) -> Result<()> {
        let c = self.conn().await?;
        let s = c
            .prepare_cached("INSERT INTO accounts (account_id, created_at) VALUES ($1, $2)")
            .await
            .map_err(db)?;
        c.execute(&s, &[&account.0, &now])
            .await
            .map_err(conflict_or_db)?;
        Ok(())
    }

    async fn account_exists(&self, account: &AccountId) -> Result<bool> {
        let c = self.conn().await?;
        let s = c
            .prepare_cached("SELECT 1 FROM accounts WHERE account_id = $1")
            .await
            .map_err(db)?;
        Ok(c.query_opt(&s, &[&account.0]).await.map_err(db)?.is_some())
    }

    async fn insert_key(&self, k: &ApiKey) -> Result<()> {
        let c = self.conn().await?;
        let s = c
            .prepare_cached(&format!(
                "INSERT INTO api_keys ({KEY_COLS}) VALUES ($1, $2, $3, $4)"
            ))
            .await
            .map_err(db)?;
        c.execute(
            &s,
            &[
                &k.secret_id,
                &k.account_id.0,
                &k.secret_key_sealed,
                &k.created_at,
            ],
        )
        .await
        .map_err(conflict_or_db)?;
        Ok(())
    }

    async fn find_key(&self, secret_id: &str) -> Result<Option<ApiKey>> {
        let c = self.conn().await?;
        let s = c
            .prepare_cached(&format!(
                "SELECT {KEY_COLS} FROM api_keys WHERE secret_id = $1"
            ))
            .await
            .map_err(db)?;
        Ok(c.query_opt(&s, &[&secret_id])
            .await
            .map_err(db)?
            .as_ref()
            .map(key_row))
    }

    async fn list_keys(&self) -> Result<Vec<ApiKey>> {
        let c = self.conn().await?;
        let s = c
            .prepare_cached(&format!(
                "SELECT {KEY_COLS} FROM api_keys ORDER BY created_at, secret_id"
            ))
            .await
            .map_err(db)?;
        Ok(c.query(&s, &[])
            .await
            .map_err(db)?
            .iter()
            .map(key_row)
            .collect())
    }

    async fn delete_key(&self, secret_id: &str) -> Result<bool> {
        // Its console sessions go with it (ON DELETE CASCADE).
        let c = self.conn().await?;
        let s = c
            .prepare_cached("DELETE FROM api_keys WHERE secret_id = $1")
            .await
            .map_err(db)?;
        Ok(c.execute(&s, &[&secret_id]).await.map_err(db)? > 0)
    }

    async fn insert_console_session(&self, s: &ConsoleSession, now: i64) -> Result<()> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(db)?;
        let expired = tx
            .prepare_cached("DELETE FROM console_sessions WHERE expires_at <= $1")
            .await
            .map_err(db)?;
        tx.execute(&expired, &[&now]).await.map_err(db)?;
        let insert = tx
            .prepare_cached(
                "INSERT INTO console_sessions (token_hash, secret_id, account_id, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .await
            .map_err(db)?;
        tx.execute(
            &insert,
            &[
                &s.token_hash,
                &s.secret_id,
                &s.account_id.0,
                &s.created_at,
                &s.expires_at,
            ],
        )
        .await
        .map_err(conflict_or_db)?;
        tx.commit().await.map_err(db)
    }

    async fn console_session(&self, token_hash: &str) -> Result<Option<ConsoleSession>> {
        let c = self.conn().await?;
        let s = c
            .prepare_cached(
                "SELECT token_hash, secret_id, account_id, created_at, expires_at
                 FROM console_sessions WHERE token_hash = $1",
            )
            .await
            .map_err(db)?;
        Ok(c.query_opt(&s, &[&token_hash])
            .await
            .map_err(db)?
            .map(|r| ConsoleSession {
                token_hash: r.get(0),
                secret_id: r.get(1),
                account_id: AccountId(r.get(2)),
                created_at: r.get(3),
                expires_at: r.get(4),
            }))
    }

    async fn delete_console_session(&self, token_hash: &str) -> Result<bool> {
        let c = self.conn().await?;
        let s = c
            .prepare_cached("DELETE FROM console_sessions WHERE token_hash = $1")
            .await
            .map_err(db)?;
        Ok(c.execute(&s, &[&token_hash]).await.map_err(db)? > 0)
    }
}
