//! `teleoscope import --project PID FILE...`: loads `DescribeDeviceSessionDetails` responses as the
//! vendor returns them (`{"Response": {"Details": [...]}}`, or the bare `{"Details": [...]}`), so data
//! exported from the cloud service moves over. Missing devices are created with their type.

use crate::domain::sessions::ImportedPart;
use crate::domain::Domain;
use crate::model::samples::{Columns, Metric, NetColumns};
use crate::model::sessions::PartMeta;
use crate::model::DeviceType;
use anyhow::{bail, Context};
use teleoscope_protocol::wire::{DescribeDeviceSessionDetailsResponse, Float, SessionDeviceDetail};

fn floats(v: &[Float]) -> Vec<f64> {
    v.iter().map(|f| f.0).collect()
}

fn ints(v: &[i64]) -> Vec<f64> {
    v.iter().map(|i| *i as f64).collect()
}

/// The columns of one device detail; every non-empty array must be aligned with TimeOffset.
pub fn columns(d: &SessionDeviceDetail) -> anyhow::Result<Columns> {
    let n = d.TimeOffset.len();
    let arrays: Vec<(Metric, Vec<f64>)> = vec![
        (Metric::Rate, ints(&d.Rate)),
        (Metric::Fps, ints(&d.Fps)),
        (Metric::Lost, floats(&d.Lost)),
        (Metric::NetworkLatency, ints(&d.NetworkLatency)),
        (Metric::VideoLatency, ints(&d.VideoLatency)),
        (Metric::CpuUsed, floats(&d.CpuUsed)),
        (Metric::MemUsed, floats(&d.MemUsed)),
        (Metric::DecodeCost, ints(&d.DecodeCost)),
        (Metric::K100, floats(&d.K100)),
        (Metric::K150, floats(&d.K150)),
        (Metric::NACK, ints(&d.NACK)),
        (Metric::BitRateEstimate, ints(&d.BitRateEstimate)),
        (Metric::EncodeCost, ints(&d.EncodeCost)),
        (Metric::CaptureCost, ints(&d.CaptureCost)),
        (Metric::RenderCost, ints(&d.RenderCost)),
        (Metric::FrameDelta, ints(&d.FrameDelta)),
        (Metric::MaxFrameDelta, ints(&d.MaxFrameDelta)),
        (Metric::TotalBitrateEstimate, ints(&d.TotalBitrateEstimate)),
        (Metric::Lag100Duration, ints(&d.Lag100Duration)),
        (Metric::Lag150Duration, ints(&d.Lag150Duration)),
        (Metric::ControlLatency, ints(&d.ControlLatency)),
    ];
    let mut metrics = Vec::new();
    for (m, v) in arrays {
        match v.len() {
            0 => {}
            len if len == n => metrics.push((m, v)),
            len => bail!(
                "{} of device {} has {len} values for {n} TimeOffsets",
                m.name(),
                d.DeviceId
            ),
        }
    }
    let mut nets = Vec::new();
    for net in &d.MultiNet {
        let cols = [&net.Rtt, &net.Lost, &net.SendBps, &net.RecvBps];
        if cols.iter().any(|c| c.len() != n) {
            bail!(
                "MultiNet {} of device {} is not aligned with its {n} TimeOffsets",
                net.NetId,
                d.DeviceId
            );
        }
        nets.push(NetColumns {
            net_id: net.NetId,
            net_ip: net.NetIp.clone(),
            rtt: ints(&net.Rtt),
            lost: ints(&net.Lost),
            send_bps: ints(&net.SendBps),
            recv_bps: ints(&net.RecvBps),
        });
    }
    nets.sort_by_key(|n| n.net_id);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| d.TimeOffset[i]);
    if order
        .windows(2)
        .any(|w| d.TimeOffset[w[0]] == d.TimeOffset[w[1]])
    {
        bail!("device {} repeats a TimeOffset", d.DeviceId);
    }
    let c = Columns {
        time_offset: d.TimeOffset.clone(),
        metrics,
        nets,
    };
    // Already in order in every vendor export seen; sort defensively.
    Ok(c.select(&order))
}

/// The details of a response file, by session.
pub fn parse(text: &str) -> anyhow::Result<Vec<SessionDeviceDetail>> {
    let value: serde_json::Value = serde_json::from_str(text)?;
    let inner = value.get("Response").cloned().unwrap_or(value);
    let response: DescribeDeviceSessionDetailsResponse = serde_json::from_value(inner)?;
    Ok(response.Details)
}

pub async fn run(
    domain: &Domain,
    project_id: &str,
    files: &[std::path::PathBuf],
) -> anyhow::Result<()> {
    let project = domain
        .store
        .project_by_id(project_id)
        .await?
        .with_context(|| format!("no project `{project_id}` in this store"))?;
    let (mut sessions, mut samples) = (0u64, 0u64);
    for file in files {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let details = parse(&text).with_context(|| {
            format!(
                "{}: not a DescribeDeviceSessionDetails response",
                file.display()
            )
        })?;
        let mut by_session: std::collections::BTreeMap<String, Vec<ImportedPart>> =
            Default::default();
        for d in &details {
            let device_type = DeviceType::parse(&d.DeviceType).with_context(|| {
                format!(
                    "{}: DeviceType `{}` is not field or remote",
                    file.display(),
                    d.DeviceType
                )
            })?;
            by_session
                .entry(d.SessionId.clone())
                .or_default()
                .push(ImportedPart {
                    device_id: d.DeviceId.clone(),
                    device_type,
                    start_time: d.StartTime,
                    meta: PartMeta {
                        ver: d.Ver.clone(),
                        sdk_mode: d.SdkMode.clone(),
                        width: d.Width,
                        height: d.Height,
                        config_width: d.ConfigWidth,
                        config_height: d.ConfigHeight,
                        multi_mode: d.MultiMode,
                    },
                    columns: columns(d).with_context(|| file.display().to_string())?,
                });
        }
        for (session_id, parts) in by_session {
            let n = domain
                .import_session(&project.account_id, project_id, &session_id, parts)
                .await
                .map_err(|e| anyhow::anyhow!("{}: session {session_id}: {e}", file.display()))?;
            sessions += 1;
            samples += n;
        }
    }
    // Score what was imported now rather than at the server's next upkeep.
    domain.upkeep().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("imported {sessions} sessions, {samples} new samples into project {project_id}");
    Ok(())
}
