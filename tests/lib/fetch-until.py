#!/usr/bin/env python3
# fetch-until.py URL SHA256 STOPFILE: download URL again and again until
# STOPFILE exists (at least once), checking every copy's SHA-256; prints
# "COPIES bad=BAD" at the end (bad copies also on stderr).  The
# well-behaved guest of the attack tests (bad-frames.sh, flood.sh).
import hashlib, os, sys, urllib.request
url, want, stop = sys.argv[1:4]
copies = bad = 0
while not copies or not os.path.exists(stop):
    try:
        with urllib.request.urlopen(url, timeout=20) as r:
            got = hashlib.sha256(r.read()).hexdigest()
    except Exception as e:
        got = repr(e)
    copies += 1
    if got != want:
        bad += 1
        print("bad copy:", got, file=sys.stderr)
print("%d bad=%d" % (copies, bad))
