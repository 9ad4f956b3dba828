"""probe.py TIMEOUT_S HOST:PORT...: wait until each address answers a SOCKS5
greeting (05 01 00 -> 05 00); bounded polling, exit 1 on timeout."""
import socket
import sys
import time


def answers(addr):
    host, port = addr.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=1) as s:
            s.sendall(b"\x05\x01\x00")
            return s.recv(2) == b"\x05\x00"
    except OSError:
        return False


def main(argv):
    deadline = time.monotonic() + float(argv[1])
    for addr in argv[2:]:
        while not answers(addr):
            if time.monotonic() > deadline:
                sys.stderr.write("probe: %s does not answer SOCKS5\n" % addr)
                return 1
            time.sleep(0.02)  # polling interval of a bounded wait
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
