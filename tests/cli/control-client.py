#!/usr/bin/env python3
"""Hostile control clients: each check prints a line; exit 1 on failure."""
import json, socket, sys, time

path = sys.argv[1]
fail = 0

def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.settimeout(3)
    return s

def ask(s, line):
    s.sendall(line)
    buf = b""
    while not buf.endswith(b"\n"):
        c = s.recv(65536)
        if not c:
            return None
        buf += c
    return json.loads(buf.decode().splitlines()[-1])

def check(name, cond):
    global fail
    print(("ok   " if cond else "FAIL ") + name)
    if not cond:
        fail = 1

s = conn()
for bad in (b"hello\n", b"{\n", b'{"cmd": [1,2]}\n', b'{"cmd":"stats"} trailing\n',
            b'{"cmd":"\\u0000"}\n', b'{"nocmd":1}\n', b'{"cmd":"frobnicate"}\n',
            b'{"cmd":"pcap-start"}\n', b'{"cmd":"pcap-start","file":"/x","max":"lots"}\n',
            b'{' + b'"k":1,' * 40 + b'"cmd":"stats"}\n', b'\xff\xfe\n'):
    r = ask(s, bad)
    check("error reply to %r" % bad[:30], r is not None and r.get("ok") is False and "error" in r)
r = ask(s, b'{"cmd":"stats"}\n')
check("same connection still answers after errors", r and r.get("ok") is True)

# oversized: a line longer than the limit gets an error and a close
s2 = conn()
s2.sendall(b'{"cmd":"' + b"x" * 10000)
try:
    data = s2.recv(65536)
    check("oversized request: error reply", b'"ok":false' in data)
except socket.timeout:
    check("oversized request: error reply", False)

# half-sent request: others are still served meanwhile
s3 = conn()
s3.sendall(b'{"cmd":"sta')
s4 = conn()
r = ask(s4, b'{"cmd":"stats"}\n')
check("served while another request is half-sent", r and r.get("ok"))
r = ask(s3, b'ts"}\n')
check("half-sent request completes later", r and r.get("ok"))

# a client that never reads: floods requests; the daemon drops it, serves others
s5 = conn()
s5.setblocking(False)
sent = 0
t0 = time.time()
try:
    while time.time() - t0 < 5:
        try:
            s5.send(b'{"cmd":"stats"}\n' * 200)
            sent += 1
        except BlockingIOError:
            time.sleep(0.01)
        except (BrokenPipeError, ConnectionResetError):
            break
except Exception as e:
    print("flood ended:", e)
r = ask(conn(), b'{"cmd":"version"}\n')
check("served while a client never reads (flooder sent %d batches)" % sent, r and r.get("ok"))
sys.exit(fail)
