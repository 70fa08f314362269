#!/usr/bin/env python3
"""Test HTTP server on 127.0.0.1 for NAT tests.

usage: httpd.py PORTFILE SIZE_MB [BIND_ADDR]

Serves GET /blob: SIZE_MB of random bytes (made at start; its sha256 and
md5 are written next to PORTFILE as PORTFILE.sha256 / PORTFILE.md5), and
POST /upload: answers with the sha256 and md5 of the body received.
Writes the listening port to PORTFILE (atomically) when ready."""
import hashlib, http.server, os, socketserver, sys

port_file, size_mb = sys.argv[1], int(sys.argv[2])
bind = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1"
blob = os.urandom(size_mb << 20)
open(port_file + ".sha256", "w").write(hashlib.sha256(blob).hexdigest() + "\n")
open(port_file + ".md5", "w").write(hashlib.md5(blob).hexdigest() + "\n")

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *a):
        pass

    def do_GET(self):
        if self.path != "/blob":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(blob)))
        self.end_headers()
        mv = memoryview(blob)
        for i in range(0, len(blob), 1 << 20):
            self.wfile.write(mv[i:i + (1 << 20)])

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        sha, md5, got = hashlib.sha256(), hashlib.md5(), 0
        while got < n:
            chunk = self.rfile.read(min(1 << 20, n - got))
            if not chunk:
                break
            sha.update(chunk)
            md5.update(chunk)
            got += len(chunk)
        body = ("bytes=%d sha256=%s md5=%s\n" % (got, sha.hexdigest(), md5.hexdigest())).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

srv = S((bind, 0), H)
open(port_file + ".tmp", "w").write(str(srv.server_address[1]))
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
