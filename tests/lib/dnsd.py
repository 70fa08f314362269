# Answers A queries for one name with one address; NODATA for other types
# of that name, NXDOMAIN for anything else.  Logs each question.
# Usage: dnsd.py PORT_FILE NAME ADDR LOG [ADDR6]: with ADDR6, AAAA queries
# for NAME are answered with it too (else NODATA, as before).
import os, socket, struct, sys
port_file, name, addr, log = sys.argv[1:5]
addr6 = sys.argv[5] if len(sys.argv) > 5 else None
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
open(port_file + ".tmp", "w").write(str(s.getsockname()[1]))
os.rename(port_file + ".tmp", port_file)
want = name.lower().rstrip(".")
while True:
    q, peer = s.recvfrom(4096)
    if len(q) < 12:
        continue
    qid, flags, qd = struct.unpack("!HHH", q[:6])
    i, labels = 12, []
    while i < len(q) and q[i]:
        labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
        i += 1 + q[i]
    qend = i + 5
    qtype = struct.unpack("!H", q[i + 1:i + 3])[0]
    qname = ".".join(labels).lower()
    with open(log, "a") as f:
        f.write("%s %d\n" % (qname, qtype))
    rd = flags & 0x0100
    if qname != want:
        hdr = struct.pack("!HHHHHH", qid, 0x8080 | rd | 3, 1, 0, 0, 0)
        s.sendto(hdr + q[12:qend], peer)
    elif qtype == 1:
        hdr = struct.pack("!HHHHHH", qid, 0x8480 | rd, 1, 1, 0, 0)
        rr = struct.pack("!HHHIH", 0xc00c, 1, 1, 60, 4) + \
            socket.inet_aton(addr)
        s.sendto(hdr + q[12:qend] + rr, peer)
    elif qtype == 28 and addr6:
        hdr = struct.pack("!HHHHHH", qid, 0x8480 | rd, 1, 1, 0, 0)
        rr = struct.pack("!HHHIH", 0xc00c, 28, 1, 60, 16) + \
            socket.inet_pton(socket.AF_INET6, addr6)
        s.sendto(hdr + q[12:qend] + rr, peer)
    else:
        hdr = struct.pack("!HHHHHH", qid, 0x8480 | rd, 1, 0, 0, 0)
        s.sendto(hdr + q[12:qend], peer)
