//! The ASCII side of a conversation (sel.md §3): commands normalised to their 3-letter word,
//! responses paired with the command they answer, prompts with their access level,
//! compressed-ASCII lines checked (§3.2), `ID` identity fields, `DNA`/`BNA`/`SNS` name tables
//! (§3.3), compressed `MET` values, and the security events of §3.4.

use super::super::frame::cascii_checksum;
use super::super::secrets::{self, Secret};
use super::{Control, Conversation, Login, Record, Security};
use crate::protocols::sel::decode::fastmeter::Ordered;
use crate::protocols::sel::decode::hexs;
use crate::reassembly::Dir;
use serde::Serialize;

/// Most names kept per table (DNA rows × 8, SNS names); identity fields.
const MAX_NAMES: usize = 4096;

/// One identity field of an `ID` reply (sel.md §3.2); FID is split.
#[derive(Clone, Debug, Serialize, PartialEq, Default)]
pub struct IdField {
    pub key: String,
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
}

/// A row of a name table (`DNA`, `BNA`, `SNS`).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct NameRow {
    pub table: String,
    pub row: usize,
    pub names: Vec<String>,
}

/// The ASCII part of a record.
#[derive(Clone, Debug, Serialize, PartialEq, Default)]
pub struct Ascii {
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub echo: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_checksum_ok: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<IdField>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub names: Option<NameRow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub met: Option<Ordered<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<Secret>,
}

/// The access level a prompt shows (sel.md §3.1).
pub fn prompt_level(p: &[u8]) -> Option<&'static str> {
    Some(match p {
        b"=" => "0",
        b"=>" => "1",
        b"=>>" => "2",
        b"==>" => "B",
        b"==>>" => "calibration",
        _ => return None,
    })
}

/// The level an access command asks for.
pub fn access_level(cmd: &str) -> &'static str {
    match cmd {
        "ACC" => "1",
        "2AC" => "2",
        "BAC" => "B",
        "CAL" => "calibration",
        _ => "?",
    }
}

/// The command word normalised: upper case, the first 3 characters (sel.md §3.1).
pub fn normalise(word: &str) -> String {
    word.chars()
        .take(3)
        .collect::<String>()
        .to_ascii_uppercase()
}

/// Fields of a compressed-ASCII line: quoted strings or bare values, the checksum field
/// dropped.
pub fn cascii_fields(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out.pop();
    out
}

/// `SEL-700G-R200-V0-Z006003-D20180629` → model, revision, date (sel.md §3.2).
pub fn split_fid(v: &str) -> (Option<String>, Option<String>, Option<String>) {
    let parts: Vec<&str> = v.split('-').collect();
    let r = parts.iter().position(|p| {
        p.len() > 1 && p.starts_with('R') && p[1..].chars().all(|c| c.is_ascii_digit())
    });
    let Some(r) = r else {
        return (None, None, None);
    };
    let date = parts.iter().skip(r).find_map(|p| {
        let d = p.strip_prefix('D')?;
        (d.len() == 8 && d.chars().all(|c| c.is_ascii_digit()))
            .then(|| format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..]))
    });
    (Some(parts[..r].join("-")), Some(parts[r].to_string()), date)
}

/// A short line whose first word is an SEL command (sel.md §3.1): an echo.
fn is_command_line(t: &str) -> bool {
    let mut w = t.split_whitespace();
    let Some(first) = w.next() else { return false };
    first.len() <= 8
        && w.count() <= 3
        && super::super::codes::COMMANDS
            .iter()
            .any(|c| first.eq_ignore_ascii_case(c))
}

fn is_prompt(s: &[u8]) -> bool {
    prompt_level(s).is_some()
}

/// Decodes one text frame (line, prompt, compressed-ASCII line, secret marker).
pub fn line(
    conv: &mut Conversation,
    index: u64,
    dir: Option<Dir>,
    frame: &[u8],
    reveal: bool,
) -> Record {
    let master = dir != Some(Dir::S2C);
    let relay = dir != Some(Dir::C2S);
    let marker = Secret::parse_marker(frame);
    let trimmed = frame.trim_ascii();
    // A whole line that is a password.
    if marker.is_some() || (master && conv.secret_next && !is_prompt(trimmed)) {
        conv.secret_next = false;
        let s = marker.unwrap_or_else(|| Secret::of(trimmed, reveal));
        let shown = s.password.clone().unwrap_or_else(|| s.marker());
        let mut r = Record::new("ascii-secret".into(), "password", index, shown.as_bytes());
        r.raw_hex = hexs(if reveal { frame } else { shown.as_bytes() });
        match conv.login.as_mut() {
            Some(l) if l.password.is_none() => {
                l.password = Some(s.clone());
                r.security = conclude(conv);
            }
            _ => {
                r.security = Some(Security {
                    event: "password-change",
                    command: "PAS".into(),
                    default_credential: s.default_credential,
                    password: Some(s.clone()),
                    ..Security::default()
                })
            }
        }
        r.ascii = Some(Ascii {
            text: shown,
            secret: Some(s),
            ..Ascii::default()
        });
        return r;
    }
    let mut text = String::from_utf8_lossy(frame).into_owned();
    let mut a = Ascii::default();
    let mut r = Record::new(String::new(), "", index, frame);
    // A secret inside the line (`PAS 1 NEW`, FTP `PASS x`): redacted here too.
    let mut inline = None;
    // Searched in the bytes: an index into the lossy text is off after an invalid byte.
    const MARKER: &[u8] = b"<redacted sha256=";
    if let Some(p) = frame.windows(MARKER.len()).position(|w| w == MARKER) {
        inline = Secret::parse_marker(&frame[p..]);
    } else if let Some((red, s)) = secrets::redact_inline(frame, reveal) {
        if !reveal {
            text = String::from_utf8_lossy(&red).into_owned();
            r.raw_hex = hexs(&red);
        }
        inline = Some(s);
    }
    if trimmed.eq_ignore_ascii_case(b"Password: ?") {
        r.msg = "ascii-prompt".into();
        r.name = "password prompt";
        a.prompt = Some("Password: ?".into());
        if let Some(l) = conv.login.as_mut() {
            l.asked = true;
        }
    } else if is_prompt(trimmed) {
        r.msg = "ascii-prompt".into();
        r.name = "prompt";
        prompt(conv, &mut r, &mut a, trimmed);
    } else if let Some((stated, computed)) = cascii_checksum(trimmed) {
        r.msg = "cascii-line".into();
        r.name = "compressed-ASCII line";
        a.line_checksum_ok = Some(stated == computed);
        if stated != computed {
            r.anomalies.push(format!(
                "compressed-ASCII line checksum mismatch: stated {stated:04X}, computed {computed:04X}"
            ));
        }
        a.fields = Some(cascii_fields(&text));
        response(conv, &mut r, &mut a, &text);
    } else {
        r.msg = "ascii-line".into();
        r.name = "text line";
        let as_cmd = master && command(conv, &mut r, &mut a, &text, inline.as_ref());
        if !as_cmd && relay {
            response(conv, &mut r, &mut a, &text);
        }
    }
    if a.secret.is_none() {
        a.secret = inline;
    }
    a.text = text;
    r.ascii = Some(a);
    r
}

fn prompt(conv: &mut Conversation, r: &mut Record, a: &mut Ascii, p: &[u8]) {
    let Some(level) = prompt_level(p) else {
        a.prompt = Some(String::from_utf8_lossy(p).into_owned());
        return;
    };
    a.prompt = Some(String::from_utf8_lossy(p).into_owned());
    a.access_level = Some(level.into());
    conv.level = Some(level.into());
    a.response_to = conv.last_cmd.as_ref().map(|c| c.0.clone());
    // The first prompt after `Password: ?` shows the level the login reached (sel.md §3.1).
    if let Some(l) = conv
        .login
        .as_mut()
        .filter(|l| l.asked && l.reached.is_none())
    {
        l.reached = Some(level.into());
        r.security = conclude(conv);
    }
}

/// The login event, once both the password and the relay's answer are known (the two
/// directions may come in either order); the login is then over.
fn conclude(conv: &mut Conversation) -> Option<Security> {
    let l = conv.login.as_ref()?;
    if l.password.is_none() || (l.reached.is_none() && !l.failed) {
        return None;
    }
    let l = conv.login.take()?;
    let success = !l.failed && l.reached.as_deref() == Some(l.level.as_str());
    let default_credential = l.password.as_ref().is_some_and(|p| p.default_credential);
    Some(Security {
        event: "login",
        command: l.command,
        level_requested: Some(l.level),
        success: Some(success),
        level_reached: l.reached,
        user: l.user,
        password: l.password,
        default_credential,
    })
}

/// A new login for `cmd` unless one for it is already in progress (started by the relay's
/// echo of it).
fn start_login(conv: &mut Conversation, cmd: &str, level: &str, user: Option<String>) {
    let same = conv
        .login
        .as_ref()
        .is_some_and(|l| l.command == cmd && l.password.is_none());
    if !same {
        conv.login = Some(Login {
            command: cmd.into(),
            level: level.into(),
            user,
            ..Login::default()
        });
    }
}

/// Starts command `w` (line `t`): its name table is cleared, its response pairs with it.
fn begin_command(conv: &mut Conversation, w: &str, t: &str) {
    match w {
        "DNA" => conv.names.dna.clear(),
        "BNA" => conv.names.bna.clear(),
        "SNS" => conv.names.sns.clear(),
        _ => {}
    }
    conv.table_rows = 0;
    conv.met_header.clear();
    conv.last_cmd = Some((w.to_string(), t.to_string()));
}

/// A master line as a command; false when it is empty.
fn command(
    conv: &mut Conversation,
    r: &mut Record,
    a: &mut Ascii,
    text: &str,
    inline: Option<&Secret>,
) -> bool {
    let t = text.trim();
    let mut it = t.splitn(2, char::is_whitespace);
    let Some(word) = it.next().filter(|w| !w.is_empty()) else {
        return false;
    };
    let args = it.next().map(str::trim).unwrap_or("").to_string();
    let upper = word.to_ascii_uppercase();
    let w = normalise(word);
    // FTP-style login on the same stream (SEL-400, sel.md §3.1).
    if upper == "USER" {
        conv.ftp_user = Some(args.clone());
    } else if upper == "PASS" {
        let user = conv.ftp_user.clone();
        // SEL-400: the FTP user is the level name (`USER 2AC`, sel.md §3.1).
        let level = match user.as_deref().map(|u| access_level(&normalise(u))) {
            Some("?") | None => user.clone().unwrap_or_default(),
            Some(l) => l.to_string(),
        };
        conv.login = Some(Login {
            command: "PASS".into(),
            level,
            user,
            password: inline.cloned(),
            asked: true,
            ..Login::default()
        });
    } else if secrets::is_access_line(t.as_bytes()) {
        start_login(conv, &w, access_level(&w), None);
        conv.secret_next = true;
    } else if w == "PAS" {
        conv.secret_next = inline.is_none() && secrets::is_pas_prompting(t.as_bytes());
        r.security = Some(Security {
            event: "password-change",
            command: w.clone(),
            level_requested: args.split_whitespace().next().map(str::to_string),
            default_credential: inline.is_some_and(|s| s.default_credential),
            password: inline.cloned(),
            ..Security::default()
        });
    }
    let control = |op: &str, target: &str| Control {
        source: "ascii",
        operation: op.into(),
        target: target.into(),
        number: args.split_whitespace().last().and_then(|n| n.parse().ok()),
        validation_ok: None,
    };
    let up_args = args.to_ascii_uppercase();
    r.control = match w.as_str() {
        "OPE" => Some(control("open", "breaker")),
        "CLO" => Some(control("close", "breaker")),
        "PUL" => Some(control("pulse", "output")),
        "TAR" if up_args.starts_with('R') => Some(Control {
            number: None,
            ..control("target-reset", "targets")
        }),
        _ => None,
    };
    if r.control.is_some() {
        r.security = Some(Security {
            event: "control",
            command: format!("{w} {args}").trim().to_string(),
            ..Security::default()
        });
    }
    let file_rw = w == "FIL" && (up_args.starts_with("WRI") || up_args.starts_with("REA"));
    if w == "SET" || file_rw {
        r.security = Some(Security {
            event: "settings",
            command: format!("{w} {args}").trim().to_string(),
            ..Security::default()
        });
    }
    let echoed = conv.echoed.take();
    if !echoed.is_some_and(|e| e.eq_ignore_ascii_case(t)) {
        begin_command(conv, &w, t);
    }
    a.command = Some(w);
    a.args = (!args.is_empty()).then_some(args);
    true
}

/// A relay line: the echo of the last command, or part of its response.
fn response(conv: &mut Conversation, r: &mut Record, a: &mut Ascii, text: &str) {
    let t = text.trim();
    if let Some((_, line)) = &conv.last_cmd {
        if a.fields.is_none() && t.eq_ignore_ascii_case(line) {
            a.echo = true;
            return;
        }
    }
    // The echo of a command whose line from the master has not been seen yet.
    if a.fields.is_none() && is_command_line(t) {
        let w = normalise(t.split_whitespace().next().unwrap_or(""));
        if secrets::is_access_line(t.as_bytes()) {
            start_login(conv, &w, access_level(&w), None);
        }
        begin_command(conv, &w, t);
        conv.echoed = Some(t.to_string());
        a.echo = true;
        return;
    }
    let cmd = conv.last_cmd.as_ref().map(|c| c.0.clone());
    a.response_to = cmd.clone();
    if t.to_ascii_lowercase().contains("invalid") {
        if let Some(l) = conv.login.as_mut() {
            l.failed = true;
            r.security = conclude(conv);
        }
    }
    let Some(fields) = a.fields.clone() else {
        return;
    };
    let row = conv.table_rows;
    conv.table_rows += 1;
    match cmd.as_deref() {
        Some("ID") => {
            if let Some(f) = fields.first() {
                let (k, v) = f.split_once('=').unwrap_or((f.as_str(), ""));
                let mut id = IdField {
                    key: k.into(),
                    value: v.into(),
                    ..IdField::default()
                };
                if k == "FID" {
                    (id.model, id.revision, id.date) = split_fid(v);
                }
                if conv.identity.len() < MAX_NAMES {
                    conv.identity.push((k.into(), v.into()));
                }
                a.id = Some(id);
            }
        }
        Some(c @ ("DNA" | "BNA" | "SNS")) => {
            let names: Vec<String> = fields.iter().map(|f| f.trim().to_string()).collect();
            let n = &mut conv.names;
            let total = n.dna.len() * 8 + n.sns.len();
            if total + names.len() <= MAX_NAMES {
                match c {
                    "DNA" => n.dna.push(names.clone()),
                    "BNA" => n.bna = names.clone(),
                    _ => n.sns.extend(names.iter().cloned()),
                }
            }
            a.names = Some(NameRow {
                table: c.into(),
                row,
                names,
            });
        }
        Some("MET") => {
            if conv.met_header.is_empty() {
                conv.met_header = fields;
            } else {
                let m = conv
                    .met_header
                    .iter()
                    .cloned()
                    .zip(fields.iter().map(|f| f.trim().to_string()))
                    .collect();
                a.met = Some(Ordered(m));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::super::Session;
    use crate::protocols::Envelope;
    use crate::reassembly::Dir;
    use serde_json::Value;

    /// Feeds (direction, line) pairs of one conversation; the records as JSON.
    fn run(lines: &[(Dir, &str)], reveal: bool) -> Vec<Value> {
        let mut s = Session::new(reveal);
        lines
            .iter()
            .map(|(d, l)| {
                let env = Envelope {
                    conn: Some(1),
                    dir: Some(*d),
                    ..Envelope::default()
                };
                serde_json::to_value(s.decode(&env, l.as_bytes())).unwrap()
            })
            .collect()
    }

    use Dir::{C2S as M, S2C as R};

    #[test]
    fn failed_login_ftp_login_and_password_change() {
        let r = run(
            &[
                (M, "BAC"),
                (R, "Password: ?"),
                (M, "guess"),
                (R, "Invalid Password"),
                (R, "=>"),
                (M, "USER 2AC"),
                (M, "PASS TAIL"),
                (R, "Password: ?"),
                (R, "=>>"),
                (M, "PAS 1 N3wPw"),
                (M, "pas 2"),
                (M, "Another1"),
            ],
            false,
        );
        let s = &r[3]["security"];
        assert_eq!(
            (&s["event"], &s["command"], &s["success"]),
            (
                &Value::from("login"),
                &Value::from("BAC"),
                &Value::from(false)
            )
        );
        assert_eq!(s["level_requested"], "B");
        assert!(s.get("default_credential").is_none());
        let s = &r[8]["security"];
        assert_eq!(
            (&s["command"], &s["user"]),
            (&Value::from("PASS"), &Value::from("2AC"))
        );
        assert_eq!(
            (&s["success"], &s["default_credential"]),
            (&Value::from(true), &Value::from(true))
        );
        assert_eq!(r[9]["security"]["event"], "password-change");
        assert_eq!(r[9]["security"]["level_requested"], "1");
        assert_eq!(r[9]["command"], "PAS");
        assert_eq!(r[11]["msg"], "ascii-secret");
        assert_eq!(r[11]["security"]["event"], "password-change");
        let all = serde_json::to_string(&r).unwrap();
        for pw in ["guess", "TAIL", "N3wPw", "Another1"] {
            assert!(!all.contains(pw), "{pw} in {all}");
        }
        // Revealed on request.
        let r = run(&[(M, "ACC"), (M, "OTTER"), (M, "PAS 1 N3wPw")], true);
        assert_eq!(r[1]["secret"]["password"], "OTTER");
        assert!(serde_json::to_string(&r).unwrap().contains("N3wPw"));
    }

    #[test]
    fn commands_prompts_met_and_controls() {
        let r = run(
            &[
                (M, "met"),
                (R, "MET"),
                (R, "\"IA\",\"IB\",\"01F5\""),
                (R, "\"10.5\",\"-3\",\"0204\""),
                (R, "==>>"),
                (M, "OPEN 1"),
                (M, "TAR R"),
                (M, "FIL WRITE SET_1.TXT"),
                (R, "\"X\",\"0000\""),
            ],
            false,
        );
        assert_eq!(r[0]["command"], "MET");
        assert_eq!(r[1]["echo"], true);
        assert_eq!(r[2]["line_checksum_ok"], true, "{}", r[2]);
        assert_eq!(r[3]["met"], serde_json::json!({"IA": "10.5", "IB": "-3"}));
        assert_eq!(r[3]["response_to"], "MET");
        assert_eq!(r[4]["access_level"], "calibration");
        assert_eq!(r[5]["control"]["operation"], "open");
        assert_eq!(r[5]["control"]["number"], 1);
        assert_eq!(r[5]["security"]["event"], "control");
        assert_eq!(r[6]["control"]["operation"], "target-reset");
        assert_eq!(r[7]["security"]["event"], "settings");
        // A bad line checksum is an anomaly.
        assert_eq!(r[8]["line_checksum_ok"], false);
        assert_eq!(r[8]["anomalies"].as_array().unwrap().len(), 1);
    }
}
