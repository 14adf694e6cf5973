//! The command line says what it accepts: every data store URL scheme that `--help` offers opens,
//! and a scheme it does not offer is refused with a message naming what is accepted.

mod common;

use common::pg;

fn teleoscope(args: &[&str]) -> std::process::Output {
    common::teleoscope()
        .args(args)
        .output()
        .expect("teleoscope runs")
}

#[tokio::test]
async fn serve_help_offers_only_the_stores_that_open() {
    let help = String::from_utf8(teleoscope(&["serve", "--help"]).stdout).unwrap();
    let line = help
        .lines()
        .skip_while(|l| !l.contains("--database"))
        .nth(1)
        .expect("--database is documented");
    let offered: Vec<&str> = line
        .split_whitespace()
        .filter_map(|w| w.find("://").map(|at| &w[..at]))
        .collect();
    assert_eq!(offered, ["sqlite", "postgres"], "{line}");

    // The offered schemes open (here through `keys list` on a fresh store) ...
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let out = teleoscope(&["--database", &url, "keys", "list"]);
    assert!(out.status.success(), "{out:?}");
    let schema = pg::FreshSchema::new().await;
    let out = teleoscope(&["--database", &schema.url, "keys", "list"]);
    assert!(out.status.success(), "{out:?}");
    // ... and one it does not offer is refused, saying what is accepted.
    let out = teleoscope(&["--database", "mysql://localhost/test", "keys", "list"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sqlite://PATH") && err.contains("postgres://"),
        "{err}"
    );
}
