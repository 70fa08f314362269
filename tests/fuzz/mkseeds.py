#!/usr/bin/env python3
"""Write seed inputs for fuzz-frame: one file per protocol, each a sequence
of frames, every frame preceded by its length as 2 bytes big-endian."""
import os, socket, struct, sys

GUEST = bytes.fromhex("525400123456")
GW = bytes.fromhex("52550a000202")
BC = b"\xff" * 6

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff

def ip4(src, dst, proto, l4):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0x4000, 64,
                    proto, 0, bytes(src), bytes(dst))
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + l4

def pseudo(src, dst, proto, l4):
    return bytes(src) + bytes(dst) + struct.pack("!BBH", 0, proto, len(l4))

def udp(src, dst, sport, dport, data):
    l4 = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    c = csum(pseudo(src, dst, 17, l4) + l4) or 0xffff
    return ip4(src, dst, 17, l4[:6] + struct.pack("!H", c) + l4[8:])

def tcp(src, dst, sport, dport, seq, ack, flags, opts=b"", data=b""):
    off = (20 + len(opts)) // 4
    l4 = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags,
                     65535, 0, 0) + opts + data
    c = csum(pseudo(src, dst, 6, l4) + l4)
    return ip4(src, dst, 6, l4[:16] + struct.pack("!H", c) + l4[18:])

def eth(dst, payload, etype=0x0800):
    return dst + GUEST + struct.pack("!H", etype) + payload

def dhcp(mtype, extra=b""):
    m = struct.pack("!BBBBIHHIIII16s64s128sI", 1, 1, 6, 0, 0x1234, 0, 0x8000,
                    0, 0, 0, 0, GUEST, b"", b"", 0x63825363)
    m += bytes([53, 1, mtype]) + extra + bytes([55, 4, 1, 3, 6, 119, 255])
    return udp([0, 0, 0, 0], [255] * 4, 68, 67, m)

def a6(s):
    return socket.inet_pton(socket.AF_INET6, s)

def ip6(src, dst, nh, payload, hop=64):
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), nh, hop,
                       a6(src), a6(dst)) + payload

def pseudo6(src, dst, nh, l4):
    return a6(src) + a6(dst) + struct.pack("!IxxxB", len(l4), nh)

def icmp6(src, dst, msg, hop=64, ext=b"", first=58):
    c = csum(pseudo6(src, dst, 58, msg) + msg)
    msg = msg[:2] + struct.pack("!H", c) + msg[4:]
    return ip6(src, dst, first if ext else 58, ext + msg, hop)

def udp6(src, dst, sport, dport, data):
    l4 = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    c = csum(pseudo6(src, dst, 17, l4) + l4) or 0xffff
    return ip6(src, dst, 17, l4[:6] + struct.pack("!H", c) + l4[8:])

def mc6(group):
    return b"\x33\x33" + a6(group)[12:]

def opt6(code, val):
    return struct.pack("!HH", code, len(val)) + val

GLL = "fe80::5054:ff:fe12:3456"
GWLL = "fe80::5055:aff:fe00:202"
SLLA = bytes([1, 1]) + GUEST
DUID = opt6(1, struct.pack("!HH", 3, 1) + GUEST)
SID = opt6(2, struct.pack("!HH", 3, 1) + GW)
IA = opt6(3, struct.pack("!III", 1, 0, 0))
ECHO6 = struct.pack("!BBHHH", 128, 0, 0, 1, 1) + b"x" * 32

G = [10, 0, 2, 15]
GWIP = [10, 0, 2, 2]
DNS = [10, 0, 2, 3]
seeds = {
    "arp": [eth(BC, struct.pack("!HHBBH6s4s6s4s", 1, 0x800, 6, 4, 1, GUEST,
                                bytes(G), b"\0" * 6, bytes(GWIP)), 0x0806)],
    "dhcp": [eth(BC, dhcp(1)),
             eth(BC, dhcp(3, bytes([50, 4] + G + [54, 4] + GWIP)))],
    "icmp": [eth(GW, ip4(G, GWIP, 1, (lambda b: b[:2] + struct.pack("!H", csum(b)) + b[4:])(
        struct.pack("!BBHHH", 8, 0, 0, 1, 1) + b"x" * 56)))],
    "udp-dns": [eth(GW, udp(G, DNS, 5353, 53, struct.pack("!HHHHHH", 0xbeef, 0x0100, 1, 0, 0, 0)
                            + b"\x07example\x03com\x00\x00\x01\x00\x01"))],
    "tcp": [eth(GW, tcp(G, GWIP, 40000, 9, 1000, 0, 0x02,
                        bytes([2, 4, 5, 0xb4, 1, 3, 3, 7, 4, 2, 8, 10]) + b"\0" * 8 + b"\1\1")),
            eth(GW, tcp(G, GWIP, 40000, 9, 1001, 1, 0x10)),
            eth(GW, tcp(G, GWIP, 40000, 9, 1001, 1, 0x18, data=b"GET / HTTP/1.0\r\n\r\n")),
            eth(GW, tcp(G, GWIP, 40000, 9, 1019, 1, 0x11))],
}
seeds.update({
    "ndp": [eth(mc6("ff02::1:ff00:2"), icmp6(GLL, "ff02::1:ff00:2",
                struct.pack("!BBHI16s", 135, 0, 0, 0, a6("fd00::2")) + SLLA,
                255), 0x86dd),
            eth(mc6("ff02::1:ff00:2"), icmp6("::", "ff02::1:ff00:2",
                struct.pack("!BBHI16s", 135, 0, 0, 0, a6("fd00::2")), 255),
                0x86dd),
            eth(mc6("ff02::2"), icmp6(GLL, "ff02::2",
                struct.pack("!BBHI", 133, 0, 0, 0) + SLLA, 255), 0x86dd),
            eth(mc6("ff02::1"), icmp6(GLL, "ff02::1",
                struct.pack("!BBHI16s", 136, 0, 0, 0x20000000,
                            a6("fd00::1234")) + bytes([2, 1]) + GUEST, 255),
                0x86dd)],
    "icmp6": [eth(GW, icmp6("fd00::1234", "fd00::2", ECHO6), 0x86dd),
              eth(mc6("ff02::1"), icmp6(GLL, "ff02::1", ECHO6), 0x86dd),
              eth(GW, icmp6(GLL, GWLL, ECHO6), 0x86dd),
              eth(GW, icmp6("fd00::1234", "2001:db8::1", ECHO6, hop=1),
                  0x86dd)],
    "dhcp6": [eth(mc6("ff02::1:2"), udp6(GLL, "ff02::1:2", 546, 547,
                  b"\x0b\x01\x02\x03" + DUID + opt6(6, b"\0\x17\0\x18")),
                  0x86dd),
              eth(mc6("ff02::1:2"), udp6(GLL, "ff02::1:2", 546, 547,
                  b"\x01\x01\x02\x04" + DUID + opt6(14, b"") + IA), 0x86dd),
              eth(mc6("ff02::1:2"), udp6(GLL, "ff02::1:2", 546, 547,
                  b"\x03\x01\x02\x05" + DUID + SID + IA), 0x86dd),
              eth(mc6("ff02::1:2"), udp6(GLL, "ff02::1:2", 546, 547,
                  b"\x05\x01\x02\x06" + DUID + SID + opt6(3,
                      struct.pack("!III", 1, 0, 0) + opt6(5, a6("fd00::1") +
                                                          bytes(8)))),
                  0x86dd)],
    # hop-by-hop (PadN, Router Alert), destination options, routing (no
    # segments left), atomic fragment; then a real fragment and an
    # unknown option asking for an error
    "ip6-ext": [eth(GW, icmp6("fd00::1234", "fd00::2", ECHO6,
                              ext=bytes([60, 0, 1, 0, 5, 2, 0, 0,
                                         43, 0, 1, 4, 0, 0, 0, 0,
                                         44, 0, 0, 0, 0, 0, 0, 0,
                                         58, 0, 0, 0, 0, 0, 0, 1]),
                              first=0), 0x86dd),
                eth(GW, icmp6("fd00::1234", "fd00::2", ECHO6,
                              ext=bytes([58, 0, 0, 1, 0, 0, 0, 1]),
                              first=44), 0x86dd),
                eth(GW, icmp6("fd00::1234", "fd00::2", ECHO6,
                              ext=bytes([58, 0, 0x9e, 0, 1, 2, 0, 0]),
                              first=60), 0x86dd)],
})
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "seeds")
os.makedirs(out, exist_ok=True)
for name, frames in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        for fr in frames:
            f.write(struct.pack("!H", len(fr)) + fr)
