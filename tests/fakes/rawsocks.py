"""Raw SOCKS5 conversations for the bed's self-tests.

    rawsocks.py [OPTIONS] HOST:PORT TOKEN...

Sends the concatenated TOKENs in ONE write (so greeting + request + payload
are pipelined), then reads until EOF/reset/timeout and prints:

    hex=<first --keep received bytes, hex>
    n=<total bytes received>
    end=eof|reset|timeout|limit
    elapsed=<seconds from the send to the end>

TOKENs: hex:0501..  name:db (1-byte length + name)  ip4:1.2.3.4  ip6:fd7a::1
        port:80  text:GET /\\r\\n (with \\r \\n escapes)
OPTIONS: --shut-wr (shutdown(SHUT_WR) right after the send), --timeout S,
         --keep N, --limit N (stop after N bytes)
    rawsocks.py --udp HOST PORT TEXT PROXY_HOST:PORT: UDP ASSOCIATE, then one datagram to HOST:PORT;
           prints reply=<hex of the TCP reply> and udp=<the echoed text>
"""
import socket
import struct
import sys
import time


def token(t):
    kind, _, v = t.partition(":")
    if kind == "hex":
        return bytes.fromhex(v.replace(" ", ""))
    if kind == "name":
        return bytes([len(v)]) + v.encode()
    if kind == "ip4":
        return socket.inet_aton(v)
    if kind == "ip6":
        return socket.inet_pton(socket.AF_INET6, v)
    if kind == "port":
        return struct.pack(">H", int(v))
    if kind == "text":
        return v.replace("\\r", "\r").replace("\\n", "\n").encode()
    raise SystemExit("rawsocks: bad token " + t)


def connect(addr, timeout):
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)
    return s


def converse(addr, tokens, shut_wr, timeout, keep, limit):
    s = connect(addr, timeout)
    data = b"".join(token(t) for t in tokens)
    t0 = time.monotonic()
    s.sendall(data)
    if shut_wr:
        s.shutdown(socket.SHUT_WR)
    got = bytearray()
    n, end = 0, "eof"
    s.settimeout(timeout)
    while True:
        try:
            chunk = s.recv(1 << 16)
        except socket.timeout:
            end = "timeout"
            break
        except ConnectionResetError:
            end = "reset"
            break
        if not chunk:
            break
        n += len(chunk)
        if len(got) < keep:
            got += chunk[:keep - len(got)]
        if limit and n >= limit:
            end = "limit"
            break
    elapsed = time.monotonic() - t0
    s.close()
    print("hex=" + got.hex())
    print("n=%d" % n)
    print("end=" + end)
    print("elapsed=%.3f" % elapsed)


def udp(addr, host, port, text, timeout):
    s = connect(addr, timeout)
    s.sendall(b"\x05\x01\x00" + b"\x05\x03\x00\x01" + bytes(6))
    rep = b""
    while len(rep) < 12:
        chunk = s.recv(12 - len(rep))
        if not chunk:
            break
        rep += chunk
    print("reply=" + rep.hex())
    if len(rep) < 12 or rep[3] != 0:
        return
    bnd = (socket.inet_ntoa(rep[6:10]), struct.unpack(">H", rep[10:12])[0])
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(timeout)
    hdr = b"\x00\x00\x00\x01" + socket.inet_aton(host) + struct.pack(">H", port)
    u.sendto(hdr + text.encode(), bnd)
    try:
        data, _ = u.recvfrom(65535)
        print("udp=" + data[len(hdr):].decode(errors="replace"))
        print("udp_hdr=" + data[:len(hdr)].hex())
    except socket.timeout:
        print("udp=<timeout>")
    s.close()


def main(argv):
    shut_wr, timeout, keep, limit = False, 10.0, 4096, 0
    args = list(argv)
    if args and args[0] == "--udp":
        udp(args[4], args[1], int(args[2]), args[3], timeout)
        return 0
    while args and args[0].startswith("--"):
        o = args.pop(0)
        if o == "--shut-wr":
            shut_wr = True
        elif o == "--timeout":
            timeout = float(args.pop(0))
        elif o == "--keep":
            keep = int(args.pop(0))
        elif o == "--limit":
            limit = int(args.pop(0))
        else:
            raise SystemExit("rawsocks: unknown option " + o)
    if not args:
        sys.stderr.write(__doc__)
        return 2
    converse(args[0], args[1:], shut_wr, timeout, keep, limit)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
