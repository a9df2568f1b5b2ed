//! `seserve`: the datalogger database over HTTP (docs/DATALOGGER.md "seserve"), godenerg's
//! endpoints (spec replay_and_datalogger.md §3.2, §3.3) plus a dashboard: `/graph` (SVG, or the
//! series as JSON), `/cmds`, `/devices`, `/fields`, `/` and its embedded uPlot. Synchronous
//! (tiny_http), a few worker threads each with its own read-only connection, so requests are
//! served while `selog` writes (WAL). Every error is a JSON `{"error": …}` with 400 (bad or
//! missing parameter), 404 (unknown route or device), 405 or 500; a handler that panicked is a
//! 500, never a dead server.

pub mod svg;

use crate::output::semonitor::LocalZone;
use crate::output::sqlite::query::{self, QueryError};
use crate::output::sqlite::schema;
use rusqlite::Connection;
use serde_json::{json, Map, Value};
use std::path::PathBuf;
use std::sync::Arc;
use tiny_http::{Header, Method, Response, Server};

/// The dashboard page and the chart library it uses (uPlot 1.6.32, MIT; assets/PROVENANCE.md).
const DASHBOARD: &str = include_str!("../../assets/dashboard.html");
const UPLOT_JS: &str = include_str!("../../assets/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("../../assets/uPlot.min.css");

/// Options of `seserve`.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub db: PathBuf,
    pub listen: String,
    pub threads: usize,
    pub zone: LocalZone,
}

/// A response: status, content type, body.
pub struct Reply {
    pub status: u16,
    pub ctype: &'static str,
    pub body: String,
}

const JSON: &str = "application/json";

fn json_reply(status: u16, v: &Value) -> Reply {
    Reply {
        status,
        ctype: JSON,
        body: v.to_string(),
    }
}

fn error(status: u16, msg: impl std::fmt::Display) -> Reply {
    json_reply(status, &json!({"error": msg.to_string()}))
}

impl From<QueryError> for Reply {
    fn from(e: QueryError) -> Reply {
        match e {
            QueryError::Bad(m) => error(400, m),
            QueryError::Db(e) => error(500, format!("database: {e}")),
        }
    }
}

/// `%XX` and `+` decoded (invalid escapes kept as they are).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                b.get(i + 1).and_then(|&c| hex(c)),
                b.get(i + 2).and_then(|&c| hex(c)),
            ) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The query parameters of a URL, in order.
pub fn params(url: &str) -> (String, Vec<(String, String)>) {
    let (path, q) = url.split_once('?').unwrap_or((url, ""));
    let ps = q
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    (path.to_string(), ps)
}

struct Req<'a> {
    ps: &'a [(String, String)],
}

impl Req<'_> {
    fn get(&self, k: &str) -> Option<&str> {
        self.ps
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
    fn need(&self, k: &str) -> Result<&str, Reply> {
        match self.get(k) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(error(400, format!("missing parameter {k}"))),
        }
    }
    fn all(&self, k: &str) -> Vec<&str> {
        self.ps
            .iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

fn graph(c: &Connection, zone: &LocalZone, r: &Req<'_>) -> Result<Reply, Reply> {
    let from = query::parse_time(r.need("from")?, zone)?;
    let to = query::parse_time(r.need("to")?, zone)?;
    let mut cols = vec![r.need("col_1")?];
    if let Some(c2) = r.get("col_2").filter(|c| !c.is_empty()) {
        cols.push(c2);
    }
    let device = r.get("device").filter(|d| !d.is_empty());
    let s = query::graph(c, from, to, &cols, device)?;
    match r.get("format").unwrap_or("svg") {
        "json" => Ok(json_reply(200, &s.json())),
        "svg" => {
            let title = device.map_or("Inverter Stats".to_string(), |d| d.to_string());
            Ok(Reply {
                status: 200,
                ctype: "image/svg+xml",
                body: svg::chart(&s, &title, zone),
            })
        }
        f => Err(error(400, format!("format {f:?}: svg or json"))),
    }
}

fn cmds(c: &Connection, r: &Req<'_>) -> Result<Reply, Reply> {
    let cmds = r.all("cmd");
    if cmds.is_empty() || cmds.iter().any(|c| c.is_empty()) {
        return Err(error(
            400,
            "missing parameter cmd (status, operation_mode or state)",
        ));
    }
    let device = r.get("device").filter(|d| !d.is_empty());
    let merge = matches!(r.get("merge"), Some("1" | "true")) || cmds.len() == 1;
    let mut out = Map::new();
    for cmd in &cmds {
        let v = match *cmd {
            "status" | "operation_mode" => {
                let dev = match device {
                    Some(d) => {
                        let (p, d) = query::split_device(d)?;
                        if p != "pi30" {
                            return Err(error(
                                400,
                                format!("cmd={cmd} is a PI30 command; use cmd=state for {p}"),
                            ));
                        }
                        d.to_string()
                    }
                    None => match query::devices_of(c, "pi30")?.into_iter().next() {
                        Some(d) => d,
                        None => return Err(error(404, "no PI30 device in the database")),
                    },
                };
                let l = query::latest(c, "pi30", &dev)?;
                if l.is_empty() {
                    return Err(error(404, format!("no device pi30/{dev}")));
                }
                if *cmd == "status" {
                    query::pi30_status(&l)
                } else {
                    query::pi30_mode(&l)
                }
            }
            "state" => match device {
                Some(d) => {
                    let (p, dv) = query::split_device(d)?;
                    let l = query::latest(c, p, dv)?;
                    if l.is_empty() {
                        return Err(error(404, format!("no device {d:?} (see /devices)")));
                    }
                    Value::Object(l)
                }
                None => {
                    let mut all = Map::new();
                    if let Value::Array(ds) = query::devices(c)? {
                        for d in ds {
                            let (Some(p), Some(dv)) = (d["proto"].as_str(), d["device"].as_str())
                            else {
                                continue;
                            };
                            all.insert(
                                format!("{p}/{dv}"),
                                Value::Object(query::latest(c, p, dv)?),
                            );
                        }
                    }
                    Value::Object(all)
                }
            },
            other => {
                return Err(error(
                    400,
                    format!("unknown cmd {other:?} (status, operation_mode, state)"),
                ))
            }
        };
        out.insert(cmd.to_string(), v);
    }
    if merge {
        let mut flat = Map::new();
        for (_, v) in out {
            if let Value::Object(m) = v {
                flat.extend(m);
            }
        }
        return Ok(json_reply(200, &Value::Object(flat)));
    }
    Ok(json_reply(200, &Value::Object(out)))
}

/// Answers one request (method, URL) from the database.
pub fn handle(c: &Connection, zone: &LocalZone, method: &str, url: &str) -> Reply {
    let (path, ps) = params(url);
    let r = Req { ps: &ps };
    if method != "GET" && method != "HEAD" {
        return error(405, format!("{method}: only GET"));
    }
    let res = match path.as_str() {
        "/" | "/index.html" | "/viewer" => Ok(Reply {
            status: 200,
            ctype: "text/html; charset=utf-8",
            body: DASHBOARD.to_string(),
        }),
        "/uPlot.iife.min.js" => Ok(Reply {
            status: 200,
            ctype: "application/javascript",
            body: UPLOT_JS.to_string(),
        }),
        "/uPlot.min.css" => Ok(Reply {
            status: 200,
            ctype: "text/css",
            body: UPLOT_CSS.to_string(),
        }),
        "/graph" => graph(c, zone, &r),
        "/cmds" => cmds(c, &r),
        "/devices" => query::devices(c)
            .map(|v| json_reply(200, &v))
            .map_err(Reply::from),
        "/fields" => match r.need("device") {
            Ok(d) => query::fields(c, d)
                .map(|v| json_reply(200, &v))
                .map_err(Reply::from),
            Err(e) => Err(e),
        },
        _ => Err(error(404, format!("route not found: {path}"))),
    };
    res.unwrap_or_else(|e| e)
}

/// Binds the address and returns the server with the address it is bound to.
pub fn bind(listen: &str) -> Result<(Arc<Server>, String), String> {
    let s = Server::http(listen).map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = s
        .server_addr()
        .to_ip()
        .map_or(listen.to_string(), |a| a.to_string());
    Ok((Arc::new(s), addr))
}

/// Serves forever on `threads` workers.
pub fn run(server: Arc<Server>, opts: &ServeOptions) -> Result<(), String> {
    // Fails early on a missing or unreadable database.
    schema::open_ro(&opts.db).map_err(|e| format!("{}: {e}", opts.db.display()))?;
    let mut workers = Vec::new();
    for _ in 0..opts.threads.max(1) {
        let (server, opts) = (server.clone(), opts.clone());
        workers.push(std::thread::spawn(move || worker(&server, &opts)));
    }
    for w in workers {
        let _ = w.join();
    }
    Ok(())
}

fn header(k: &str, v: &str) -> Option<Header> {
    Header::from_bytes(k.as_bytes(), v.as_bytes()).ok()
}

fn worker(server: &Server, opts: &ServeOptions) {
    let mut conn: Option<Connection> = None;
    loop {
        let Ok(req) = server.recv() else { return };
        if conn.is_none() {
            conn = schema::open_ro(&opts.db).ok();
        }
        let method = req.method().to_string();
        let url = req.url().to_string();
        let reply = match &conn {
            Some(c) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                handle(c, &opts.zone, &method, &url)
            }))
            .unwrap_or_else(|_| error(500, "internal error")),
            None => error(500, "database cannot be opened"),
        };
        let head = *req.method() == Method::Head;
        let mut resp = Response::from_string(if head { String::new() } else { reply.body })
            .with_status_code(reply.status);
        for h in [
            header("Content-Type", reply.ctype),
            header("Cache-Control", "no-store"),
        ]
        .into_iter()
        .flatten()
        {
            resp.add_header(h);
        }
        let _ = req.respond(resp);
    }
}
