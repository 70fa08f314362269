#!/usr/bin/env python3
"""ip6probe.py - IPv6 probes for usernat's namespace tests (run as root in
the namespace that plays the guest).

  ip6probe.py rs IFACE
      Send a router solicitation and print the advertisement that answers:
      "RA src=... flags=0x40 lifetime=9000 prefix=fd00::/64 pflags=0xc0
       mtu=1500 rdnss=fd00::3 dnssl=a.example,b.example"
  ip6probe.py dhcp6 IFACE info|solicit|rapid
      A DHCPv6 exchange from the interface's link-local address:
      Information-request; Solicit then Request; or Solicit with Rapid
      Commit.  Prints "DHCP6 type=7 dns=fd00::3 domains=... addr=..."

Exit status 0 when an answer came, 1 on timeout, 2 on usage errors."""
import os
import socket
import struct
import sys
import time

TIMEOUT = 3.0


def names(data):
    """RFC 1035 3.1 names, uncompressed, until the data or a 0 byte ends"""
    out, cur, i = [], [], 0
    while i < len(data):
        n = data[i]
        i += 1
        if n == 0:
            if cur:
                out.append(".".join(cur))
            cur = []
            continue
        cur.append(data[i:i + n].decode("ascii", "replace"))
        i += n
    return ",".join(out)


def rs(ifname):
    idx = socket.if_nametoindex(ifname)
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
    s.settimeout(TIMEOUT)
    # type, code, checksum (the kernel fills it in), reserved
    s.sendto(struct.pack("!BBHI", 133, 0, 0, 0), ("ff02::2", 0, 0, idx))
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        try:
            data, addr = s.recvfrom(2000)
        except socket.timeout:
            break
        if len(data) < 16 or data[0] != 134:
            continue
        hop, flags, life = struct.unpack("!BBH", data[4:8])
        out = ["RA", "src=" + addr[0].split("%")[0],
               "flags=0x%02x" % flags, "lifetime=%d" % life]
        i = 16
        while i + 2 <= len(data) and data[i + 1]:
            t, ln = data[i], data[i + 1] * 8
            o = data[i:i + ln]
            if t == 3:
                p = socket.inet_ntop(socket.AF_INET6, o[16:32])
                out += ["prefix=%s/%d" % (p, o[2]), "pflags=0x%02x" % o[3]]
            elif t == 5:
                out.append("mtu=%d" % struct.unpack("!I", o[4:8])[0])
            elif t == 1:
                out.append("slla=" + ":".join("%02x" % b for b in o[2:8]))
            elif t == 25:
                out.append("rdnss=" + ",".join(
                    socket.inet_ntop(socket.AF_INET6, o[k:k + 16])
                    for k in range(8, ln, 16)))
            elif t == 31:
                out.append("dnssl=" + names(o[8:]))
            i += ln
        print(" ".join(out))
        return 0
    print("no RA")
    return 1


def dhcp_opts(data):
    opts, i = [], 0
    while i + 4 <= len(data):
        code, ln = struct.unpack("!HH", data[i:i + 4])
        opts.append((code, data[i + 4:i + 4 + ln]))
        i += 4 + ln
    return opts


def opt(code, val):
    return struct.pack("!HH", code, len(val)) + val


def dhcp6_exchange(s, idx, msg, xid):
    s.sendto(msg, ("ff02::1:2", 547, 0, idx))
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        try:
            data = s.recv(2000)
        except socket.timeout:
            return None
        if len(data) >= 4 and data[1:4] == xid:
            return data
    return None


def dhcp6(ifname, mode):
    idx = socket.if_nametoindex(ifname)
    mac = open("/sys/class/net/%s/address" % ifname).read().strip()
    duid = struct.pack("!HH", 3, 1) + bytes.fromhex(mac.replace(":", ""))
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
    s.bind(("::", 546, 0, idx))
    s.settimeout(TIMEOUT)
    xid = os.urandom(3)
    base = opt(1, duid) + opt(6, struct.pack("!HH", 23, 24)) + \
        opt(8, b"\0\0")
    ia = opt(3, struct.pack("!III", 1, 0, 0))
    if mode == "info":
        msg = bytes([11]) + xid + base
    elif mode == "rapid":
        msg = bytes([1]) + xid + base + opt(14, b"") + ia
    else:
        msg = bytes([1]) + xid + base + ia
    r = dhcp6_exchange(s, idx, msg, xid)
    if r and mode == "solicit" and r[0] == 2:
        sid = [v for c, v in dhcp_opts(r[4:]) if c == 2]
        xid = os.urandom(3)
        msg = bytes([3]) + xid + base + opt(2, sid[0] if sid else b"") + ia
        r = dhcp6_exchange(s, idx, msg, xid)
    if not r:
        print("no reply")
        return 1
    out = ["DHCP6", "type=%d" % r[0]]
    for code, v in dhcp_opts(r[4:]):
        if code == 23:
            out.append("dns=" + ",".join(
                socket.inet_ntop(socket.AF_INET6, v[k:k + 16])
                for k in range(0, len(v), 16)))
        elif code == 24:
            out.append("domains=" + names(v))
        elif code == 2:
            out.append("server=" + v.hex())
        elif code == 3:
            for c2, v2 in dhcp_opts(v[12:]):
                if c2 == 5:
                    out.append("addr=%s valid=%d" % (
                        socket.inet_ntop(socket.AF_INET6, v2[:16]),
                        struct.unpack("!I", v2[20:24])[0]))
        elif code == 14:
            out.append("rapid-commit")
    print(" ".join(out))
    return 0


def main(argv):
    if len(argv) == 3 and argv[1] == "rs":
        return rs(argv[2])
    if len(argv) == 4 and argv[1] == "dhcp6" and \
            argv[3] in ("info", "solicit", "rapid"):
        return dhcp6(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
