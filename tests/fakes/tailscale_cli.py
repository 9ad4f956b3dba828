"""A fake `tailscale` CLI that talks to the fake tailscaled's LocalAPI.

Subcommands: version, up, down, logout, status, ip, whois (see README.md).
"""
import json
import os
import re
import socket
import sys
import time

VERSION = "1.102.3-fake"
DEFAULT_SOCKET = "/var/run/tailscale/tailscaled.sock"
STATES = ["NoState", "InUseOtherUser", "NeedsLogin", "NeedsMachineAuth",
          "Stopped", "Starting", "Running"]
SOCKET = DEFAULT_SOCKET


class CLIError(Exception):
    pass


class HTTPError(Exception):
    """A reply that is not the HTTP/1.1 the LocalAPI speaks."""


# HTTP/1.1 by hand, one request per connection: http.client (and the email
# package it imports) cost this CLI ~30 ms of its ~60 ms start, and reading a
# 7 MB netmap line through HTTPResponse.readline another ~15 ms; a cold
# `tsrun` waits for `tailscale up` (the real CLI is a Go binary).
class Reply:
    """One reply: .status, then read() (the whole body) or readline() (the
    next line of a streamed body). .sock is the connection."""

    def __init__(self, sock):
        self.sock = sock
        self.f = sock.makefile("rb")
        parts = self.f.readline(65537).split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
            raise HTTPError("malformed HTTP reply from tailscaled")
        self.status = int(parts[1])
        self.headers = {}
        while True:
            line = self.f.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                break
            k, _, v = line.decode("latin-1").partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
        self.left = None  # a chunked body: None before a chunk, 0 after the last
        self.buf = b""

    def _more(self):
        """The next piece of the body; b"" at its end."""
        if not self.chunked:
            return self.f.read1(1 << 16)
        if self.left == 0:
            return b""
        line = self.f.readline(65537)
        if not line:
            return b""  # closed between chunks: the caller sees the end
        try:
            self.left = int(line.split(b";")[0].strip(), 16)
        except ValueError:
            raise HTTPError("malformed chunk from tailscaled") from None
        data = self.f.read(self.left) if self.left else b""
        if len(data) < self.left or self.f.readline(3) not in (b"\r\n", b"\n"):
            raise HTTPError("tailscaled cut its reply short")
        return data

    def read(self):
        n = self.headers.get("content-length")
        if not self.chunked and n is not None:
            return self.buf + self.f.read(int(n) - len(self.buf))
        out = [self.buf]
        while True:
            piece = self._more()
            if not piece:
                return b"".join(out)
            out.append(piece)

    def readline(self):
        while b"\n" not in self.buf:
            piece = self._more()
            if not piece:
                line, self.buf = self.buf, b""
                return line
            self.buf = self.buf + piece if self.buf else piece  # (no copy of a 7 MB line)
        i = self.buf.index(b"\n") + 1
        if i == len(self.buf):
            line, self.buf = self.buf, b""
        else:
            line, self.buf = self.buf[:i], self.buf[i:]
        return line

    def close(self):
        self.f.close()
        self.sock.close()


def request(method, path, body=None, timeout=None):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(SOCKET)
    except OSError:
        s.close()
        raise CLIError("failed to connect to local tailscaled; it doesn't appear to be running")
    head = ("%s %s HTTP/1.1\r\nHost: local-tailscaled.sock\r\nAccept-Encoding: identity\r\n"
            "Connection: close\r\n" % (method, path))
    if body is not None:
        head += "Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
    elif method in ("POST", "PATCH", "PUT"):
        head += "Content-Length: 0\r\n"
    try:
        s.sendall(head.encode() + b"\r\n" + (body or b""))
        return Reply(s)
    except BaseException:
        s.close()
        raise


def api(method, name, body=None, timeout=30):
    data = json.dumps(body).encode() if body is not None else None
    r = request(method, "/localapi/v0/" + name, data, timeout)
    out = r.read()
    r.close()
    if r.status >= 400:
        raise CLIError("%s %s: %d %s" % (method, name, r.status, out.decode().strip()))
    return out


def status(peers=True):
    return json.loads(api("GET", "status" + ("" if peers else "?peers=false")))


def watch_bus(mask):
    r = request("GET", "/localapi/v0/watch-ipn-bus?mask=%d" % mask)
    if r.status != 200:
        raise CLIError("watch-ipn-bus: %d" % r.status)
    return r, r  # (the connection: .sock, the reply: .readline())


def parse_duration(s):
    """Go time.ParseDuration for the common units."""
    if s in ("0", ""):
        return 0.0
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    parts = re.findall(r"([0-9.]+)(ns|us|µs|ms|s|m|h)", s)
    if not parts or "".join(a + b for a, b in parts) != s:
        raise CLIError('invalid value "%s" for flag -timeout: parse error' % s)
    return sum(float(a) * units[b] for a, b in parts)


def parse_flags(argv, spec):
    """Go-style flags: spec maps name -> 'bool'|'str'; returns (values, rest)."""
    vals, i = {}, 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            return vals, argv[i + 1:]
        if not a.startswith("-") or a == "-":
            break
        name = a.lstrip("-")
        value = None
        if "=" in name:
            name, value = name.split("=", 1)
        if name not in spec:
            raise CLIError("flag provided but not defined: -%s" % name)
        if spec[name] == "bool":
            vals[name] = (value or "true").lower() in ("1", "t", "true")
        else:
            if value is None:
                i += 1
                if i >= len(argv):
                    raise CLIError("flag needs an argument: -%s" % name)
                value = argv[i]
            vals[name] = value
        i += 1
    return vals, argv[i:]


DNS_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def valid_hostname(h):
    """tailscale's dnsname.ValidHostname (what `up --hostname` checks): one
    leading and one trailing dot dropped, at most 254 bytes with a trailing
    dot, every label a DNS label. Dotted names are accepted."""
    s = h[1:] if h.startswith(".") else h
    total = len(s) + (0 if s.endswith(".") else 1)
    s = s[:-1] if s.endswith(".") else s
    if total > 254:
        raise CLIError('"%s" is too long to be a DNS name' % s)
    for label in s.split("."):
        if not DNS_LABEL.match(label):
            raise CLIError('"%s" is not a valid DNS label' % label)

UP_FLAGS = {"auth-key": "str", "authkey": "str", "hostname": "str", "accept-dns": "bool",
            "accept-routes": "bool", "advertise-tags": "str", "timeout": "str", "reset": "bool",
            "json": "bool", "force-reauth": "bool", "ssh": "bool", "shields-up": "bool",
            "login-server": "str", "operator": "str", "exit-node": "str", "qr": "bool",
            "advertise-routes": "str", "unattended": "bool", "client-secret": "str"}


# flag -> (pref, its value when the flag is not given, how to mention it)
REVERT_CHECKED = {
    "accept-dns": ("CorpDNS", True, lambda v: "--accept-dns=%s" % str(v).lower()),
    "accept-routes": ("RouteAll", False, lambda v: "--accept-routes=%s" % str(v).lower()),
    "advertise-tags": ("AdvertiseTags", None, lambda v: "--advertise-tags=" + ",".join(v or [])),
    "exit-node": ("ExitNodeID", "", lambda v: "--exit-node=" + v),
    "hostname": ("Hostname", "", lambda v: "--hostname=" + v),
    "shields-up": ("ShieldsUp", False, lambda v: "--shields-up=%s" % str(v).lower()),
    "ssh": ("RunSSH", False, lambda v: "--ssh=%s" % str(v).lower()),
}


def _unset(v):
    return v is None or v == "" or v == []


def check_reverts(flags, cur):
    """Real up (checkForAccidentalSettingReverts): on a logged-in node, a
    non-default setting that the command line does not mention would be
    reset to its default, so up refuses unless --reset is given."""
    def differs(v, default):
        return not (_unset(v) and _unset(default)) and v != default
    missing = [f for f, (pref, default, _) in REVERT_CHECKED.items()
               if f not in flags and differs(cur.get(pref), default)]
    if not missing:
        return
    mention = ["tailscale up"]
    for f, (pref, _, show) in REVERT_CHECKED.items():
        if f in flags:
            mention.append(show(flags[f]))
        elif f == "exit-node" and f in missing:  # named by its IP, not its stable ID
            peers = (status().get("Peer") or {}).values()
            ips = [p["TailscaleIPs"][0] for p in peers if p.get("ID") == cur.get(pref)]
            mention.append(show(ips[0] if ips else cur.get(pref)))
        elif f in missing:
            mention.append(show(cur.get(pref)))
    raise CLIError("Error: changing settings via 'tailscale up' requires mentioning all\n"
                   "non-default flags. To proceed, either re-run your command with --reset or\n"
                   "use the command below to explicitly mention the current value of\n"
                   "all non-default settings:\n\n\t" + " ".join(mention))


def cmd_up(argv):
    f, rest = parse_flags(argv, UP_FLAGS)
    if rest:
        raise CLIError("too many non-flag arguments: %r" % rest)
    key = f.get("auth-key") or f.get("authkey") or f.get("client-secret") or ""
    if key.startswith("file:"):
        try:
            with open(key[5:]) as fh:
                key = fh.read().strip()
        except OSError as e:
            raise CLIError("reading auth key file: %s" % e)
    tags = [t for t in (f.get("advertise-tags") or "").split(",") if t]
    if key.startswith("tskey-client-") and not tags:
        raise CLIError("oauth authkeys require --advertise-tags")
    hostname = f.get("hostname")
    if hostname:
        valid_hostname(hostname)
    timeout = parse_duration(f.get("timeout", "0s"))

    prefs = {"WantRunning": True, "CorpDNS": f.get("accept-dns", True),
             "RouteAll": f.get("accept-routes", False), "AdvertiseTags": tags or None,
             "ShieldsUp": f.get("shields-up", False), "RunSSH": f.get("ssh", False)}
    if hostname is not None:
        prefs["Hostname"] = hostname
    if "exit-node" in f:  # only when given: the fake has no flag-revert check
        prefs.update(exit_node_prefs(f["exit-node"]))
    st = status(peers=False)
    logged_in = st["BackendState"] in ("Running", "Stopped", "Starting", "NeedsMachineAuth")
    if logged_in and not f.get("reset"):
        check_reverts(f, json.loads(api("GET", "prefs")))
    if logged_in and not key and not f.get("force-reauth"):
        # "justEdit": already logged in, only prefs change.
        masked = dict(prefs)
        masked.update({k + "Set": True for k in prefs})
        api("PATCH", "prefs", masked)
        return wait_running(None, None, timeout, printed_url=False, last=st["BackendState"])
    # Watch before Start, like real up; no initial state: only what Start causes.
    conn, resp = watch_bus(0)
    api("POST", "start", {"AuthKey": key, "UpdatePrefs": prefs})
    if not key:
        api("POST", "login-interactive")
    return wait_running(conn, resp, timeout, printed_url=False, last=st["BackendState"])


def wait_running(conn, resp, timeout, printed_url, last="NoState"):
    if conn is None:
        conn, resp = watch_bus(2)
    deadline = time.monotonic() + timeout if timeout else None
    machine_msg = False
    while True:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            conn.sock.settimeout(left)
        try:
            line = resp.readline()
        except (socket.timeout, TimeoutError):
            break
        if not line:
            raise CLIError("tailscaled went away")
        if line.startswith(b'{"NetMap": '):
            # Only a netmap (the fake's bus sends it alone, first key
            # NetMap): nothing up waits for. Decoding 7 MB of it for a
            # 10,000-peer tailnet would cost Python 0.1 s; Go's CLI, ms.
            continue
        msg = json.loads(line)
        if msg.get("ErrMessage"):
            raise CLIError("backend error: %s" % msg["ErrMessage"])
        if msg.get("BrowseToURL") and not printed_url:
            sys.stderr.write("\nTo authenticate, visit:\n\n\t%s\n\n" % msg["BrowseToURL"])
            sys.stderr.flush()
            printed_url = True
        if "State" in msg:
            last = STATES[msg["State"]]
            if last == "Running":
                if printed_url:
                    sys.stderr.write("Success.\n")
                return 0
            if last == "NeedsMachineAuth" and not machine_msg:
                sys.stderr.write("\nTo approve your machine, visit (as admin):\n\n"
                                 "\thttps://login.tailscale.com/admin/machines\n\n")
                machine_msg = True
    raise CLIError("timeout waiting for Tailscale service to enter a Running state; last state: %s" % last)


def exit_node_prefs(arg):
    """--exit-node=IP|NAME -> the prefs that select it ("" clears), like
    ipn.Prefs.SetExitNodeIP: resolved against the netmap to a stable ID."""
    if arg == "":
        return {"ExitNodeID": "", "ExitNodeIP": ""}
    for p in (status().get("Peer") or {}).values():
        names = [p.get("HostName", "").lower(), (p.get("DNSName") or "").rstrip(".").lower()]
        if arg in (p.get("TailscaleIPs") or []) or arg.lower() in names:
            if not p.get("ExitNodeOption"):
                raise CLIError("node %s is not advertising an exit node" % arg)
            return {"ExitNodeID": p["ID"], "ExitNodeIP": ""}
    raise CLIError("invalid value %r for --exit-node; must be IP or unique node name" % arg)


SET_FLAGS = {"exit-node": "str", "accept-routes": "bool", "accept-dns": "bool",
             "hostname": "str", "shields-up": "bool", "ssh": "bool"}


def cmd_set(argv):
    """Changes only the prefs named on the command line (no login)."""
    f, rest = parse_flags(argv, SET_FLAGS)
    if rest:
        raise CLIError("too many non-flag arguments: %r" % rest)
    names = {"accept-routes": "RouteAll", "accept-dns": "CorpDNS", "hostname": "Hostname",
             "shields-up": "ShieldsUp", "ssh": "RunSSH"}
    prefs = {names[k]: v for k, v in f.items() if k in names}
    if "exit-node" in f:
        prefs.update(exit_node_prefs(f["exit-node"]))
    masked = dict(prefs)
    masked.update({k + "Set": True for k in prefs})
    api("PATCH", "prefs", masked)
    return 0


def cmd_down(argv):
    parse_flags(argv, {"accept-risk": "str", "reason": "str"})
    api("PATCH", "prefs", {"WantRunning": False, "WantRunningSet": True})
    return 0


def cmd_logout(argv):
    parse_flags(argv, {"reason": "str"})
    api("POST", "logout")
    return 0


def cmd_status(argv):
    f, rest = parse_flags(argv, {"json": "bool", "peers": "bool", "self": "bool",
                                 "active": "bool", "web": "bool", "browser": "bool"})
    peers = f.get("peers", True)
    if f.get("json"):
        sys.stdout.write(api("GET", "status" + ("" if peers else "?peers=false")).decode())
        return 0
    st = status(peers)
    state = st["BackendState"]
    if state == "Stopped":
        print("Tailscale is stopped.")
        return 1
    if state == "NeedsLogin":
        print("Logged out.")
        if st.get("AuthURL"):
            print("\nLog in at: %s" % st["AuthURL"])
        return 1
    if state == "NeedsMachineAuth":
        print("Machine is not yet approved by tailnet admin.")
        return 1
    users = st.get("User") or {}

    def row(ps, me=False):
        u = users.get(str(ps.get("UserID")), {}).get("LoginName", "-")
        u = u.split("@")[0] + "@" if "@" in u else u
        state = "-" if me or ps.get("Online") else "offline"
        ip = (ps.get("TailscaleIPs") or ["-"])[0]
        return "%-16s %-12s %-10s %-8s %s" % (ip, ps["DNSName"].split(".")[0], u, ps.get("OS", ""), state)
    print(row(st["Self"], me=True))
    for ps in (st.get("Peer") or {}).values():
        print(row(ps))
    return 0


def cmd_ip(argv):
    f, rest = parse_flags(argv, {"4": "bool", "6": "bool", "1": "bool"})
    if len(rest) > 1:
        raise CLIError("too many arguments, expected at most one peer")
    st = status()
    if rest:
        target = rest[0].rstrip(".").lower()
        ips = None
        for ps in [st["Self"]] + list((st.get("Peer") or {}).values()):
            fq = (ps.get("DNSName") or "").rstrip(".").lower()
            if target in (fq, fq.split(".")[0], ps.get("HostName", "").lower()) or \
                    target in (ps.get("TailscaleIPs") or []):
                ips = ps.get("TailscaleIPs") or []
                break
        if ips is None:
            raise CLIError('no peer found with hostname "%s"' % rest[0])
    else:
        ips = st.get("TailscaleIPs")
        if not ips:
            raise CLIError("no current Tailscale IPs; state: %s" % st["BackendState"])
    if f.get("4"):
        ips = [i for i in ips if ":" not in i]
    elif f.get("6"):
        ips = [i for i in ips if ":" in i]
    elif f.get("1"):
        ips = ips[:1]
    for i in ips:
        print(i)
    return 0


def cmd_whois(argv):
    f, rest = parse_flags(argv, {"json": "bool", "proto": "str"})
    if len(rest) != 1:
        raise CLIError("usage: tailscale whois [--json] ip[:port]")
    out = json.loads(api("GET", "whois?addr=" + rest[0]))
    if f.get("json"):
        print(json.dumps(out, indent=2))
    else:
        print("Machine:\n  Name:          %s\n  ID:            %s\n  Addresses:     %s" % (
            out["Node"]["Name"].rstrip("."), out["Node"]["StableID"], out["Node"]["Addresses"]))
        print("User:\n  Name:     %s" % out["UserProfile"].get("LoginName", ""))
    return 0


def cmd_version(argv):
    parse_flags(argv, {"daemon": "bool", "json": "bool", "upstream": "bool"})
    print(VERSION)
    print("  tailscale commit: fake")
    print("  go version: go1.25.0-fake")
    return 0


COMMANDS = {"up": cmd_up, "set": cmd_set, "down": cmd_down, "logout": cmd_logout, "status": cmd_status,
            "ip": cmd_ip, "whois": cmd_whois, "version": cmd_version}

USAGE = """USAGE
  tailscale [flags] <subcommand> [command flags]

(fake for tests) SUBCOMMANDS
  up, set, down, logout, status, ip, whois, version

FLAGS
  --socket string
        path to tailscaled socket (default %s)
""" % DEFAULT_SOCKET


def main(argv):
    global SOCKET
    try:
        g, rest = parse_flags(argv, {"socket": "str", "h": "bool", "help": "bool"})
    except CLIError as e:
        sys.stderr.write("%s\n%s" % (e, USAGE))
        return 1
    SOCKET = g.get("socket") or DEFAULT_SOCKET
    if not rest or g.get("h") or g.get("help"):
        sys.stderr.write(USAGE)
        return 0 if (g.get("h") or g.get("help")) else 1
    name = rest[0]
    if name not in COMMANDS:
        sys.stderr.write("tailscale: unknown subcommand: %s\n%s" % (name, USAGE))
        return 1
    try:
        return COMMANDS[name](rest[1:])
    except CLIError as e:
        sys.stderr.write("%s\n" % e)
        return 1
    except (OSError, HTTPError) as e:
        sys.stderr.write("%s\n" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
