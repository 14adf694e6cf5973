//! Business parameters: schema-driven, lenient decoding of an action's request parameters.
//!
//! Sits between the signature check and the action handlers: once a request is authenticated and
//! its common parameters (`Action`, `Version`, `Region`, `Timestamp`, `Nonce`, `SecretId`,
//! `Signature`, `SignatureMethod`, `Token`, `Language`, `RequestClient`) are removed, the rest is
//! decoded here into the action's request type. The schema ([`Field`], [`Kind`]) mirrors the
//! vendor model and is generated with the wire types (`wire::*Request` implement [`Params`]);
//! hand-written actions can pass their own schema to [`normalize_json`] / [`normalize_pairs`].
//!
//! Two inputs, one set of rules:
//! * a JSON object body (TC3 POST), decoded from the raw bytes, and
//! * flattened `name=value` pairs (GET query, v1 form), already percent-decoded:
//!   `Filters.0.Name=a`, `DeviceIds.1=dev-2` (docs/protocol.md §1.5).
//!
//! Leniency (docs/protocol.md §7 item 9, docs/api.md §2.4) — real clients and the vendor's
//! own examples send these, so the service accepts them:
//! * JSON `null` means "absent", for known and unknown names alike.
//! * Integer: a JSON integer within `i64`, or a string of an optional `-` and ASCII digits within
//!   `i64` (the TRRO example sends `"EndTime": "1670000000"`; `tccli --cli-input-json` sends
//!   `"PageNumber": "1"`). `1.5`, `1.0`, `1e3`, `"abc"`, `""`, `true` are type errors.
//! * Float: any JSON number, or a string holding a finite decimal number (`-1.5`, `.5`, `2e3`).
//! * String: a JSON string, or a number or boolean, stringified as its JSON text.
//! * Boolean: `true`/`false`, or the strings `"true"`, `"false"` and (Python's `str(bool)`, which
//!   its SDK uses when flattening) `"True"`, `"False"`.
//! * List: a JSON array, each element decoded with the element kind; in pairs `Name.<index>` with
//!   0-based indexes that may be sparse or unordered: the list is built in index order.
//! * Object: a JSON object checked against its own fields, recursively; in pairs `Name.<Field>`.
//!
//! Pairs have no `null`, so an empty value stands for "absent" except for a String, where
//! `Name=` is the empty string (the Go SDK always sends `Region=`, and POST JSON can say `""`).
//! An unknown name with an empty value is ignored like an unknown name with a `null` value.
//! A name given twice keeps the last value (as a JSON object with a repeated key does).
//!
//! Errors are deterministic; the first error of the first failing step is reported:
//! 1. [`ParamError::Malformed`]: the body is not JSON, or not a JSON object.
//! 2. [`ParamError::Unknown`]: the first unknown name in input order (the order of the keys in the
//!    body text, depth first; for pairs, the order of the pairs).
//! 3. [`ParamError::Missing`]: the first absent required field in schema order, depth first.
//! 4. [`ParamError::Type`]: the first value of the wrong type in schema order, depth first.
//!
//! Paths in errors are dotted: `Foo`, `Filters.0.Name`. A nested name is checked only where its
//! container has the right shape; a container of the wrong shape is a type error in step 4.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// The type of one parameter, as the vendor model names it.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// `string` and `datetime_iso` members.
    String,
    /// `int64` and `uint64` members, decoded as `i64`.
    Integer,
    /// `float` members, decoded as `f64`.
    Float,
    /// `bool` members.
    Boolean,
    /// A list of the element kind.
    List(&'static Kind),
    /// A structure with its own fields.
    Object(&'static [Field]),
}

impl Kind {
    /// The type name used in [`ParamError::Type`]: "Integer", "Float", "String", "Boolean",
    /// "Array" or "Object".
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::String => "String",
            Kind::Integer => "Integer",
            Kind::Float => "Float",
            Kind::Boolean => "Boolean",
            Kind::List(_) => "Array",
            Kind::Object(_) => "Object",
        }
    }
}

/// One parameter of a request (or of a nested structure).
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The vendor's name, case-sensitive (`ProjectId`).
    pub name: &'static str,
    /// Its type.
    pub kind: Kind,
    /// Whether the vendor model marks it required.
    pub required: bool,
}

/// A request type whose parameters are described by a schema.
pub trait Params: serde::de::DeserializeOwned {
    /// The request's parameters, in the vendor model's order.
    const FIELDS: &'static [Field];
}

/// Why a request's business parameters were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamError {
    /// The body is not valid JSON or not a JSON object; the detail says what was wrong.
    Malformed(String),
    /// A parameter the action does not have; dotted path, e.g. "Foo" or "MultiNet.0.Bar".
    Unknown(String),
    /// A required parameter is absent (or null); dotted path.
    Missing(String),
    /// A value of the wrong type after lenient coercion; dotted path and the expected type name
    /// ("Integer", "Float", "String", "Boolean", "Array", "Object").
    Type {
        path: String,
        expected: &'static str,
    },
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamError::Malformed(detail) => write!(f, "malformed request parameters: {detail}"),
            ParamError::Unknown(path) => write!(f, "unknown parameter `{path}`"),
            ParamError::Missing(path) => write!(f, "missing required parameter `{path}`"),
            ParamError::Type { path, expected } => {
                write!(f, "parameter `{path}` must be of type {expected}")
            }
        }
    }
}

impl std::error::Error for ParamError {}

/// Decode a JSON request body (raw bytes as received).
pub fn from_json<T: Params>(body: &[u8]) -> Result<T, ParamError> {
    let tree: Json =
        serde_json::from_slice(body).map_err(|e| ParamError::Malformed(e.to_string()))?;
    typed(normalize_tree(T::FIELDS, tree)?)
}

/// Decode flattened parameters (GET query / v1 form, already percent-decoded, common parameters removed):
/// `Filters.0.Name=a`, `DeviceIds.1=dev-2`.
pub fn from_pairs<T: Params>(pairs: &[(String, String)]) -> Result<T, ParamError> {
    typed(normalize_pairs(T::FIELDS, pairs)?)
}

/// Lower-level: the same checks producing the normalized JSON value (used for hand-written device actions too).
///
/// The normalized value is an object holding only the present fields: integers as JSON integers,
/// floats as JSON numbers (`f64`), strings as strings, booleans as booleans. "Input order" for
/// unknown names is the iteration order of the given map.
pub fn normalize_json(fields: &'static [Field], value: Value) -> Result<Value, ParamError> {
    normalize_tree(fields, Json::from(value))
}

/// Lower-level: [`from_pairs`] producing the normalized JSON value (see [`normalize_json`]).
pub fn normalize_pairs(
    fields: &'static [Field],
    pairs: &[(String, String)],
) -> Result<Value, ParamError> {
    // Step 2: unknown names, in the order of the pairs. Unknown names with an empty value are
    // dropped here (pairs cannot say `null`; the Go SDK sends empty values).
    let mut root = Node::default();
    for (key, value) in pairs {
        let segments: Vec<&str> = key.split('.').collect();
        if let Err(unknown) = check_key(fields, &segments) {
            if value.is_empty() {
                continue;
            }
            return Err(unknown);
        }
        root.insert(&segments, value);
    }
    let members = object_from_nodes(fields, root.children);
    check_missing(fields, &members, "")?;
    convert_object(fields, &members, "")
}

fn typed<T: Params>(value: Value) -> Result<T, ParamError> {
    // Cannot fail when `T::FIELDS` matches `T`'s serde shape; if it ever does, say so.
    serde_json::from_value(value).map_err(|e| ParamError::Malformed(e.to_string()))
}

fn normalize_tree(fields: &'static [Field], tree: Json) -> Result<Value, ParamError> {
    let Json::Object(members) = tree else {
        return Err(ParamError::Malformed(
            "the request body must be a JSON object".to_owned(),
        ));
    };
    check_unknown(fields, &members, "")?;
    check_missing(fields, &members, "")?;
    convert_object(fields, &members, "")
}

/// A parsed JSON value that keeps object members in input order (serde_json's `Map` sorts them
/// unless its `preserve_order` feature is on), so "the first unknown name" is the first in the text.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl From<Value> for Json {
    fn from(value: Value) -> Self {
        match value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(b),
            Value::Number(n) => Json::Number(n),
            Value::String(s) => Json::String(s),
            Value::Array(items) => Json::Array(items.into_iter().map(Json::from).collect()),
            Value::Object(map) => {
                Json::Object(map.into_iter().map(|(k, v)| (k, Json::from(v))).collect())
            }
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct JsonVisitor;

        impl<'de> Visitor<'de> for JsonVisitor {
            type Value = Json;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }

            fn visit_unit<E: de::Error>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }

            fn visit_none<E: de::Error>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }

            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
                Json::deserialize(d)
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Json, E> {
                Ok(Json::Bool(v))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Json, E> {
                Ok(Json::Number(v.into()))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Json, E> {
                Ok(Json::Number(v.into()))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Json, E> {
                Number::from_f64(v)
                    .map(Json::Number)
                    .ok_or_else(|| E::custom("number out of range"))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Json, E> {
                Ok(Json::String(v.to_owned()))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Json, E> {
                Ok(Json::String(v))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Json::Array(items))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
                let mut members: Vec<(String, Json)> = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, Json>()? {
                    // A repeated key keeps its first position and its last value, like
                    // serde_json's `Value` and Python's `json.loads`.
                    match members.iter_mut().find(|(k, _)| *k == key) {
                        Some(slot) => slot.1 = value,
                        None => members.push((key, value)),
                    }
                }
                Ok(Json::Object(members))
            }
        }

        deserializer.deserialize_any(JsonVisitor)
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

fn lookup(fields: &'static [Field], name: &str) -> Option<&'static Field> {
    fields.iter().find(|f| f.name == name)
}

/// The present (non-null) value of a field.
fn member<'a>(members: &'a [(String, Json)], name: &str) -> Option<&'a Json> {
    members
        .iter()
        .find(|(k, v)| k == name && !matches!(v, Json::Null))
        .map(|(_, v)| v)
}

/// Step 2 for JSON: unknown names, depth first in input order.
fn check_unknown(
    fields: &'static [Field],
    members: &[(String, Json)],
    prefix: &str,
) -> Result<(), ParamError> {
    for (name, value) in members {
        if matches!(value, Json::Null) {
            continue;
        }
        let path = join(prefix, name);
        let field = lookup(fields, name).ok_or_else(|| ParamError::Unknown(path.clone()))?;
        check_unknown_in(field.kind, value, &path)?;
    }
    Ok(())
}

fn check_unknown_in(kind: Kind, value: &Json, path: &str) -> Result<(), ParamError> {
    match (kind, value) {
        (Kind::Object(fields), Json::Object(members)) => check_unknown(fields, members, path),
        (Kind::List(element), Json::Array(items)) => {
            items.iter().enumerate().try_for_each(|(i, item)| {
                check_unknown_in(*element, item, &join(path, &i.to_string()))
            })
        }
        _ => Ok(()),
    }
}

/// Step 3: absent required fields, depth first in schema order.
fn check_missing(
    fields: &'static [Field],
    members: &[(String, Json)],
    prefix: &str,
) -> Result<(), ParamError> {
    for field in fields {
        let path = join(prefix, field.name);
        match member(members, field.name) {
            None if field.required => return Err(ParamError::Missing(path)),
            None => {}
            Some(value) => check_missing_in(field.kind, value, &path)?,
        }
    }
    Ok(())
}

fn check_missing_in(kind: Kind, value: &Json, path: &str) -> Result<(), ParamError> {
    match (kind, value) {
        (Kind::Object(fields), Json::Object(members)) => check_missing(fields, members, path),
        (Kind::List(element), Json::Array(items)) => {
            items.iter().enumerate().try_for_each(|(i, item)| {
                check_missing_in(*element, item, &join(path, &i.to_string()))
            })
        }
        _ => Ok(()),
    }
}

/// Step 4: coerce every present field, depth first in schema order.
fn convert_object(
    fields: &'static [Field],
    members: &[(String, Json)],
    prefix: &str,
) -> Result<Value, ParamError> {
    let mut out = Map::new();
    for field in fields {
        if let Some(value) = member(members, field.name) {
            let path = join(prefix, field.name);
            out.insert(field.name.to_owned(), convert(field.kind, value, &path)?);
        }
    }
    Ok(Value::Object(out))
}

fn convert(kind: Kind, value: &Json, path: &str) -> Result<Value, ParamError> {
    let converted = match (kind, value) {
        (Kind::Integer, Json::Number(n)) => n.as_i64().map(Value::from),
        (Kind::Integer, Json::String(s)) => parse_integer(s).map(Value::from),
        (Kind::Float, Json::Number(n)) => n.as_f64().and_then(Number::from_f64).map(Value::Number),
        (Kind::Float, Json::String(s)) => parse_decimal(s)
            .and_then(Number::from_f64)
            .map(Value::Number),
        (Kind::String, Json::String(s)) => Some(Value::String(s.clone())),
        (Kind::String, Json::Number(n)) => Some(Value::String(n.to_string())),
        (Kind::String, Json::Bool(b)) => Some(Value::String(b.to_string())),
        (Kind::Boolean, Json::Bool(b)) => Some(Value::Bool(*b)),
        (Kind::Boolean, Json::String(s)) => match s.as_str() {
            "true" | "True" => Some(Value::Bool(true)),
            "false" | "False" => Some(Value::Bool(false)),
            _ => None,
        },
        (Kind::List(element), Json::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(convert(*element, item, &join(path, &i.to_string()))?);
            }
            Some(Value::Array(out))
        }
        (Kind::Object(fields), Json::Object(members)) => {
            Some(convert_object(fields, members, path)?)
        }
        _ => None,
    };
    converted.ok_or_else(|| ParamError::Type {
        path: path.to_owned(),
        expected: kind.type_name(),
    })
}

/// An optional `-` then ASCII digits, within `i64`.
fn parse_integer(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A finite decimal number: optional `-`, digits with an optional `.` (at least one digit in all),
/// optional exponent. No `inf`, `NaN`, `+`, spaces or hex.
fn parse_decimal(s: &str) -> Option<f64> {
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if int_part.len() + frac_part.len() == 0 || !all_digits(int_part) || !all_digits(frac_part) {
        return None;
    }
    if let Some(exp) = exponent {
        let exp_digits = exp.strip_prefix(['-', '+']).unwrap_or(exp);
        if exp_digits.is_empty() || !all_digits(exp_digits) {
            return None;
        }
    }
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Step 2 for pairs: whether every segment of a flattened name is known where the schema can say.
fn check_key(fields: &'static [Field], segments: &[&str]) -> Result<(), ParamError> {
    check_key_in(fields, segments, "")
}

fn check_key_in(
    fields: &'static [Field],
    segments: &[&str],
    prefix: &str,
) -> Result<(), ParamError> {
    let Some((name, rest)) = segments.split_first() else {
        return Ok(());
    };
    let path = join(prefix, name);
    let field = lookup(fields, name).ok_or_else(|| ParamError::Unknown(path.clone()))?;
    check_key_kind(field.kind, rest, &path)
}

fn check_key_kind(kind: Kind, segments: &[&str], path: &str) -> Result<(), ParamError> {
    match (kind, segments.split_first()) {
        (Kind::Object(fields), Some(_)) => check_key_in(fields, segments, path),
        (Kind::List(element), Some((index, rest))) if index_of(index).is_some() => {
            check_key_kind(*element, rest, &join(path, index))
        }
        // Nothing left, or a container of the wrong shape: a type error for step 4.
        _ => Ok(()),
    }
}

fn index_of(segment: &str) -> Option<usize> {
    if segment.is_empty() || !segment.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    segment.parse().ok()
}

/// Flattened pairs as a tree of segments; a node may carry a value, children or (conflicting) both.
#[derive(Debug, Default)]
struct Node {
    value: Option<String>,
    children: Vec<(String, Node)>,
}

impl Node {
    fn insert(&mut self, segments: &[&str], value: &str) {
        match segments.split_first() {
            None => self.value = Some(value.to_owned()),
            Some((head, rest)) => {
                let at = match self.children.iter().position(|(k, _)| k == head) {
                    Some(at) => at,
                    None => {
                        self.children.push(((*head).to_owned(), Node::default()));
                        self.children.len() - 1
                    }
                };
                self.children[at].1.insert(rest, value);
            }
        }
    }
}

fn object_from_nodes(
    fields: &'static [Field],
    children: Vec<(String, Node)>,
) -> Vec<(String, Json)> {
    children
        .into_iter()
        .filter_map(|(name, node)| {
            let json = match lookup(fields, &name) {
                Some(field) => json_from_node(field.kind, node),
                None => Some(untyped(node)),
            };
            json.map(|j| (name, j))
        })
        .collect()
}

/// The JSON a pair tree stands for under `kind`; `None` for an absent value (`Name=` for a
/// non-String). A tree of the wrong shape becomes JSON of the wrong shape, so step 4 reports it.
fn json_from_node(kind: Kind, node: Node) -> Option<Json> {
    let has_value = node.value.as_deref().is_some_and(|v| !v.is_empty());
    if node.children.is_empty() {
        let value = node.value.unwrap_or_default();
        return match kind {
            Kind::String => Some(Json::String(value)),
            _ if value.is_empty() => None,
            _ => Some(Json::String(value)),
        };
    }
    match kind {
        // `Name=x` alongside `Name.0=y`: a scalar where a container is expected.
        Kind::List(_) | Kind::Object(_) if has_value => node.value.map(Json::String),
        Kind::List(element) => {
            if node.children.iter().any(|(k, _)| index_of(k).is_none()) {
                return Some(untyped(node));
            }
            let mut by_index: BTreeMap<usize, Node> = BTreeMap::new();
            for (k, child) in node.children {
                if let Some(i) = index_of(&k) {
                    by_index.insert(i, child);
                }
            }
            let items = by_index
                .into_values()
                .filter_map(|child| json_from_node(*element, child))
                .collect();
            Some(Json::Array(items))
        }
        Kind::Object(fields) => Some(Json::Object(object_from_nodes(fields, node.children))),
        Kind::String | Kind::Integer | Kind::Float | Kind::Boolean => Some(untyped(node)),
    }
}

/// A pair tree without a schema: strings and objects.
fn untyped(node: Node) -> Json {
    if node.children.is_empty() {
        Json::String(node.value.unwrap_or_default())
    } else {
        Json::Object(
            node.children
                .into_iter()
                .map(|(k, child)| (k, untyped(child)))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    const FILTER: &[Field] = &[
        Field {
            name: "Name",
            kind: Kind::String,
            required: true,
        },
        Field {
            name: "Values",
            kind: Kind::List(&Kind::String),
            required: false,
        },
    ];

    const SCHEMA: &[Field] = &[
        Field {
            name: "ProjectId",
            kind: Kind::String,
            required: true,
        },
        Field {
            name: "PageNumber",
            kind: Kind::Integer,
            required: true,
        },
        Field {
            name: "Ratio",
            kind: Kind::Float,
            required: false,
        },
        Field {
            name: "Enabled",
            kind: Kind::Boolean,
            required: false,
        },
        Field {
            name: "DeviceIds",
            kind: Kind::List(&Kind::String),
            required: false,
        },
        Field {
            name: "Counts",
            kind: Kind::List(&Kind::Integer),
            required: false,
        },
        Field {
            name: "Filters",
            kind: Kind::List(&Kind::Object(FILTER)),
            required: false,
        },
        Field {
            name: "Context",
            kind: Kind::Object(FILTER),
            required: false,
        },
    ];

    #[derive(Debug, PartialEq, Deserialize)]
    #[allow(non_snake_case)]
    struct Filter {
        Name: String,
        #[serde(default)]
        Values: Option<Vec<String>>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[allow(non_snake_case)]
    struct Req {
        ProjectId: String,
        PageNumber: i64,
        #[serde(default)]
        Ratio: Option<f64>,
        #[serde(default)]
        Enabled: Option<bool>,
        #[serde(default)]
        DeviceIds: Option<Vec<String>>,
        #[serde(default)]
        Counts: Option<Vec<i64>>,
        #[serde(default)]
        Filters: Option<Vec<Filter>>,
        #[serde(default)]
        Context: Option<Filter>,
    }

    impl Params for Req {
        const FIELDS: &'static [Field] = SCHEMA;
    }

    fn norm(body: &str) -> Result<Value, ParamError> {
        let tree: Json =
            serde_json::from_str(body).map_err(|e| ParamError::Malformed(e.to_string()))?;
        normalize_tree(SCHEMA, tree)
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn norm_pairs(list: &[(&str, &str)]) -> Result<Value, ParamError> {
        normalize_pairs(SCHEMA, &pairs(list))
    }

    fn type_err(path: &str, expected: &'static str) -> ParamError {
        ParamError::Type {
            path: path.to_owned(),
            expected,
        }
    }

    fn unknown(path: &str) -> ParamError {
        ParamError::Unknown(path.to_owned())
    }

    fn missing(path: &str) -> ParamError {
        ParamError::Missing(path.to_owned())
    }

    // ---- Malformed ----

    #[test]
    fn malformed_json_is_reported_with_detail() {
        match from_json::<Req>(b"{\"ProjectId\": ") {
            Err(ParamError::Malformed(detail)) => assert!(detail.contains("EOF"), "{detail}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            from_json::<Req>(b""),
            Err(ParamError::Malformed(_))
        ));
        assert!(matches!(
            from_json::<Req>(b"\xff"),
            Err(ParamError::Malformed(_))
        ));
        assert!(matches!(
            from_json::<Req>(b"{} {}"),
            Err(ParamError::Malformed(_))
        ));
    }

    #[test]
    fn body_must_be_an_object() {
        for body in ["[]", "1", "\"x\"", "null", "true"] {
            assert!(
                matches!(
                    from_json::<Req>(body.as_bytes()),
                    Err(ParamError::Malformed(_))
                ),
                "{body}"
            );
        }
        assert!(matches!(
            normalize_json(SCHEMA, json!([1])),
            Err(ParamError::Malformed(_))
        ));
    }

    // ---- Integer ----

    #[test]
    fn integer_accepts_json_integers_and_digit_strings() {
        for (given, want) in [
            (json!(1), 1),
            (json!(-7), -7),
            (json!("1"), 1),
            (json!("-12"), -12),
            (json!("007"), 7),
            (json!("-0"), 0),
            (json!(i64::MAX), i64::MAX),
            (json!(i64::MIN), i64::MIN),
            (json!(i64::MAX.to_string()), i64::MAX),
            (json!(i64::MIN.to_string()), i64::MIN),
        ] {
            let v = normalize_json(SCHEMA, json!({"ProjectId": "p", "PageNumber": given})).unwrap();
            assert_eq!(v["PageNumber"], json!(want), "{given}");
            assert!(v["PageNumber"].is_i64());
        }
    }

    #[test]
    fn integer_rejects_everything_else() {
        for given in [
            json!(1.5),
            json!(1.0),
            json!(1e3),
            json!(u64::MAX),
            json!("9223372036854775808"),
            json!("abc"),
            json!(""),
            json!(" 1"),
            json!("+1"),
            json!("1.0"),
            json!("-"),
            json!("1e3"),
            json!(true),
            json!([1]),
            json!({"a": 1}),
        ] {
            assert_eq!(
                normalize_json(SCHEMA, json!({"ProjectId": "p", "PageNumber": given})),
                Err(type_err("PageNumber", "Integer")),
                "{given}"
            );
        }
    }

    // ---- Float ----

    #[test]
    fn float_accepts_numbers_and_decimal_strings() {
        for (given, want) in [
            (json!(1), 1.0),
            (json!(35.02), 35.02),
            (json!(-0.5), -0.5),
            (json!("35.02"), 35.02),
            (json!("-1"), -1.0),
            (json!(".5"), 0.5),
            (json!("5."), 5.0),
            (json!("2e3"), 2000.0),
            (json!("2E-1"), 0.2),
        ] {
            let body = json!({"ProjectId": "p", "PageNumber": 1, "Ratio": given});
            let v = normalize_json(SCHEMA, body).unwrap();
            assert_eq!(v["Ratio"].as_f64(), Some(want), "{given}");
            assert!(v["Ratio"].is_f64(), "floats normalize to f64: {given}");
        }
    }

    #[test]
    fn float_rejects_non_decimal_strings_and_other_types() {
        for given in [
            json!("inf"),
            json!("NaN"),
            json!("1e400"),
            json!("+1"),
            json!("."),
            json!(""),
            json!("1,5"),
            json!("0x10"),
            json!("1e"),
            json!(true),
            json!([1.0]),
        ] {
            let body = json!({"ProjectId": "p", "PageNumber": 1, "Ratio": given});
            assert_eq!(
                normalize_json(SCHEMA, body),
                Err(type_err("Ratio", "Float")),
                "{given}"
            );
        }
    }

    // ---- String ----

    #[test]
    fn string_accepts_strings_and_stringifies_numbers_and_booleans() {
        for (given, want) in [
            (json!("abc"), "abc"),
            (json!(""), ""),
            (json!(12), "12"),
            (json!(-3), "-3"),
            (json!(1.5), "1.5"),
            (json!(true), "true"),
            (json!(false), "false"),
        ] {
            let v = normalize_json(SCHEMA, json!({"ProjectId": given, "PageNumber": 1})).unwrap();
            assert_eq!(v["ProjectId"], json!(want));
        }
        for given in [json!([]), json!({})] {
            assert_eq!(
                normalize_json(SCHEMA, json!({"ProjectId": given, "PageNumber": 1})),
                Err(type_err("ProjectId", "String"))
            );
        }
    }

    #[test]
    fn stringified_numbers_keep_their_json_text() {
        // Decoded from the raw body: the number's text as serde_json prints it.
        let v = norm(r#"{"ProjectId": 1650000000, "PageNumber": 1}"#).unwrap();
        assert_eq!(v["ProjectId"], json!("1650000000"));
    }

    // ---- Boolean ----

    #[test]
    fn boolean_accepts_bools_and_their_string_forms() {
        for (given, want) in [
            (json!(true), true),
            (json!(false), false),
            (json!("true"), true),
            (json!("True"), true),
            (json!("false"), false),
            (json!("False"), false),
        ] {
            let body = json!({"ProjectId": "p", "PageNumber": 1, "Enabled": given});
            assert_eq!(
                normalize_json(SCHEMA, body).unwrap()["Enabled"],
                json!(want)
            );
        }
        for given in [
            json!("TRUE"),
            json!("yes"),
            json!(1),
            json!(0),
            json!(""),
            json!("1"),
        ] {
            let body = json!({"ProjectId": "p", "PageNumber": 1, "Enabled": given});
            assert_eq!(
                normalize_json(SCHEMA, body),
                Err(type_err("Enabled", "Boolean")),
                "{given}"
            );
        }
    }

    // ---- null ----

    #[test]
    fn null_means_absent() {
        assert_eq!(
            norm(r#"{"ProjectId": "p", "PageNumber": 1, "Ratio": null, "Context": null}"#).unwrap(),
            json!({"ProjectId": "p", "PageNumber": 1})
        );
        assert_eq!(
            norm(r#"{"ProjectId": null, "PageNumber": 1}"#),
            Err(missing("ProjectId"))
        );
        // An unknown name whose value is null is absent too.
        assert!(norm(r#"{"ProjectId": "p", "PageNumber": 1, "Nope": null}"#).is_ok());
        // A null list element is not absent: it is an element of the wrong type.
        assert_eq!(
            norm(r#"{"ProjectId": "p", "PageNumber": 1, "DeviceIds": ["a", null]}"#),
            Err(type_err("DeviceIds.1", "String"))
        );
    }

    // ---- List and Object (JSON) ----

    #[test]
    fn lists_decode_each_element() {
        let v = norm(
            r#"{"ProjectId": "p", "PageNumber": 1, "Counts": [1, "2", "-3"], "DeviceIds": []}"#,
        )
        .unwrap();
        assert_eq!(v["Counts"], json!([1, 2, -3]));
        assert_eq!(v["DeviceIds"], json!([]));
        assert_eq!(
            norm(r#"{"ProjectId": "p", "PageNumber": 1, "Counts": [1, "x"]}"#),
            Err(type_err("Counts.1", "Integer"))
        );
        assert_eq!(
            norm(r#"{"ProjectId": "p", "PageNumber": 1, "Counts": "1"}"#),
            Err(type_err("Counts", "Array"))
        );
    }

    #[test]
    fn objects_are_checked_recursively() {
        let body = r#"{"ProjectId": "p", "PageNumber": 1,
            "Filters": [{"Name": "a", "Values": ["x", 1]}, {"Name": 2}],
            "Context": {"Name": "c"}}"#;
        assert_eq!(
            norm(body).unwrap(),
            json!({"ProjectId": "p", "PageNumber": 1,
                   "Filters": [{"Name": "a", "Values": ["x", "1"]}, {"Name": "2"}],
                   "Context": {"Name": "c"}})
        );
        assert_eq!(
            norm(r#"{"ProjectId": "p", "PageNumber": 1, "Context": {"Name": "c", "Bar": 1}}"#),
            Err(unknown("Context.Bar"))
        );
        assert_eq!(
            norm(
                r#"{"ProjectId": "p", "PageNumber": 1, "Filters": [{"Name": "a"}, {"Name": "b", "Bar": 1}]}"#
            ),
            Err(unknown("Filters.1.Bar"))
        );
        assert_eq!(
            norm(
                r#"{"ProjectId": "p", "PageNumber": 1, "Filters": [{"Name": "a"}, {"Values": []}]}"#
            ),
            Err(missing("Filters.1.Name"))
        );
        assert_eq!(
            norm(r#"{"ProjectId": "p", "PageNumber": 1, "Context": {}}"#),
            Err(missing("Context.Name"))
        );
        assert_eq!(
            norm(r#"{"ProjectId": "p", "PageNumber": 1, "Context": []}"#),
            Err(type_err("Context", "Object"))
        );
        assert_eq!(
            norm(
                r#"{"ProjectId": "p", "PageNumber": 1, "Filters": [{"Name": "a", "Values": "x"}]}"#
            ),
            Err(type_err("Filters.0.Values", "Array"))
        );
    }

    // ---- Unknown, Missing, Type and their order ----

    #[test]
    fn unknown_top_level_names_are_rejected() {
        assert_eq!(
            norm(r#"{"ProjectId": "p", "PageNumber": 1, "Foo": 1}"#),
            Err(unknown("Foo"))
        );
        // Names are case-sensitive, as in the vendor model.
        assert_eq!(
            norm(r#"{"projectId": "p", "PageNumber": 1}"#),
            Err(unknown("projectId"))
        );
    }

    #[test]
    fn first_unknown_in_input_order() {
        // "Zed" comes first in the text even though "Alpha" sorts first.
        assert_eq!(norm(r#"{"Zed": 1, "Alpha": 2}"#), Err(unknown("Zed")));
        // Depth first: a nested unknown before a later top-level one.
        assert_eq!(
            norm(r#"{"Context": {"Bad": 1}, "Alpha": 2}"#),
            Err(unknown("Context.Bad"))
        );
    }

    #[test]
    fn unknown_before_missing_before_type() {
        // Unknown wins over an absent required field and a type error.
        assert_eq!(
            norm(r#"{"PageNumber": "x", "Foo": 1}"#),
            Err(unknown("Foo"))
        );
        // Missing (ProjectId, second in schema) wins over a type error in an earlier field.
        assert_eq!(
            norm(r#"{"Ratio": "bad", "PageNumber": 1}"#),
            Err(missing("ProjectId"))
        );
        // A nested missing field wins over a top-level type error earlier in schema order.
        assert_eq!(
            norm(r#"{"ProjectId": [], "PageNumber": 1, "Context": {}}"#),
            Err(missing("Context.Name"))
        );
    }

    #[test]
    fn first_missing_and_first_type_error_in_schema_order() {
        assert_eq!(norm("{}"), Err(missing("ProjectId")));
        assert_eq!(norm(r#"{"ProjectId": "p"}"#), Err(missing("PageNumber")));
        assert_eq!(
            norm(r#"{"Enabled": 3, "Ratio": "x", "PageNumber": "y", "ProjectId": "p"}"#),
            Err(type_err("PageNumber", "Integer"))
        );
        assert_eq!(
            norm(r#"{"Enabled": 3, "Ratio": "x", "PageNumber": 1, "ProjectId": "p"}"#),
            Err(type_err("Ratio", "Float"))
        );
    }

    #[test]
    fn repeated_json_key_keeps_the_last_value() {
        assert_eq!(
            norm(r#"{"ProjectId": "a", "PageNumber": 1, "ProjectId": "b"}"#).unwrap()["ProjectId"],
            json!("b")
        );
    }

    // ---- typed decoding ----

    #[test]
    fn from_json_decodes_the_typed_request() {
        let req: Req = from_json(
            br#"{"PageNumber": "2", "ProjectId": "p", "Enabled": "True", "Ratio": "0.5",
                 "Filters": [{"Name": "n", "Values": ["v"]}]}"#,
        )
        .unwrap();
        assert_eq!(
            req,
            Req {
                ProjectId: "p".into(),
                PageNumber: 2,
                Ratio: Some(0.5),
                Enabled: Some(true),
                DeviceIds: None,
                Counts: None,
                Filters: Some(vec![Filter {
                    Name: "n".into(),
                    Values: Some(vec!["v".into()])
                }]),
                Context: None,
            }
        );
    }

    #[test]
    fn schema_and_type_disagreeing_is_malformed() {
        #[derive(Debug, Deserialize)]
        #[allow(non_snake_case, dead_code)]
        struct Wrong {
            ProjectId: i64,
        }
        impl Params for Wrong {
            const FIELDS: &'static [Field] = &[Field {
                name: "ProjectId",
                kind: Kind::String,
                required: true,
            }];
        }
        assert!(matches!(
            from_json::<Wrong>(br#"{"ProjectId": "x"}"#),
            Err(ParamError::Malformed(_))
        ));
    }

    // ---- pairs ----

    #[test]
    fn pairs_decode_scalars_leniently() {
        let v = norm_pairs(&[
            ("ProjectId", "p"),
            ("PageNumber", "3"),
            ("Ratio", "0.25"),
            ("Enabled", "False"),
        ])
        .unwrap();
        assert_eq!(
            v,
            json!({"ProjectId": "p", "PageNumber": 3, "Ratio": 0.25, "Enabled": false})
        );
        assert_eq!(
            norm_pairs(&[("ProjectId", "p"), ("PageNumber", "x")]),
            Err(type_err("PageNumber", "Integer"))
        );
    }

    #[test]
    fn pairs_build_lists_in_index_order() {
        let v = norm_pairs(&[
            ("ProjectId", "p"),
            ("PageNumber", "1"),
            ("DeviceIds.2", "c"),
            ("DeviceIds.0", "a"),
            ("DeviceIds.10", "d"),
            ("DeviceIds.1", "b"),
            ("Counts.5", "7"),
        ])
        .unwrap();
        assert_eq!(v["DeviceIds"], json!(["a", "b", "c", "d"]));
        assert_eq!(v["Counts"], json!([7]));
    }

    #[test]
    fn pairs_build_nested_objects() {
        let list = pairs(&[
            ("ProjectId", "p"),
            ("PageNumber", "1"),
            ("Filters.0.Name", "a"),
            ("Filters.0.Values.0", "x"),
            ("Filters.0.Values.1", "y"),
            ("Filters.1.Name", "b"),
            ("Context.Name", "c"),
        ]);
        let req: Req = from_pairs(&list).unwrap();
        assert_eq!(
            req.Filters,
            Some(vec![
                Filter {
                    Name: "a".into(),
                    Values: Some(vec!["x".into(), "y".into()])
                },
                Filter {
                    Name: "b".into(),
                    Values: None
                },
            ])
        );
        assert_eq!(
            req.Context,
            Some(Filter {
                Name: "c".into(),
                Values: None
            })
        );
    }

    #[test]
    fn pairs_bare_name_for_a_list_is_a_type_error() {
        assert_eq!(
            norm_pairs(&[
                ("ProjectId", "p"),
                ("PageNumber", "1"),
                ("DeviceIds", "dev-1")
            ]),
            Err(type_err("DeviceIds", "Array"))
        );
        assert_eq!(
            norm_pairs(&[
                ("ProjectId", "p"),
                ("PageNumber", "1"),
                ("DeviceIds.x", "dev-1")
            ]),
            Err(type_err("DeviceIds", "Array"))
        );
        assert_eq!(
            norm_pairs(&[
                ("ProjectId", "p"),
                ("PageNumber", "1"),
                ("DeviceIds", "a"),
                ("DeviceIds.0", "b")
            ]),
            Err(type_err("DeviceIds", "Array"))
        );
        assert_eq!(
            norm_pairs(&[("ProjectId", "p"), ("PageNumber", "1"), ("Context", "c")]),
            Err(type_err("Context", "Object"))
        );
        assert_eq!(
            norm_pairs(&[("ProjectId.0", "p"), ("PageNumber", "1")]),
            Err(type_err("ProjectId", "String"))
        );
    }

    #[test]
    fn pairs_unknown_names_in_pair_order() {
        assert_eq!(
            norm_pairs(&[("ProjectId", "p"), ("Zed", "1"), ("Alpha", "2")]),
            Err(unknown("Zed"))
        );
        assert_eq!(
            norm_pairs(&[
                ("Filters.0.Name", "a"),
                ("Bad", "1"),
                ("Filters.1.Bar", "x")
            ]),
            Err(unknown("Bad"))
        );
        assert_eq!(
            norm_pairs(&[
                ("ProjectId", "p"),
                ("PageNumber", "1"),
                ("Filters.0.Bar", "x")
            ]),
            Err(unknown("Filters.0.Bar"))
        );
        assert_eq!(
            norm_pairs(&[
                ("ProjectId", "p"),
                ("PageNumber", "1"),
                ("Context.Bar", "x")
            ]),
            Err(unknown("Context.Bar"))
        );
        // Unknown before missing before type.
        assert_eq!(
            norm_pairs(&[("PageNumber", "x"), ("Foo", "1")]),
            Err(unknown("Foo"))
        );
        assert_eq!(
            norm_pairs(&[("PageNumber", "x")]),
            Err(missing("ProjectId"))
        );
        assert_eq!(
            norm_pairs(&[
                ("ProjectId", "p"),
                ("PageNumber", "1"),
                ("Filters.0.Values.0", "x")
            ]),
            Err(missing("Filters.0.Name"))
        );
    }

    #[test]
    fn pairs_empty_values() {
        // `Name=` is the empty string for a String and absent for anything else.
        assert_eq!(
            norm_pairs(&[
                ("ProjectId", ""),
                ("PageNumber", "1"),
                ("Ratio", ""),
                ("Enabled", "")
            ]),
            Ok(json!({"ProjectId": "", "PageNumber": 1}))
        );
        assert_eq!(
            norm_pairs(&[("ProjectId", "p"), ("PageNumber", "")]),
            Err(missing("PageNumber"))
        );
        assert_eq!(
            norm_pairs(&[("ProjectId", "p"), ("PageNumber", "1"), ("DeviceIds", "")]),
            Ok(json!({"ProjectId": "p", "PageNumber": 1}))
        );
        // An unknown name with an empty value (the Go SDK's `Region=`) is ignored.
        assert_eq!(
            norm_pairs(&[("Region", ""), ("ProjectId", "p"), ("PageNumber", "1")]),
            Ok(json!({"ProjectId": "p", "PageNumber": 1}))
        );
        assert_eq!(
            norm_pairs(&[
                ("Region", "ap-guangzhou"),
                ("ProjectId", "p"),
                ("PageNumber", "1")
            ]),
            Err(unknown("Region"))
        );
    }

    #[test]
    fn pairs_repeated_name_keeps_the_last_value() {
        assert_eq!(
            norm_pairs(&[("ProjectId", "a"), ("PageNumber", "1"), ("ProjectId", "b")]).unwrap()
                ["ProjectId"],
            json!("b")
        );
    }

    #[test]
    fn from_pairs_and_from_json_agree() {
        let from_form: Req = from_pairs(&pairs(&[
            ("PageNumber", "1"),
            ("ProjectId", "p"),
            ("DeviceIds.0", "a"),
            ("DeviceIds.1", "b"),
            ("Enabled", "true"),
        ]))
        .unwrap();
        let from_body: Req = from_json(
            br#"{"ProjectId": "p", "PageNumber": 1, "DeviceIds": ["a", "b"], "Enabled": true}"#,
        )
        .unwrap();
        assert_eq!(from_form, from_body);
    }

    #[test]
    fn kind_type_names() {
        assert_eq!(Kind::List(&Kind::Integer).type_name(), "Array");
        assert_eq!(Kind::Object(FILTER).type_name(), "Object");
        assert_eq!(Kind::Boolean.type_name(), "Boolean");
    }

    #[test]
    fn errors_display_the_path() {
        assert_eq!(
            type_err("Filters.0.Name", "String").to_string(),
            "parameter `Filters.0.Name` must be of type String"
        );
        assert_eq!(unknown("Foo").to_string(), "unknown parameter `Foo`");
        assert_eq!(
            missing("Foo").to_string(),
            "missing required parameter `Foo`"
        );
    }
}
