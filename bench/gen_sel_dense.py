#!/usr/bin/env python3
"""Build an SEL-dense classic pcap for benchmarking sekit's seextract | sedecode.

A polled SEL session over Telnet (port 23), laid out from sel.md sections 2-4 and
the synthetic vectors of the fixture set (SEL-551 relay definition and Fast
Meter configuration, A5D1 data), is replicated over --conns concurrent
connections until the file holds at least --target-mb MB (1 MB = 1e6 bytes):

* every connection: Telnet negotiation (IAC WILL/DO), ACC login, ID and DNA
  replies in compressed ASCII (line checksums computed), A5C0, A5C1 and A5CE
  requests and responses, then polls: `A5 D1` from the master, a 69-byte A5D1
  data message from the relay (values vary per poll, sum8 recomputed, every
  0xFF doubled as Telnet requires); every 50th poll also a Fast Operate
  command (A5E0) and an unsolicited Fast SER message (A546 FC 0x18, CRC-16);
* connections run round-robin (one poll step each in turn), client
  10.(c>>8).(c&255).10:40000+c, relay 10.200.(c>>8).(c&255):23; Ethernet,
  IPv4, TCP with correct checksums, one segment per message, each segment
  acknowledging the peer's data;
* microsecond timestamps advance 100 us per packet.

Prints a JSON summary: file, bytes, packets, connections, polls, the number
of polls, and the tshark arguments for the comparison (`-d tcp.port==23,selfm`).

Usage: gen_sel_dense.py [-o OUT] [--target-mb MB] [--conns N]
"""
import argparse
import array
import json
import struct
import sys
import time


def sum8(b):
    return sum(b) & 0xFF


def crc16(b):
    c = 0xFFFF
    for x in b:
        c ^= x
        for _ in range(8):
            c = (c >> 1) ^ 0xA001 if c & 1 else c >> 1
    return c


def msg(t, body):
    m = bytes([0xA5, t, len(body) + 4]) + bytes(body)
    return m + bytes([sum8(m)])


def fast_msg(status, fc, seq, rn, body):
    m = bytes([0xA5, 0x46, len(body) + 14, 0, 0, 0, 0, 0, status, fc, seq, rn]) + bytes(body)
    return m + struct.pack(">H", crc16(m))


def cascii(fields):
    line = "".join('"%s",' % f for f in fields)
    return '%s"%04X"\r\n' % (line, sum(line.encode()) & 0xFFFF)


def dbl(b):
    return b.replace(b"\xff", b"\xff\xff")


RELAY_DEF = bytes.fromhex(
    "A5C030020303A5C1A5D1A5C2A5D2A5C3A5D30004A5C1000000000004A5C2000000000004"
    "A5C30000000001000101007B")
FM_CONFIG = bytes.fromhex(
    "A5C14801000204040F01000C002C0034494100000000000100044942000000000001000449"
    "430000000000010004494E00000000000100080003FFFFFFFFFFFF000102FFFFFF0082")
FO_CONFIG = bytes.fromhex("A5CE18010004010031110020400121410222420323430065")
DATA = bytearray(bytes.fromhex(
    "A5D145003C23D70A3BA3D70A03E8FE0CFE0C000000000362FC9E0000FC1801F401F40000"
    "0000FC9E036200000B15190E1E2D01F4800001FF000000000000000000001000CC"))


def data_msg(k):
    d = bytearray(DATA)
    struct.pack_into(">h", d, 12, (k * 7) % 30000 - 15000)  # IA, sample 1
    struct.pack_into(">H", d, 50, k % 1000)  # timestamp ms
    d[53] = 0xFF if k % 3 == 0 else k & 0x7F  # digital bank 1 (0xFF now and then)
    d[-1] = sum8(d[:-1])
    return bytes(d)


def ser_msg(k):
    body = bytes(4) + struct.pack(">HHI", 325, 2025, (52245500 + k) % 86400000)
    body += bytes([0, 0, 0, 0, 3, 0, 3, 0xE8]) + b"\xff\xff\xff\xfe" + struct.pack(">I", 1)
    return fast_msg(1, 0x18, 0xC0, 0, body)


def opening():
    """(direction, payload) of a connection's start; 0 = master, 1 = relay."""
    id_reply = "ID\r\n\x02\r\n" + cascii(["FID=SEL-551-R500-V0-Z001001-D20250101"]) + \
        cascii(["CID=1234"]) + cascii(["DEVID=BENCH"]) + "\x03\r\n=>"
    dna = "DNA\r\n\x02\r\n" + cascii(["EN", "TRIP", "*", "*", "*", "*", "*", "52A"]) + \
        "\x03\r\n=>"
    return [
        (1, b"\xff\xfb\x01\xff\xfb\x03"), (0, b"\xff\xfd\x01\xff\xfd\x03"),
        (1, b"\r\n="), (0, b"ACC\r\n"), (1, b"ACC\r\nPassword: ? "), (0, b"OTTER\r\n"),
        (1, b"\r\nLevel 1\r\n=>"), (0, b"ID\r\n"), (1, id_reply.encode()),
        (0, b"DNA\r\n"), (1, dna.encode()),
        (0, b"\xa5\xc0"), (1, dbl(RELAY_DEF)), (0, b"\xa5\xc1"), (1, dbl(FM_CONFIG)),
        (0, b"\xa5\xce"), (1, dbl(FO_CONFIG)),
    ]


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(array.array("H", b))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return struct.pack("H", ~s & 0xFFFF)


class Conn:
    def __init__(self, c):
        self.ip = [bytes([10, (c >> 8) & 255, c & 255, 10]), bytes([10, 200, (c >> 8) & 255, c & 255])]
        self.port = [40000 + c % 20000, 23]
        self.seq = [1000, 5000]

    def packet(self, d, payload, flags=0x18):
        src, dst = self.ip[d], self.ip[1 - d]
        tcp = struct.pack(">HHIIBBHHH", self.port[d], self.port[1 - d], self.seq[d] & 0xFFFFFFFF,
                          self.seq[1 - d] & 0xFFFFFFFF, 0x50, flags, 65535, 0, 0)
        self.seq[d] += len(payload) + (1 if flags & 0x03 else 0)
        pseudo = src + dst + struct.pack(">BBH", 0, 6, 20 + len(payload))
        c = csum(pseudo + tcp + payload)
        tcp = tcp[:16] + c + tcp[18:]
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 40 + len(payload), 0, 0x4000, 64, 6, 0, src, dst)
        ip = ip[:10] + csum(ip) + ip[12:]
        eth = b"\x00\x30\xa7\x00\x00\x20\x02\x00\x00\x00\x00\x10\x08\x00" if d == 0 else \
            b"\x02\x00\x00\x00\x00\x10\x00\x30\xa7\x00\x00\x20\x08\x00"
        return eth + ip + tcp + payload


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", default="seldense.pcap")
    ap.add_argument("--target-mb", type=float, default=110)
    ap.add_argument("--conns", type=int, default=200)
    a = ap.parse_args()
    t0 = time.time()
    target = int(a.target_mb * 1e6)
    out = open(a.o, "wb")
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    size, pkts, polls = 24, 0, 0
    ts = 1_763_735_445_000_000

    def write(conn, d, payload, flags=0x18):
        nonlocal size, pkts, ts
        p = conn.packet(d, payload, flags)
        out.write(struct.pack("<IIII", ts // 1_000_000, ts % 1_000_000, len(p), len(p)))
        out.write(p)
        size += 16 + len(p)
        pkts += 1
        ts += 100

    conns = [Conn(c) for c in range(a.conns)]
    for c in conns:
        write(c, 0, b"", 0x02)
        write(c, 1, b"", 0x12)
        for d, p in opening():
            write(c, d, p)
    k = 0
    while size < target:
        for c in conns:
            write(c, 0, b"\xa5\xd1")
            write(c, 1, dbl(data_msg(k)))
            polls += 1
            if k % 50 == 49:
                write(c, 0, msg(0xE0, [0x20, 0x81]))
                write(c, 1, dbl(ser_msg(k)))
            k += 1
    for c in conns:
        write(c, 0, b"", 0x11)
        write(c, 1, b"", 0x11)
    out.close()
    json.dump({
        "file": a.o, "bytes": size, "packets": pkts, "connections": a.conns, "polls": polls,
        "tshark": "-d tcp.port==23,selfm -T ek", "seconds": round(time.time() - t0, 1),
    }, sys.stdout)
    print()


if __name__ == "__main__":
    main()
