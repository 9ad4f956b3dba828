"""A tiny DNS server that logs every query: the DNS-leak test's witness.

    python3 dns.py --log FILE --ready FILE [--listen 127.0.0.1] [--port 53]
                   [--answer NAME=IPV4]...

Serves UDP and TCP on one address. Every query is logged as one line
"PROTO QTYPE NAME" (NAME as sent, without the trailing dot) and flushed at
once. A queries for an --answer name get that address; other types for it
get an empty NOERROR; every other name gets NXDOMAIN. "ready" is written to
the ready file once both sockets listen.
"""
import argparse
import selectors
import socket
import struct
import sys

QTYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT",
          28: "AAAA", 33: "SRV", 65: "HTTPS", 255: "ANY"}


def parse_question(msg):
    """(id, flags, qname, qtype, qclass, end offset of the question)."""
    qid, flags, qd = struct.unpack("!HHH", msg[:6])
    if qd < 1:
        raise ValueError("no question")
    pos, labels = 12, []
    while True:
        n = msg[pos]
        pos += 1
        if n == 0:
            break
        if n & 0xC0:
            raise ValueError("compressed question name")
        labels.append(msg[pos:pos + n].decode("ascii", "replace"))
        pos += n
    qtype, qclass = struct.unpack("!HH", msg[pos:pos + 4])
    return qid, flags, ".".join(labels), qtype, qclass, pos + 4


def answer(msg, table):
    qid, flags, name, qtype, qclass, end = parse_question(msg)
    known = table.get(name.lower())
    rcode = 0 if known is not None else 3
    answers = b""
    count = 0
    if known is not None and qtype == 1 and qclass == 1:
        answers = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton(known)
        count = 1
    rflags = 0x8000 | (flags & 0x0100) | 0x0080 | 0x0400 | rcode  # QR RD RA AA
    header = struct.pack("!HHHHHH", qid, rflags, 1, count, 0, 0)
    return name, qtype, header + msg[12:end] + answers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--listen", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=53)
    ap.add_argument("--answer", action="append", default=[])
    a = ap.parse_args()
    table = {}
    for item in a.answer:
        name, ip = item.split("=", 1)
        table[name.lower().rstrip(".")] = ip

    log = open(a.log, "a", buffering=1)

    def record(proto, name, qtype):
        log.write("%s %s %s\n" % (proto, QTYPES.get(qtype, str(qtype)), name))
        log.flush()

    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((a.listen, a.port))
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((a.listen, a.port))
    tcp.listen(16)
    sel = selectors.DefaultSelector()
    sel.register(udp, selectors.EVENT_READ, "udp")
    sel.register(tcp, selectors.EVENT_READ, "listen")
    bufs = {}
    with open(a.ready, "w") as f:
        f.write("ready\n")

    while True:
        for key, _ in sel.select():
            s = key.fileobj
            if key.data == "udp":
                msg, peer = s.recvfrom(4096)
                try:
                    name, qtype, reply = answer(msg, table)
                except (ValueError, IndexError, struct.error):
                    record("udp", "<malformed>", 0)
                    continue
                record("udp", name, qtype)
                s.sendto(reply, peer)
            elif key.data == "listen":
                c, _ = s.accept()
                bufs[c] = b""
                sel.register(c, selectors.EVENT_READ, "tcp")
            else:
                data = s.recv(4096)
                if not data:
                    sel.unregister(s)
                    bufs.pop(s, None)
                    s.close()
                    continue
                bufs[s] += data
                while len(bufs[s]) >= 2:
                    n = struct.unpack("!H", bufs[s][:2])[0]
                    if len(bufs[s]) < 2 + n:
                        break
                    msg, bufs[s] = bufs[s][2:2 + n], bufs[s][2 + n:]
                    try:
                        name, qtype, reply = answer(msg, table)
                    except (ValueError, IndexError, struct.error):
                        record("tcp", "<malformed>", 0)
                        continue
                    record("tcp", name, qtype)
                    s.sendall(struct.pack("!H", len(reply)) + reply)


if __name__ == "__main__":
    sys.exit(main())
