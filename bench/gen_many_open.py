#!/usr/bin/env python3
"""Build a classic pcap with many TCP connections open at once, for timing connection expiry.

Each of --conns connections (Ethernet, IPv4, distinct client address and port, server
172.16.0.1:31000) sends SYN, SYN/ACK, ACK, a request and a response; the connections never
close, so all of them are open at the end. The first four packets of every connection come
first (connection by connection), then the responses, so the table holds --conns open
connections for the second half of the file.

Timestamps (--times):
  alternate   packet i at T + (i mod 2) seconds (+ i microseconds mod 1 s): every packet is
              in a different second from the one before, whatever the connection
  monotonic   packet i at T + i microseconds: the same packets, time only moving forward

Both files have the same packets and bytes; only the timestamps differ. A flow table that
scans all open connections whenever the capture second changes does that for every packet
of the "alternate" file. IPv4 header checksums are computed; TCP checksums are left 0.

Prints a JSON summary (file, packets, bytes, connections). No dependencies beyond python3.

Usage: gen_many_open.py -o OUT [--conns N] [--times alternate|monotonic]
"""
import argparse
import json
import struct

T0 = 1_704_067_200
SERVER = bytes([172, 16, 0, 1])
SPORT = 31000


def ip_checksum(h):
    s = sum(struct.unpack("!10H", h))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def frame(src, dst, sport, dport, seq, ack, flags, payload):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    total = 20 + len(tcp) + len(payload)
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, 6, 0, src, dst))
    ip[10:12] = struct.pack("!H", ip_checksum(bytes(ip)))
    eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    return eth + bytes(ip) + tcp + payload


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--conns", type=int, default=200_000)
    p.add_argument("--times", choices=["alternate", "monotonic"], default="alternate")
    a = p.parse_args()

    req, rsp = b"GET /x HTTP/1.0\r\n\r\n", b"HTTP/1.0 200 OK\r\n\r\nhello"
    n = 0
    size = 0
    with open(a.output, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))

        def put(data):
            nonlocal n, size
            if a.times == "alternate":
                sec, usec = T0 + n % 2, n % 1_000_000
            else:
                sec, usec = T0 + n // 1_000_000, n % 1_000_000
            rec = struct.pack("<IIII", sec, usec, len(data), len(data)) + data
            out.write(rec)
            n += 1
            size += len(rec)

        def ends(i):
            cli = bytes([10, (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF])
            return cli, 32768 + i % 28000

        for i in range(a.conns):
            cli, cport = ends(i)
            isn_c, isn_s = (i * 2654435761) & 0xFFFFFFFF, (i * 40503 + 7) & 0xFFFFFFFF
            put(frame(cli, SERVER, cport, SPORT, isn_c, 0, 0x02, b""))
            put(frame(SERVER, cli, SPORT, cport, isn_s, isn_c + 1 & 0xFFFFFFFF, 0x12, b""))
            put(frame(cli, SERVER, cport, SPORT, isn_c + 1 & 0xFFFFFFFF, isn_s + 1 & 0xFFFFFFFF, 0x10, b""))
            put(frame(cli, SERVER, cport, SPORT, isn_c + 1 & 0xFFFFFFFF, isn_s + 1 & 0xFFFFFFFF, 0x18, req))
        for i in range(a.conns):
            cli, cport = ends(i)
            isn_c, isn_s = (i * 2654435761) & 0xFFFFFFFF, (i * 40503 + 7) & 0xFFFFFFFF
            c_next = isn_c + 1 + len(req) & 0xFFFFFFFF
            put(frame(SERVER, cli, SPORT, cport, isn_s + 1 & 0xFFFFFFFF, c_next, 0x18, rsp))
    print(json.dumps({"file": a.output, "packets": n, "bytes": size + 24, "connections": a.conns,
                      "times": a.times}))


if __name__ == "__main__":
    main()
