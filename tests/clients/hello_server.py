"""A tiny threaded server for the shared clients (test/bench only, stdlib).

    python3 hello_server.py [--host H] [--port P]     (defaults: :: dual stack, port 0)

Prints "port=N" on stdout once listening (backlog 1024: bursts of 100+
connects are not dropped), then serves every connection in a thread:
a first line "GET ..." gets `HTTP/1.0 200 OK` + "hello\\n" and a close; any
other first line is echoed, and so is every later line, until EOF.
"""
import socket
import sys
import threading


def serve(c):
    try:
        f = c.makefile("rb")
        line = f.readline()
        if line.startswith(b"GET "):
            while f.readline() not in (b"\r\n", b"\n", b""):
                pass
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n"
                      b"Connection: close\r\n\r\nhello\n")
            return
        while line:
            c.sendall(line)
            line = f.readline()
    except OSError:
        pass
    finally:
        c.close()


def main(argv):
    host, port = "::", 0
    i = 0
    while i < len(argv):
        if argv[i] == "--host":
            host, i = argv[i + 1], i + 1
        elif argv[i] == "--port":
            port, i = int(argv[i + 1]), i + 1
        i += 1
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    ls.bind((host, port))
    ls.listen(1024)
    print("port=%d" % ls.getsockname()[1], flush=True)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except KeyboardInterrupt:
        pass
