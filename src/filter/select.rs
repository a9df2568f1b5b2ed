//! The packet selection shared by the tools that read captures (seextract, sefollow,
//! sereplay): `--host`, `--port`, a tcpdump-style capture filter `-F` and a packet count `-c`.

use super::PacketFilter;
use clap::Args;
use std::net::IpAddr;

#[derive(Args, Debug, Clone, Default)]
pub struct PacketSelect {
    /// Only connections with this host at either end (repeatable; any of them).
    #[arg(long, value_name = "IP")]
    pub host: Vec<IpAddr>,
    /// Only connections with this port at either end (repeatable; any of them).
    #[arg(long, value_name = "PORT")]
    pub port: Vec<u16>,
    /// Only packets matching EXPR, in tcpdump's filter syntax: host, net, port, portrange
    /// (with src/dst, ip/ip6/tcp/udp), tcp, udp, ip, ip6, vlan [ID], less/greater LEN, joined by
    /// and, or, not and parentheses; e.g. 'tcp port 4712 and host 10.0.0.1'. Evaluated after
    /// IP reassembly, VLAN tags looked through.
    #[arg(short = 'F', long = "filter", value_name = "EXPR", value_parser = parse_filter)]
    pub filter: Option<PacketFilter>,
    /// Stop after COUNT packets (those matching the filter and --host/--port), as tcpdump -c.
    #[arg(short = 'c', long = "count", value_name = "COUNT")]
    pub count: Option<u64>,
}

fn parse_filter(s: &str) -> Result<PacketFilter, String> {
    PacketFilter::parse(s).map_err(|e| e.to_string())
}

impl PacketSelect {
    /// The capture filter with --host and --port folded in (each an `or` of its values, all
    /// joined by `and`), or `None` when nothing is selected.
    pub fn combined(&self) -> Option<PacketFilter> {
        let any =
            |words: Vec<String>| (!words.is_empty()).then(|| format!("({})", words.join(" or ")));
        let parts: Vec<String> = [
            self.filter.as_ref().map(|f| format!("({})", f.text())),
            any(self.host.iter().map(|h| format!("host {h}")).collect()),
            any(self.port.iter().map(|p| format!("port {p}")).collect()),
        ]
        .into_iter()
        .flatten()
        .collect();
        if parts.is_empty() {
            return None;
        }
        // Every part is valid on its own, and so is their conjunction.
        PacketFilter::parse(&parts.join(" and ")).ok()
    }
}
