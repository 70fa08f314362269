#!/usr/bin/env python3
"""Inject malformed frames on an interface (AF_PACKET), as a hostile guest.

usage: inject.py IFACE [ROUNDS]

Every kind of damage a parser must survive: truncated headers at every
length, lengths that lie, bad checksums, IP options, fragments, TCP option
garbage, DHCP option overflows, ARP claims on the gateway's address, and
random bytes.  Prints the number of frames sent."""
import os, random, socket, struct, sys

GW = bytes.fromhex("52550a000202")
BC = b"\xff" * 6

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff

def ip4(src, dst, proto, l4, ihl=5, opts=b"", frag=0x4000, tot=None, fix=True):
    tot = 20 + len(opts) + len(l4) if tot is None else tot
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, tot, 7, frag, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst)) + opts
    if fix:
        h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + l4

def udp(sport, dport, data, ulen=None):
    return struct.pack("!HHHH", sport, dport, ulen if ulen is not None else 8 + len(data), 0) + data

def tcp(sport, dport, flags, opts=b"", off=None, data=b""):
    off = (20 + len(opts)) // 4 if off is None else off
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, off << 4, flags, 1000, 0, 0) + opts + data

def dhcp(opts):
    m = struct.pack("!BBBBIHHIIII16s64s128sI", 1, 1, 6, 0, 1, 0, 0x8000, 0, 0,
                    0, 0, b"\x52\x54\0\0\0\x99", b"", b"", 0x63825363)
    return m + opts

def frames(mac, me):
    e = lambda dst, p, t=0x0800: dst + mac + struct.pack("!H", t) + p
    good_icmp = struct.pack("!BBHHH", 8, 0, 0, 1, 1) + b"x" * 32
    good_icmp = good_icmp[:2] + struct.pack("!H", csum(good_icmp)) + good_icmp[4:]
    base = e(GW, ip4(me, "10.0.2.2", 1, good_icmp))
    out = [base[:n] for n in range(len(base))]                  # truncations
    out.append(e(GW, ip4(me, "10.0.2.2", 1, good_icmp, tot=2000)))  # lying total length
    out.append(e(GW, ip4(me, "10.0.2.2", 1, good_icmp, tot=10)))
    out.append(e(GW, ip4(me, "10.0.2.2", 1, good_icmp, ihl=15)))    # ihl past end
    out.append(e(GW, ip4(me, "10.0.2.2", 1, good_icmp, fix=False)))  # bad header csum
    out.append(e(GW, ip4(me, "10.0.2.2", 1, good_icmp[:2] + b"\0\0" + good_icmp[4:])))
    out.append(e(GW, ip4(me, "10.0.2.2", 1, good_icmp, ihl=6, opts=b"\x01\x01\x01\x00")))  # IP options
    out.append(e(GW, ip4(me, "10.0.2.2", 1, good_icmp, frag=0x2000)))   # first fragment
    out.append(e(GW, ip4(me, "10.0.2.2", 1, good_icmp, frag=0x0010)))   # later fragment
    out.append(e(GW, ip4(me, "10.0.2.2", 17, udp(1, 9, b"abc", ulen=300))))   # UDP length lies
    out.append(e(GW, ip4(me, "10.0.2.2", 17, udp(1, 9, b"abc", ulen=3))))
    out.append(e(GW, ip4(me, "10.0.2.3", 17, udp(1, 53, b"\x12"))))          # short DNS
    out.append(e(GW, ip4(me, "10.0.2.3", 17, udp(1, 53, b"\0" * 12 + b"\xc0\x0c" * 50))))  # DNS pointer loop
    for opts in (b"\x02", b"\x02\x00", b"\x02\xff", b"\x03\x03\x0e", b"\x08\x01" + b"\x01" * 2,
                 b"\x01" * 40, b"\x05\x0a" + b"\0" * 8 + b"\0\0", os.urandom(40)):
        opts = (opts + b"\0" * 3)[: (len(opts) + 3) // 4 * 4]
        out.append(e(GW, ip4(me, "10.0.2.2", 6, tcp(40000, 9, 0x02, opts))))
    out.append(e(GW, ip4(me, "10.0.2.2", 6, tcp(40000, 9, 0x02, off=15))))       # doff past end
    out.append(e(GW, ip4(me, "10.0.2.2", 6, tcp(40000, 9, 0x02, off=2))))        # doff too small
    for opts in (bytes([53, 1, 1, 50, 200]) + b"\x0a" * 3,                       # option overruns
                 bytes([53, 1, 1, 55, 255]) + b"\x01" * 10,
                 bytes([52, 1, 3, 53, 1, 1, 255]),                               # overload, empty sname
                 bytes([53, 1, 3, 61, 0, 12, 0, 255]),
                 bytes([53, 5, 1]), b"", os.urandom(300)):
        out.append(e(BC, ip4("0.0.0.0", "255.255.255.255", 17, udp(68, 67, dhcp(opts)))))
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x800, 6, 4, 2, mac, socket.inet_aton("10.0.2.2"),
                      BC, socket.inet_aton("10.0.2.2"))
    out.append(e(BC, arp, 0x0806))                                               # claim the gateway
    out.append(e(BC, arp[:10], 0x0806))
    out.append(e(GW, os.urandom(50), 0x86dd))
    out.append(e(GW, b"", 0x0800))
    for _ in range(200):
        out.append(e(random.choice([GW, BC]), os.urandom(random.randint(0, 1400)),
                     random.choice([0x0800, 0x0806, 0x86dd, 0x8100])))
    return out

def main():
    ifname = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    me = sys.argv[3] if len(sys.argv) > 3 else "10.0.2.15"
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifname, 0))
    mac = open("/sys/class/net/%s/address" % ifname).read().strip()
    mac = bytes.fromhex(mac.replace(":", ""))
    n = 0
    for _ in range(rounds):
        for f in frames(mac, me):
            if len(f) < 14:
                f = f + b"\0" * (14 - len(f))   # the kernel won't send less
            try:
                s.send(f)
                n += 1
            except OSError:
                pass
    print(n)

main()
