#!/usr/bin/env python3
"""Build the adversarial captures of the memory-budget benchmark (docs/BENCHMARKS.md).

Each kind makes a tracker hold state for many flows at once; none of them closes a flow, and
all packets fall within one second of capture time, so nothing expires by age:

  syn      N TCP SYNs from distinct tuples, never answered (a connection each)
  udp      N UDP datagrams from distinct tuples (a one-datagram flow each)
  held     N TCP connections (handshake), each client sending the first 4,000 bytes of a
           4,096-byte C37.118 frame: a frame in progress that content detection must hold
  short    N short TCP connections (handshake, a request, a response), never closed

Ethernet, IPv4, classic µs pcap; IPv4 header checksums computed, TCP/UDP checksums 0.
Client i is 10.x.y.z (i in the low 24 bits) port 1024 + i % 60000; the server is
172.16.0.1:31000 (UDP: 4713).

Prints a JSON summary. No dependencies beyond python3.

Usage: gen_adversarial.py KIND -o OUT [-n N]
"""
import argparse
import json
import struct

T0 = 1_704_067_200
SERVER = bytes([172, 16, 0, 1])
ETH = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"


def ip_checksum(h):
    s = sum(struct.unpack("!10H", h))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4(src, dst, proto, l4):
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0x4000, 64, proto, 0, src, dst))
    ip[10:12] = struct.pack("!H", ip_checksum(bytes(ip)))
    return ETH + bytes(ip) + l4


def tcp(src, dst, sport, dport, seq, ack, flags, payload=b""):
    h = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0)
    return ipv4(src, dst, 6, h + payload)


def udp(src, dst, sport, dport, payload):
    return ipv4(src, dst, 17, struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload)


def client(i):
    return bytes([10, (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF]), 1024 + i % 60000


def partial_c37_frame():
    """The first 4,000 bytes of a 4,096-byte C37.118 configuration frame (SYNC 0xAA31,
    FRAMESIZE 4096, IDCODE 1): a frame start that waits for its last 96 bytes."""
    head = struct.pack("!HHHII", 0xAA31, 4096, 1, T0, 0)
    return head + bytes(4000 - len(head))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("kind", choices=["syn", "udp", "held", "short"])
    p.add_argument("-o", "--output", required=True)
    p.add_argument("-n", type=int, default=None, help="flows (default: 1,000,000 for syn/udp, 200,000 otherwise)")
    a = p.parse_args()
    n_flows = a.n if a.n is not None else (1_000_000 if a.kind in ("syn", "udp") else 200_000)

    count = 0
    size = 24
    with open(a.output, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        total = {"syn": 1, "udp": 1, "held": 4, "short": 5}[a.kind] * n_flows

        def put(data):
            nonlocal count, size
            usec = count * 999_999 // max(total, 1)
            rec = struct.pack("<IIII", T0, usec, len(data), len(data)) + data
            out.write(rec)
            count += 1
            size += len(rec)

        frame = partial_c37_frame()
        req, rsp = b"GET /x HTTP/1.0\r\n\r\n", b"HTTP/1.0 200 OK\r\n\r\nhello"
        for i in range(n_flows):
            cli, cport = client(i)
            isn_c, isn_s = i * 2654435761, i * 40503 + 7
            if a.kind == "syn":
                put(tcp(cli, SERVER, cport, 31000, isn_c, 0, 0x02))
            elif a.kind == "udp":
                put(udp(cli, SERVER, cport, 4713, b"x" * 32))
            else:
                put(tcp(cli, SERVER, cport, 31000, isn_c, 0, 0x02))
                put(tcp(SERVER, cli, 31000, cport, isn_s, isn_c + 1, 0x12))
                put(tcp(cli, SERVER, cport, 31000, isn_c + 1, isn_s + 1, 0x10))
                if a.kind == "held":
                    put(tcp(cli, SERVER, cport, 31000, isn_c + 1, isn_s + 1, 0x18, frame))
                else:
                    put(tcp(cli, SERVER, cport, 31000, isn_c + 1, isn_s + 1, 0x18, req))
                    put(tcp(SERVER, cli, 31000, cport, isn_s + 1, isn_c + 1 + len(req), 0x18, rsp))
    print(json.dumps({"file": a.output, "kind": a.kind, "flows": n_flows, "packets": count, "bytes": size}))


if __name__ == "__main__":
    main()
