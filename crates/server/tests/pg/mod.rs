//! A fresh PostgreSQL schema per test: the tests that run on PostgreSQL connect to the database
//! `TELEOSCOPE_TEST_POSTGRES` names (default `postgres://root@127.0.0.1:5432/test`; `.ci/run`
//! creates a new database for each run and names it there), each in a schema of its own, dropped
//! when the test ends. PostgreSQL must be running: a test that cannot reach it fails, it is never
//! skipped.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

pub fn admin_url() -> String {
    std::env::var("TELEOSCOPE_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".to_owned())
}

/// A schema of its own in the test database; dropped (with everything in it) on drop.
pub struct FreshSchema {
    /// The database URL whose connections use only this schema.
    pub url: String,
    name: String,
}

impl FreshSchema {
    pub async fn new() -> FreshSchema {
        static N: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "t_{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            rand_suffix()
        );
        let admin = admin_url();
        let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin} (TELEOSCOPE_TEST_POSTGRES): {e}"));
        tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .await
            .expect("create a test schema");
        let sep = if admin.contains('?') { '&' } else { '?' };
        FreshSchema {
            // Connections name themselves after the schema, so that the drop can end them.
            url: format!("{admin}{sep}options=-csearch_path%3D{name}&application_name={name}"),
            name,
        }
    }
}

fn rand_suffix() -> u32 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
}

impl Drop for FreshSchema {
    fn drop(&mut self) {
        let (admin, name) = (admin_url(), self.name.clone());
        // Drop may run inside a runtime: the schema goes on a thread of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok((client, conn)) =
                    tokio_postgres::connect(&admin, tokio_postgres::NoTls).await
                {
                    tokio::spawn(conn);
                    // The store's connections may still be open, even inside a transaction whose
                    // rollback waits for the runtime this drop blocks: end them first.
                    let _ = client
                        .batch_execute(&format!(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                             WHERE application_name = '{name}' AND pid <> pg_backend_pid();
                             DROP SCHEMA {name} CASCADE"
                        ))
                        .await;
                }
            });
        })
        .join();
    }
}
