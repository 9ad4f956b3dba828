"""The bed's "tailnet": a fresh network namespace with the peers' servers.

    python3 peer.py BED_DIR [LISTEN_PORT=TARGET_PORT ...]

Started in the client netns.  It first opens the bridge listeners there
(127.0.0.1:LISTEN_PORT, forwarded to 127.0.0.1:TARGET_PORT in the peer netns;
used for microsocks and danted, which cannot setns themselves), then
unshare(CLONE_NEWNET)s into a new netns, configures the tailnet addresses on
lo and serves:

  :80    HTTP/1.1  GET / -> "hello from db\\n", /bytes/N, /echo-headers
  :7420  git smart-HTTP (git http-backend) for BED_DIR/git/owner/repo.git
  :7     TCP echo (until EOF, then close) and UDP echo

on every address (dual-stack "::").  Writes BED_DIR/peer.ready when serving.
"""
import ctypes
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CLONE_NEWNET = 0x40000000
ADDRS = ["100.88.12.5/32", "fd7a:115c:a1e0::d401:c05/128",
         "100.101.7.42/32", "fd7a:115c:a1e0::6f01:72a/128", "10.20.0.7/32",
         "198.51.100.80/32"]

# /bytes/N: byte i is i % 251 (a prime period catches offset mistakes).
PERIOD = 251
CHUNK = bytes(range(PERIOD)) * 4096  # ~1 MiB, a whole number of periods


def unshare_net():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "unshare(CLONE_NEWNET): " + os.strerror(err))


def configure_addresses():
    cmds = ["link set lo up"]
    for a in ADDRS:
        cmds.append("addr add %s dev lo%s" % (a, " nodad" if ":" in a else ""))
    subprocess.run(["ip", "-batch", "-"], input="\n".join(cmds) + "\n", text=True, check=True)


class DualStackServer(ThreadingHTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True
    request_queue_size = 128

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


class Web(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "bed-peer"
    sys_version = ""

    def log_message(self, fmt, *args):
        sys.stderr.write("http %s %s\n" % (self.client_address[0], fmt % args))

    def reply(self, code, body, ctype="text/plain"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/":
            return self.reply(200, b"hello from db\n")
        if path == "/echo-headers":
            return self.reply(200, str(self.headers).encode("latin-1"))
        if path.startswith("/bytes/"):
            try:
                n = int(path[len("/bytes/"):])
            except ValueError:
                return self.reply(400, b"bad length\n")
            return self.send_bytes(n)
        return self.reply(404, b"not found\n")

    def send_bytes(self, n):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(n))
        self.end_headers()
        if self.command == "HEAD":
            return
        self.wfile.flush()
        view = memoryview(CHUNK)
        while n > 0:
            k = min(n, len(CHUNK))
            self.connection.sendall(view[:k])
            n -= k


class Git(BaseHTTPRequestHandler):
    """git smart-HTTP: each request runs git http-backend as a CGI."""
    protocol_version = "HTTP/1.1"
    root = None

    def log_message(self, fmt, *args):
        sys.stderr.write("git %s %s\n" % (self.client_address[0], fmt % args))

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        self.cgi()

    def do_POST(self):
        self.cgi()

    def cgi(self):
        path, _, query = self.path.partition("?")
        if not path.startswith("/git/"):
            body = b"not found\n"
            self.send_response(404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        body = self.read_body()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": self.root, "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command, "PATH_INFO": path[len("/git"):],
            "QUERY_STRING": query, "REMOTE_USER": "ci", "REMOTE_ADDR": self.client_address[0],
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)), "SERVER_PROTOCOL": "HTTP/1.1",
            "GATEWAY_INTERFACE": "CGI/1.1",
        }
        for h in ("Content-Encoding", "Git-Protocol"):
            if self.headers.get(h):
                env["HTTP_" + h.upper().replace("-", "_")] = self.headers[h]
        p = subprocess.run(["git", "http-backend"], input=body, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.stderr:
            sys.stderr.write(p.stderr.decode(errors="replace"))
        head, _, out = p.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, out = p.stdout.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            k, _, v = line.partition(":")
            if k.lower() == "status":
                status = int(v.split()[0])
            elif k:
                headers.append((k, v.strip()))
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


def serve_echo_tcp():
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", 7))
    s.listen(128)

    def echo(c):
        with c:
            try:
                while True:
                    data = c.recv(65536)
                    if not data:
                        return
                    c.sendall(data)
            except OSError:
                return

    def loop():
        while True:
            c, _ = s.accept()
            threading.Thread(target=echo, args=(c,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()


def serve_echo_udp():
    # One socket per address: a wildcard socket could answer from another
    # source address, which a connected UDP client would drop.
    def loop(u):
        while True:
            data, addr = u.recvfrom(65535)
            u.sendto(data, addr)

    for a in ADDRS:
        ip = a.split("/")[0]
        u = socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((ip, 7))
        threading.Thread(target=loop, args=(u,), daemon=True).start()


def pump(src, dst):
    """Copy src -> dst with splice(2), passing a half-close on (unlike tailscaled)."""
    r, w = os.pipe()
    try:
        try:
            import fcntl
            fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 1 << 20)
        except (OSError, AttributeError):
            pass
        while True:
            n = os.splice(src.fileno(), w, 1 << 20)
            if n == 0:
                break
            while n > 0:
                n -= os.splice(r, dst.fileno(), n)
    except OSError:
        pass
    finally:
        os.close(r)
        os.close(w)
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def bridge(lsock, target_port):
    def conn(c):
        try:
            s = socket.create_connection(("127.0.0.1", target_port), timeout=5)
            s.settimeout(None)
        except OSError:
            c.close()
            return
        t = threading.Thread(target=pump, args=(s, c), daemon=True)
        t.start()
        pump(c, s)
        t.join()
        c.close()
        s.close()

    def loop():
        while True:
            c, _ = lsock.accept()
            threading.Thread(target=conn, args=(c,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()


def main(argv):
    bed_dir = argv[1]
    bridges = []
    for spec in argv[2:]:  # opened in the client netns, before unshare
        lport, tport = (int(x) for x in spec.split("="))
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", lport))
        ls.listen(128)
        bridges.append((ls, tport))
    unshare_net()  # main thread, no other thread yet: all threads live in the peer netns
    configure_addresses()
    web = DualStackServer(("::", 80), Web)
    Git.root = os.path.join(bed_dir, "git")
    git = DualStackServer(("::", 7420), Git)
    for srv in (web, git):
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    serve_echo_tcp()
    serve_echo_udp()
    for ls, tport in bridges:
        bridge(ls, tport)
    with open(os.path.join(bed_dir, "peer.ready.tmp"), "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(os.path.join(bed_dir, "peer.ready.tmp"), os.path.join(bed_dir, "peer.ready"))
    sys.stderr.write("peer: serving in /proc/%d/ns/net\n" % os.getpid())
    sys.stderr.flush()
    threading.Event().wait()


if __name__ == "__main__":
    try:
        main(sys.argv)
    except KeyboardInterrupt:
        pass
