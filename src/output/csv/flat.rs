//! Flattening of a decoded record into rows: (protocol, device, record kind, columns), driven
//! by the record itself (docs/CSV_STATE.md "Rows from records"), so that a protocol added to
//! the registry needs nothing here.
//!
//! - The envelope is dropped except the capture time (`capture_ts`) and packet number (`pkt`).
//! - Scalars of the message are columns; a nested object's members are `<key>_<member>`
//!   (the members of an object named `values` keep their own names: one column per channel);
//!   an array of strings is one column (`;`-joined); an array of numbers is `<key>_<i>`.
//! - The first array of objects (SolarEdge `devices`, C37.118 `pmus`) makes one row per
//!   element, after the message's own columns. Arrays of objects inside a row (phasors) give
//!   `<channel>_<field>` columns, the channel named by the name list of the device's last
//!   configuration (`phnam`, `annam`, `dgnam`), else by its index.
//! - Fields named `raw` or ending in `_raw` (the undecoded form of the field beside them) are
//!   left out unless asked for; so are a phasor's `re`/`im` unless `--rect`.
//! - The device is the first of `id`, `idcode`, `relay`, `device`, `unit`, `address`; the
//!   kind the first of `frame`, `kind`, `message`, `function_name`, `function`. A row file is
//!   `<proto>.<type_name>` when the row has a `type_name` (a device type with fixed fields),
//!   else `<proto>.<device>.<kind>` (or `<proto>.<kind>` without a device).

use super::node::{json_string, Node};
use rustc_hash::FxHashMap;
use std::borrow::Cow;

/// Envelope fields of a record (docs/FORMAT.md) that are no columns.
const ENVELOPE: &[&str] = &[
    "v",
    "type",
    "ts",
    "file",
    "pkt",
    "conn",
    "transport",
    "src",
    "sport",
    "dst",
    "dport",
    "dir",
    "offset",
    "len",
    "proto",
];
const DEVICE_KEYS: &[&str] = &["id", "idcode", "relay", "device", "unit", "address"];
const KIND_KEYS: &[&str] = &["frame", "kind", "message", "function_name", "function"];
/// Configuration name lists and the data arrays they name.
const NAME_LISTS: &[(&str, &str)] = &[
    ("phnam", "phasors"),
    ("annam", "analogs"),
    ("dgnam", "digitals"),
];
/// Devices whose channel names are remembered.
const MAX_NAMED: usize = 65_536;

/// What is left out of the rows.
#[derive(Clone, Copy, Debug, Default)]
pub struct FlatOpts {
    /// Keep a phasor's rectangular `re`/`im`.
    pub rect: bool,
    /// Keep fields named `raw` / `*_raw`.
    pub raw: bool,
}

/// One cell value.
#[derive(Debug, Clone)]
pub enum Val<'n, 'a> {
    Node(&'n Node<'a>),
    /// A string made here (joined arrays).
    Text(String),
    /// A number made here (digital bits).
    Int(u64),
}

impl Val<'_, '_> {
    /// The cell text: strings unquoted, numbers as written, null as "".
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Val::Node(n) => n.text().unwrap_or_default(),
            Val::Text(s) => Cow::Borrowed(s),
            Val::Int(i) => Cow::Owned(i.to_string()),
        }
    }

    pub fn write_json(&self, o: &mut String) {
        match self {
            Val::Node(n) => n.write_json(o),
            Val::Text(s) => json_string(o, s),
            Val::Int(i) => o.push_str(&i.to_string()),
        }
    }
}

/// Channel names of one device: data array → names.
type NameLists = FxHashMap<&'static str, Vec<String>>;
/// The columns of a row.
pub type Cols<'n, 'a> = Vec<(Cow<'n, str>, Val<'n, 'a>)>;

/// One row of one file.
#[derive(Debug)]
pub struct Row<'n, 'a> {
    pub proto: String,
    pub device: Option<String>,
    pub kind: String,
    /// The file key: `<proto>.<type_name>`, `<proto>.<device>.<kind>` or `<proto>.<kind>`.
    pub file: String,
    pub cols: Vec<(Cow<'n, str>, Val<'n, 'a>)>,
}

impl Row<'_, '_> {
    pub fn get(&self, name: &str) -> Option<&Val<'_, '_>> {
        self.cols.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

/// Flattens records; remembers each device's channel names.
#[derive(Default)]
pub struct Flattener {
    pub opts: FlatOpts,
    names: FxHashMap<String, FxHashMap<String, NameLists>>,
    /// Devices in `names`.
    named: usize,
}

fn skip_raw(k: &str, opts: FlatOpts) -> bool {
    !opts.raw && (k == "raw" || k.ends_with("_raw"))
}

fn first_text(n: &Node<'_>, keys: &[&str]) -> Option<String> {
    keys.iter()
        .filter_map(|k| n.get(k))
        .find(|v| matches!(v, Node::Str(_) | Node::Num(_)))
        .and_then(|v| v.text().map(|t| t.into_owned()))
}

/// Appends a column, making its name unique within the row (`_2`, `_3`, …).
fn push<'n, 'a>(cols: &mut Cols<'n, 'a>, name: impl Into<Cow<'n, str>>, v: Val<'n, 'a>) {
    let name = name.into();
    let taken = |c: &[(Cow<str>, Val)], n: &str| c.iter().any(|(x, _)| x == n);
    if !taken(cols, &name) {
        cols.push((name, v));
        return;
    }
    let mut i = 2;
    while taken(cols, &format!("{name}_{i}")) {
        i += 1;
    }
    cols.push((Cow::Owned(format!("{name}_{i}")), v));
}

fn joined<'n, 'a>(v: &'n [Node<'a>]) -> Val<'n, 'a> {
    let parts: Vec<Cow<'_, str>> = v.iter().filter_map(|x| x.text()).collect();
    Val::Text(parts.join(";"))
}

fn as_json_text<'n, 'a>(n: &Node<'_>) -> Val<'n, 'a> {
    let mut s = String::new();
    n.write_json(&mut s);
    Val::Text(s)
}

impl Flattener {
    pub fn new(opts: FlatOpts) -> Self {
        Flattener {
            opts,
            names: FxHashMap::default(),
            named: 0,
        }
    }

    /// The rows of one decoded record (`{"type":"decoded","proto":…}`); an error names what is
    /// missing.
    pub fn rows<'n, 'a>(&mut self, rec: &'n Node<'a>) -> Result<Vec<Row<'n, 'a>>, String> {
        let Node::Obj(members) = rec else {
            return Err("not a JSON object".into());
        };
        let proto = rec
            .get("proto")
            .and_then(Node::as_str)
            .ok_or("decoded record without a proto field")?
            .to_string();
        let mut ctx = Vec::new();
        for k in ["ts", "pkt"] {
            if let Some(v) = rec.get(k).filter(|v| v.is_scalar()) {
                let name = if k == "ts" { "capture_ts" } else { k };
                ctx.push((Cow::Borrowed(name), Val::Node(v)));
            }
        }
        let mut rows_of = None;
        for (k, v) in members {
            if ENVELOPE.contains(&&**k) {
                continue;
            }
            if let (Node::Arr(a), None) = (v, &rows_of) {
                if a.first().is_some_and(|e| matches!(e, Node::Obj(_))) {
                    rows_of = Some((&**k, a));
                    continue;
                }
            }
            self.member(&mut ctx, "", Cow::Borrowed(&**k), v, None);
        }
        let device = first_text(rec, DEVICE_KEYS);
        let kind = first_text(rec, KIND_KEYS).unwrap_or_else(|| "record".into());
        let file_of = |dev: &Option<String>, n: &Node<'_>| match n.get("type_name") {
            Some(Node::Str(t)) => format!("{proto}.{t}"),
            _ => match dev {
                Some(d) => format!("{proto}.{d}.{kind}"),
                None => format!("{proto}.{kind}"),
            },
        };
        let Some((array, elems)) = rows_of else {
            self.learn(&proto, &device, rec);
            let file = file_of(&device, rec);
            return Ok(vec![Row {
                proto,
                device,
                kind,
                file,
                cols: ctx,
            }]);
        };
        let mut rows = Vec::with_capacity(elems.len());
        for e in elems {
            let Node::Obj(em) = e else { continue };
            let dev = first_text(e, DEVICE_KEYS).or_else(|| device.clone());
            self.learn(&proto, &dev, e);
            let names = dev.as_ref().and_then(|d| self.names.get(&proto)?.get(d));
            let mut cols = ctx.clone();
            for (k, v) in em {
                let name = if ctx.iter().any(|(c, _)| c == k) {
                    Cow::Owned(format!("{array}_{k}"))
                } else {
                    Cow::Borrowed(&**k)
                };
                self.member(&mut cols, "", name, v, names);
            }
            rows.push(Row {
                proto: proto.clone(),
                file: file_of(&dev, e),
                device: dev,
                kind: kind.clone(),
                cols,
            });
        }
        Ok(rows)
    }

    /// Remembers the channel names of a configuration row.
    fn learn(&mut self, proto: &str, dev: &Option<String>, n: &Node<'_>) {
        let Some(dev) = dev else { return };
        for &(list, data) in NAME_LISTS {
            let Some(Node::Arr(a)) = n.get(list) else {
                continue;
            };
            let known = self.names.get(proto).is_some_and(|m| m.contains_key(dev));
            if !known && self.named >= MAX_NAMED {
                return;
            }
            self.named += usize::from(!known);
            let names = a.iter().map(|x| x.as_str().unwrap_or("").to_string());
            self.names
                .entry(proto.to_string())
                .or_default()
                .entry(dev.clone())
                .or_default()
                .insert(data, names.collect());
        }
    }

    /// One member `k` (with `prefix`) of an object into `cols`.
    fn member<'n, 'a>(
        &self,
        cols: &mut Cols<'n, 'a>,
        prefix: &str,
        k: Cow<'n, str>,
        v: &'n Node<'a>,
        names: Option<&NameLists>,
    ) {
        if skip_raw(&k, self.opts) {
            return;
        }
        let name: Cow<'n, str> = if prefix.is_empty() {
            k.clone()
        } else {
            Cow::Owned(format!("{prefix}{k}"))
        };
        match v {
            Node::Obj(m) => {
                let p = if k == "values" {
                    prefix.to_string()
                } else {
                    format!("{name}_")
                };
                for (k2, v2) in m {
                    self.member(cols, &p, Cow::Borrowed(&**k2), v2, None);
                }
            }
            Node::Arr(a) => {
                let list = names.and_then(|n| n.get(&*k));
                self.array(cols, &name, a, list.map(Vec::as_slice));
            }
            _ => push(cols, name, Val::Node(v)),
        }
    }

    fn array<'n, 'a>(
        &self,
        cols: &mut Cols<'n, 'a>,
        name: &str,
        a: &'n [Node<'a>],
        list: Option<&[String]>,
    ) {
        let named = |i: usize| {
            list.filter(|l| l.len() == a.len())
                .map(|l| l[i].clone())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| format!("{name}_{i}"))
        };
        let strings = a.is_empty() || a.iter().any(|x| matches!(x, Node::Str(_)));
        if strings && a.iter().all(Node::is_scalar) {
            push(cols, name.to_string(), joined(a));
            return;
        }
        if a.iter()
            .all(|x| matches!(x, Node::Num(_) | Node::Null | Node::Bool(_)))
        {
            let words: Option<Vec<u64>> = a
                .iter()
                .map(|x| x.text().and_then(|t| t.parse::<u64>().ok()))
                .collect();
            for (i, x) in a.iter().enumerate() {
                push(cols, named(i), Val::Node(x));
            }
            // Digital words named bit by bit (16 names per word).
            if let (Some(l), Some(w)) = (list, words) {
                if l.len() == 16 * w.len() && l.len() != a.len() {
                    for (i, n) in l.iter().enumerate() {
                        if !n.is_empty() {
                            push(cols, n.clone(), Val::Int((w[i / 16] >> (i % 16)) & 1));
                        }
                    }
                }
            }
            return;
        }
        for (i, x) in a.iter().enumerate() {
            let base = named(i);
            match x {
                Node::Obj(m) => {
                    // Record version 2: a C37.118 channel carries its own `name`, which is
                    // the configuration's and names the columns already.
                    let channels = NAME_LISTS.iter().any(|(_, arr)| *arr == name);
                    let own = m.iter().find_map(|(k, v)| match v {
                        Node::Str(n) if channels && k == "name" && !n.is_empty() => {
                            Some(n.to_string())
                        }
                        _ => None,
                    });
                    let base = own.unwrap_or(base);
                    for (k, v) in m {
                        let rect = k == "re" || k == "im";
                        if channels && k == "name" && matches!(v, Node::Str(_)) {
                            continue;
                        }
                        if skip_raw(k, self.opts) || (rect && !self.opts.rect) {
                            continue;
                        }
                        let v = if v.is_scalar() {
                            Val::Node(v)
                        } else {
                            as_json_text(v)
                        };
                        push(cols, format!("{base}_{k}"), v);
                    }
                }
                _ if x.is_scalar() => push(cols, base, Val::Node(x)),
                _ => push(cols, base, as_json_text(x)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(r: &Row<'_, '_>) -> Vec<String> {
        r.cols.iter().map(|(n, _)| n.to_string()).collect()
    }

    #[test]
    fn rows_per_element_with_channel_names_from_the_configuration() {
        let cfg = r#"{"type":"decoded","ts":1.5,"proto":"p","frame":"cfg","idcode":7,"pmus":[{"idcode":7,"phnam":["VA","VB"],"dgnam":["","B1","","","","","","","","","","","","","","X"]}]}"#;
        let data = r#"{"type":"decoded","ts":2.5,"proto":"p","frame":"data","idcode":7,"anomalies":[],"pmus":[{"idcode":7,"freq_raw":1,"freq":50.0,"phasors":[{"raw":[1,2],"re":1.0,"im":2.0,"mag":2.2,"ang_deg":63.4},{"mag":3,"ang_deg":4}],"digitals":[32770],"tq":{"a":1}}]}"#;
        let mut f = Flattener::new(FlatOpts::default());
        let (c, d) = (Node::parse(cfg).unwrap(), Node::parse(data).unwrap());
        assert_eq!(f.rows(&c).unwrap()[0].file, "p.7.cfg");
        let rows = f.rows(&d).unwrap();
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(r.file, "p.7.data");
        assert_eq!(
            names(r),
            [
                "capture_ts",
                "frame",
                "idcode",
                "anomalies",
                "pmus_idcode",
                "freq",
                "VA_mag",
                "VA_ang_deg",
                "VB_mag",
                "VB_ang_deg",
                "digitals_0",
                "B1",
                "X",
                "tq_a"
            ]
        );
        assert_eq!(r.get("B1").unwrap().text(), "1");
        assert_eq!(r.get("X").unwrap().text(), "1");
        assert_eq!(r.get("VA_mag").unwrap().text(), "2.2");
        f.opts.rect = true;
        let rows = f.rows(&d).unwrap();
        assert_eq!(rows[0].get("VA_re").unwrap().text(), "1.0");
    }

    #[test]
    fn typed_rows_share_a_file_and_values_members_are_channels() {
        let r = r#"{"type":"decoded","proto":"se","function":"0x0500","devices":[{"type_name":"inv","id":"A","v":1},{"type_name":"opt","id":"B"}]}"#;
        let n = Node::parse(r).unwrap();
        let mut f = Flattener::default();
        let rows = f.rows(&n).unwrap();
        assert_eq!(rows[0].file, "se.inv");
        assert_eq!(rows[1].file, "se.opt");
        assert_eq!(rows[1].device.as_deref(), Some("B"));
        let s = r#"{"type":"decoded","proto":"sel","relay":"R1","message":"fastmeter","values":{"IA":1.5,"VA":2}}"#;
        let n = Node::parse(s).unwrap();
        let rows = f.rows(&n).unwrap();
        assert_eq!(rows[0].file, "sel.R1.fastmeter");
        assert_eq!(names(&rows[0]), ["relay", "message", "IA", "VA"]);
        assert!(f.rows(&Node::parse("{\"a\":1}").unwrap()).is_err());
    }
}
