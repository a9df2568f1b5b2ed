//! jbuehl's reading of semonitor.py lines (solaredge.md §8): `common.py unwrap_metricsDict`
//! (the walk to each dict holding `"Date"`) and Python's `str()` of a `json.loads` value, as
//! `csv.DictWriter` writes it.

use super::node::Node;
use crate::output::py_float;

/// `nice()` of `unwrap_metricsDict`: NUL removed, spaces to `_`, `devices` removed.
pub fn nice(k: &str) -> String {
    k.replace('\0', "").replace(' ', "_").replace("devices", "")
}

/// `unwrap_metricsDict`: every dict that holds `"Date"`, with its dotted name, in the line's
/// order (a value that is not a dict is skipped where jbuehl's script would stop).
pub fn unwrap<'n, 'a>(n: &'n Node<'a>) -> Vec<(String, &'n Node<'a>)> {
    let mut out = Vec::new();
    walk(n, &mut out, 0);
    out
}

fn walk<'n, 'a>(n: &'n Node<'a>, out: &mut Vec<(String, &'n Node<'a>)>, depth: usize) {
    let Node::Obj(m) = n else { return };
    for (k, v) in m {
        if !matches!(v, Node::Obj(_)) {
            continue;
        }
        if v.get("Date").is_some() {
            out.push((nice(k), v));
        } else if depth < 16 {
            let mut inner = Vec::new();
            walk(v, &mut inner, depth + 1);
            for (k2, v2) in inner {
                let (a, b) = (nice(k), nice(&k2));
                let name = if b.is_empty() {
                    a
                } else if a.is_empty() {
                    b
                } else {
                    format!("{a}.{b}")
                };
                out.push((name, v2));
            }
        }
    }
}

/// Python's `str()` of the value `json.loads` makes of `n` (`None` is written as "" by
/// `csv.DictWriter`).
pub fn py_str(n: &Node<'_>) -> String {
    match n {
        Node::Null => String::new(),
        _ => py_repr(n, true),
    }
}

fn py_repr(n: &Node<'_>, top: bool) -> String {
    match n {
        Node::Null => "None".into(),
        Node::Bool(b) => if *b { "True" } else { "False" }.into(),
        Node::Num(t) => py_num(t),
        Node::Str(s) if top => s.to_string(),
        Node::Str(s) => py_quote(s),
        Node::Arr(v) => {
            let parts: Vec<String> = v.iter().map(|x| py_repr(x, false)).collect();
            format!("[{}]", parts.join(", "))
        }
        Node::Obj(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {}", py_quote(k), py_repr(v, false)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

/// A JSON number as Python prints the int or float `json.loads` makes of it.
fn py_num(t: &str) -> String {
    if t.contains(['.', 'e', 'E']) {
        return t.parse::<f64>().map_or_else(|_| t.to_string(), py_float);
    }
    t.parse::<i128>()
        .map_or_else(|_| t.to_string(), |i| i.to_string())
}

/// `repr()` of a str (single quotes unless the text holds one and no double quote).
fn py_quote(s: &str) -> String {
    let q = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut o = String::from(q);
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if c == q => {
                o.push('\\');
                o.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                o.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => o.push(c),
        }
    }
    o.push(q);
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwrap_names_as_jbuehl() {
        let l = r#"{"inverters":{"7F1":{"Date":"d","Vac":1.0}},"meters_0x0022":{"74":{"9_PV":{"Date":"d"}}},"events":{},"devices":{"x":{"Date":"d"}}}"#;
        let n = Node::parse(l).unwrap();
        let names: Vec<String> = unwrap(&n).into_iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["inverters.7F1", "meters_0x0022.74.9_PV", "x"]);
    }

    #[test]
    fn python_str_of_values() {
        let n = Node::parse(r#"[1.0,1e16,5,-0,true,null,"a b",0.1E1,["x",1]]"#).unwrap();
        let Node::Arr(v) = n else { panic!() };
        let got: Vec<String> = v.iter().map(py_str).collect();
        assert_eq!(
            got,
            ["1.0", "1e+16", "5", "0", "True", "", "a b", "1.0", "['x', 1]"]
        );
    }
}
