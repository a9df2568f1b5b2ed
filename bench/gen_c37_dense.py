#!/usr/bin/env python3
"""Build a C37.118-dense classic pcap for benchmarking sekit's seextract.

The six real captures in samples/c37118/ (BSD-3-Clause, see samples/README.md;
classic pcap, Ethernet, microsecond timestamps, IPv4 only) are replicated
many times into one classic pcap of at least --target-mb MB (1 MB = 1e6 bytes):

* Replica k, trace t gets its own client address 10.a.b.c (a unique 24-bit
  number derived from k*6+t; never a server address), so no two replicas, and
  no two traces of one replica, share a flow.  The client is the non-server
  side: the TCP initiator (servers on port 4712) and, for UDP, the PDC side
  (192.168.0.10, which sends the commands from port 4712).
* TCP traces get a random ephemeral client port (32768-60999), distinct
  within a replica; c37_1100_fullclean (the same connection as
  c37_1100_clean_tcp, captured without its handshake) thus becomes a separate
  connection.  Server ports (4712, 4713, 40713) and the UDP ports (both are
  C37.118 well-known ports) are kept, so Wireshark still decodes 4712/4713;
  for 40713 tshark needs `-d udp.port==40713,synphasor` (or use
  --no-otherport to leave that trace out).  Every TCP 4-tuple is checked to
  be unique.
* Timestamps: each trace is rebased to start at 0 within its replica; replica
  k starts at block(k) * span + uniform random offset in [0, span), where
  span = the longest trace duration and block(k) = k // --concurrency.  So
  about --concurrency (default 200) replicas (x 6 traces) run at once, and
  all packets are merged in timestamp order.
* IPv4 header checksums and TCP/UDP checksums are recomputed (fully, not
  incrementally: the original checksums are not used).

Prints a JSON summary on stdout: file, bytes, packets, replicas, traces,
expected C37.118 frame count for seextract (which also counts the 16-byte
header frame at the start of c37_1100_clean_tcp that Wireshark skips) and for
Wireshark (synphasor PDUs), the tshark arguments to use, and seconds taken.

Usage: gen_c37_dense.py [-o OUT] [--target-mb MB] [--seed N]
                        [--concurrency N] [--no-otherport] [--samples DIR]
"""
import argparse
import heapq
import json
import math
import os
import random
import struct
import sys
import time

# file -> (C37.118 frames per seextract, synphasor PDUs per Wireshark)
TRACES = [
    ("C37.118_1PMU_TCP.pcap", 256, 256),
    ("C37.118_1PMU_UDP.pcap", 361, 361),
    ("C37.118_1PMU_UDP_minimal.pcap", 5, 5),
    ("C37.118_1PMU_UDP_minimal_otherport.pcap", 5, 5),
    ("c37_1100_clean_tcp.pcap", 427, 426),
    ("c37_1100_fullclean.pcap", 426, 426),
]
OTHERPORT = "C37.118_1PMU_UDP_minimal_otherport.pcap"
SERVER_PORTS = {4712, 4713, 40713}
UDP_CLIENT_IP = bytes([192, 168, 0, 10])  # PDC side of the UDP traces
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def words_sum(b):
    """Ones-complement style sum (unfolded) of big-endian 16-bit words."""
    if len(b) % 2:
        b += b"\0"
    return sum(struct.unpack(">%dH" % (len(b) // 2), b))


def fold(s):
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def read_pcap(path):
    with open(path, "rb") as fh:
        data = fh.read()
    magic = data[:4]
    if magic == b"\xd4\xc3\xb2\xa1":
        e = "<"
    elif magic == b"\xa1\xb2\xc3\xd4":
        e = ">"
    else:
        sys.exit(f"{path}: not a classic microsecond pcap (magic {magic.hex()})")
    snaplen, linktype = struct.unpack(e + "II", data[16:24])
    if linktype != 1:
        sys.exit(f"{path}: linktype {linktype}, need Ethernet (1)")
    off, recs = 24, []
    while off + 16 <= len(data):
        sec, usec, incl, orig = struct.unpack(e + "IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        if len(pkt) != incl or incl != orig:
            sys.exit(f"{path}: truncated record at offset {off}")
        recs.append((sec * 1_000_000 + usec, pkt))
        off += 16 + incl
    return snaplen, recs


class Template:
    """One packet of a trace, pre-digested for fast rewriting.

    Per packet only the client address (and the TCP client port) change;
    everything else of both checksums is summed here once.
    """
    __slots__ = ("rel", "head", "tail", "c2s", "ip_part", "l4_part", "tcp")

    def __init__(self, rel, pkt, server_port):
        if pkt[12:14] != b"\x08\x00" or pkt[14] != 0x45:
            raise ValueError("not plain IPv4 over Ethernet")
        total = struct.unpack(">H", pkt[16:18])[0]
        frag = struct.unpack(">H", pkt[20:22])[0]
        proto = pkt[23]
        if frag & 0x3FFF or proto not in (6, 17):
            raise ValueError("fragment or not TCP/UDP")
        src, dst = pkt[26:30], pkt[30:34]
        sport, dport = struct.unpack(">HH", pkt[34:38])
        self.rel = rel
        self.tcp = proto == 6
        if self.tcp:
            # client = the side not on the server port
            self.c2s = dport == server_port
            if not self.c2s and sport != server_port:
                raise ValueError("TCP packet not on the server port")
        else:
            self.c2s = src == UDP_CLIENT_IP
            if not self.c2s and dst != UDP_CLIENT_IP:
                raise ValueError("UDP packet not from/to the PDC")
        server_ip = dst if self.c2s else src
        server_p = dport if self.c2s else sport
        client_p = sport if self.c2s else dport
        ip = bytearray(pkt[14:34])
        ip[10:12] = b"\0\0"
        ip[12:20] = b"\0" * 8
        # IPv4 header without checksum and addresses, plus the server address
        self.ip_part = words_sum(bytes(ip)) + words_sum(server_ip)
        l4 = bytearray(pkt[34:14 + total])
        ck_off = 16 if self.tcp else 6
        l4[ck_off:ck_off + 2] = b"\0\0"
        l4[0:4] = b"\0\0\0\0"
        l4_part = words_sum(bytes(l4)) + proto + len(l4) + words_sum(server_ip) + server_p
        if not self.tcp:
            l4_part += client_p  # UDP keeps both ports
        self.l4_part = l4_part
        self.head = bytes(pkt[:14 + total])  # Ethernet + IP + L4 (rewritten per copy)
        self.tail = bytes(pkt[14 + total:])  # Ethernet padding, if any


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", default="c37dense.pcap", help="output pcap (default c37dense.pcap)")
    ap.add_argument("--target-mb", type=float, default=220.0, help="minimum size in MB of 1e6 bytes (default 220)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--concurrency", type=int, default=200, help="replicas per time block (default 200)")
    ap.add_argument("--no-otherport", action="store_true", help="leave out the UDP port 40713 trace")
    ap.add_argument("--samples", default=os.path.join(ROOT, "samples", "c37118"), help="sample pcap dir")
    args = ap.parse_args()
    t0 = time.time()
    rng = random.Random(args.seed)

    traces = [t for t in TRACES if not (args.no_otherport and t[0] == OTHERPORT)]
    snap = 65535
    templates = []  # per trace: list of Template
    per_replica_bytes = 0
    for name, _, _ in traces:
        s, recs = read_pcap(os.path.join(args.samples, name))
        snap = max(snap, s)
        first = recs[0][0]
        # the server port: the one of 4712/4713/40713 in the first packet
        p0 = recs[0][1]
        ports = struct.unpack(">HH", p0[34:38])
        server_port = next(p for p in ports if p in SERVER_PORTS)
        tl = []
        for ts, pkt in recs:
            try:
                tl.append(Template(ts - first, pkt, server_port))
            except ValueError as exc:
                sys.exit(f"{name}: {exc}")
            per_replica_bytes += 16 + len(pkt)
        templates.append(tl)

    span = max(tl[-1].rel for tl in templates) + 1
    target = int(args.target_mb * 1e6)
    replicas = max(1, math.ceil((target - 24) / per_replica_bytes))
    n_traces = len(traces)
    if replicas * n_traces >= 254 * 256 * 256:
        sys.exit("too many replicas for the 10.0.0.0/8 client addresses")

    # one replica's packets, all traces merged by relative time
    rep = sorted((tpl.rel, t, i) for t, tl in enumerate(templates) for i, tpl in enumerate(tl))

    # per replica: start offset, and per trace the client (ip, port, sums)
    base = 1218020400 * 1_000_000  # 2008-08-06 11:00:00 UTC, near the oldest trace
    tcp_traces = [t for t, tl in enumerate(templates) if tl[0].tcp]
    starts = []
    clients = []  # clients[k][t] = (ip bytes, port or None, ip word sum, l4 extra sum)
    seen = set()
    for k in range(replicas):
        starts.append(base + (k // args.concurrency) * span + rng.randrange(span))
        ports = rng.sample(range(32768, 61000), len(tcp_traces))
        row = []
        for t in range(n_traces):
            j = k * n_traces + t
            a, r = divmod(j, 254 * 256)
            b, c = divmod(r, 254)
            ip = bytes([10, a, b, c + 1])
            isum = words_sum(ip)
            if t in tcp_traces:
                port = ports[tcp_traces.index(t)]
                tl = templates[t]
                srv = tl[0].head[30:34] if tl[0].c2s else tl[0].head[26:30]
                sport = struct.unpack(">H", (tl[0].head[36:38] if tl[0].c2s else tl[0].head[34:36]))[0]
                key = (ip, port, srv, sport)
                if key in seen:
                    sys.exit(f"duplicate TCP 4-tuple {key}")
                seen.add(key)
                row.append((ip, port, isum, isum + port))
            else:
                row.append((ip, None, isum, isum))
        clients.append(row)

    def stream(k):
        off = starts[k]
        for rel, t, i in rep:
            yield rel + off, k, t, i

    pack = struct.pack
    packets = 0
    out_bytes = 24
    buf = []
    buf_len = 0
    with open(args.output, "wb") as out:
        out.write(pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snap, 1))
        for ts, k, t, i in heapq.merge(*(stream(k) for k in range(replicas))):
            tpl = templates[t][i]
            ip, port, isum, lsum = clients[k][t]
            p = bytearray(tpl.head)
            if tpl.c2s:
                p[26:30] = ip
                if port is not None:
                    p[34:36] = pack(">H", port)
            else:
                p[30:34] = ip
                if port is not None:
                    p[36:38] = pack(">H", port)
            p[24:26] = pack(">H", ~fold(tpl.ip_part + isum) & 0xFFFF)
            ck = ~fold(tpl.l4_part + lsum) & 0xFFFF
            if tpl.tcp:
                p[50:52] = pack(">H", ck)
            else:
                p[40:42] = pack(">H", ck or 0xFFFF)
            n = len(p) + len(tpl.tail)
            buf.append(pack("<IIII", ts // 1_000_000, ts % 1_000_000, n, n))
            buf.append(p)
            if tpl.tail:
                buf.append(tpl.tail)
            packets += 1
            buf_len += 16 + n
            if buf_len >= 1 << 22:
                out.write(b"".join(buf))
                out_bytes += buf_len
                buf, buf_len = [], 0
        out.write(b"".join(buf))
        out_bytes += buf_len

    seex = sum(f for _, f, _ in traces) * replicas
    wire = sum(w for _, _, w in traces) * replicas
    tshark_args = "-Y synphasor" if args.no_otherport else "-d udp.port==40713,synphasor -Y synphasor"
    print(json.dumps({
        "file": args.output,
        "bytes": out_bytes,
        "packets": packets,
        "replicas": replicas,
        "concurrency": args.concurrency,
        "seed": args.seed,
        "target_mb": args.target_mb,
        "span_s": span / 1e6,
        "duration_s": round((max(starts) + span - min(starts)) / 1e6, 3),
        "traces": [{"file": n, "frames": f, "wireshark_pdus": w, "packets": len(tl)}
                   for (n, f, w), tl in zip(traces, templates)],
        "tcp_connections": len(seen),
        "expected_frames": seex,
        "expected_wireshark_pdus": wire,
        "tshark_args": tshark_args,
        "secs": round(time.time() - t0, 1),
    }))


if __name__ == "__main__":
    main()
