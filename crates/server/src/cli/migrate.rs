//! `teleoscope migrate --from sqlite://PATH --to postgres://...`: moves an installation to
//! PostgreSQL (`store::migrate` says how), printing each table's counts as it is verified.

use crate::store::migrate;

pub async fn run(from: &str, to: &str) -> anyhow::Result<()> {
    let Some(path) = from.strip_prefix("sqlite://") else {
        anyhow::bail!("--from `{from}`: expected sqlite://PATH, the store to copy");
    };
    // The SQLite store's own options (`?max_database_bytes=`) do not matter to a reader.
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    if !(to.starts_with("postgres://") || to.starts_with("postgresql://")) {
        anyhow::bail!("--to `{to}`: expected postgres://..., the database to copy into");
    }
    println!("{:<18} {:>12} {:>12}", "table", "source", "target");
    migrate::sqlite_to_postgres(path, to, |c| {
        let note = if c.skipped { "  (copied before)" } else { "" };
        println!("{:<18} {:>12} {:>12}{note}", c.table, c.source, c.target);
    })
    .await?;
    println!("done: every table holds as many rows as the source");
    Ok(())
}
