//! Round-trips the vendor's own examples (`vendor/trro-2022-03-25/examples.json`)
//! through the generated wire types, for every served action:
//!
//! * the example request body is accepted as written by `params::from_json` (PRODUCT.md
//!   section 2: "every example request ... is accepted as written"), and serializing the decoded
//!   request gives back the example's fields (numeric strings such as `"EndTime": "1670000000"`
//!   coerced to numbers);
//! * the example answer (minus `RequestId`, which the envelope adds) deserializes into the
//!   response type, and serializing it back yields every field of the example with an equal value
//!   ("the answer carries at least the fields of the example's answer").
//!
//! Every failure is collected and printed before the test fails, naming action, example and field.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;
use teleoscope_protocol::params::{self, Field, Kind, Params};
use teleoscope_protocol::wire::{self, *};

fn examples_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../vendor/trro-2022-03-25/examples.json")
}

/// The JSON body of an example request: the text after the first blank line.
fn request_body(input: &str) -> Option<&str> {
    let normalized_at = input
        .find("\n\n")
        .map(|at| at + 2)
        .or_else(|| input.find("\r\n\r\n").map(|at| at + 4))?;
    Some(&input[normalized_at..])
}

/// The example's request with numeric strings in Integer/Float fields turned into numbers, using
/// the schema's kinds (and nothing from `params`, which is what is under test).
fn coerce(fields: &[Field], value: &Value) -> Value {
    let Value::Object(members) = value else {
        return value.clone();
    };
    let mut out = serde_json::Map::new();
    for (name, v) in members {
        let kind = fields.iter().find(|f| f.name == name).map(|f| f.kind);
        out.insert(
            name.clone(),
            match kind {
                Some(kind) => coerce_kind(kind, v),
                None => v.clone(),
            },
        );
    }
    Value::Object(out)
}

fn coerce_kind(kind: Kind, v: &Value) -> Value {
    match (kind, v) {
        (Kind::Integer, Value::String(s)) => s
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| v.clone()),
        (Kind::Float, Value::String(s)) => s
            .parse::<f64>()
            .map(Value::from)
            .unwrap_or_else(|_| v.clone()),
        (Kind::List(element), Value::Array(items)) => Value::Array(
            items
                .iter()
                .map(|item| coerce_kind(*element, item))
                .collect(),
        ),
        (Kind::Object(fields), Value::Object(_)) => coerce(fields, v),
        _ => v.clone(),
    }
}

/// Differences where `ours` lacks or changes something of `example` (extra fields in `ours` are
/// fine: the example may omit fields, our output has them all).
fn missing_from(example: &Value, ours: &Value, path: &str, out: &mut Vec<String>) {
    match (example, ours) {
        (Value::Object(e), Value::Object(o)) => {
            for (k, ev) in e {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match o.get(k) {
                    Some(ov) => missing_from(ev, ov, &p, out),
                    None => out.push(format!("{p}: absent from our output (example has {ev})")),
                }
            }
        }
        (Value::Array(e), Value::Array(o)) if e.len() == o.len() => {
            for (i, (ev, ov)) in e.iter().zip(o).enumerate() {
                missing_from(ev, ov, &format!("{path}.{i}"), out);
            }
        }
        _ if example == ours => {}
        _ => out.push(format!("{path}: example has {example}, ours is {ours}")),
    }
}

/// Serialize through text, as the server would, and read the text back.
fn wire_value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::from_str(&serde_json::to_string(value).expect("serialize")).expect("reparse")
}

fn check_example<Req, Resp>(example: &Value) -> Result<(), Vec<String>>
where
    Req: Params + serde::Serialize,
    Resp: serde::de::DeserializeOwned + serde::Serialize,
{
    let mut problems = Vec::new();

    // (a) the request, accepted as written.
    let input = example["input"]
        .as_str()
        .ok_or_else(|| vec!["no input text".to_owned()])?;
    let body =
        request_body(input).ok_or_else(|| vec!["no blank line before the body".to_owned()])?;
    match params::from_json::<Req>(body.as_bytes()) {
        Err(e) => problems.push(format!("request not accepted as written: {e:?}")),
        Ok(request) => {
            let example_body: Value = serde_json::from_str(body).expect("example body is JSON");
            let expected = coerce(Req::FIELDS, &example_body);
            let ours = wire_value(&request);
            if ours != expected {
                problems.push(format!(
                    "request round-trip differs: example {expected}, ours {ours}"
                ));
            }
        }
    }

    // (b) the response, every example field carried back.
    let output = example["output"]
        .as_str()
        .ok_or_else(|| vec!["no output text".to_owned()])?;
    let output: Value =
        serde_json::from_str(output).map_err(|e| vec![format!("output is not JSON: {e}")])?;
    let mut response = output["Response"].clone();
    let Some(members) = response.as_object_mut() else {
        return Err(vec!["output has no Response object".to_owned()]);
    };
    if members.remove("RequestId").is_none() {
        problems.push("example Response has no RequestId".to_owned());
    }
    match serde_json::from_value::<Resp>(response.clone()) {
        Err(e) => problems.push(format!("response does not deserialize: {e}")),
        Ok(decoded) => {
            let mut diffs = Vec::new();
            missing_from(&response, &wire_value(&decoded), "", &mut diffs);
            problems.extend(diffs.into_iter().map(|d| format!("response field {d}")));
        }
    }

    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

macro_rules! served {
    ($($action:ident => $request:ty, $response:ty;)*) => {
        const LISTED: &[&str] = &[$(stringify!($action)),*];

        /// `None` for an action not listed here.
        fn check(action: &str, example: &Value) -> Option<Result<(), Vec<String>>> {
            match action {
                $(stringify!($action) => Some(check_example::<$request, $response>(example)),)*
                _ => None,
            }
        }
    };
}

served! {
    DescribeDeviceSessionList => DescribeDeviceSessionListRequest, DescribeDeviceSessionListResponse;
    DescribeDeviceSessionDetails => DescribeDeviceSessionDetailsRequest, DescribeDeviceSessionDetailsResponse;
    DescribeRecentSessionList => DescribeRecentSessionListRequest, DescribeRecentSessionListResponse;
    DescribeSessionStatistics => DescribeSessionStatisticsRequest, DescribeSessionStatisticsResponse;
    DescribeSessionStatisticsByInterval => DescribeSessionStatisticsByIntervalRequest, DescribeSessionStatisticsByIntervalResponse;
    GetTotalDuration => GetTotalDurationRequest, GetTotalDurationResponse;
    GetDurationDetails => GetDurationDetailsRequest, GetDurationDetailsResponse;
    CreateProject => CreateProjectRequest, CreateProjectResponse;
    DescribeProjectList => DescribeProjectListRequest, DescribeProjectListResponse;
    DescribeProjectInfo => DescribeProjectInfoRequest, DescribeProjectInfoResponse;
    ModifyProject => ModifyProjectRequest, ModifyProjectResponse;
    DeleteProject => DeleteProjectRequest, DeleteProjectResponse;
    ModifyProjectSecMode => ModifyProjectSecModeRequest, ModifyProjectSecModeResponse;
    CreateDevice => CreateDeviceRequest, CreateDeviceResponse;
    DescribeDeviceList => DescribeDeviceListRequest, DescribeDeviceListResponse;
    DescribeDeviceInfo => DescribeDeviceInfoRequest, DescribeDeviceInfoResponse;
    ModifyDevice => ModifyDeviceRequest, ModifyDeviceResponse;
    BatchDeleteDevices => BatchDeleteDevicesRequest, BatchDeleteDevicesResponse;
    ModifyPolicy => ModifyPolicyRequest, ModifyPolicyResponse;
    DescribePolicy => DescribePolicyRequest, DescribePolicyResponse;
    BatchDeletePolicy => BatchDeletePolicyRequest, BatchDeletePolicyResponse;
    ModifyCallbackUrl => ModifyCallbackUrlRequest, ModifyCallbackUrlResponse;
}

#[test]
fn the_macro_lists_exactly_the_served_actions() {
    assert_eq!(LISTED, wire::SERVED_ACTIONS);
    assert_eq!(wire::SERVED_ACTIONS.len(), 22);
    for action in wire::SERVED_ACTIONS {
        assert!(
            wire::VENDOR_ACTIONS.contains(action),
            "{action} is not a vendor action"
        );
    }
}

#[test]
fn vendor_examples_round_trip() {
    let path = examples_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let examples: Value = serde_json::from_str(&text).expect("examples.json is JSON");
    let actions = examples["actions"]
        .as_object()
        .expect("examples.json has actions");

    let mut covered = BTreeSet::new();
    let mut checked = 0;
    let mut failures = Vec::new();
    for &action in wire::SERVED_ACTIONS {
        let list = actions
            .get(action)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if list.is_empty() {
            failures.push(format!("{action}: no example in examples.json"));
        }
        for (i, example) in list.iter().enumerate() {
            let title = example["title"].as_str().unwrap_or("");
            match check(action, example) {
                None => failures.push(format!("{action}: not dispatched by the test")),
                Some(Ok(())) => {
                    covered.insert(action);
                    checked += 1;
                }
                Some(Err(problems)) => {
                    for p in problems {
                        failures.push(format!("{action} example {i} ({title}): {p}"));
                    }
                }
            }
        }
    }

    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(covered.len(), 22, "actions covered: {covered:?}");
    assert!(checked >= 22, "examples checked: {checked}");
}

#[test]
fn numeric_string_in_an_example_is_coerced() {
    // The DescribeDeviceSessionList example sends `"EndTime": "1670000000"` (a string).
    let request: DescribeDeviceSessionListRequest = params::from_json(
        br#"{"PageNumber": 1, "PageSize": 10, "ProjectId": "abcdefg", "DeviceId": "dev2",
             "StartTime": 1650000000, "EndTime": "1670000000"}"#,
    )
    .unwrap();
    assert_eq!(request.EndTime, Some(1_670_000_000));
}
