#!/bin/bash
# Namespace test: TCP NAT over IPv6.  The Linux kernel in a network
# namespace is the guest, on a tap attached to usernat with --vde tap://; it
# gets its address by SLAAC (as in ipv6-nat.sh) and a static IPv4 address.
# Everything it reaches lives on this machine:
# - an HTTP server on the host's [::1] only, reached at the gateway fd00::2
#   (the host loopback mapping): a 4 MiB download and a 2 MiB upload, both
#   checked with SHA-256, and the flow listed with an IPv6 guest;
# - an HTTP server only on 127.0.0.1 (tests/lib/httpd.py): a dual-stack
#   client trying [fd00::2] first is refused at once (RST: the host's
#   connect() to [::1] is refused) and falls back to 10.0.2.2.
. "$(dirname "$0")/../lib/common.sh"
need_netns
need_cmd python3 sha256sum
. "$TOP_SRCDIR/tests/lib/netns.sh"

[ "$(sysctl -n net.ipv6.conf.lo.disable_ipv6 2>/dev/null)" = 0 ] ||
	tap_bail "IPv6 is disabled on this host's loopback"
ns_setup ipv6tcp || tap_bail "cannot set up namespace"

# --- host side -------------------------------------------------------------
# tests/lib/httpd.py binds IPv4 only (HTTPServer's AF_INET): an IPv6 one here
cat >"$NS_TMP/httpd6.py" <<'PY'
import hashlib, http.server, os, socket, socketserver, sys
port_file, blob = sys.argv[1], os.urandom(4 << 20)
open(port_file + ".sha256", "w").write(hashlib.sha256(blob).hexdigest())

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def log_message(self, *a):
        pass
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(blob)))
        self.end_headers()
        self.wfile.write(blob)
    def do_POST(self):
        n, h = int(self.headers.get("Content-Length", "0")), hashlib.sha256()
        while n > 0:
            chunk = self.rfile.read(min(n, 1 << 16))
            if not chunk:
                break
            h.update(chunk)
            n -= len(chunk)
        body = h.hexdigest().encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True
    allow_reuse_address = True

srv = S(("::1", 0), H)
open(port_file + ".tmp", "w").write(str(srv.server_address[1]))
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
PY
ns_bg python3 "$NS_TMP/httpd6.py" "$NS_TMP/http6.port"
ns_bg python3 "$TOP_SRCDIR/tests/lib/httpd.py" "$NS_TMP/http4.port" 1
for f in http6 http4; do
	wait_for_file "$NS_TMP/$f.port" 10 || tap_bail "$f server did not start"
done
HTTP6_PORT=$(cat "$NS_TMP/http6.port")
HTTP6_SHA=$(cat "$NS_TMP/http6.port.sha256")
HTTP4_PORT=$(cat "$NS_TMP/http4.port")	# 127.0.0.1 only
HTTP4_SHA=$(cut -c1-64 "$NS_TMP/http4.port.sha256")

# --- usernat and the guest ---------------------------------------------------
LOG=$NS_TMP/usernat.log
usernat_start "$LOG" --vde "tap://$TAP" --no-dhcp --log-level debug
wait_for_tap_attached 10 "$UN_PID" || tap_bail "usernat did not open $TAP: $(cat "$LOG")"
ns_move_tap_ipv6 || tap_bail "cannot move the tap into $NS"
ns_exec ip addr add 10.0.2.15/24 dev "$TAP"
ns_exec ip route add default via 10.0.2.2

ns_wait 15 ns_has_addr6 global fd00:: &&
	tap_ok "SLAAC: global address in fd00::/64" ||
	tap_bail "no SLAAC address: $(ns_exec ip -6 addr show dev "$TAP")"

# --- download and upload through [fd00::2] -----------------------------------
cat >"$NS_TMP/fetch6.py" <<'PY'
import hashlib, os, sys, urllib.request
url = sys.argv[1]
with urllib.request.urlopen(url, timeout=20) as r:
    data = r.read()
print(len(data), hashlib.sha256(data).hexdigest())
up = os.urandom(2 << 20)
req = urllib.request.Request(url, data=up, method="POST")
with urllib.request.urlopen(req, timeout=20) as r:
    got = r.read().decode()
assert got == hashlib.sha256(up).hexdigest(), "upload digest %s" % got
print("upload ok")
PY
out=$(ns_exec python3 "$NS_TMP/fetch6.py" "http://[fd00::2]:$HTTP6_PORT/blob" 2>&1)
tap_diag "$out"
case "$out" in
"$((4 << 20)) $HTTP6_SHA"*) tap_ok "4 MiB from the host's [::1] via [fd00::2], SHA-256 matches" ;;
*) tap_fail "4 MiB from the host's [::1] via [fd00::2], SHA-256 matches" "$out" ;;
esac
case "$out" in
*"upload ok"*) tap_ok "2 MiB upload to [::1] via [fd00::2], SHA-256 matches" ;;
*) tap_fail "2 MiB upload to [::1] via [fd00::2], SHA-256 matches" "$out" ;;
esac
if command -v wget >/dev/null; then
	got=$(ns_exec wget -q -O - "http://[fd00::2]:$HTTP6_PORT/blob" 2>&1 |
		sha256sum | cut -c1-64)
	[ "$got" = "$HTTP6_SHA" ] && tap_ok "wget over IPv6, SHA-256 matches" ||
		tap_fail "wget over IPv6, SHA-256 matches" "$got"
else
	tap_skip "wget over IPv6" "no wget"
fi

# --- a dual-stack client falls back to IPv4 at once --------------------------
cat >"$NS_TMP/dual.py" <<'PY'
import hashlib, socket, sys, time
port = int(sys.argv[1])
for family, host in ((socket.AF_INET6, "fd00::2"), (socket.AF_INET, "10.0.2.2")):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(5)
    t0 = time.monotonic()
    try:
        s.connect((host, port))
    except ConnectionRefusedError:
        ms = (time.monotonic() - t0) * 1000
        print("%s refused after %.0f ms" % (host, ms))
        assert family == socket.AF_INET6 and ms < 1000, "too slow"
        continue
    except socket.timeout:
        sys.exit("%s: timeout" % host)
    assert family == socket.AF_INET, "IPv6 connected"
    s.sendall(b"GET /blob HTTP/1.0\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    body = data.split(b"\r\n\r\n", 1)[1]
    print("%s answered %d %s" % (host, len(body), hashlib.sha256(body).hexdigest()))
    sys.exit(0)
sys.exit("no address worked")
PY
out=$(ns_exec python3 "$NS_TMP/dual.py" "$HTTP4_PORT" 2>&1)
st=$?
tap_diag "$out"
case "$out" in
*"fd00::2 refused"*"10.0.2.2 answered $((1 << 20)) $HTTP4_SHA"*) [ "$st" = 0 ] &&
	tap_ok "dual-stack TCP client: IPv6 refused at once (RST), IPv4 works" ||
	tap_fail "dual-stack TCP client: IPv6 refused at once (RST), IPv4 works" "$out" ;;
*) tap_fail "dual-stack TCP client: IPv6 refused at once (RST), IPv4 works" "$out" ;;
esac

# --- counters, log -----------------------------------------------------------
usernat_stats "$UN_PID" "$LOG"
for c in tcp_opened tcp_established tcp_closed tcp_refused; do
	[ "$(usernat_stat "$LOG" "$c")" -ge 1 ] && tap_ok "counter $c" ||
		tap_fail "counter $c" "$(grep ' stat ' "$LOG")"
done
for c in drop_ip6_nat drop_tcp_csum; do
	[ "$(usernat_stat "$LOG" "$c")" = 0 ] && tap_ok "counter $c is 0" ||
		tap_fail "counter $c is 0" "$(grep ' stat ' "$LOG")"
done
grep -q "tcp: \[fd00::.*\]:[0-9]* -> \[fd00::2\]:$HTTP6_PORT closed" "$LOG" &&
	tap_ok "IPv6 TCP connection logged" ||
	tap_fail "IPv6 TCP connection logged" "$(grep 'tcp:' "$LOG" | head)"
kill -0 "$UN_PID" && tap_ok "usernat still running" || tap_fail "usernat still running"
tap_done
