//! Python's `json.dumps(..., sort_keys=True)` as semonitor calls it (solaredge.md §7): sorted
//! nested objects, `", "` / `": "` separators, `ensure_ascii` strings and `repr` floats.

use std::collections::BTreeMap;
use std::fmt::Write;

pub(super) type Obj = BTreeMap<String, Val>;

pub(super) enum Val {
    Int(i64),
    Float(f64),
    Str(String),
    Obj(Obj),
}

/// `{k0: {k1: ... leaf}}`.
pub(super) fn wrap(keys: &[&str], leaf: Obj) -> Obj {
    let mut v = leaf;
    for k in keys.iter().rev() {
        let mut o = Obj::new();
        o.insert((*k).to_string(), Val::Obj(v));
        v = o;
    }
    v
}

/// JB `merge_update`: new keys are added, nested dicts merged, other values replaced.
pub(super) fn merge_update(dst: &mut Obj, src: Obj) {
    for (k, v) in src {
        match (dst.get_mut(&k), v) {
            (Some(Val::Obj(d)), Val::Obj(s)) => merge_update(d, s),
            (_, v) => {
                dst.insert(k, v);
            }
        }
    }
}

pub(super) fn write_obj(out: &mut String, o: &Obj) {
    out.push('{');
    for (i, (k, v)) in o.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        py_json_str(out, k);
        out.push_str(": ");
        match v {
            Val::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Val::Float(x) if x.is_finite() => out.push_str(&py_float(*x)),
            // Python writes NaN / Infinity / -Infinity (not JSON): deliberate deviation.
            Val::Float(_) => out.push_str("null"),
            Val::Str(s) => py_json_str(out, s),
            Val::Obj(o) => write_obj(out, o),
        }
    }
    out.push('}');
}

/// A JSON string as Python's `json.dumps` (`ensure_ascii=True`) writes it: `\"`, `\\`, `\b`,
/// `\f`, `\n`, `\r`, `\t`, every other character outside `' '..='~'` as `\uxxxx` (lower-case,
/// UTF-16 surrogate pairs above U+FFFF).
pub fn py_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{u:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// Python's `repr(float)`: the shortest digits that round-trip, in fixed notation when
/// `1e-4 <= |x| < 1e16` (with `.0` for integral values), else `d.ddde±XX` (at least two
/// exponent digits): `0.0`, `-0.0`, `0.0001`, `1e-05`, `1e+16`, `7.8187500000000005`,
/// `1.229782974897691e+19`; `nan`, `inf`, `-inf` for the non-finite values.
pub fn py_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    // The number of shortest round-trip digits from Rust's `{:e}` ("1.2345e19", "0e0"). Where
    // two candidates of that length are equally near (an f32 widened to f64 is often exactly
    // halfway, 681.09088134765625), Python takes the even one and Rust's shortest mode the
    // upper one, so the digits come from the correctly rounded (half-to-even) exact mode,
    // kept only if it round-trips (it always does except at some powers of two).
    let a = x.abs();
    let shortest = format!("{a:e}");
    let n = shortest
        .split('e')
        .next()
        .map_or(1, |m| m.bytes().filter(u8::is_ascii_digit).count());
    let exact = format!("{:.*e}", n.saturating_sub(1), a);
    let e = if exact.parse::<f64>().ok() == Some(a) {
        exact
    } else {
        shortest
    };
    let (mant, exp) = e.split_once('e').unwrap_or((e.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    // Python's decpt: x = 0.d1d2… × 10^decpt.
    let decpt = exp + 1;
    let mut s = String::with_capacity(digits.len() + 8);
    if x.is_sign_negative() {
        s.push('-');
    }
    if (-3..=16).contains(&decpt) {
        let n = digits.len() as i32;
        if decpt <= 0 {
            s.push_str("0.");
            for _ in 0..-decpt {
                s.push('0');
            }
            s.push_str(&digits);
        } else if decpt >= n {
            s.push_str(&digits);
            for _ in 0..decpt - n {
                s.push('0');
            }
            s.push_str(".0");
        } else {
            let (a, b) = digits.split_at(decpt as usize);
            s.push_str(a);
            s.push('.');
            s.push_str(b);
        }
    } else {
        s.push_str(&digits[..1]);
        if digits.len() > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        let _ = write!(s, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn py_float_matches_python_repr() {
        // Expected strings: CPython 3 `repr(float)` (documented behaviour of float_repr_style
        // 'short'); the f32 cases are values printed by semonitor (fixtures, issues #14/#178).
        let cases: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (-1.5, "-1.5"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (9999999999999998.0, "9999999999999998.0"),
            (1e15, "1000000000000000.0"),
            (123456789012345680.0, "1.2345678901234568e+17"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (0.00012345, "0.00012345"),
            (1.5e-7, "1.5e-07"),
            (1e22, "1e+22"),
            (1e100, "1e+100"),
            (-1e-300, "-1e-300"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (0.00625 * 1251.0, "7.8187500000000005"),
            (0.00625 * 1118.0, "6.987500000000001"),
            (0.00625 * 1209.0, "7.55625"),
            (f64::from(f32::MIN), "-3.4028234663852886e+38"),
            (f64::from(f32::from_bits(0x41d7_d082)), "26.976810455322266"),
            (f64::from(f32::from_bits(0x45af_d829)), "5627.02001953125"),
            (
                f64::from(f32::from_bits(0x5f2a_aaab)),
                "1.229782974897691e+19",
            ),
            (f64::from(f32::from_bits(0x4247_9ffe)), "49.90624237060547"),
            (f64::from(f32::from_bits(0x44b4_c03d)), "1446.0074462890625"),
            (6000.0, "6000.0"),
            // 681.09088134765625 exactly: halfway between two 16-digit candidates, Python rounds
            // half to even.
            (f64::from(f32::from_bits(0x442a_45d1)), "681.0908813476562"),
            (f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for &(x, want) in cases {
            assert_eq!(py_float(x), want, "{x:?}");
        }
    }

    #[test]
    fn py_float_round_trips() {
        // Every output parses back to the same f64 (a property, not an oracle).
        let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let x = f64::from_bits(s);
            if !x.is_finite() {
                continue;
            }
            let t = py_float(x);
            assert_eq!(t.parse::<f64>().unwrap().to_bits(), x.to_bits(), "{t}");
            let f = f64::from(f32::from_bits(s as u32));
            if f.is_finite() {
                assert_eq!(py_float(f).parse::<f64>().unwrap().to_bits(), f.to_bits());
            }
        }
    }

    #[test]
    fn json_strings_like_ensure_ascii() {
        let mut s = String::new();
        py_json_str(&mut s, "a\"b\\c\n\t\u{8}\u{c}\r\u{0}\u{1f}\u{7f}é€😀~ ");
        assert_eq!(
            s,
            r#""a\"b\\c\n\t\b\f\r\u0000\u001f\u007f\u00e9\u20ac\ud83d\ude00~ ""#
        );
    }
}
