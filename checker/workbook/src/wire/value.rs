//! Values as they cross the wire: bind parameters the code sent and the
//! columns of rows the server sent back, decoded from PostgreSQL's text or
//! binary format by type OID so a check can compare them and a failure can
//! show them.
//!
//! Only the types the course's exercises use are decoded; anything else is
//! kept as its bytes (shown as text when it is valid UTF-8, which custom
//! enums are in either format).

use std::fmt;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

/// One value on the wire.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// `numeric`, exactly as PostgreSQL would print it.
    Numeric(String),
    Text(String),
    Bytes(Vec<u8>),
    Timestamp(DateTime<Utc>),
    Date(NaiveDate),
    Uuid([u8; 16]),
    Array(Vec<Value>),
}

// Type OIDs, from PostgreSQL's pg_type.dat.
const BOOL: u32 = 16;
const BYTEA: u32 = 17;
const CHAR: u32 = 18;
const NAME: u32 = 19;
const INT8: u32 = 20;
const INT2: u32 = 21;
const INT4: u32 = 23;
const TEXT: u32 = 25;
const OID: u32 = 26;
const JSON: u32 = 114;
const FLOAT4: u32 = 700;
const FLOAT8: u32 = 701;
const BPCHAR: u32 = 1042;
const VARCHAR: u32 = 1043;
const DATE: u32 = 1082;
const TIMESTAMP: u32 = 1114;
const TIMESTAMPTZ: u32 = 1184;
const NUMERIC: u32 = 1700;
const UUID: u32 = 2950;
const JSONB: u32 = 3802;

/// Seconds from the Unix epoch to PostgreSQL's, 2000-01-01.
const PG_EPOCH_UNIX: i64 = 946_684_800;

impl Value {
    /// Decodes `bytes` (`None` is SQL NULL) sent in `format` (0 text,
    /// 1 binary) as a value of type `oid` (0 when unknown).
    pub fn decode(oid: u32, format: i16, bytes: Option<&[u8]>) -> Value {
        let Some(bytes) = bytes else { return Value::Null };
        if format == 0 {
            return Value::Text(String::from_utf8_lossy(bytes).into_owned());
        }
        decode_binary(oid, bytes).unwrap_or_else(|| fallback(bytes))
    }

    /// Whether this value is `needle`, or (for an array, as sent for
    /// `= ANY($1)`) holds it.
    pub fn holds(&self, needle: &Value) -> bool {
        match self {
            Value::Array(items) => items.iter().any(|v| v.holds(needle)),
            _ => self.same_as(needle),
        }
    }

    /// Equality that lets a number match however wide its type was, and
    /// text match a value the driver sent in another text-like type.
    fn same_as(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Numeric(a), Value::Int(b)) | (Value::Int(b), Value::Numeric(a)) => *a == b.to_string(),
            (Value::Text(a), Value::Int(b)) | (Value::Int(b), Value::Text(a)) => *a == b.to_string(),
            _ => self == other,
        }
    }

    /// This value as the text a query would compare, for searching: the
    /// string itself for text, the digits for a number.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Value::Text(s) | Value::Numeric(s) => Some(s.clone()),
            Value::Int(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

fn fallback(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(s) if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') => Value::Text(s.to_owned()),
        _ => Value::Bytes(bytes.to_vec()),
    }
}

fn decode_binary(oid: u32, b: &[u8]) -> Option<Value> {
    Some(match oid {
        BOOL => Value::Bool(*b.first()? != 0),
        INT2 => Value::Int(i16::from_be_bytes(b.try_into().ok()?).into()),
        INT4 => Value::Int(i32::from_be_bytes(b.try_into().ok()?).into()),
        INT8 => Value::Int(i64::from_be_bytes(b.try_into().ok()?)),
        OID => Value::Int(u32::from_be_bytes(b.try_into().ok()?).into()),
        FLOAT4 => Value::Float(f32::from_be_bytes(b.try_into().ok()?).into()),
        FLOAT8 => Value::Float(f64::from_be_bytes(b.try_into().ok()?)),
        TEXT | VARCHAR | BPCHAR | NAME | CHAR | JSON => Value::Text(std::str::from_utf8(b).ok()?.to_owned()),
        JSONB => Value::Text(std::str::from_utf8(b.strip_prefix(&[1])?).ok()?.to_owned()),
        BYTEA => Value::Bytes(b.to_vec()),
        UUID => Value::Uuid(b.try_into().ok()?),
        TIMESTAMP | TIMESTAMPTZ => {
            let micros = i64::from_be_bytes(b.try_into().ok()?);
            let at = DateTime::from_timestamp(PG_EPOCH_UNIX, 0)?.checked_add_signed(TimeDelta::microseconds(micros))?;
            Value::Timestamp(at)
        }
        DATE => {
            let days = i32::from_be_bytes(b.try_into().ok()?);
            Value::Date(NaiveDate::from_ymd_opt(2000, 1, 1)?.checked_add_signed(TimeDelta::days(days.into()))?)
        }
        NUMERIC => Value::Numeric(numeric(b)?),
        _ => return array(b),
    })
}

/// The binary array format: dimensions, a has-nulls flag, the element
/// type, each dimension's size and lower bound, then the elements. Only
/// one-dimensional arrays are decoded (what `= ANY($1)` sends); the
/// element type comes from the payload itself, so any array type works.
fn array(b: &[u8]) -> Option<Value> {
    let mut r = Reader(b);
    let ndim = r.i32()?;
    let _has_nulls = r.i32()?;
    let elem = r.u32()?;
    if ndim == 0 {
        return Some(Value::Array(Vec::new()));
    }
    if ndim != 1 {
        return None;
    }
    let len = r.i32()?;
    let _lower = r.i32()?;
    let mut items = Vec::with_capacity(len.clamp(0, 1024) as usize);
    for _ in 0..len {
        let n = r.i32()?;
        let bytes = if n < 0 { None } else { Some(r.take(n as usize)?) };
        items.push(Value::decode(elem, 1, bytes));
    }
    r.0.is_empty().then_some(Value::Array(items))
}

/// `numeric` in binary: base-10000 digits with a weight, a sign and the
/// number of decimal places to show.
fn numeric(b: &[u8]) -> Option<String> {
    let mut r = Reader(b);
    let ndigits = r.i16()?;
    let weight = r.i16()? as i32;
    let sign = r.u16()?;
    let dscale = r.i16()? as usize;
    match sign {
        0xC000 => return Some("NaN".into()),
        0xD000 => return Some("Infinity".into()),
        0xF000 => return Some("-Infinity".into()),
        _ => {}
    }
    let digits: Vec<i16> = (0..ndigits).map(|_| r.i16()).collect::<Option<_>>()?;
    let digit = |i: i32| -> i16 { if i >= 0 && (i as usize) < digits.len() { digits[i as usize] } else { 0 } };
    let mut int = String::new();
    for i in 0..=weight.max(0) {
        if i > weight {
            break;
        }
        let d = digit(i);
        if int.is_empty() { int.push_str(&d.to_string()) } else { int.push_str(&format!("{d:04}")) }
    }
    if int.is_empty() {
        int.push('0');
    }
    let mut frac = String::new();
    let mut i = weight + 1;
    while frac.len() < dscale {
        frac.push_str(&format!("{:04}", digit(i)));
        i += 1;
    }
    frac.truncate(dscale);
    let minus = if sign == 0x4000 { "-" } else { "" };
    Some(if dscale > 0 { format!("{minus}{int}.{frac}") } else { format!("{minus}{int}") })
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }
    fn i16(&mut self) -> Option<i16> {
        Some(i16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }
    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
}

/// As SQL would spell the value: strings quoted, NULL bare.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(n) => write!(f, "{n}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Numeric(s) => f.write_str(s),
            Value::Text(s) => {
                let shown: String = s.chars().take(80).collect();
                let more = if shown.len() < s.len() { "…" } else { "" };
                write!(f, "'{}{more}'", shown.replace('\'', "''"))
            }
            Value::Bytes(b) => {
                let hex: String = b.iter().take(32).map(|x| format!("{x:02x}")).collect();
                write!(f, "'\\x{hex}{}'", if b.len() > 32 { "…" } else { "" })
            }
            Value::Timestamp(t) => write!(f, "'{}'", t.format("%Y-%m-%d %H:%M:%S%.f+00")),
            Value::Date(d) => write!(f, "'{d}'"),
            Value::Uuid(u) => {
                let h: String = u.iter().map(|x| format!("{x:02x}")).collect();
                write!(f, "'{}-{}-{}-{}-{}'", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
            }
            Value::Array(items) => {
                f.write_str("{")?;
                for (i, v) in items.iter().take(12).enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                if items.len() > 12 {
                    write!(f, ", … {} in all", items.len())?;
                }
                f.write_str("}")
            }
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Text(s.to_owned())
    }
}

impl From<&String> for Value {
    fn from(s: &String) -> Value {
        Value::Text(s.clone())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Text(s)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Value {
        Value::Int(n)
    }
}

impl From<i32> for Value {
    fn from(n: i32) -> Value {
        Value::Int(n.into())
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<DateTime<Utc>> for Value {
    fn from(t: DateTime<Utc>) -> Value {
        Value::Timestamp(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_text_and_null_decode_from_binary() {
        assert_eq!(Value::decode(INT8, 1, Some(&42i64.to_be_bytes())), Value::Int(42));
        assert_eq!(Value::decode(INT4, 1, Some(&(-7i32).to_be_bytes())), Value::Int(-7));
        assert_eq!(Value::decode(TEXT, 1, Some(b"O'Brien")), Value::Text("O'Brien".into()));
        assert_eq!(Value::decode(INT8, 1, None), Value::Null);
        assert_eq!(Value::decode(INT8, 0, Some(b"42")), Value::Text("42".into()));
        assert!(Value::decode(INT8, 0, Some(b"42")).holds(&Value::Int(42)));
    }

    #[test]
    fn an_int8_array_holds_its_elements() {
        let mut b = Vec::new();
        for n in [1i32, 0, INT8 as i32, 2, 1] {
            b.extend_from_slice(&n.to_be_bytes());
        }
        for n in [10i64, 20] {
            b.extend_from_slice(&8i32.to_be_bytes());
            b.extend_from_slice(&n.to_be_bytes());
        }
        let v = Value::decode(1016, 1, Some(&b));
        assert_eq!(v, Value::Array(vec![Value::Int(10), Value::Int(20)]));
        assert!(v.holds(&Value::Int(20)));
        assert!(!v.holds(&Value::Int(30)));
        assert_eq!(v.to_string(), "{10, 20}");
    }

    #[test]
    fn numeric_is_printed_as_postgres_prints_it() {
        // 12345.678 = digits [1, 2345, 6780], weight 1, dscale 3.
        let mut b = Vec::new();
        for n in [3i16, 1, 0, 3, 1, 2345, 6780] {
            b.extend_from_slice(&n.to_be_bytes());
        }
        assert_eq!(Value::decode(NUMERIC, 1, Some(&b)), Value::Numeric("12345.678".into()));
        // -0.05 = digits [500], weight -1, dscale 2.
        let mut b = Vec::new();
        for n in [1i16, -1, 0x4000u16 as i16, 2, 500] {
            b.extend_from_slice(&n.to_be_bytes());
        }
        assert_eq!(Value::decode(NUMERIC, 1, Some(&b)), Value::Numeric("-0.05".into()));
    }

    #[test]
    fn timestamps_count_from_the_year_2000() {
        let v = Value::decode(TIMESTAMPTZ, 1, Some(&86_400_000_000i64.to_be_bytes()));
        assert_eq!(v.to_string(), "'2000-01-02 00:00:00+00'");
    }

    #[test]
    fn text_is_shown_quoted_as_sql_would() {
        assert_eq!(Value::from("O'Brien").to_string(), "'O''Brien'");
        assert_eq!(Value::Null.to_string(), "NULL");
    }
}
