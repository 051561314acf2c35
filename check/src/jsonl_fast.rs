//! The common shape of a JSON Lines operation, read without serde.
//!
//! Checking a short history costs less than deserialising it through serde's generic machinery
//! (field names matched as strings, every value built through visitors), so a line of the usual
//! shape — the fields of [`Operation`], each at most once, holding null, booleans, integers,
//! strings without escapes, or arrays of those — is read here in one pass over its bytes.
//!
//! Invariant: [`operation`] returns either exactly what `serde_json::from_str::<Operation>` gives
//! for the line, or `None`, and then the caller asks serde (which also words the errors).
//! Anything unusual declines: escapes, fractions and exponents, integers too long to be exact
//! in an `f64`, objects, unknown or repeated fields, missing required ones.

use serde_json::{Number, Value};

use crate::history::Operation;

/// The operation on `line`, when it has the common shape (see the module doc).
pub fn operation(line: &str) -> Option<Operation> {
    let mut p = Parser { text: line, bytes: line.as_bytes(), at: 0 };
    p.eat(b'{')?;
    let (mut client, mut call, mut ret, mut f, mut key) = (None, None, None, None, None);
    let (mut input, mut output) = (None, None);
    if !p.peek_is(b'}') {
        loop {
            let name = p.string()?;
            p.eat(b':')?;
            let fresh = match name {
                "client" => client.replace(p.unsigned()?).is_none(),
                "call" => call.replace(p.time()?).is_none(),
                "return" => ret.replace(p.maybe(Parser::time)?).is_none(),
                "f" => f.replace(p.string()?).is_none(),
                "key" => key.replace(p.maybe(Parser::string)?).is_none(),
                "input" => input.replace(p.value(true)?).is_none(),
                "output" => output.replace(p.value(true)?).is_none(),
                _ => return None,
            };
            if !fresh {
                return None;
            }
            if !p.comma()? {
                break;
            }
        }
    }
    p.eat(b'}')?;
    p.skip_space();
    if p.at != p.bytes.len() {
        return None;
    }
    Some(Operation {
        client: client?,
        call: call?,
        ret: ret.flatten(),
        f: f?.to_string(),
        key: key.flatten().map(str::to_string),
        input: input.unwrap_or(Value::Null),
        output: output.unwrap_or(Value::Null),
    })
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

/// Most digits of a number read here: 15 digits are exact in an `f64` (as is every power of ten
/// up to 10^15) and fit every integer type.
const MAX_DIGITS: usize = 15;

impl<'a> Parser<'a> {
    fn skip_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    fn peek_is(&mut self, byte: u8) -> bool {
        self.skip_space();
        self.bytes.get(self.at) == Some(&byte)
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        if !self.peek_is(byte) {
            return None;
        }
        self.at += 1;
        Some(())
    }

    /// After a member or an element: `Some(true)` past a comma, `Some(false)` before the close.
    fn comma(&mut self) -> Option<bool> {
        if self.peek_is(b',') {
            self.at += 1;
            return Some(true);
        }
        Some(false)
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        self.skip_space();
        if self.bytes[self.at..].starts_with(word) {
            self.at += word.len();
            return true;
        }
        false
    }

    /// `null` as `None`, else what `read` reads.
    fn maybe<T>(&mut self, read: fn(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.literal(b"null") {
            return Some(None);
        }
        read(self).map(Some)
    }

    /// A string without escapes or control characters.
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.at;
        let length =
            self.bytes[start..].iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        self.at += length;
        if self.bytes[self.at] != b'"' {
            return None;
        }
        self.at += 1;
        // Between two ASCII quotes: on character boundaries of the line.
        self.text.get(start..start + length)
    }

    /// Digits from here on: their value and how many (at most [`MAX_DIGITS`] counted).
    fn digits(&mut self) -> (u64, usize) {
        let (mut value, mut count) = (0u64, 0);
        while let Some(digit) = self.bytes.get(self.at).filter(|b| b.is_ascii_digit()) {
            if count < MAX_DIGITS {
                value = value * 10 + (digit - b'0') as u64;
            }
            count += 1;
            self.at += 1;
        }
        (value, count)
    }

    /// The sign and the whole part of a number (digits, no leading zero).
    fn whole(&mut self) -> Option<(bool, u64, usize)> {
        self.skip_space();
        let negative = self.bytes.get(self.at) == Some(&b'-');
        if negative {
            self.at += 1;
        }
        let start = self.at;
        let (value, count) = self.digits();
        if count == 0 || count > MAX_DIGITS || (count > 1 && self.bytes[start] == b'0') {
            return None;
        }
        Some((negative, value, count))
    }

    /// An integer: its sign and magnitude (no fraction or exponent; no `-0`).
    fn integer(&mut self) -> Option<(bool, u64)> {
        let (negative, value, _) = self.whole()?;
        if matches!(self.bytes.get(self.at), Some(b'.' | b'e' | b'E')) || (negative && value == 0) {
            return None;
        }
        Some((negative, value))
    }

    fn unsigned(&mut self) -> Option<u64> {
        match self.integer()? {
            (false, value) => Some(value),
            (true, _) => None,
        }
    }

    /// A time: an integer or a decimal fraction of at most [`MAX_DIGITS`] digits. Its value is
    /// the digits as an integer divided by a power of ten, both exact in an `f64`: one
    /// correctly rounded division, as serde_json computes such numbers.
    fn time(&mut self) -> Option<f64> {
        let (negative, mut value, mut count) = self.whole()?;
        let mut scale = 0;
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            let (fraction, digits) = self.digits();
            if digits == 0 || count + digits > MAX_DIGITS {
                return None;
            }
            value = value * 10u64.pow(digits as u32) + fraction;
            count += digits;
            scale = digits;
        }
        if matches!(self.bytes.get(self.at), Some(b'e' | b'E')) || count > MAX_DIGITS {
            return None;
        }
        if negative && value == 0 {
            return None;
        }
        let magnitude = value as f64 / 10u64.pow(scale as u32) as f64;
        Some(if negative { -magnitude } else { magnitude })
    }

    /// A JSON value of the kinds the module doc lists; arrays only at the top (`nest`).
    fn value(&mut self, nest: bool) -> Option<Value> {
        self.skip_space();
        match *self.bytes.get(self.at)? {
            b'n' if self.literal(b"null") => Some(Value::Null),
            b't' if self.literal(b"true") => Some(Value::Bool(true)),
            b'f' if self.literal(b"false") => Some(Value::Bool(false)),
            b'"' => self.string().map(|s| Value::String(s.to_string())),
            b'-' | b'0'..=b'9' => match self.integer()? {
                (false, value) => Some(Value::Number(Number::from(value))),
                (true, value) => Some(Value::Number(Number::from(-(value as i64)))),
            },
            b'[' if nest => {
                self.at += 1;
                let mut items = Vec::new();
                if !self.peek_is(b']') {
                    loop {
                        items.push(self.value(false)?);
                        if !self.comma()? {
                            break;
                        }
                    }
                }
                self.eat(b']')?;
                Some(Value::Array(items))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serde(line: &str) -> Option<Operation> {
        serde_json::from_str(line).ok()
    }

    #[test]
    fn agrees_with_serde_or_declines() {
        let lines = [
            r#"{"client":0,"call":1,"return":2,"f":"write","input":3,"output":null}"#,
            r#"{"client":1,"call":1,"return":null,"f":"cas","input":[3,4],"output":null}"#,
            r#" { "client" : 2 , "call" : -3 , "f" : "read" , "output" : -4 } "#,
            r#"{"client":3,"call":0,"return":9,"f":"get","key":"k","input":null,"output":"a b"}"#,
            r#"{"client":3,"call":0,"return":9,"f":"get","key":null,"output":""}"#,
            r#"{"client":4,"call":5,"return":6,"f":"cas","input":["x",true],"output":false}"#,
            r#"{"client":4,"call":5,"return":6,"f":"cas","input":[],"output":[null]}"#,
            r#"{"client":5,"call":1.5,"return":2.25,"f":"read"}"#,
            r#"{"client":5,"call":-0.1,"return":0.3,"f":"read"}"#,
            r#"{"client":5,"call":4.0,"return":1234567.12345678,"f":"read"}"#,
            r#"{"client":5,"call":1.8353375824284792,"return":2,"f":"read"}"#,
            r#"{"client":5,"call":1.,"return":2,"f":"read"}"#,
            r#"{"client":5,"call":-0.0,"return":2,"f":"read"}"#,
            r#"{"client":5,"call":1,"return":2,"f":"read","input":1.5}"#,
            r#"{"client":5,"call":1e3,"return":2,"f":"read"}"#,
            r#"{"client":5,"call":01,"return":2,"f":"read"}"#,
            r#"{"client":5,"call":-0,"return":2,"f":"read"}"#,
            r#"{"client":-5,"call":1,"return":2,"f":"read"}"#,
            r#"{"client":5,"call":1,"return":2,"f":"re\"ad"}"#,
            r#"{"client":5,"call":1,"return":2,"f":"read","output":{"a":1}}"#,
            r#"{"client":5,"call":1,"return":2,"f":"read","output":[[1]]}"#,
            r#"{"client":5,"call":1,"return":2,"f":"read","extra":1}"#,
            r#"{"client":5,"call":1,"call":2,"f":"read"}"#,
            r#"{"client":5,"call":1,"return":2}"#,
            r#"{"client":5,"call":1,"return":2,"f":"read",}"#,
            r#"{"client":5,"call":1,"return":2,"f":"read"} x"#,
            r#"{"client":5,"call":123456789012345678,"return":2,"f":"read"}"#,
            r#"{"client":5,"call":1,"return":2,"f":"read","output":"é ü"}"#,
            r#"{}"#,
            r#"{"client":5"#,
            r#"[1]"#,
        ];
        let mut fast = 0;
        for line in lines {
            if let Some(op) = operation(line) {
                fast += 1;
                assert_eq!(Some(op), serde(line), "{line}");
            }
        }
        assert_eq!(fast, 11, "the common shapes are read here");
    }

    #[test]
    fn generated_histories_read_alike() {
        let mut n = 7u64;
        let mut random = move || {
            n = n.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            n
        };
        let shape =
            crate::generate::Shape { clients: 5, ops: 300, keys: 3, window: 4.0, unknown: 0.1 };
        // etcd's operations hold objects: serde reads all of them.
        for (history, fast_ones) in [
            (crate::generate::kv(shape, &mut random), true),
            (crate::generate::register(shape, &mut random), true),
            (crate::generate::etcd(shape, &mut random), false),
        ] {
            // Whole times, so that the lines take the fast path.
            let mut history = history;
            for op in &mut history.ops {
                op.call = op.call.floor();
                op.ret = op.ret.map(f64::floor);
            }
            let text = crate::jsonl::to_string(&history);
            let mut fast = 0;
            for line in text.lines() {
                if let Some(op) = operation(line) {
                    fast += 1;
                    assert_eq!(Some(op), serde(line), "{line}");
                }
            }
            assert_eq!(fast > 0, fast_ones, "{text}");
        }
    }
}
