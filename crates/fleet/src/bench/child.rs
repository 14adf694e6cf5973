//! The server under test as a child process: this very binary's `serve`, on a store provisioned
//! beforehand in this process. In its own process the server's CPU and memory can be read apart
//! from the load generator's (`/proc/<pid>/stat`, `/proc/<pid>/status`), which the in-process
//! fixture cannot do: there, server and client share one process's counters.
//!
//! The child runs as in production: `serve` with its request log at info level (one line per
//! request, to a log file next to its configuration), secrets sealed under a master key. Only the
//! rate limits are lifted, the per-device one included: the closed-loop CPU runs send hundreds of
//! reports per second per device (a live device's 0.6 requests/s is far below the default anyway).

use super::fixture::{self, Backend, Place, Tenant, PROVISION_IN_FLIGHT};
use super::ingest::Fleet;
use super::report::proc_status_mib;
use anyhow::Context;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use teleoscope_server::config::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long the child may take to answer `/readyz` 200 (it opens and migrates the store first).
const READY_WITHIN: Duration = Duration::from_secs(60);
/// How long a SIGTERM may take (the server drains in-flight requests) before SIGKILL.
const STOP_WITHIN: Duration = Duration::from_secs(15);

/// CPU time (user + system) of a process, all its threads, those that ended included.
pub fn cpu_time(pid: &str) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    cpu_from_stat(&stat, rustix::param::clock_ticks_per_second())
}

/// utime + stime (fields 14 and 15 of `stat`, in clock ticks). The command name (field 2) may hold
/// spaces and parentheses: fields are counted after its last `)`.
fn cpu_from_stat(stat: &str, ticks_per_second: u64) -> anyhow::Result<Duration> {
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .context("no command name in stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After `)`: state is field 3, so field n is at index n - 3.
    let ticks = |n: usize| -> anyhow::Result<u64> {
        fields
            .get(n - 3)
            .context("stat is too short")?
            .parse::<u64>()
            .context("a CPU field of stat")
    };
    let total = ticks(14)? + ticks(15)?;
    Ok(Duration::from_secs_f64(
        total as f64 / ticks_per_second.max(1) as f64,
    ))
}

/// The load generator's CPU: this process's.
pub fn own_cpu() -> anyhow::Result<Duration> {
    cpu_time("self")
}

/// CPU time every process of the machine spent (the first line of `/proc/stat`, less idle and I/O
/// wait): what is neither the server's nor the load generator's ran elsewhere on a shared machine.
pub fn machine_cpu() -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    busy_from_proc_stat(&stat, rustix::param::clock_ticks_per_second())
}

fn busy_from_proc_stat(stat: &str, ticks_per_second: u64) -> anyhow::Result<Duration> {
    let line = stat
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("cpu "))
        .context("/proc/stat does not begin with the cpu line")?;
    let ticks = line
        .split_whitespace()
        .map(str::parse::<u64>)
        .collect::<Result<Vec<_>, _>>()
        .context("the cpu line of /proc/stat")?;
    anyhow::ensure!(ticks.len() >= 5, "the cpu line of /proc/stat is too short");
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let busy: u64 = ticks.iter().take(8).sum::<u64>() - ticks[3] - ticks[4];
    Ok(Duration::from_secs_f64(
        busy as f64 / ticks_per_second.max(1) as f64,
    ))
}

/// Resident memory of the server, MiB.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Memory {
    /// Now (`VmRSS`).
    pub rss_mib: f64,
    /// The peak since the process started (`VmHWM`).
    pub peak_mib: f64,
}

/// `teleoscope serve` in a child process, killed when dropped.
pub struct ServerProcess {
    process: std::process::Child,
    pub addr: SocketAddr,
    pub log: PathBuf,
}

impl ServerProcess {
    /// Start `serve` on `config`'s database and master key (its rate limits written into a TOML
    /// file in `dir`, its log there too) on a free local port, and wait until it is ready.
    pub async fn start(config: &Config, dir: &Path) -> anyhow::Result<ServerProcess> {
        let toml = dir.join("teleoscope.toml");
        std::fs::write(&toml, config_file(config))
            .with_context(|| format!("writing {}", toml.display()))?;
        let log = dir.join("serve.log");
        let out =
            std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        // A free port: the kernel's pick for a listener closed at once (`serve` prints where it
        // listens only in its log).
        let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let mut command = Command::new(std::env::current_exe()?);
        // The bench's own environment must not reconfigure the child (a TELEOSCOPE_MASTER_KEY
        // would not open the tokens, a TELEOSCOPE_LOG would change what it logs).
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("TELEOSCOPE_") {
                command.env_remove(name);
            }
        }
        command
            .arg("serve")
            .arg("--config")
            .arg(&toml)
            .arg("--database")
            .arg(&config.database)
            .arg("--listen")
            .arg(addr.to_string())
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        let process = command.spawn().context("starting `teleoscope serve`")?;
        let mut server = ServerProcess { process, addr, log };
        server.wait_ready().await?;
        Ok(server)
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.process.try_wait()? {
                anyhow::bail!(
                    "`teleoscope serve` exited ({status}) before it was ready:\n{}",
                    self.log_tail()
                );
            }
            if ready(self.addr).await {
                return Ok(());
            }
            anyhow::ensure!(
                started.elapsed() < READY_WITHIN,
                "`teleoscope serve` not ready within {READY_WITHIN:?}:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last lines of the child's log, for an error.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    fn pid(&self) -> String {
        self.process.id().to_string()
    }

    /// The server's CPU time so far.
    pub fn cpu(&self) -> anyhow::Result<Duration> {
        cpu_time(&self.pid())
    }

    pub fn memory(&self) -> Memory {
        let pid = self.pid();
        Memory {
            rss_mib: proc_status_mib(&pid, "VmRSS:"),
            peak_mib: proc_status_mib(&pid, "VmHWM:"),
        }
    }

    /// SIGTERM, then SIGKILL if it has not exited within [`STOP_WITHIN`]; waits for it.
    fn terminate(&mut self) {
        if matches!(self.process.try_wait(), Ok(Some(_))) {
            return;
        }
        let pid = rustix::process::Pid::from_child(&self.process);
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        let started = Instant::now();
        while started.elapsed() < STOP_WITHIN {
            if !matches!(self.process.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("[bench] the server did not stop within {STOP_WITHIN:?}: killed");
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// Whether `GET /readyz` answers 200.
async fn ready(addr: SocketAddr) -> bool {
    let ask = async {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        s.write_all(
            format!("GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).await?;
        std::io::Result::Ok(answer.starts_with(b"HTTP/1.1 200"))
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), ask).await,
        Ok(Ok(true))
    )
}

/// What of the bench's configuration the child needs beyond `--database` and `--listen`: the
/// master key and the lifted rate limits.
fn config_file(config: &Config) -> String {
    let mut out = String::new();
    if let Some(key) = &config.master_key {
        out.push_str(&format!("master_key = {}\n", toml_string(&key.0)));
    }
    out.push_str(&format!(
        "rate_limit_per_second = {}\ndevice_rate_limit_per_second = {}\n",
        config.rate_limit_per_second, config.device_rate_limit_per_second
    ));
    out.push_str("[rate_limits]\n");
    for (action, limit) in &config.rate_limits {
        out.push_str(&format!("{action} = {limit}\n"));
    }
    out
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A fresh store with a tenant (account, project, device pairs), served by a child process.
pub struct Hosted {
    // Fields drop in order: the server stops before its files or schema go.
    pub server: ServerProcess,
    pub tenant: Tenant,
    /// How long provisioning the devices took.
    pub provisioning: Duration,
    _dir: Option<tempfile::TempDir>,
    _place: Place,
}

impl Hosted {
    /// Provision `pairs` device pairs on a fresh store in this process, then serve it from a child.
    pub async fn start(backend: &Backend, pairs: usize, keep: bool) -> anyhow::Result<Hosted> {
        let (database, _, _, place) = backend.fresh(keep).await?;
        // Sealed tokens, as in production: every device request opens its token.
        let master_key = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let config = fixture::config(database, Some(master_key));
        let started = Instant::now();
        let tenant = {
            let domain = teleoscope_server::open_domain(&config).await?;
            Tenant::provision(&domain, pairs, PROVISION_IN_FLIGHT).await?
        };
        let provisioning = started.elapsed();
        let dir = tempfile::Builder::new()
            .prefix("teleoscope-bench-serve-")
            .tempdir()?;
        let server = ServerProcess::start(&config, dir.path()).await?;
        let dir = if keep {
            eprintln!("[bench] keeping the server's log {}", server.log.display());
            let _ = dir.keep();
            None
        } else {
            Some(dir)
        };
        Ok(Hosted {
            server,
            tenant,
            provisioning,
            _dir: dir,
            _place: place,
        })
    }

    /// Its devices, all reporting to the child.
    pub fn fleet(&self) -> Fleet<'_> {
        Fleet {
            addrs: std::slice::from_ref(&self.server.addr),
            pairs: &self.tenant.pairs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_is_utime_plus_stime_after_the_command_name() {
        // A command name with a space and a parenthesis; utime 250, stime 50 ticks.
        let stat = "4242 (tele scope) R 1 4242 4242 0 -1 4194304 1000 0 0 0 250 50 0 0 20 0 9 0 \
                    100 1000000 500 18446744073709551615";
        assert_eq!(
            cpu_from_stat(stat, 100).unwrap(),
            Duration::from_millis(3000)
        );
        assert!(cpu_from_stat("4242 (x) R 1", 100).is_err());
        assert!(cpu_from_stat("no name", 100).is_err());
    }

    #[test]
    fn machine_cpu_is_all_but_idle_and_iowait() {
        let stat = "cpu  100 5 50 1000 20 3 2 10 7 0\ncpu0 1 2 3 4 5 6 7 8 9 0\n";
        assert_eq!(
            busy_from_proc_stat(stat, 100).unwrap(),
            Duration::from_millis(1700)
        );
        assert!(busy_from_proc_stat("cpu 1 2", 100).is_err());
        assert!(busy_from_proc_stat("cpu0 1 2 3 4 5 6 7\n", 100).is_err());
    }

    #[test]
    fn the_config_file_gives_the_child_the_key_and_the_lifted_limits() {
        let config = fixture::config("sqlite://x.db".into(), Some("k\"ey".into()));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("teleoscope.toml");
        std::fs::write(&path, config_file(&config)).unwrap();
        let store = teleoscope_server::config::StoreArgs {
            config: Some(path),
            ..Default::default()
        };
        let loaded = Config::load(&store, &Default::default()).unwrap();
        assert_eq!(loaded.master_key.map(|k| k.0).as_deref(), Some("k\"ey"));
        assert_eq!(loaded.rate_limit_per_second, fixture::UNLIMITED);
        assert_eq!(loaded.device_rate_limit_per_second, fixture::UNLIMITED);
        assert_eq!(loaded.rate_limits, config.rate_limits);
        assert!(loaded
            .rate_limits
            .values()
            .all(|limit| *limit == fixture::UNLIMITED));
    }
}
