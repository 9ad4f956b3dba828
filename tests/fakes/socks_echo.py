"""One SOCKS5 CONNECT to the bed's echo peer, for the bed's own tests
(tests/e2e/test_bed.sh imports it: PYTHONPATH=tests/fakes).

    dial(proxy, host, port, first=b"", timeout=20) -> socket

proxy "HOST:PORT"; host an IPv4 address; no authentication.
"""
import socket

REPLY = 12  # method reply (2) + CONNECT reply with an IPv4 bound address (10)


def dial(proxy, host, port, first=b"", timeout=20):
    """Sends the greeting, CONNECT host:port and `first` in one write, then
    reads the two replies and len(first) echoed bytes. Returns the socket,
    carrying the tunnel; AssertionError on a failure reply, a short read or
    other bytes echoed, OSError when the proxy cannot be reached."""
    phost, pport = proxy.rsplit(":", 1)
    req = bytes([5, 1, 0, 5, 1, 0, 1]) + socket.inet_aton(host) + int(port).to_bytes(2, "big")
    s = socket.create_connection((phost, int(pport)), timeout=timeout)
    s.sendall(req + first)
    want, got = REPLY + len(first), b""
    while len(got) < want:
        d = s.recv(want - len(got))
        if not d:
            break
        got += d
    if got[:4] != bytes([5, 0, 5, 0]) or got[REPLY:] != first:
        s.close()
        raise AssertionError("SOCKS5 replies/echo: %r" % got)
    return s
