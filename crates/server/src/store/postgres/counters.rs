//! Rate-limit windows shared by every node (`store::Counters`): one row per key in the unlogged
//! table `request_windows`, counted with one upsert. A node whose clock runs behind counts into
//! the window the row is at, so skew between nodes never resets a window early.

use super::{db, PgStore};
use crate::store::{Counters, Result};
use async_trait::async_trait;

#[async_trait]
impl Counters for PgStore {
    async fn count_request(&self, key: &str, second: i64) -> Result<u64> {
        let c = self.conn().await?;
        let count = c
            .prepare_cached(
                "INSERT INTO request_windows AS w (key, second, n) VALUES ($1, $2, 1)
                 ON CONFLICT (key) DO UPDATE SET
                   n = CASE WHEN w.second < excluded.second THEN 1 ELSE w.n + 1 END,
                   second = GREATEST(w.second, excluded.second)
                 RETURNING n",
            )
            .await
            .map_err(db)?;
        let n: i64 = c
            .query_one(&count, &[&key, &second])
            .await
            .map_err(db)?
            .get(0);
        Ok(n as u64)
    }
}
