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
//! * flattened `name=value` pairs (GET query, v1 form, TC3 form POST), already percent-decoded:
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
//! 1. [`ParamError::Malformed`]: the body is not JSON, or not a JSON object (as far as it was
//!    read: see step 2).
//! 2. Where reading stops, the first in input order (the order of the keys in the body text, depth
//!    first; for pairs, the order of the pairs):
//!    * [`ParamError::Unknown`]: an unknown name (with a non-null, non-empty value);
//!    * [`ParamError::TooMany`]: a list with more elements than the request type allows
//!      ([`Limits::elements`]); the list is read to its end to count it, its extra elements only
//!      checked for well-formed JSON. For pairs, lists are counted once every name is checked;
//!    * [`ParamError::TooManyPairs`]: for pairs, the pair past [`Limits::pairs`].
//!
//!    Nothing after that point is parsed: a body that is malformed after an unknown name answers
//!    Unknown, and a repeated name cannot take back an unknown name inside its first value.
//! 3. [`ParamError::Missing`]: the first absent required field in schema order, depth first.
//! 4. [`ParamError::Type`]: the first value of the wrong type in schema order, depth first.
//!
//! Paths in errors are dotted: `Foo`, `Filters.0.Name`. A nested name is checked only where its
//! container has the right shape; a container of the wrong shape is a type error in step 4.
//!
//! Cost: linear in the size of the input, so a hostile body costs no more than its bytes. A JSON
//! body is decoded against the schema while it is parsed (a serde `DeserializeSeed` carrying the
//! [`Kind`]), with no intermediate tree: each key is looked up among its object's few fields, and
//! after the first error in a list its later elements are checked, not built. The pairs' tree
//! indexes children by name and keeps a name only as deep as the schema can say.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
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

/// How much one request may carry. Decoding is linear, so these bound the work and memory of a
/// request rather than rescue a slow decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most flattened `name=value` pairs (GET query, v1 form, TC3 form POST), counting
    /// ignored ones; at most [`MAX_PAIRS`]. A JSON body is bounded by its size and by `elements`.
    pub pairs: usize,
    /// The most elements of any one list, at any depth, in JSON and in pairs.
    pub elements: usize,
}

impl Limits {
    /// Control-plane actions. The vendor model documents no count for the lists they take
    /// (`DeviceIds` of BatchDeleteDevices, `FieldDeviceIds` of ModifyPolicy, `RemoteDeviceIds` of
    /// BatchDeletePolicy), so the cap is generous: 1,000 elements per list, and 2,000 pairs (a full
    /// list and room for the other parameters).
    pub const CONTROL: Limits = Limits {
        pairs: 2_000,
        elements: 1_000,
    };
}

/// The most pairs any request type accepts: the HTTP layer stops splitting a form beyond it.
/// A full device report flattened is about 83,000 pairs (1,800 samples × 21 metrics, a
/// TimeOffset and 4 links of 6 values).
pub const MAX_PAIRS: usize = 100_000;

/// A request type whose parameters are described by a schema.
pub trait Params: serde::de::DeserializeOwned {
    /// The request's parameters, in the vendor model's order.
    const FIELDS: &'static [Field];
    /// How much one request may carry.
    const LIMITS: Limits = Limits::CONTROL;
}

/// Why a request's business parameters were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamError {
    /// The body is not valid JSON or not a JSON object; the detail says what was wrong.
    Malformed(String),
    /// A parameter the action does not have; dotted path, e.g. "Foo" or "MultiNet.0.Bar".
    Unknown(String),
    /// A list longer than allowed: dotted path, its element count and the maximum.
    TooMany {
        path: String,
        count: usize,
        max: usize,
    },
    /// More flattened `name=value` pairs than allowed: their count and the maximum.
    TooManyPairs { count: usize, max: usize },
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
            ParamError::TooMany { path, count, max } => {
                write!(
                    f,
                    "parameter `{path}` has {count} elements, at most {max} allowed"
                )
            }
            ParamError::TooManyPairs { count, max } => {
                write!(f, "{count} parameters, at most {max} allowed")
            }
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
    typed(normalize_body(T::FIELDS, T::LIMITS, body)?)
}

/// Decode flattened parameters (GET query / v1 form, already percent-decoded, common parameters removed):
/// `Filters.0.Name=a`, `DeviceIds.1=dev-2`.
pub fn from_pairs<T: Params>(pairs: &[(String, String)]) -> Result<T, ParamError> {
    typed(normalize_pairs(T::FIELDS, T::LIMITS, pairs)?)
}

/// Lower-level: the same checks producing the normalized JSON value (used for hand-written device actions too).
///
/// The normalized value is an object holding only the present fields: integers as JSON integers,
/// floats as JSON numbers (`f64`), strings as strings, booleans as booleans. "Input order" for
/// unknown names is the iteration order of the given map.
pub fn normalize_json(
    fields: &'static [Field],
    limits: Limits,
    value: Value,
) -> Result<Value, ParamError> {
    let walk = Walk::new(limits);
    let decoded = RootSeed {
        walk: &walk,
        fields,
    }
    .deserialize(value);
    walk.finish(decoded)
}

/// Lower-level: [`from_pairs`] producing the normalized JSON value (see [`normalize_json`]).
pub fn normalize_pairs(
    fields: &'static [Field],
    limits: Limits,
    pairs: &[(String, String)],
) -> Result<Value, ParamError> {
    // Step 2 in the order of the pairs: unknown names and the pair count. Unknown names with an
    // empty value are dropped here (pairs cannot say `null`; the Go SDK sends empty values).
    let mut root = Node::default();
    for (i, (key, value)) in pairs.iter().enumerate() {
        let segments: Vec<&str> = key.split('.').collect();
        let known = check_key(fields, &segments);
        if let Err(unknown) = &known {
            if !value.is_empty() {
                return Err(unknown.clone());
            }
        }
        if i >= limits.pairs {
            return Err(ParamError::TooManyPairs {
                count: pairs.len(),
                max: limits.pairs,
            });
        }
        if let Ok(depth) = known {
            root.insert(&segments[..depth], value);
        }
    }
    // Then over-long lists, and steps 3 and 4 by the same decoder as JSON.
    let object = object_from_nodes(fields, root.children, Path::Root, limits)?;
    normalize_json(fields, limits, Value::Object(object))
}

/// The JSON body's decode: [`from_json`] before the typed conversion.
fn normalize_body(
    fields: &'static [Field],
    limits: Limits,
    body: &[u8],
) -> Result<Value, ParamError> {
    let walk = Walk::new(limits);
    let mut de = serde_json::Deserializer::from_slice(body);
    let decoded = RootSeed {
        walk: &walk,
        fields,
    }
    .deserialize(&mut de)
    .and_then(|decoded| de.end().map(|()| decoded));
    walk.finish(decoded)
}

fn typed<T: Params>(value: Value) -> Result<T, ParamError> {
    // Cannot fail when `T::FIELDS` matches `T`'s serde shape; if it ever does, say so.
    serde_json::from_value(value).map_err(|e| ParamError::Malformed(e.to_string()))
}

/// A dotted path, built on the stack as the decode descends and written out only for an error.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Name(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parent = match self {
            Path::Root => return Ok(()),
            Path::Name(parent, _) | Path::Index(parent, _) => parent,
        };
        if !matches!(parent, Path::Root) {
            write!(f, "{parent}.")?;
        }
        match self {
            Path::Root => Ok(()),
            Path::Name(_, name) => f.write_str(name),
            Path::Index(_, index) => write!(f, "{index}"),
        }
    }
}

/// What one decode shares: the limits, and the error that stopped it (step 2, or a body that is
/// not an object), kept here because serde's error type cannot carry it.
struct Walk {
    limits: Limits,
    stopped: Cell<Option<ParamError>>,
}

impl Walk {
    fn new(limits: Limits) -> Walk {
        Walk {
            limits,
            stopped: Cell::new(None),
        }
    }

    /// Record `error` as the answer; the returned serde error unwinds the parse.
    fn stop<E: de::Error>(&self, error: ParamError) -> E {
        let unwind = E::custom(&error);
        self.stopped.set(Some(error));
        unwind
    }

    fn finish<E: fmt::Display>(
        self,
        decoded: Result<Option<Decoded>, E>,
    ) -> Result<Value, ParamError> {
        if let Some(stopped) = self.stopped.into_inner() {
            return Err(stopped);
        }
        match decoded.map_err(|e| ParamError::Malformed(e.to_string()))? {
            Some(Decoded::Value(value)) => Ok(value),
            Some(Decoded::Failed(failure)) => Err(failure.into_error()),
            Some(Decoded::Null) | None => Err(ParamError::Malformed(
                "the request body must be a JSON object".to_owned(),
            )),
        }
    }
}

/// What the caller still needs from a value. A list stops building after its first failure, and
/// stops checking types after its first type error or missing field (the first in schema order is
/// already known, and a missing field anywhere outranks any type error).
#[derive(Clone, Copy)]
struct Need {
    build: bool,
    types: bool,
    missing: bool,
}

impl Need {
    const ALL: Need = Need {
        build: true,
        types: true,
        missing: true,
    };
}

/// One value decoded against its kind.
enum Decoded {
    /// JSON `null`: absent for a field, a type error for a list element.
    Null,
    /// The coerced value; `Value::Null` stands in when it was not needed ([`Need::build`]).
    Value(Value),
    /// Steps 3 and 4 found something in it.
    Failed(Failure),
}

/// The first absent required field and the first wrong type in a value, schema order, depth first.
#[derive(Default)]
struct Failure {
    missing: Option<ParamError>,
    wrong: Option<ParamError>,
}

impl Failure {
    fn is_empty(&self) -> bool {
        self.missing.is_none() && self.wrong.is_none()
    }

    /// Merge what a later value (in schema order) found.
    fn absorb(&mut self, later: Failure) {
        if self.missing.is_none() {
            self.missing = later.missing;
        }
        if self.wrong.is_none() {
            self.wrong = later.wrong;
        }
    }

    fn into_error(self) -> ParamError {
        self.missing.or(self.wrong).unwrap_or_else(|| {
            ParamError::Malformed("a decode failed without a reason (a bug)".to_owned())
        })
    }
}

/// The request body: an object of the request's fields, or `None` for any other JSON value.
struct RootSeed<'w> {
    walk: &'w Walk,
    fields: &'static [Field],
}

impl<'de> DeserializeSeed<'de> for RootSeed<'_> {
    type Value = Option<Decoded>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RootSeed<'_> {
    type Value = Option<Decoded>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let root = ValueSeed {
            walk: self.walk,
            kind: Kind::Object(self.fields),
            path: Path::Root,
            need: Need::ALL,
        };
        root.object(self.fields, map).map(Some)
    }

    // Any other value: read to its end so that a malformed body is still Malformed with its detail.
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        skip_seq(seq).map(|()| None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A value decoded against `kind` at `path`.
struct ValueSeed<'w, 'p> {
    walk: &'w Walk,
    kind: Kind,
    path: Path<'p>,
    need: Need,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_, '_> {
    type Value = Decoded;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Decoded, D::Error> {
        d.deserialize_any(self)
    }
}

/// A JSON scalar as the parser gives it.
enum Scalar<'s> {
    Bool(bool),
    Number(Number),
    Str(&'s str),
}

impl ValueSeed<'_, '_> {
    fn wrong(&self) -> Decoded {
        if !self.need.types {
            return Decoded::Value(Value::Null);
        }
        Decoded::Failed(Failure {
            missing: None,
            wrong: Some(ParamError::Type {
                path: self.path.to_string(),
                expected: self.kind.type_name(),
            }),
        })
    }

    fn scalar(&self, scalar: Scalar<'_>) -> Decoded {
        if !self.need.types {
            return Decoded::Value(Value::Null);
        }
        let converted = match (self.kind, scalar) {
            (Kind::Integer, Scalar::Number(n)) => n.as_i64().map(Value::from),
            (Kind::Integer, Scalar::Str(s)) => parse_integer(s).map(Value::from),
            (Kind::Float, Scalar::Number(n)) => {
                n.as_f64().and_then(Number::from_f64).map(Value::Number)
            }
            (Kind::Float, Scalar::Str(s)) => parse_decimal(s)
                .and_then(Number::from_f64)
                .map(Value::Number),
            (Kind::String, Scalar::Str(s)) => Some(Value::String(s.to_owned())),
            (Kind::String, Scalar::Number(n)) => Some(Value::String(n.to_string())),
            (Kind::String, Scalar::Bool(b)) => Some(Value::String(b.to_string())),
            (Kind::Boolean, Scalar::Bool(b)) => Some(Value::Bool(b)),
            (Kind::Boolean, Scalar::Str(s)) => match s {
                "true" | "True" => Some(Value::Bool(true)),
                "false" | "False" => Some(Value::Bool(false)),
                _ => None,
            },
            _ => None,
        };
        match converted {
            Some(value) if self.need.build => Decoded::Value(value),
            Some(_) => Decoded::Value(Value::Null),
            None => self.wrong(),
        }
    }

    /// The members of an object of `fields`: a known name is decoded into its slot (a repeated
    /// name replaces it), an unknown one stops the decode unless its value is null.
    fn object<'de, A: MapAccess<'de>>(
        &self,
        fields: &'static [Field],
        mut map: A,
    ) -> Result<Decoded, A::Error> {
        let mut slots: Vec<Option<Decoded>> = fields.iter().map(|_| None).collect();
        while let Some(key) = map.next_key_seed(KeySeed(fields))? {
            match key {
                Key::Known(at) => {
                    let field = &fields[at];
                    let seed = ValueSeed {
                        walk: self.walk,
                        kind: field.kind,
                        path: Path::Name(&self.path, field.name),
                        need: self.need,
                    };
                    slots[at] = match map.next_value_seed(seed)? {
                        Decoded::Null => None,
                        decoded => Some(decoded),
                    };
                }
                Key::Unknown(name) => map.next_value_seed(UnknownSeed {
                    walk: self.walk,
                    path: Path::Name(&self.path, &name),
                })?,
            }
        }
        let mut out = Map::new();
        let mut failure = Failure::default();
        for (field, slot) in fields.iter().zip(slots) {
            match slot {
                None | Some(Decoded::Null) => {
                    if field.required && self.need.missing && failure.missing.is_none() {
                        let path = Path::Name(&self.path, field.name);
                        failure.missing = Some(ParamError::Missing(path.to_string()));
                    }
                }
                Some(Decoded::Value(value)) => {
                    if self.need.build {
                        out.insert(field.name.to_owned(), value);
                    }
                }
                Some(Decoded::Failed(found)) => failure.absorb(found),
            }
        }
        Ok(if !failure.is_empty() {
            Decoded::Failed(failure)
        } else if self.need.build {
            Decoded::Value(Value::Object(out))
        } else {
            Decoded::Value(Value::Null)
        })
    }

    /// The elements of a list of `element`, at most [`Limits::elements`] of them.
    fn list<'de, A: SeqAccess<'de>>(&self, element: Kind, mut seq: A) -> Result<Decoded, A::Error> {
        let max = self.walk.limits.elements;
        let mut items = Vec::new();
        let mut failure = Failure::default();
        let mut need = self.need;
        let mut index = 0;
        loop {
            if index == max {
                let mut count = max;
                while seq.next_element::<Skip>()?.is_some() {
                    count += 1;
                }
                if count > max {
                    let path = self.path.to_string();
                    return Err(self.walk.stop(ParamError::TooMany { path, count, max }));
                }
                break;
            }
            let path = Path::Index(&self.path, index);
            let seed = ValueSeed {
                walk: self.walk,
                kind: element,
                path,
                need,
            };
            let Some(decoded) = seq.next_element_seed(seed)? else {
                break;
            };
            match decoded {
                Decoded::Value(value) => {
                    if need.build {
                        items.push(value);
                    }
                }
                Decoded::Null => {
                    if need.types {
                        failure.absorb(Failure {
                            missing: None,
                            wrong: Some(ParamError::Type {
                                path: path.to_string(),
                                expected: element.type_name(),
                            }),
                        });
                    }
                }
                Decoded::Failed(found) => failure.absorb(found),
            }
            if !failure.is_empty() {
                need = Need {
                    build: false,
                    types: false,
                    missing: need.missing && failure.missing.is_none(),
                };
            }
            index += 1;
        }
        Ok(if !failure.is_empty() {
            Decoded::Failed(failure)
        } else if self.need.build {
            Decoded::Value(Value::Array(items))
        } else {
            Decoded::Value(Value::Null)
        })
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_, '_> {
    type Value = Decoded;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Decoded, E> {
        Ok(Decoded::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Decoded, E> {
        Ok(Decoded::Null)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Decoded, E> {
        Ok(self.scalar(Scalar::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decoded, E> {
        Ok(self.scalar(Scalar::Number(v.into())))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decoded, E> {
        Ok(self.scalar(Scalar::Number(v.into())))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decoded, E> {
        let n = Number::from_f64(v).ok_or_else(|| E::custom("number out of range"))?;
        Ok(self.scalar(Scalar::Number(n)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Decoded, E> {
        Ok(self.scalar(Scalar::Str(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Decoded, A::Error> {
        match self.kind {
            Kind::List(element) => self.list(*element, seq),
            // A list where something else is expected: nothing inside it is checked.
            _ => skip_seq(seq).map(|()| self.wrong()),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Decoded, A::Error> {
        match self.kind {
            Kind::Object(fields) => self.object(fields, map),
            _ => skip_map(map).map(|()| self.wrong()),
        }
    }
}

/// An object key: the index of a known field, or an unknown name.
enum Key {
    Known(usize),
    Unknown(String),
}

struct KeySeed(&'static [Field]);

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a parameter name")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        Ok(match self.0.iter().position(|f| f.name == v) {
            Some(at) => Key::Known(at),
            None => Key::Unknown(v.to_owned()),
        })
    }
}

/// The value of an unknown name: `null` is absent; anything else stops the decode with
/// [`ParamError::Unknown`], unread.
struct UnknownSeed<'w, 'p> {
    walk: &'w Walk,
    path: Path<'p>,
}

impl<'de> DeserializeSeed<'de> for UnknownSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        // `NullOnly` refuses every other value before reading into it.
        d.deserialize_any(NullOnly)
            .map_err(|_| self.walk.stop(ParamError::Unknown(self.path.to_string())))
    }
}

struct NullOnly;

impl<'de> Visitor<'de> for NullOnly {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("null")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// Any JSON value, read to its end and dropped. Unlike serde's `IgnoredAny`, strings are read as
/// strings, so invalid UTF-8 in a skipped value is still Malformed.
struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Skip, D::Error> {
        d.deserialize_any(Skip)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = Skip;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_none<E: de::Error>(self) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Skip, A::Error> {
        skip_seq(seq).map(|()| Skip)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Skip, A::Error> {
        skip_map(map).map(|()| Skip)
    }
}

fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<Skip>()?.is_some() {}
    Ok(())
}

fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<Skip, Skip>()?.is_some() {}
    Ok(())
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

fn lookup(fields: &'static [Field], name: &str) -> Option<&'static Field> {
    fields.iter().find(|f| f.name == name)
}

/// Step 2 for pairs: whether every segment of a flattened name is known where the schema can say.
/// `Ok(n)`: the first `n` segments are all the decode needs, one past where the schema stops (a
/// type error in step 4 either way: `ProjectId.a.b.c` keeps `ProjectId.a`), so a hostile name of
/// many segments builds no deep tree.
fn check_key(fields: &'static [Field], segments: &[&str]) -> Result<usize, ParamError> {
    check_key_in(fields, segments, Path::Root)
}

fn check_key_in(
    fields: &'static [Field],
    segments: &[&str],
    prefix: Path<'_>,
) -> Result<usize, ParamError> {
    let Some((name, rest)) = segments.split_first() else {
        return Ok(0);
    };
    let path = Path::Name(&prefix, name);
    let field = lookup(fields, name).ok_or_else(|| ParamError::Unknown(path.to_string()))?;
    Ok(1 + check_key_kind(field.kind, rest, path)?)
}

fn check_key_kind(kind: Kind, segments: &[&str], path: Path<'_>) -> Result<usize, ParamError> {
    match (kind, segments.split_first()) {
        (_, None) => Ok(0),
        (Kind::Object(fields), Some(_)) => check_key_in(fields, segments, path),
        (Kind::List(element), Some((index, rest))) if index_of(index).is_some() => {
            Ok(1 + check_key_kind(*element, rest, Path::Name(&path, index))?)
        }
        // A container of the wrong shape: a type error for step 4.
        _ => Ok(1),
    }
}

fn index_of(segment: &str) -> Option<usize> {
    if segment.is_empty() || !segment.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    segment.parse().ok()
}

/// Flattened pairs as a tree of segments; a node may carry a value, children or (conflicting)
/// both. Children keep their first-seen order and are found by name through `index`.
#[derive(Debug, Default)]
struct Node<'a> {
    value: Option<&'a str>,
    children: Vec<(&'a str, Node<'a>)>,
    index: HashMap<&'a str, usize>,
}

impl<'a> Node<'a> {
    fn insert(&mut self, segments: &[&'a str], value: &'a str) {
        match segments.split_first() {
            None => self.value = Some(value),
            Some((head, rest)) => {
                let at = *self.index.entry(head).or_insert_with(|| {
                    self.children.push((head, Node::default()));
                    self.children.len() - 1
                });
                self.children[at].1.insert(rest, value);
            }
        }
    }
}

fn object_from_nodes(
    fields: &'static [Field],
    children: Vec<(&str, Node<'_>)>,
    path: Path<'_>,
    limits: Limits,
) -> Result<Map<String, Value>, ParamError> {
    let mut out = Map::new();
    for (name, node) in children {
        let value = match lookup(fields, name) {
            Some(field) => json_from_node(field.kind, node, Path::Name(&path, name), limits)?,
            None => Some(untyped(node)),
        };
        if let Some(value) = value {
            out.insert(name.to_owned(), value);
        }
    }
    Ok(out)
}

/// The JSON a pair tree stands for under `kind`; `None` for an absent value (`Name=` for a
/// non-String). A tree of the wrong shape becomes JSON of the wrong shape, so step 4 reports it.
fn json_from_node(
    kind: Kind,
    node: Node<'_>,
    path: Path<'_>,
    limits: Limits,
) -> Result<Option<Value>, ParamError> {
    let has_value = node.value.is_some_and(|v| !v.is_empty());
    if node.children.is_empty() {
        let value = node.value.unwrap_or_default();
        return Ok(match kind {
            Kind::String => Some(Value::String(value.to_owned())),
            _ if value.is_empty() => None,
            _ => Some(Value::String(value.to_owned())),
        });
    }
    Ok(match kind {
        // `Name=x` alongside `Name.0=y`: a scalar where a container is expected.
        Kind::List(_) | Kind::Object(_) if has_value => {
            node.value.map(|v| Value::String(v.to_owned()))
        }
        Kind::List(element) => {
            if node.children.iter().any(|(k, _)| index_of(k).is_none()) {
                return Ok(Some(untyped(node)));
            }
            let mut by_index: BTreeMap<usize, (&str, Node<'_>)> = BTreeMap::new();
            for (k, child) in node.children {
                if let Some(i) = index_of(k) {
                    by_index.insert(i, (k, child));
                }
            }
            if by_index.len() > limits.elements {
                return Err(ParamError::TooMany {
                    path: path.to_string(),
                    count: by_index.len(),
                    max: limits.elements,
                });
            }
            let mut items = Vec::with_capacity(by_index.len());
            for (k, child) in by_index.into_values() {
                if let Some(item) = json_from_node(*element, child, Path::Name(&path, k), limits)? {
                    items.push(item);
                }
            }
            Some(Value::Array(items))
        }
        Kind::Object(fields) => Some(Value::Object(object_from_nodes(
            fields,
            node.children,
            path,
            limits,
        )?)),
        Kind::String | Kind::Integer | Kind::Float | Kind::Boolean => Some(untyped(node)),
    })
}

/// A pair tree without a schema: strings and objects.
fn untyped(node: Node<'_>) -> Value {
    if node.children.is_empty() {
        Value::String(node.value.unwrap_or_default().to_owned())
    } else {
        Value::Object(
            node.children
                .into_iter()
                .map(|(k, child)| (k.to_owned(), untyped(child)))
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
        normalize_body(SCHEMA, Limits::CONTROL, body.as_bytes())
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn norm_pairs(list: &[(&str, &str)]) -> Result<Value, ParamError> {
        normalize_pairs(SCHEMA, Limits::CONTROL, &pairs(list))
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
            normalize_json(SCHEMA, Limits::CONTROL, json!([1])),
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
            let v = normalize_json(
                SCHEMA,
                Limits::CONTROL,
                json!({"ProjectId": "p", "PageNumber": given}),
            )
            .unwrap();
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
                normalize_json(
                    SCHEMA,
                    Limits::CONTROL,
                    json!({"ProjectId": "p", "PageNumber": given})
                ),
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
            let v = normalize_json(SCHEMA, Limits::CONTROL, body).unwrap();
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
                normalize_json(SCHEMA, Limits::CONTROL, body),
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
            let v = normalize_json(
                SCHEMA,
                Limits::CONTROL,
                json!({"ProjectId": given, "PageNumber": 1}),
            )
            .unwrap();
            assert_eq!(v["ProjectId"], json!(want));
        }
        for given in [json!([]), json!({})] {
            assert_eq!(
                normalize_json(
                    SCHEMA,
                    Limits::CONTROL,
                    json!({"ProjectId": given, "PageNumber": 1})
                ),
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
                normalize_json(SCHEMA, Limits::CONTROL, body).unwrap()["Enabled"],
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
                normalize_json(SCHEMA, Limits::CONTROL, body),
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

    // ---- where reading stops: hostile input ----

    /// `n` distinct unknown names (`"k0":0,"k1":0,…` without braces), about 12 bytes each.
    fn unknown_members(n: usize, value: &str) -> String {
        (0..n).map(|i| format!("\"k{i}\":{value},")).collect()
    }

    #[test]
    fn json_stops_at_the_first_unknown_name() {
        // The first key is unknown; after it 1 MB of 100,000 more and then no valid JSON at all:
        // the answer is the first name, not Malformed (the documented stop of step 2).
        let body = format!(
            "{{\"Zed\": 1, {} ]]] not json",
            unknown_members(100_000, "0")
        );
        assert!(body.len() > 1_000_000);
        assert_eq!(norm(&body), Err(unknown("Zed")));
        // Its value is not read either: an unclosed object after an unknown name.
        assert_eq!(
            norm(r#"{"ProjectId": "p", "Context": {"Bad": {"x": [1, 2"#),
            Err(unknown("Context.Bad"))
        );
        // Malformed before the unknown name is still Malformed.
        assert!(matches!(
            norm(r#"{"ProjectId": tru, "Zed": 1}"#),
            Err(ParamError::Malformed(_))
        ));
        // A repeated name cannot take back an unknown name inside its first value (it was read
        // first); before this decode stopped there, the later null made the body valid.
        assert_eq!(
            norm(r#"{"ProjectId": "p", "PageNumber": 1, "Context": {"Bad": 1}, "Context": null}"#),
            Err(unknown("Context.Bad"))
        );
    }

    #[test]
    fn json_null_unknown_names_are_read_past_in_linear_time() {
        // 200,000 distinct unknown names with null values must all be read; the answer is the
        // first non-null one. (A quadratic decoder does not finish this in minutes.)
        let body = format!(
            "{{{} \"ProjectId\": \"p\", \"PageNumber\": 1, \"Last\": 1}}",
            unknown_members(200_000, "null")
        );
        assert_eq!(norm(&body), Err(unknown("Last")));
        let body = format!(
            "{{{} \"ProjectId\": \"p\", \"PageNumber\": 1}}",
            unknown_members(200_000, "null")
        );
        assert_eq!(norm(&body), Ok(json!({"ProjectId": "p", "PageNumber": 1})));
    }

    fn strings(n: usize) -> String {
        let items: Vec<String> = (0..n).map(|i| format!("\"d{i}\"")).collect();
        items.join(",")
    }

    #[test]
    fn json_list_over_the_element_limit_is_too_many() {
        let max = Limits::CONTROL.elements;
        assert_eq!(max, 1_000);
        let at_max = format!(
            r#"{{"ProjectId": "p", "PageNumber": 1, "DeviceIds": [{}]}}"#,
            strings(max)
        );
        assert_eq!(
            norm(&at_max).unwrap()["DeviceIds"]
                .as_array()
                .unwrap()
                .len(),
            max
        );
        let too_many = |before: &str, after: &str| {
            format!(
                r#"{{"ProjectId": "p", {before} "PageNumber": 1, "DeviceIds": [{}], {after} "Enabled": true}}"#,
                strings(40_001)
            )
        };
        let over = ParamError::TooMany {
            path: "DeviceIds".into(),
            count: 40_001,
            max,
        };
        assert_eq!(norm(&too_many("", "")).err(), Some(over.clone()));
        // First in input order: a later unknown name does not matter, an earlier one does.
        assert_eq!(norm(&too_many("", r#""Zed": 1,"#)).err(), Some(over));
        assert_eq!(
            norm(&too_many(r#""Zed": 1,"#, "")).err(),
            Some(unknown("Zed"))
        );
        // Nested lists have the same limit, named by their path.
        let nested = format!(
            r#"{{"ProjectId": "p", "PageNumber": 1, "Filters": [{{"Name": "a"}}, {{"Name": "b", "Values": [{}]}}]}}"#,
            strings(max + 1)
        );
        assert_eq!(
            norm(&nested).err(),
            Some(ParamError::TooMany {
                path: "Filters.1.Values".into(),
                count: max + 1,
                max
            })
        );
        assert_eq!(
            ParamError::TooMany {
                path: "DeviceIds".into(),
                count: 1001,
                max: 1000
            }
            .to_string(),
            "parameter `DeviceIds` has 1001 elements, at most 1000 allowed"
        );
    }

    #[test]
    fn json_wrong_list_elements_answer_the_first() {
        // After the first bad element the rest is only checked: still the first element's path,
        // and a missing field in a later element still outranks it (step 3 before step 4).
        let objects: Vec<&str> = vec![r#"{"a": [1, 2, 3]}"#; 998];
        let body = format!(
            r#"{{"ProjectId": "p", "PageNumber": 1, "Counts": [1, "x", {}]}}"#,
            objects.join(",")
        );
        assert_eq!(norm(&body), Err(type_err("Counts.1", "Integer")));
        let filters: Vec<&str> = vec![r#"{"Name": []}"#; 500];
        let body = format!(
            r#"{{"ProjectId": "p", "PageNumber": 1, "Filters": [{}, {{"Values": []}}]}}"#,
            filters.join(",")
        );
        assert_eq!(norm(&body), Err(missing("Filters.500.Name")));
        // Skipped values are still read as JSON: invalid UTF-8 in one is Malformed.
        let mut bytes = br#"{"ProjectId": "p", "PageNumber": 1, "Counts": ["x", {"a": ""#.to_vec();
        bytes.extend_from_slice(b"\xff\"}]}");
        assert!(matches!(
            normalize_body(SCHEMA, Limits::CONTROL, &bytes),
            Err(ParamError::Malformed(_))
        ));
    }

    #[test]
    fn pairs_over_the_pair_limit_are_too_many() {
        let max = Limits::CONTROL.pairs;
        assert_eq!(max, 2_000);
        let device_ids: Vec<(String, String)> = (0..40_001)
            .map(|i| (format!("DeviceIds.{i}"), format!("d{i}")))
            .collect();
        assert_eq!(
            normalize_pairs(SCHEMA, Limits::CONTROL, &device_ids).err(),
            Some(ParamError::TooManyPairs { count: 40_001, max })
        );
        // Ignored pairs count too.
        let mut empty_unknowns: Vec<(String, String)> =
            (0..max).map(|i| (format!("k{i}"), String::new())).collect();
        empty_unknowns.push(("ProjectId".into(), "p".into()));
        assert_eq!(
            normalize_pairs(SCHEMA, Limits::CONTROL, &empty_unknowns),
            Err(ParamError::TooManyPairs {
                count: max + 1,
                max
            })
        );
        // In pair order: an unknown name before the limit answers first.
        let unknowns: Vec<(String, String)> = (0..200_000)
            .map(|i| (format!("k{i}"), "1".into()))
            .collect();
        assert_eq!(
            normalize_pairs(SCHEMA, Limits::CONTROL, &unknowns),
            Err(unknown("k0"))
        );
        assert_eq!(
            ParamError::TooManyPairs { count: 40_001, max }.to_string(),
            "40001 parameters, at most 2000 allowed"
        );
    }

    #[test]
    fn pairs_list_over_the_element_limit_is_too_many() {
        let max = Limits::CONTROL.elements;
        let mut list = vec![("ProjectId".to_owned(), "p".to_owned())];
        list.push(("PageNumber".into(), "1".into()));
        list.extend((0..=max).map(|i| (format!("Filters.0.Values.{i}"), "v".to_owned())));
        assert_eq!(
            normalize_pairs(SCHEMA, Limits::CONTROL, &list).err(),
            Some(ParamError::TooMany {
                path: "Filters.0.Values".into(),
                count: max + 1,
                max
            })
        );
        list.pop();
        list.push(("Filters.0.Name".into(), "n".into()));
        let v = normalize_pairs(SCHEMA, Limits::CONTROL, &list).unwrap();
        assert_eq!(v["Filters"][0]["Values"].as_array().unwrap().len(), max);
    }

    #[test]
    fn pairs_decode_linearly_past_the_control_limits() {
        // With the limits raised, 200,000 list elements and 200,000 ignored names still decode;
        // a tree that searched its children one by one would not finish this in minutes.
        let big = Limits {
            pairs: 1_000_000,
            elements: 1_000_000,
        };
        let mut list: Vec<(String, String)> = (0..200_000)
            .map(|i| (format!("k{i}"), String::new()))
            .collect();
        list.push(("ProjectId".into(), "p".into()));
        list.push(("PageNumber".into(), "1".into()));
        list.extend((0..200_000).map(|i| (format!("DeviceIds.{i}"), i.to_string())));
        let v = normalize_pairs(SCHEMA, big, &list).unwrap();
        assert_eq!(v["DeviceIds"].as_array().unwrap().len(), 200_000);
        assert_eq!(v["DeviceIds"][199_999], json!("199999"));
    }

    #[test]
    fn pairs_with_a_very_deep_name_build_no_deep_tree() {
        // 100,000 segments under a String: a type error, without a tree (or recursion) that deep.
        let deep = format!("ProjectId{}", ".a".repeat(100_000));
        assert_eq!(
            norm_pairs(&[("PageNumber", "1"), (&deep, "x")]),
            Err(type_err("ProjectId", "String"))
        );
        let deep = format!("DeviceIds.0{}", ".a".repeat(100_000));
        assert_eq!(
            norm_pairs(&[("ProjectId", "p"), ("PageNumber", "1"), (&deep, "x")]),
            Err(type_err("DeviceIds.0", "String"))
        );
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
