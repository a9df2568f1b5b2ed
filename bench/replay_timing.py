#!/usr/bin/env python3
"""Timing benchmark of `sereplay udp` (docs/BENCHMARKS.md, "Replay timing").

Writes seextract-style JSON Lines holding N C37.118 data frames (a data frame of the TCP
sample, FRAMESIZE/CRC intact) captured at RATE frames/s, replays them with
`sereplay udp --speed SPEED` to a UDP socket of this script, and reports sereplay's own
summary (max lateness: each frame against its schedule from the fixed anchor) and the
end-to-end drift seen by the receiver: (last arrival - first arrival) - scheduled span.
With TOOL "tcpreplay", the same frames go into a pcap (Ethernet/IPv4/UDP to 127.0.0.1) and
`tcpreplay -i lo -x SPEED` sends them instead; the receiver measures the same way.
Usage: replay_timing.py SEREPLAY|tcpreplay [N] [RATE] [SPEED]
"""
import json, socket, struct, subprocess, sys, tempfile, threading, time


def pcap(path, frame, n, rate, port):
    """n UDP datagrams carrying `frame` to 127.0.0.1:port, 1/rate s apart."""
    def csum(h):
        s = sum(struct.unpack("!10H", h))
        s = (s >> 16) + (s & 0xFFFF)
        s += s >> 16
        return (~s) & 0xFFFF
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(n):
            udp = struct.pack("!HHHH", 4712, port, 8 + len(frame), 0) + frame
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0,
                             bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))
            ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
            eth = bytes(12) + b"\x08\x00" + ip + udp
            us = int(i * 1e6 / rate)
            f.write(struct.pack("<IIII", 1_700_000_000 + us // 10**6, us % 10**6, len(eth), len(eth)))
            f.write(eth)

def main():
    exe = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    rate = float(sys.argv[3]) if len(sys.argv) > 3 else 50.0
    speed = float(sys.argv[4]) if len(sys.argv) > 4 else 10.0
    # A C37.118 data frame (54 bytes) of samples/c37118/C37.118_1PMU_TCP.pcap.
    frame = "aa01003600f14893344a001eb852080042f68f24c7c36623430188cbc7c36332c7a956764742fe4b47a91cdd4743d1440000000047ef"
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        t0 = 1_700_000_000_000_000_000
        step = int(1e9 / rate)
        for i in range(n):
            ts = t0 + i * step
            f.write(json.dumps({"v": 1, "type": "frame", "proto": "c37118",
                "ts": float(f"{ts // 10**9}.{ts % 10**9:09d}"), "conn": 1, "transport": "udp",
                "src": "127.0.0.1", "sport": 4712, "dst": "127.0.0.1", "dport": 4713,
                "dir": "s2c", "kind": "data", "offset": 0, "len": 54, "hex": frame}) + "\n")
        path = f.name
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(3.0)
    arrivals = []
    def recv():
        try:
            while len(arrivals) < n:
                rx.recv(2048)
                arrivals.append(time.monotonic_ns())
        except socket.timeout:
            pass
    t = threading.Thread(target=recv)
    t.start()
    port = rx.getsockname()[1]
    if exe == "tcpreplay":
        cap = path + ".pcap"
        pcap(cap, bytes.fromhex(frame), n, rate, port)
        cmd = ["tcpreplay", "-q", "-i", "lo", "-x", str(speed), cap]
    else:
        cmd = [exe, "udp", "--target", f"127.0.0.1:{port}", "--speed", str(speed), path]
    p = subprocess.run(cmd, capture_output=True, text=True)
    t.join()
    summary = [l for l in (p.stderr + p.stdout).splitlines() if "max lateness" in l or "Actual" in l]
    span = (n - 1) * (1.0 / rate) / speed
    got = len(arrivals)
    if got < 2:
        print(f"frames {n} at {rate:g}/s, --speed {speed:g}: received {got}")
        print(f"{exe.split('/')[-1]}: {summary[0] if summary else p.stderr.strip()}")
        print("receiver: nothing arrived (frames injected on lo by PF_PACKET do not reach "
              "local sockets)")
        return
    drift = (arrivals[-1] - arrivals[0]) / 1e9 - span if got > 1 else float("nan")
    # Lateness as the receiver sees it: arrival - (first arrival + scheduled offset).
    late = [(a - arrivals[0]) / 1e9 - i * (1.0 / rate) / speed for i, a in enumerate(arrivals)]
    print(f"frames {n} at {rate:g}/s, --speed {speed:g}: received {got}")
    print(f"{exe.split('/')[-1]}: {summary[0] if summary else p.stderr.strip()}")
    print(f"receiver: end-to-end drift {drift * 1e3:+.3f} ms over {span:.3f} s; "
          f"max lateness {max(late) * 1e3:.3f} ms, min {min(late) * 1e3:+.3f} ms")

if __name__ == "__main__":
    main()
