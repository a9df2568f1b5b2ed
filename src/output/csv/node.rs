//! A JSON value read with its numbers as written: the text of every number is kept, so a
//! float goes to a CSV cell or a state document exactly as the record wrote it (Rust's shortest
//! round-trip digits in sedecode's records, Python's `repr` in semonitor's lines) and reads back
//! equal. Object members keep their order. Used by se2csv and se2state (docs/CSV_STATE.md).

use std::borrow::Cow;

/// Deepest nesting read; a deeper line is an error.
const MAX_DEPTH: usize = 64;

/// One JSON value; numbers are their text.
#[derive(Debug, Clone, PartialEq)]
pub enum Node<'a> {
    Null,
    Bool(bool),
    Num(&'a str),
    Str(Cow<'a, str>),
    Arr(Vec<Node<'a>>),
    Obj(Vec<(Cow<'a, str>, Node<'a>)>),
}

impl<'a> Node<'a> {
    /// Parses one JSON text (a whole line), in one pass; strings without escapes and numbers
    /// are borrowed from it.
    pub fn parse(text: &'a str) -> Result<Node<'a>, String> {
        let mut p = Parser { s: text, i: 0 };
        let v = p.value(0)?;
        p.ws();
        if p.i < text.len() {
            return Err(p.err("trailing characters"));
        }
        Ok(v)
    }

    /// The member `k` of an object.
    pub fn get(&self, k: &str) -> Option<&Node<'a>> {
        match self {
            Node::Obj(m) => m.iter().find(|(n, _)| n == k).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A scalar as text: strings unquoted, numbers as written, `true`/`false`, null as "".
    pub fn text(&self) -> Option<Cow<'_, str>> {
        Some(match self {
            Node::Null => Cow::Borrowed(""),
            Node::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            Node::Num(s) => Cow::Borrowed(s),
            Node::Str(s) => Cow::Borrowed(s),
            _ => return None,
        })
    }

    pub fn is_scalar(&self) -> bool {
        !matches!(self, Node::Arr(_) | Node::Obj(_))
    }

    /// Appends this value as JSON.
    pub fn write_json(&self, o: &mut String) {
        match self {
            Node::Null => o.push_str("null"),
            Node::Bool(b) => o.push_str(if *b { "true" } else { "false" }),
            Node::Num(s) => o.push_str(s),
            Node::Str(s) => json_string(o, s),
            Node::Arr(v) => {
                o.push('[');
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        o.push(',');
                    }
                    x.write_json(o);
                }
                o.push(']');
            }
            Node::Obj(m) => {
                o.push('{');
                for (i, (k, x)) in m.iter().enumerate() {
                    if i > 0 {
                        o.push(',');
                    }
                    json_string(o, k);
                    o.push(':');
                    x.write_json(o);
                }
                o.push('}');
            }
        }
    }
}

struct Parser<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Parser<'a> {
    fn err(&self, what: &str) -> String {
        format!("{what} at column {}", self.i + 1)
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn word(&mut self, w: &str, v: Node<'a>) -> Result<Node<'a>, String> {
        if self.s.as_bytes()[self.i..].starts_with(w.as_bytes()) {
            self.i += w.len();
            Ok(v)
        } else {
            Err(self.err("expected a value"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node<'a>, String> {
        self.ws();
        if depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        match self.peek() {
            Some(b'{') => {
                self.i += 1;
                let mut m = Vec::new();
                self.ws();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                    return Ok(Node::Obj(m));
                }
                loop {
                    self.ws();
                    if self.peek() != Some(b'"') {
                        return Err(self.err("expected a member name"));
                    }
                    let k = self.string()?;
                    self.ws();
                    if self.peek() != Some(b':') {
                        return Err(self.err("expected ':'"));
                    }
                    self.i += 1;
                    m.push((k, self.value(depth + 1)?));
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(Node::Obj(m));
                        }
                        _ => return Err(self.err("expected ',' or '}'")),
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut v = Vec::new();
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(Node::Arr(v));
                }
                loop {
                    v.push(self.value(depth + 1)?);
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Node::Arr(v));
                        }
                        _ => return Err(self.err("expected ',' or ']'")),
                    }
                }
            }
            Some(b'"') => Ok(Node::Str(self.string()?)),
            Some(b't') => self.word("true", Node::Bool(true)),
            Some(b'f') => self.word("false", Node::Bool(false)),
            Some(b'n') => self.word("null", Node::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.err("expected a value")),
            None => Err(self.err("unexpected end")),
        }
    }

    /// A JSON number (RFC 8259 grammar), as its text.
    fn number(&mut self) -> Result<Node<'a>, String> {
        let b = self.s.as_bytes();
        let start = self.i;
        let digits = |i: &mut usize| {
            let s = *i;
            while b.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i > s
        };
        let mut i = self.i;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                digits(&mut i);
            }
            _ => return Err(self.err("bad number")),
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            if !digits(&mut i) {
                return Err(self.err("bad number"));
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if !digits(&mut i) {
                return Err(self.err("bad number"));
            }
        }
        self.i = i;
        Ok(Node::Num(&self.s[start..i]))
    }

    /// A string starting at the current `"`; borrowed unless it has escapes.
    fn string(&mut self) -> Result<Cow<'a, str>, String> {
        let b = self.s.as_bytes();
        let start = self.i + 1;
        let mut i = start;
        let mut escaped = false;
        loop {
            match b.get(i) {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => break,
                Some(b'\\') => {
                    escaped = true;
                    i += 2;
                }
                Some(&c) if c < 0x20 => {
                    self.i = i;
                    return Err(self.err("control character in a string"));
                }
                Some(_) => i += 1,
            }
        }
        let end = i.min(b.len());
        self.i = end + 1;
        if !escaped {
            return Ok(Cow::Borrowed(&self.s[start..end]));
        }
        serde_json::from_str::<String>(&self.s[start - 1..=end])
            .map(Cow::Owned)
            .map_err(|e| format!("bad string: {e}"))
    }
}

/// Appends `s` as a JSON string.
pub fn json_string(o: &mut String, s: &str) {
    // serde_json's escaping of a &str never fails.
    o.push_str(&serde_json::to_string(s).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_their_text_and_members_their_order() {
        let n = Node::parse(r#"{"b":1.50,"a":[1e+16,null,true],"c":{"d":"x\"y"}}"#).unwrap();
        let Node::Obj(m) = &n else { panic!() };
        assert_eq!(m[0], ("b".into(), Node::Num("1.50")));
        assert_eq!(
            m[1].1,
            Node::Arr(vec![Node::Num("1e+16"), Node::Null, Node::Bool(true)])
        );
        assert_eq!(n.get("c").unwrap().get("d").unwrap().as_str(), Some("x\"y"));
        let mut o = String::new();
        n.write_json(&mut o);
        assert_eq!(o, r#"{"b":1.50,"a":[1e+16,null,true],"c":{"d":"x\"y"}}"#);
        assert!(Node::parse("{\"a\":").is_err());
        assert!(Node::parse("nope").is_err());
    }

    #[test]
    fn deep_nesting_and_bad_text_are_errors() {
        let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
        assert!(Node::parse(&deep).is_ok());
        let deeper = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(Node::parse(&deeper).is_err());
        for bad in [
            "",
            "{",
            "[1,]",
            "01",
            "1.",
            "-",
            "\"a",
            "\"\\\"",
            "{\"a\" 1}",
            "[1] x",
            "tru",
            "\"\u{1}\"",
        ] {
            assert!(Node::parse(bad).is_err(), "{bad:?}");
        }
        let n = Node::parse(r#" {"a\u0062":"x\n\"y", "c":-0.5e-3} "#).unwrap();
        assert_eq!(n.get("ab").unwrap().as_str(), Some("x\n\"y"));
        assert_eq!(n.get("c"), Some(&Node::Num("-0.5e-3")));
        // Every prefix of a line fails cleanly, byte by byte.
        let line = r#"{"a":[1,{"b":"c\"d"},true,null,-1.5e+3],"e":"\u00e9"}"#;
        for i in 0..line.len() {
            if line.is_char_boundary(i) {
                assert!(Node::parse(&line[..i]).is_err());
            }
        }
        assert!(Node::parse(line).is_ok());
    }
}
