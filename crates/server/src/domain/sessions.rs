//! Sessions: the device API's ingest (status heartbeats, metric reports), the reads of the session
//! actions, and the upkeep that ends idle parts, expires heartbeats and scores quality.
//!
//! A session has one field and one remote device; each device's samples form its *part*. The
//! session spans from the earliest part start to the latest part end (part end = its StartTime +
//! last TimeOffset, docs/api.md §2.8) and is live while a part is open. A part ends with `Final` or
//! after `idle_timeout` seconds without a report; a device that comes back later reopens it.

use super::device_login::{DeviceLogin, USE_PROJECT_KEY};
use super::quality::{score_part, score_session};
use super::{rules, Domain};
use crate::errors::{DomainError, Resource, StoreError};
use crate::model::quality::Assessment;
use crate::model::samples::{Columns, Metric, NetColumns};
use crate::model::sessions::{
    Append, AppendOutcome, AppendRejection, FleetOverviewRow, PartMeta, SessionFilter, SessionRow,
    SessionSamples,
};
use crate::model::{AccountId, Device, DeviceStatus, DeviceType, Page};

/// One sample as reported: its offset, its metrics and its links.
#[derive(Debug, Clone, Default)]
pub struct SampleIn {
    pub time_offset: i64,
    /// Each metric's value if reported, indexed by `Metric as usize`.
    pub metrics: [Option<f64>; Metric::COUNT],
    pub nets: Vec<NetIn>,
}

impl SampleIn {
    /// The metrics it reports, as a bit set over `Metric as usize`.
    fn metric_set(&self) -> u32 {
        self.metrics
            .iter()
            .enumerate()
            .fold(0, |set, (i, v)| set | (u32::from(v.is_some()) << i))
    }
}

/// The metrics in a bit set of [`SampleIn::metric_set`], in model order.
fn metrics_in(set: u32) -> impl Iterator<Item = Metric> {
    Metric::ALL
        .into_iter()
        .filter(move |m| set & (1 << *m as u32) != 0)
}

fn metric_names(set: u32) -> String {
    metrics_in(set)
        .map(|m| m.name())
        .collect::<Vec<_>>()
        .join(",")
}

#[derive(Debug, Clone, Default)]
pub struct NetIn {
    pub net_id: i64,
    pub net_ip: Option<String>,
    /// Rtt, Lost, SendBps, RecvBps as reported.
    pub values: [Option<f64>; 4],
}

/// A `ReportSessionMetrics` call, in domain terms.
#[derive(Debug, Clone)]
pub struct MetricsReport {
    pub session_id: String,
    pub peer_device_id: String,
    pub start_time: i64,
    pub meta: PartMeta,
    pub device_type: Option<String>,
    pub samples: Vec<SampleIn>,
    pub last: bool,
}

/// One device's part of an imported session.
#[derive(Debug, Clone)]
pub struct ImportedPart {
    pub device_id: String,
    pub device_type: DeviceType,
    pub start_time: i64,
    pub meta: PartMeta,
    pub columns: Columns,
}

/// How many worst sessions and devices the fleet overview lists (docs/api.md §8.3).
pub const OVERVIEW_LIST: usize = 10;

/// Limits of the device API: the samples of one report (the decoder refuses more, `wire::MAX_SAMPLES`;
/// checked again here for the samples that do not come through it, an import's).
pub const MAX_SAMPLES_PER_REPORT: usize = teleoscope_protocol::wire::MAX_SAMPLES;
/// A week: no device part is longer.
pub const MAX_TIME_OFFSET: i64 = 7 * 24 * 3600;

/// What one round of upkeep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Upkept {
    /// Parts whose chunks were merged.
    pub compacted: u64,
    /// Sessions scored.
    pub scored: u64,
}

/// Builds aligned columns from samples: sorted by offset, every sample carrying the same metrics and
/// the same links (so each array stays aligned with TimeOffset).
pub fn columns_from_samples(mut samples: Vec<SampleIn>) -> Result<Columns, DomainError> {
    if samples.len() > MAX_SAMPLES_PER_REPORT {
        return Err(DomainError::invalid(
            "Samples",
            format!("{} samples", samples.len()),
            format!("at most {MAX_SAMPLES_PER_REPORT} samples per report"),
        ));
    }
    for (i, s) in samples.iter().enumerate() {
        if !(0..=MAX_TIME_OFFSET).contains(&s.time_offset) {
            return Err(DomainError::invalid(
                "TimeOffset",
                format!("{} (Samples.{i})", s.time_offset),
                format!("seconds since the device's StartTime, 0 to {MAX_TIME_OFFSET}"),
            ));
        }
    }
    samples.sort_by_key(|s| s.time_offset);
    for w in samples.windows(2) {
        if w[0].time_offset == w[1].time_offset {
            return Err(DomainError::invalid(
                "TimeOffset",
                w[0].time_offset.to_string(),
                "unique within a report: one sample per TimeOffset",
            ));
        }
    }
    let Some(first) = samples.first() else {
        return Ok(Columns::default());
    };
    let metric_set = first.metric_set();
    let mut net_ids: Vec<i64> = first.nets.iter().map(|n| n.net_id).collect();
    net_ids.sort();
    if net_ids.windows(2).any(|w| w[0] == w[1]) {
        return Err(DomainError::invalid(
            "MultiNet.NetId",
            net_ids[0].to_string(),
            "unique within a sample",
        ));
    }
    let mut c = Columns {
        time_offset: Vec::with_capacity(samples.len()),
        metrics: metrics_in(metric_set)
            .map(|m| (m, Vec::with_capacity(samples.len())))
            .collect(),
        nets: net_ids
            .iter()
            .map(|&id| NetColumns {
                net_id: id,
                ..Default::default()
            })
            .collect(),
    };
    let mut ids: Vec<i64> = Vec::with_capacity(net_ids.len());
    for s in &samples {
        let set = s.metric_set();
        if set != metric_set {
            return Err(DomainError::invalid(
                "Samples",
                format!(
                    "TimeOffset {} reports [{}]",
                    s.time_offset,
                    metric_names(set)
                ),
                format!(
                    "every sample of a report carries the same metrics: [{}]",
                    metric_names(metric_set)
                ),
            ));
        }
        c.time_offset.push(s.time_offset);
        for (m, column) in &mut c.metrics {
            column.push(s.metrics[*m as usize].expect("checked above"));
        }
        ids.clear();
        ids.extend(s.nets.iter().map(|n| n.net_id));
        ids.sort_unstable();
        if ids != net_ids {
            return Err(DomainError::invalid(
                "MultiNet",
                format!("TimeOffset {} reports links {ids:?}", s.time_offset),
                format!("every sample of a report carries the same links: {net_ids:?}"),
            ));
        }
        for n in &s.nets {
            let i = net_ids.binary_search(&n.net_id).expect("checked above");
            let col = &mut c.nets[i];
            if let Some(ip) = &n.net_ip {
                if col.net_ip.is_empty() {
                    col.net_ip = ip.clone();
                }
            }
            for (k, v) in n.values.iter().enumerate() {
                let Some(v) = v else {
                    return Err(DomainError::invalid(
                        "MultiNet",
                        format!("NetId {} at TimeOffset {}", n.net_id, s.time_offset),
                        "each link reports Rtt, Lost, SendBps and RecvBps",
                    ));
                };
                let column = match k {
                    0 => &mut col.rtt,
                    1 => &mut col.lost,
                    2 => &mut col.send_bps,
                    _ => &mut col.recv_bps,
                };
                column.push(*v);
            }
        }
    }
    Ok(c)
}

/// The answer to a report, from the store's answer to its append.
fn appended(
    answer: Result<AppendOutcome, AppendRejection>,
    report: &MetricsReport,
) -> Result<AppendOutcome, DomainError> {
    answer.map_err(|r| DomainError::append_rejected(r, &report.session_id, &report.peer_device_id))
}

impl Domain {
    /// The device of a login, registering it first when the project allows it (`AutoRegister`).
    async fn login_device(
        &self,
        login: &DeviceLogin,
        wanted: Option<DeviceType>,
    ) -> Result<Device, DomainError> {
        if let Some(d) = &login.device {
            return Ok(d.clone());
        }
        let allowed = login.auto_register.allows();
        let device_type = match (wanted, allowed) {
            (Some(t), _) if allowed.contains(&t) => t,
            (None, [only]) => *only,
            (None, [_, _]) => {
                return Err(DomainError::invalid(
                    "DeviceType",
                    "",
                    "`field` or `remote`: needed for a device's first report when the project auto-registers both",
                ))
            }
            _ => return Err(DomainError::Denied("the project does not auto-register this device".into())),
        };
        rules::device_id("DeviceId", &login.device_id)?;
        let now = self.clock.now();
        let device = Device {
            account_id: login.account.clone(),
            project_id: login.project_id.clone(),
            device_id: login.device_id.clone(),
            name: login.device_id.chars().take(23).collect(),
            device_type,
            token_sealed: self.sealer.seal(USE_PROJECT_KEY),
            auto_registered: true,
            status: DeviceStatus::Offline,
            last_report_time: now,
            modify_time: now,
            created_at: now,
        };
        match self.store.insert_auto_device(&device).await {
            Ok(()) => Ok(device),
            // Registered by a concurrent first report.
            Err(StoreError::Conflict) => {
                self.device(&login.account, &login.project_id, &login.device_id)
                    .await
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn report_status(
        &self,
        login: &DeviceLogin,
        status: &str,
        device_type: Option<&str>,
    ) -> Result<DeviceStatus, DomainError> {
        let status = match status {
            "ready" => DeviceStatus::Ready,
            "offline" => DeviceStatus::Offline,
            other => {
                return Err(DomainError::invalid(
                    "Status",
                    other,
                    "`ready` or `offline`",
                ))
            }
        };
        let wanted = device_type.map(parse_type).transpose()?;
        let device = self.login_device(login, wanted).await?;
        self.store
            .report_status(
                &login.account,
                &login.project_id,
                &device.device_id,
                status,
                self.clock.now(),
            )
            .await?
            // Deleted since it logged in: as if it had never been registered.
            .ok_or_else(|| DomainError::not_found(Resource::Device, &device.device_id))
    }

    pub async fn report_metrics(
        &self,
        login: &DeviceLogin,
        mut report: MetricsReport,
    ) -> Result<AppendOutcome, DomainError> {
        // Every string a device sends is checked before anything is read or stored (the README's
        // device API section lists the rules).
        rules::session_id(&report.session_id)?;
        rules::device_id("PeerDeviceId", &report.peer_device_id)?;
        rules::sdk_version(&report.meta.ver)?;
        rules::sdk_mode(&report.meta.sdk_mode)?;
        for (i, sample) in report.samples.iter().enumerate() {
            for (j, net) in sample.nets.iter().enumerate() {
                if let Some(ip) = &net.net_ip {
                    rules::net_ip(|| format!("Samples.{i}.MultiNet.{j}.NetIp"), ip)?;
                }
            }
        }
        let stated_type = report.device_type.as_deref().map(parse_type).transpose()?;
        let now = self.clock.now();
        if report.start_time < 0 || report.start_time > now + 300 {
            return Err(DomainError::invalid(
                "StartTime",
                report.start_time.to_string(),
                "UNIX seconds, not in the future",
            ));
        }
        for (name, v) in [
            ("Width", report.meta.width),
            ("Height", report.meta.height),
            ("ConfigWidth", report.meta.config_width),
            ("ConfigHeight", report.meta.config_height),
        ] {
            rules::in_range(name, v, 0, 16384)?;
        }
        rules::in_range("MultiMode", report.meta.multi_mode, 0, 1)?;
        // Before the device is looked up or registered (AutoRegister): a refused report stores
        // nothing.
        let columns = columns_from_samples(std::mem::take(&mut report.samples))?;
        // The quick path: a registered device reporting into a session it has joined, with the
        // same peer, needs no read before its append; the store checks that inside the write.
        if let Some(device) = &login.device {
            if stated_type.is_none_or(|t| t == device.device_type) {
                let append = self.append_of(login, device, &report, columns.clone(), now, true);
                match self.store.append(append).await? {
                    Err(AppendRejection::NotJoined) => {}
                    answer => return appended(answer, &report),
                }
            }
        }
        let context = self
            .store
            .report_context(
                &login.account,
                &login.project_id,
                &login.device_id,
                &report.peer_device_id,
                &report.session_id,
            )
            .await?;
        let peer = context.peer;
        // A new device's type follows from its peer's unless the report states it.
        let wanted =
            stated_type.or_else(|| peer.as_ref().map(|p| DeviceType::other(p.device_type)));
        let device = self.login_device(login, wanted).await?;
        if let Some(t) = wanted {
            if report.device_type.is_some() && t != device.device_type {
                return Err(DomainError::invalid(
                    "DeviceType",
                    t.as_str(),
                    format!(
                        "the device's registered type, `{}`",
                        device.device_type.as_str()
                    ),
                ));
            }
        }
        // docs/api.md §4.4: the peer must be a device of the other type in the same project, "otherwise
        // OperationDenied".
        let peer = match peer {
            Some(p) if p.device_type != device.device_type => p,
            _ => {
                return Err(DomainError::Denied(format!(
                    "PeerDeviceId `{}` is not a {} device of the project",
                    report.peer_device_id,
                    DeviceType::other(device.device_type).as_str()
                )))
            }
        };
        // Policy decides when a device joins a session (docs/api.md §4.4).
        if !context.joined {
            let (remote, field) = match device.device_type {
                DeviceType::Remote => (&device.device_id, &peer.device_id),
                DeviceType::Field => (&peer.device_id, &device.device_id),
            };
            if !self
                .policy_allows(&login.account, &login.project_id, remote, field)
                .await?
            {
                return Err(DomainError::Denied(format!(
                    "the project's policy does not let remote device `{remote}` control field device `{field}`"
                )));
            }
        }
        let append = self.append_of(login, &device, &report, columns, now, false);
        let answer = self.store.append(append).await?;
        appended(answer, &report)
    }

    /// The append of a device's report (`report.peer_device_id` has been checked to name its peer).
    fn append_of(
        &self,
        login: &DeviceLogin,
        device: &Device,
        report: &MetricsReport,
        columns: Columns,
        now: i64,
        joined_only: bool,
    ) -> Append {
        Append {
            account: login.account.clone(),
            project_id: login.project_id.clone(),
            session_id: report.session_id.clone(),
            device_id: device.device_id.clone(),
            device_type: device.device_type,
            peer_device_id: report.peer_device_id.clone(),
            start_time: report.start_time,
            meta: report.meta.clone(),
            columns,
            last: report.last,
            now,
            from_device: true,
            joined_only,
        }
    }

    /// Imports a finished session (e.g. exported from the cloud service): creates the devices that
    /// are missing, with their type, and stores both parts as ended. History is not subject to the
    /// policy, which decides only when live sessions start. Returns the samples stored.
    pub async fn import_session(
        &self,
        account: &AccountId,
        project_id: &str,
        session_id: &str,
        parts: Vec<ImportedPart>,
    ) -> Result<u64, DomainError> {
        rules::session_id(session_id)?;
        self.project(account, project_id).await?;
        let field = parts.iter().find(|p| p.device_type == DeviceType::Field);
        let remote = parts.iter().find(|p| p.device_type == DeviceType::Remote);
        let (Some(field), Some(remote)) = (field, remote) else {
            return Err(DomainError::invalid(
                "Details",
                session_id,
                "one field and one remote device per session",
            ));
        };
        let (field_id, remote_id) = (field.device_id.clone(), remote.device_id.clone());
        let mut stored = 0;
        for part in parts {
            rules::device_id("DeviceId", &part.device_id)?;
            match self
                .store
                .device(account, project_id, &part.device_id)
                .await?
            {
                Some(d) if d.device_type != part.device_type => {
                    return Err(DomainError::invalid(
                        "DeviceType",
                        part.device_type.as_str(),
                        format!(
                            "the type of existing device `{}`, `{}`",
                            d.device_id,
                            d.device_type.as_str()
                        ),
                    ))
                }
                Some(_) => {}
                None => {
                    let token = super::ids::device_token();
                    let name: String = part.device_id.chars().take(23).collect();
                    let new = super::devices::NewDevice {
                        device_id: &part.device_id,
                        name: &name,
                        device_type: part.device_type.as_str(),
                        token: &token,
                    };
                    self.create_device(account, project_id, new).await?;
                }
            }
            let peer = if part.device_type == DeviceType::Field {
                &remote_id
            } else {
                &field_id
            };
            let end = part.start_time + part.columns.time_offset.last().copied().unwrap_or(0);
            let append = Append {
                account: account.clone(),
                project_id: project_id.to_owned(),
                session_id: session_id.to_owned(),
                device_id: part.device_id.clone(),
                device_type: part.device_type,
                peer_device_id: peer.clone(),
                start_time: part.start_time,
                meta: part.meta,
                columns: part.columns,
                last: true,
                now: end,
                from_device: false,
                joined_only: false,
            };
            match self.store.append(append).await? {
                Ok(outcome) => stored += outcome.accepted,
                Err(r) => return Err(DomainError::append_rejected(r, session_id, peer)),
            }
        }
        Ok(stored)
    }

    /// A session with its parts' samples, optionally cut to [from, to] by absolute time.
    pub async fn session_details(
        &self,
        account: &AccountId,
        session_id: &str,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<SessionSamples, DomainError> {
        self.store
            .session_samples(account, session_id, from, to)
            .await?
            .ok_or_else(|| DomainError::not_found(Resource::Session, session_id))
    }

    pub async fn list_sessions(
        &self,
        account: &AccountId,
        project_id: &str,
        filter: &SessionFilter,
        page: Page,
    ) -> Result<(u64, Vec<SessionRow>), DomainError> {
        self.project(account, project_id).await?;
        Ok(self
            .store
            .list_sessions(account, project_id, filter, page)
            .await?)
    }

    /// The fleet overview of the project's sessions that start in [from, to) (DescribeFleetOverview):
    /// the count per grade, and the [`OVERVIEW_LIST`] worst sessions and devices with most bad
    /// sessions.
    pub async fn fleet_overview(
        &self,
        account: &AccountId,
        project_id: &str,
        window: (i64, i64),
    ) -> Result<FleetOverviewRow, DomainError> {
        self.project(account, project_id).await?;
        Ok(self
            .store
            .fleet_overview(account, project_id, window, OVERVIEW_LIST)
            .await?)
    }

    /// Ends idle parts, expires heartbeats, merges many small chunks into one, and scores the
    /// sessions whose quality is stale.
    /// The server runs it every second; tests call it after moving a `ManualClock`. Returns how
    /// much it did: none of either when it found nothing due.
    pub async fn upkeep(&self) -> Result<Upkept, DomainError> {
        match self.upkeep_round().await {
            // The store is full or unreachable: it reports not-ready; the next round tries again.
            Err(DomainError::Store(StoreError::Full(_) | StoreError::Unavailable(_))) => {
                Ok(Upkept::default())
            }
            other => other,
        }
    }

    async fn upkeep_round(&self) -> Result<Upkept, DomainError> {
        let now = self.clock.now();
        let s = &self.settings;
        let ended = self
            .store
            .end_idle_parts(now - s.idle_timeout, now - s.heartbeat_timeout, now)
            .await?;
        if ended > 0 {
            // Exactly one node ends each part: the multi-node test adds these up across nodes.
            tracing::info!(parts = ended, "idle parts ended");
        }
        self.store
            .expire_heartbeats(now - s.heartbeat_timeout, now)
            .await?;
        let mut done = Upkept::default();
        loop {
            let n = self.store.compact_parts(100).await?;
            done.compacted += n;
            if n < 100 {
                break;
            }
        }
        loop {
            let keys = self.store.sessions_to_score(200).await?;
            for key in &keys {
                self.score(*key).await?;
            }
            done.scored += keys.len() as u64;
            if keys.len() < 200 {
                break;
            }
        }
        Ok(done)
    }

    /// Retention (`retention_days`): removes the samples older than the configured days, keeping
    /// sessions, grades and rollups; returns how many chunks or partitions went. Nothing when
    /// retention is off. The server runs it at start and every hour.
    pub async fn apply_retention(&self) -> Result<u64, DomainError> {
        let Some(keep) = self.settings.retention else {
            return Ok(0);
        };
        let dropped = self
            .store
            .drop_samples_before(self.clock.now() - keep)
            .await?;
        if dropped > 0 {
            tracing::info!(dropped, "samples past retention removed");
        }
        Ok(dropped)
    }

    /// Scores one session from its stored samples: provisional while live, final once ended.
    pub async fn score(&self, session_key: i64) -> Result<Assessment, DomainError> {
        let Some(SessionSamples { session, parts }) =
            self.store.session_to_score(session_key).await?
        else {
            return Err(DomainError::not_found(
                Resource::Session,
                session_key.to_string(),
            ));
        };
        let assessments: Vec<Assessment> = parts
            .iter()
            .map(|p| score_part(p.part.device_type, &p.columns, &self.settings.quality))
            .collect();
        let result = score_session(&assessments);
        self.store
            .save_quality(session_key, &result, !session.live, session.last_update)
            .await?;
        Ok(result)
    }
}

fn parse_type(t: &str) -> Result<DeviceType, DomainError> {
    DeviceType::parse(t).ok_or_else(|| DomainError::invalid("DeviceType", t, "`field` or `remote`"))
}
