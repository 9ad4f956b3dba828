#!/usr/bin/env python3
"""sniff.py IFACE: counts frames arriving on IFACE whose destination is in a
tailnet range (100.64.0.0/10, fd7a:115c:a1e0::/48) or in the extra CIDRs
given as further arguments. Prints "ready" once bound; on each line read
from stdin ("drain") reads what is queued (non-blocking) and prints
"leaked N" with the running total plus the last destination seen."""
import ipaddress
import os
import select
import socket
import sys

nets = [ipaddress.ip_network("100.64.0.0/10"), ipaddress.ip_network("fd7a:115c:a1e0::/48")]
nets += [ipaddress.ip_network(a) for a in sys.argv[2:]]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((sys.argv[1], 0))
s.setblocking(False)
count, last = 0, "-"


def take():
    global count, last
    while True:
        try:
            f = s.recv(65535)
        except BlockingIOError:
            return
        except OSError:
            sys.exit(0)  # the veth pair is gone: the test is over
        kind = f[12:14]
        if kind == b"\x08\x00" and len(f) >= 34:
            dst = ipaddress.ip_address(f[30:34])
        elif kind == b"\x86\xdd" and len(f) >= 54:
            dst = ipaddress.ip_address(f[38:54])
        else:
            continue
        if any(dst in n for n in nets if n.version == dst.version):
            count += 1
            last = str(dst)


print("ready", flush=True)
while True:
    r, _, _ = select.select([s, sys.stdin], [], [])
    if s in r:
        take()
    if sys.stdin in r:
        if not sys.stdin.readline():
            break
        take()
        print(f"leaked {count} {last}", flush=True)
