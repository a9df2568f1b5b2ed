//! Pure PI30 decoding (pi30_tracer.md §3–6): a request's command and argument, and a reply's
//! fields given the command it answers. Field names follow godenerg's where it has the field
//! (`grid_volt`, `batt_volt`, `pv_watts`, …; docs/PI30.md maps them to mpp-solar's). Numbers
//! with a decimal point become JSON floats, others integers; a field that is not a number is
//! kept as its text.

use super::codes;
use super::frame::{Frame, Role};
use serde::Serialize;
use serde_json::{Map, Value};

/// One decoded PI30 frame: `{"proto":"pi30","role":…,"command":…,…}` (docs/PI30.md).
#[derive(Debug, Serialize)]
pub struct Message {
    pub proto: &'static str,
    /// `request` or `reply`.
    pub role: &'static str,
    /// The command (a reply's: the one it answers, when known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// A setter's argument.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub argument: Option<String>,
    /// How a reply's command was found: `fifo` (the request before it on the connection) or
    /// `shape` (its fields; no request seen).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paired_by: Option<&'static str>,
    /// The text the CRC covers (a reply's without `(`).
    pub text: String,
    /// The CRC as sent, 4 hex digits.
    pub crc: String,
    pub chk_ok: bool,
    /// Which rule of pi30_tracer.md §2 the CRC matched (`plain`, `bumped`, `zero-bumped`,
    /// `unbumped`, `bad`).
    pub crc_rule: &'static str,
    /// The decoded values (flattened into the record).
    #[serde(flatten)]
    pub values: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anomaly: Option<String>,
}

impl Message {
    /// Bytes that are not one PI30 frame.
    pub fn invalid() -> Message {
        Message {
            proto: "pi30",
            role: "unknown",
            command: None,
            argument: None,
            paired_by: None,
            text: String::new(),
            crc: String::new(),
            chk_ok: false,
            crc_rule: "bad",
            values: Map::new(),
            anomaly: Some("not a PI30 frame".into()),
        }
    }

    fn of(f: &Frame<'_>) -> Message {
        Message {
            proto: "pi30",
            role: match f.role {
                Role::Request => "request",
                Role::Reply => "reply",
            },
            command: None,
            argument: None,
            paired_by: None,
            text: String::from_utf8_lossy(f.payload()).into_owned(),
            crc: format!("{:04x}", f.crc),
            chk_ok: f.check.ok(),
            crc_rule: f.check.name(),
            values: Map::new(),
            anomaly: (!f.check.ok()).then(|| "bad PI30 CRC".to_string()),
        }
    }
}

/// A field as a JSON value: a number when it reads as one, else its text.
fn num(s: &str) -> Value {
    let is_num = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
        && s.bytes().any(|b| b.is_ascii_digit());
    if is_num {
        if s.contains('.') {
            if let Ok(f) = s.parse::<f64>() {
                if let Some(n) = serde_json::Number::from_f64(f) {
                    return Value::Number(n);
                }
            }
        } else if let Ok(i) = s.parse::<i64>() {
            return Value::from(i);
        }
    }
    Value::from(s)
}

/// QPIGS fields (pi30_tracer.md §4): godenerg name and unit.
pub const QPIGS: [(&str, &str); 21] = [
    ("grid_volt", "V"),
    ("grid_freq", "Hz"),
    ("ac_volt", "V"),
    ("ac_freq", "Hz"),
    ("ac_va", "VA"),
    ("ac_watt", "W"),
    ("load_percent", "%"),
    ("bus_volt", "V"),
    ("batt_volt", "V"),
    ("batt_charge_amps", "A"),
    ("batt_capacity", "%"),
    ("temp", "°C"),
    ("pv_amps", "A"),
    ("pv_volts", "V"),
    ("batt_volt_scc", "V"),
    ("batt_discharge_amps", "A"),
    ("raw_status", "flags"),
    ("mask_b", "10 mV"),
    ("mask_c", ""),
    ("pv_watts", "W"),
    ("mask_d", "flags"),
];

/// QPIRI fields (pi30_tracer.md §5): name and unit; godenerg's `bulk_volt`, `float_volt`.
pub const QPIRI: [(&str, &str); 28] = [
    ("grid_rating_volt", "V"),
    ("grid_rating_amps", "A"),
    ("ac_rating_volt", "V"),
    ("ac_rating_freq", "Hz"),
    ("ac_rating_amps", "A"),
    ("ac_rating_va", "VA"),
    ("ac_rating_watt", "W"),
    ("batt_rating_volt", "V"),
    ("batt_recharge_volt", "V"),
    ("batt_under_volt", "V"),
    ("bulk_volt", "V"),
    ("float_volt", "V"),
    ("batt_type", ""),
    ("max_ac_charge_amps", "A"),
    ("max_charge_amps", "A"),
    ("input_voltage_range", ""),
    ("output_source_priority", ""),
    ("charger_source_priority", ""),
    ("parallel_max_num", ""),
    ("machine_type", ""),
    ("topology", ""),
    ("output_mode", ""),
    ("batt_redischarge_volt", "V"),
    ("pv_ok_condition", ""),
    ("pv_power_balance", ""),
    ("max_cv_charge_time", "min"),
    ("operation_logic", ""),
    ("max_discharge_amps", "A"),
];

/// Named fields from a table, with a `units` object; more fields than the table are kept
/// in `extra_fields`.
fn table(fields: &[&str], names: &[(&str, &str)], v: &mut Map<String, Value>) {
    let mut units = Map::new();
    for (i, f) in fields.iter().enumerate() {
        let Some(&(name, unit)) = names.get(i) else {
            break;
        };
        // Flag strings stay text (leading zeros are bits).
        let value = if unit == "flags" {
            Value::from(*f)
        } else {
            num(f)
        };
        v.insert(name.into(), value);
        if !unit.is_empty() {
            units.insert(name.into(), unit.into());
        }
    }
    if fields.len() > names.len() {
        v.insert("extra_fields".into(), fields[names.len()..].into());
    }
    v.insert("units".into(), Value::Object(units));
}

/// Characters of a 0/1 flag string, as booleans (`None` when not all 0/1).
fn bits(s: &str) -> Option<Vec<bool>> {
    s.bytes()
        .map(|b| match b {
            b'0' => Some(false),
            b'1' => Some(true),
            _ => None,
        })
        .collect()
}

fn qpigs(fields: &[&str], v: &mut Map<String, Value>) {
    table(fields, &QPIGS, v);
    // Field 16, b83..b90 (pi30_tracer.md §4), godenerg's booleans and charge_source.
    if let Some(b) = fields
        .get(16)
        .and_then(|s| bits(s))
        .filter(|b| b.len() == 8)
    {
        let names = [
            "sbu_priority_version",
            "configuration_changed",
            "ssc_firmware_updated",
            "load_status",
            "batt_volt_to_steady",
            "charging_status",
            "scc_charging",
            "ac_charging",
        ];
        for (n, &on) in names.iter().zip(&b) {
            v.insert((*n).into(), on.into());
        }
        let mut src = Vec::new();
        if b[5] && b[7] {
            src.push("ac_charging");
        }
        if b[5] && b[6] {
            src.push("solar_charging");
        }
        v.insert("charge_source".into(), src.into());
    }
    if let Some(b) = fields
        .get(20)
        .and_then(|s| bits(s))
        .filter(|b| b.len() == 3)
    {
        v.insert("charging_to_float".into(), b[0].into());
        v.insert("switch_on".into(), b[1].into());
    }
}

fn qpiri(fields: &[&str], v: &mut Map<String, Value>) {
    table(fields, &QPIRI, v);
    for (i, f) in fields.iter().enumerate().take(QPIRI.len()) {
        if let Some(name) = codes::rating_enum(i, f) {
            v.insert(format!("{}_name", QPIRI[i].0), name.into());
        }
    }
}

/// QPIWS bits by name; false when the reply is not 0/1 bits.
fn qpiws(s: &str, v: &mut Map<String, Value>) -> bool {
    let Some(b) = bits(s) else {
        return false;
    };
    let fault_mode = b.first().copied().unwrap_or(false);
    let mut warnings = Map::new();
    let (mut active, mut faults) = (Vec::new(), Vec::new());
    for (i, &on) in b.iter().enumerate() {
        let name = codes::WARNINGS
            .get(i)
            .map(|n| n.to_string())
            .unwrap_or_else(|| format!("unknown-b{}", i + 1));
        warnings.insert(name.clone(), on.into());
        if on && i > 0 {
            if fault_mode && codes::FAULT_WHEN_B1.contains(&(i + 1)) {
                faults.push(name);
            } else {
                active.push(name);
            }
        }
    }
    v.insert("warning_bits".into(), Value::Object(warnings));
    v.insert("warnings".into(), active.into());
    v.insert("faults".into(), faults.into());
    true
}

/// `E<letters>D<letters>` (pi30_tracer.md §6).
fn qflag_parts(s: &str) -> Option<(&str, &str)> {
    let (en, dis) = s.strip_prefix('E')?.split_once('D')?;
    (en.chars().chain(dis.chars()))
        .all(|c| c.is_ascii_lowercase())
        .then_some((en, dis))
}

/// QFLAG letters by name; false when the reply is not `E…D…`.
fn qflag(s: &str, v: &mut Map<String, Value>) -> bool {
    let Some((en, dis)) = qflag_parts(s) else {
        return false;
    };
    let mut flags = Map::new();
    for (part, on) in [(en, true), (dis, false)] {
        for c in part.chars() {
            flags.insert(codes::flag(c), on.into());
        }
    }
    v.insert("enabled".into(), en.chars().map(codes::flag).collect());
    v.insert("disabled".into(), dis.chars().map(codes::flag).collect());
    v.insert("flags".into(), Value::Object(flags));
    true
}

/// The command an unpaired reply answers, judged by its shape where that is unambiguous
/// (pi30_tracer.md §7: QPIGS and QPIRI are both bare number lists, told apart by field count
/// and the formats of §4–5).
pub fn guess(payload: &str) -> Option<&'static str> {
    let f: Vec<&str> = payload.split(' ').collect();
    let fmt = |i: usize, pat: &str| {
        f.get(i).is_some_and(|s| {
            s.len() == pat.len()
                && s.bytes().zip(pat.bytes()).all(|(c, p)| match p {
                    b'N' => c.is_ascii_digit(),
                    _ => c == p,
                })
        })
    };
    let binary = |s: &str| !s.is_empty() && s.bytes().all(|b| b == b'0' || b == b'1');
    if payload.starts_with("PI") && f.len() == 1 {
        Some("QPI")
    } else if payload.starts_with("VERFW:") {
        Some("QVFW")
    } else if payload.starts_with("VERFW2:") {
        Some("QVFW2")
    } else if f.len() == 1 && (32..=40).contains(&payload.len()) && binary(payload) {
        Some("QPIWS")
    } else if f.len() == 1 && payload.len() == 1 && "PSLBFHY".contains(payload) {
        Some("QMOD")
    } else if f.len() == 1 && qflag_parts(payload).is_some() {
        Some("QFLAG")
    } else if (17..=24).contains(&f.len())
        && fmt(0, "NNN.N")
        && fmt(1, "NN.N")
        && f.get(16).is_some_and(|s| s.len() == 8 && binary(s))
    {
        Some("QPIGS")
    } else if (25..=28).contains(&f.len())
        && fmt(0, "NNN.N")
        && fmt(1, "NN.N")
        && fmt(2, "NNN.N")
        && fmt(3, "NN.N")
        && fmt(5, "NNNN")
        && fmt(6, "NNNN")
    {
        Some("QPIRI")
    } else {
        None
    }
}

/// Decodes a request (pi30_tracer.md §1, §3).
pub fn request(f: &Frame<'_>) -> Message {
    let mut m = Message::of(f);
    let text = m.text.clone();
    if codes::QUERIES.contains(&text.as_str()) {
        m.command = Some(text);
        return m;
    }
    if let Some(n) = text.strip_prefix("QPGS") {
        if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
            m.command = Some(text.clone());
            m.values.insert("parallel_unit".into(), num(n));
            return m;
        }
    }
    let Some(s) = codes::setter(&text) else {
        m.command = Some(text);
        return m;
    };
    let arg = &text[s.name.len()..];
    m.command = Some(s.name.into());
    m.values.insert("setting".into(), s.meaning.into());
    if !arg.is_empty() {
        m.argument = Some(arg.into());
        setter_value(s, arg, &mut m.values);
    }
    m
}

fn setter_value(s: &codes::Setter, arg: &str, v: &mut Map<String, Value>) {
    match s.name {
        "PE" | "PD" => {
            let names: Vec<String> = arg.chars().map(codes::flag).collect();
            v.insert("flags".into(), names.into());
        }
        "MCHGC" | "MNCHGC" | "MUCHGC" if arg.len() >= 3 && arg.is_ascii() => {
            v.insert("parallel_unit".into(), num(&arg[..1]));
            v.insert("value".into(), num(&arg[1..]));
            v.insert("unit".into(), "A".into());
        }
        _ if !s.values.is_empty() => {
            let name = s
                .values
                .iter()
                .find(|(k, _)| *k == arg)
                .map(|(_, n)| n.to_string())
                .unwrap_or_else(|| format!("unknown-{arg}"));
            v.insert("value".into(), num(arg));
            v.insert("value_name".into(), name.into());
        }
        _ => {
            v.insert("value".into(), num(arg));
            if let Some(u) = s.unit {
                v.insert("unit".into(), u.into());
            }
        }
    }
}

/// Decodes a reply to `command` (`None`: no request seen; the command is guessed from the
/// reply's shape where unambiguous, else the reply is left raw with an anomaly).
pub fn reply(f: &Frame<'_>, command: Option<&str>) -> Message {
    let mut m = Message::of(f);
    let payload = m.text.clone();
    let mut v = Map::new();
    if payload == "ACK" || payload == "NAK" {
        v.insert("answer".into(), payload.as_str().into());
        v.insert("accepted".into(), (payload == "ACK").into());
        m.command = command.map(str::to_string);
        m.paired_by = command.map(|_| "fifo");
        m.values = v;
        return m;
    }
    let (cmd, by) = match command {
        Some(c) => (Some(c), "fifo"),
        None => (guess(&payload), "shape"),
    };
    let Some(cmd) = cmd else {
        m.anomaly.get_or_insert_with(|| {
            "reply without its command, shape ambiguous: left raw".to_string()
        });
        return m;
    };
    m.command = Some(cmd.to_string());
    m.paired_by = Some(by);
    let fields: Vec<&str> = payload.split(' ').collect();
    let bad = match cmd {
        "QPIGS" => {
            qpigs(&fields, &mut v);
            (fields.len() < 17).then(|| "QPIGS reply with fewer than 17 fields".to_string())
        }
        "QPIRI" => {
            qpiri(&fields, &mut v);
            (fields.len() < 25).then(|| "QPIRI reply with fewer than 25 fields".to_string())
        }
        "QMOD" => {
            let (name, code) = codes::mode(&payload);
            v.insert("mode".into(), payload.as_str().into());
            v.insert("mode_name".into(), name.into());
            v.insert("mode_code".into(), code.into());
            None
        }
        "QPIWS" => (!qpiws(&payload, &mut v)).then(|| "QPIWS reply is not 0/1 bits".to_string()),
        "QFLAG" => (!qflag(&payload, &mut v)).then(|| "QFLAG reply is not E…D…".to_string()),
        "QID" => {
            v.insert("serial_number".into(), payload.as_str().into());
            None
        }
        "QPI" => {
            v.insert("protocol_id".into(), payload.as_str().into());
            None
        }
        c if c.starts_with("QVFW") => {
            let fw = payload.split_once(':').map_or(payload.as_str(), |x| x.1);
            v.insert("firmware".into(), fw.into());
            None
        }
        c if c.starts_with("QPGS") => {
            if let Some(n) = c.strip_prefix("QPGS").filter(|n| !n.is_empty()) {
                v.insert("parallel_unit".into(), num(n));
            }
            v.insert("fields".into(), fields.iter().map(|s| num(s)).collect());
            None
        }
        c if c.starts_with('Q') => {
            v.insert("fields".into(), fields.iter().map(|s| num(s)).collect());
            None
        }
        _ => None,
    };
    m.values = v;
    if let Some(b) = bad {
        m.anomaly.get_or_insert(b);
    }
    m
}
