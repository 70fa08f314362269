#!/usr/bin/env python3
"""A fake QEMU on usernat's stream socket: frames with 4-byte lengths."""
import socket, struct, sys, time

MAC = bytes.fromhex("525400aabb01")
MAC2 = bytes.fromhex("525400aabb02")
BC = b"\xff" * 6

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff

def dhcp_discover(mac):
    m = struct.pack("!BBBBIHHIIII16s64s128sI", 1, 1, 6, 0, 0x4242, 0, 0x8000,
                    0, 0, 0, 0, mac, b"", b"", 0x63825363)
    m += bytes([53, 1, 1, 255])
    udp = struct.pack("!HHHH", 68, 67, 8 + len(m), 0) + m
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     b"\0\0\0\0", b"\xff\xff\xff\xff")
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return BC + mac + b"\x08\x00" + ip + udp

def dhcp_request(mac, ip):
    m = struct.pack("!BBBBIHHIIII16s64s128sI", 1, 1, 6, 0, 0x4243, 0, 0x8000,
                    0, 0, 0, 0, mac, b"", b"", 0x63825363)
    m += bytes([53, 1, 3, 50, 4]) + ip + bytes([54, 4, 10, 0, 2, 2, 255])
    udp = struct.pack("!HHHH", 68, 67, 8 + len(m), 0) + m
    ipb = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                      b"\0\0\0\0", b"\xff\xff\xff\xff")
    ipb = ipb[:10] + struct.pack("!H", csum(ipb)) + ipb[12:]
    return BC + mac + b"\x08\x00" + ipb + udp

def arp_req(mac):
    a = struct.pack("!HHBBH6s4s6s4s", 1, 0x800, 6, 4, 1, mac,
                    bytes([10, 0, 2, 15]), b"\0" * 6, bytes([10, 0, 2, 2]))
    return BC + mac + b"\x08\x06" + a

def conn(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.settimeout(3)
    return s

def send(s, f):
    s.sendall(struct.pack("!I", len(f)) + f)

def recv_frame(s):
    def exact(n):
        b = b""
        while len(b) < n:
            c = s.recv(n - len(b))
            if not c:
                raise EOFError
            b += c
        return b
    n = struct.unpack("!I", exact(4))[0]
    return exact(n)

def wait_for(s, pred, what):
    end = time.time() + 3
    while time.time() < end:
        f = recv_frame(s)
        if pred(f):
            return f
    raise SystemExit("no " + what)

def is_offer(f):
    return len(f) > 282 and f[12:14] == b"\x08\x00" and f[23] == 17 and \
        f[36:38] == b"\x00\x44" and f[42] == 2

def main():
    path, what = sys.argv[1], sys.argv[2]
    if what == "dhcp":
        s = conn(path)
        send(s, dhcp_discover(MAC))
        f = wait_for(s, is_offer, "DHCPOFFER")
        yiaddr = socket.inet_ntoa(f[58:62])
        assert yiaddr.startswith("10.0.2."), yiaddr
    elif what == "dhcp-ack":
        s = conn(path)
        send(s, dhcp_discover(MAC))
        f = wait_for(s, is_offer, "DHCPOFFER")
        send(s, dhcp_request(MAC, f[58:62]))
        wait_for(s, lambda f: is_offer(f) and b"\x35\x01\x05" in f[278:], "DHCPACK")
    elif what == "arp":
        s = conn(path)
        send(s, arp_req(MAC))
        f = wait_for(s, lambda f: f[12:14] == b"\x08\x06" and f[21] == 2, "ARP reply")
        assert f[22:28] == bytes.fromhex("52550a000202")
    elif what == "oversize":
        s = conn(path)
        s.sendall(struct.pack("!I", 10_000_000) + b"x" * 100)
        try:
            while s.recv(4096):
                pass
        except (ConnectionResetError, socket.timeout) as e:
            if isinstance(e, socket.timeout):
                raise SystemExit("connection not closed")
    elif what == "fragments":
        # one frame split in 3 writes, then two frames in one write
        s = conn(path)
        f = arp_req(MAC)
        b = struct.pack("!I", len(f)) + f
        for part in (b[:2], b[2:20], b[20:]):
            s.sendall(part)
            time.sleep(0.05)
        wait_for(s, lambda f: f[12:14] == b"\x08\x06" and f[21] == 2, "ARP reply 1")
        s.sendall(b + b)
        wait_for(s, lambda f: f[12:14] == b"\x08\x06" and f[21] == 2, "ARP reply 2")
        wait_for(s, lambda f: f[12:14] == b"\x08\x06" and f[21] == 2, "ARP reply 3")
    elif what == "hub":
        a, b = conn(path), conn(path)
        time.sleep(0.2)
        send(a, arp_req(MAC))
        wait_for(b, lambda f: f[6:12] == MAC and f[12:14] == b"\x08\x06", "broadcast at b")
    elif what == "runts":
        s = conn(path)
        s.sendall(struct.pack("!I", 0) + struct.pack("!I", 3) + b"abc")
        send(s, arp_req(MAC))
        wait_for(s, lambda f: f[12:14] == b"\x08\x06" and f[21] == 2, "ARP reply")
    else:
        raise SystemExit("unknown test " + what)

main()
