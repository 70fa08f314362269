#!/usr/bin/env python3
"""TCP echo for forward tests.

  tcp-echo.py server PORT          echo every connection's bytes back (threads)
  tcp-echo.py client HOST PORT MB  send MB of random data, half-close, read
                                   the echo; exit 0 if the sha256 matches
  tcp-echo.py hold HOST PORT FIFO  connect, round trip, then wait for a line on
                                   FIFO, round trip again (an established
                                   connection across a forward's removal)"""
import hashlib, os, socket, sys, threading

def serve(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(64)
    def echo(c):
        with c:
            while True:
                d = c.recv(1 << 16)
                if not d:
                    break
                c.sendall(d)
    while True:
        c, _ = s.accept()
        threading.Thread(target=echo, args=(c,), daemon=True).start()

def roundtrip(c, data):
    c.sendall(data)
    got = b""
    while len(got) < len(data):
        d = c.recv(1 << 16)
        if not d:
            break
        got += d
    return got == data

def client(host, port, mb):
    data = os.urandom(mb << 20)
    c = socket.create_connection((host, port), timeout=30)
    got = hashlib.sha256()
    n = 0
    def reader():
        nonlocal n
        while True:
            d = c.recv(1 << 16)
            if not d:
                break
            got.update(d)
            n += len(d)
    t = threading.Thread(target=reader)
    t.start()
    c.sendall(data)
    c.shutdown(socket.SHUT_WR)
    t.join()
    ok = n == len(data) and got.hexdigest() == hashlib.sha256(data).hexdigest()
    print("sent %d bytes, echoed %d, sha256 %s" % (len(data), n, "matches" if ok else "DIFFERS"))
    sys.exit(0 if ok else 1)

def hold(host, port, fifo):
    c = socket.create_connection((host, port), timeout=30)
    if not roundtrip(c, b"before" * 1000):
        sys.exit(2)
    print("first round trip ok", flush=True)
    open(fifo).readline()
    ok = roundtrip(c, os.urandom(1 << 20))
    print("second round trip", "ok" if ok else "FAILED", flush=True)
    sys.exit(0 if ok else 1)

mode = sys.argv[1]
if mode == "server":
    serve(int(sys.argv[2]))
elif mode == "client":
    client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
else:
    hold(sys.argv[2], int(sys.argv[3]), sys.argv[4])
