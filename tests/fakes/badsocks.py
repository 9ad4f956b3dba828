"""A misbehaving SOCKS5 server for fault injection (test-only, stdlib).

    badsocks.py PORTFILE [MODE...]

Listens on 127.0.0.1, one ephemeral port per MODE (default: all), writes
"MODE PORT" lines to PORTFILE (atomically, once every port listens) and
serves until killed. Every connection gets the mode's misbehaviour:

  bytewise       a correct success reply (05 00 | 05 00 00 01 + 6 bytes), one
                 byte per write 30 ms apart, then echoes until EOF
  stall          reads the greeting (and anything pipelined), never answers
  stall_connect  answers the greeting (05 00), never the CONNECT
  close_mid      05 00 05 00 00 01 64 65, then close (EOF mid-reply)
  wrong_version  04 5A 00 00 00 00 00 00 (a SOCKS4 reply)
  wrong_method   05 02 (username/password: we offered only no-auth)
  wrong_atyp     05 00 05 00 00 09 + 6 bytes
  oversized      05 00 05 00 00 03 FF + 40 of the 255 announced name bytes, close
  reset_after    a correct success reply, then an RST (SO_LINGER 0)
  no_method      05 FF, then close
  fail01         05 00 05 01 00 01 + 6 zero bytes (tailscaled's dial failure)
  close_at_once  closes right after accept, reading nothing
  garbage        256 bytes of 0xAB
"""
import os
import socket
import struct
import sys
import threading
import time

OK_V4 = bytes([5, 0, 5, 0, 0, 1, 100, 101, 7, 42, 0x1F, 0x90])


def read_some(c, t=0.3):
    """Reads what the client sent (greeting, maybe the pipelined request)."""
    c.settimeout(t)
    got = b""
    try:
        while len(got) < 3:
            d = c.recv(64)
            if not d:
                break
            got += d
    except OSError:
        pass
    c.settimeout(None)
    return got


def read_request(c, greeting):
    """After 05 00: make sure the CONNECT request has been read."""
    if len(greeting) > 3:
        return
    c.settimeout(2)
    try:
        c.recv(64)
    except OSError:
        pass
    c.settimeout(None)


def echo(c):
    while True:
        d = c.recv(4096)
        if not d:
            return
        c.sendall(d)


def handle(mode, c):
    try:
        if mode == "close_at_once":
            return
        g = read_some(c)
        if mode == "stall":
            while c.recv(4096):
                pass
            return
        if mode == "stall_connect":
            c.sendall(b"\x05\x00")
            while c.recv(4096):
                pass
            return
        if mode == "wrong_version":
            c.sendall(bytes([4, 0x5A, 0, 0, 0, 0, 0, 0]))
        elif mode == "wrong_method":
            c.sendall(b"\x05\x02")
        elif mode == "no_method":
            c.sendall(b"\x05\xff")
        elif mode == "garbage":
            c.sendall(b"\xab" * 256)
        else:
            c.sendall(b"\x05\x00")
            read_request(c, g)
            if mode == "bytewise":
                for b in OK_V4[2:]:
                    c.sendall(bytes([b]))
                    time.sleep(0.03)
                echo(c)
            elif mode == "close_mid":
                c.sendall(bytes([5, 0, 0, 1, 100, 101]))
            elif mode == "wrong_atyp":
                c.sendall(bytes([5, 0, 0, 9, 1, 2, 3, 4, 5, 6]))
            elif mode == "oversized":
                c.sendall(bytes([5, 0, 0, 3, 255]) + b"a" * 40)
            elif mode == "reset_after":
                c.sendall(OK_V4[2:])
                time.sleep(0.2)
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif mode == "fail01":
                c.sendall(bytes([5, 1, 0, 1, 0, 0, 0, 0, 0, 0]))
        # Let the client read before the FIN (a reply then EOF, not an RST).
        if mode not in ("reset_after",):
            c.shutdown(socket.SHUT_WR)
            c.settimeout(2)
            try:
                while c.recv(4096):
                    pass
            except OSError:
                pass
    except OSError:
        pass
    finally:
        c.close()


MODES = ["bytewise", "stall", "stall_connect", "close_mid", "wrong_version",
         "wrong_method", "wrong_atyp", "oversized", "reset_after", "no_method",
         "fail01", "close_at_once", "garbage"]


def serve(mode, s):
    while True:
        c, _ = s.accept()
        threading.Thread(target=handle, args=(mode, c), daemon=True).start()


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    portfile = sys.argv[1]
    modes = sys.argv[2:] or MODES
    lines = []
    for m in modes:
        if m not in MODES:
            sys.exit("badsocks: unknown mode " + m)
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        lines.append("%s %d\n" % (m, s.getsockname()[1]))
        threading.Thread(target=serve, args=(m, s), daemon=True).start()
    with open(portfile + ".tmp", "w") as f:
        f.writelines(lines)
    os.rename(portfile + ".tmp", portfile)
    threading.Event().wait()


if __name__ == "__main__":
    main()
