#!/usr/bin/env python3
"""Minimal read-only TFTP server (RFC 1350) on 127.0.0.1, for UDP tests:
busybox's tftp is the guest's UDP client.  Serves one file of SIZE bytes of
random data for any name, in 512-byte blocks, from the listening socket
(no per-transfer port: enough for lock-step transfers, one at a time).

usage: tftpd.py PORTFILE SIZE   (md5 of the data written to PORTFILE.md5)"""
import hashlib, os, socket, struct, sys

port_file, size = sys.argv[1], int(sys.argv[2])
data = os.urandom(size)
open(port_file + ".md5", "w").write(hashlib.md5(data).hexdigest() + "\n")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
open(port_file + ".tmp", "w").write(str(s.getsockname()[1]))
os.rename(port_file + ".tmp", port_file)

def block(n):
    return struct.pack("!HH", 3, n) + data[(n - 1) * 512:n * 512]

while True:
    pkt, peer = s.recvfrom(2048)
    if len(pkt) < 4:
        continue
    op = struct.unpack("!H", pkt[:2])[0]
    if op == 1:                      # RRQ: start with block 1
        s.sendto(block(1), peer)
    elif op == 4:                    # ACK n: send n+1 unless done
        n = struct.unpack("!H", pkt[2:4])[0]
        if (n * 512) <= len(data):
            s.sendto(block(n + 1), peer)
