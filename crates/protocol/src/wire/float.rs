//! `Float`: the wire type for every `float` member of the vendor model (CPU and memory usage,
//! packet loss, stall ratios in `SessionDeviceDetail`).
//!
//! Why not plain `f64`: serde_json writes an `f64` zero as `0.0`, but the vendor's own
//! `DescribeDeviceSessionDetails` example answers `"Lost": [0, 0, ...]` and devices report `0`.
//! A device's value must come back as the device sent it (docs/api.md §2.7: "35.02 stays
//! 35.02"), so an integral value is written as a JSON integer and anything else as the shortest
//! decimal that round-trips (serde_json's `f64` formatting).

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A JSON number that serializes integral values without a fraction (`0`, not `0.0`).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Float(pub f64);

/// Largest magnitude below which every integral `f64` is exactly an `i64` (2^53).
const EXACT_INTEGER_LIMIT: f64 = 9_007_199_254_740_992.0;

impl From<f64> for Float {
    fn from(value: f64) -> Self {
        Float(value)
    }
}

impl From<Float> for f64 {
    fn from(value: Float) -> Self {
        value.0
    }
}

impl Serialize for Float {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        // `fract()` of an infinity or NaN is NaN, so those fall through to `serialize_f64`
        // (serde_json writes them as `null`; the store never holds them).
        if v.fract() == 0.0 && v.abs() < EXACT_INTEGER_LIMIT {
            // Exact: |v| < 2^53 and integral, so the cast loses nothing. `-0.0` becomes `0`.
            serializer.serialize_i64(v as i64)
        } else {
            serializer.serialize_f64(v)
        }
    }
}

impl<'de> Deserialize<'de> for Float {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FloatVisitor;

        impl Visitor<'_> for FloatVisitor {
            type Value = Float;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON number")
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Float, E> {
                Ok(Float(v))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Float, E> {
                Ok(Float(v as f64))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Float, E> {
                Ok(Float(v as f64))
            }
        }

        deserializer.deserialize_f64(FloatVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::Float;

    fn text(v: f64) -> String {
        serde_json::to_string(&Float(v)).unwrap()
    }

    #[test]
    fn integral_values_are_written_as_integers() {
        assert_eq!(text(0.0), "0");
        assert_eq!(text(-0.0), "0");
        assert_eq!(text(-1.0), "-1");
        assert_eq!(text(267.0), "267");
        assert_eq!(text(9_007_199_254_740_991.0), "9007199254740991");
    }

    #[test]
    fn fractional_values_keep_their_shortest_form() {
        assert_eq!(text(35.02), "35.02");
        assert_eq!(text(1.2), "1.2");
        assert_eq!(text(0.57), "0.57");
        assert_eq!(text(71.25), "71.25");
        assert_eq!(text(-0.5), "-0.5");
    }

    #[test]
    fn huge_integral_values_stay_floats() {
        // At and beyond 2^53 an f64 no longer names one integer; keep the float form.
        assert_eq!(text(9_007_199_254_740_992.0), "9007199254740992.0");
        // The exponent form is serde_json's choice ("1e300" or "1e+300" by version); it must
        // still read back as the same value.
        let big = text(1e300);
        assert_eq!(serde_json::from_str::<f64>(&big).unwrap(), 1e300, "{big}");
    }

    #[test]
    fn deserializes_from_any_json_number() {
        let v: Vec<Float> =
            serde_json::from_str("[0, -1, 35.02, 18446744073709551615, 1e2]").unwrap();
        assert_eq!(
            v,
            vec![
                Float(0.0),
                Float(-1.0),
                Float(35.02),
                Float(18446744073709551615.0),
                Float(100.0)
            ]
        );
    }

    #[test]
    fn rejects_non_numbers() {
        assert!(serde_json::from_str::<Float>("\"1.5\"").is_err());
        assert!(serde_json::from_str::<Float>("true").is_err());
        assert!(serde_json::from_str::<Float>("null").is_err());
    }

    #[test]
    fn round_trips_text() {
        for t in ["0", "35.02", "1.2", "-1", "0.57", "15.39", "44.08"] {
            let f: Float = serde_json::from_str(t).unwrap();
            assert_eq!(serde_json::to_string(&f).unwrap(), t);
        }
    }
}
