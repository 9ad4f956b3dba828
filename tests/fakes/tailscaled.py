"""A fake tailscaled for tests: userspace-networking mode only.

Reproduces the behaviour of real tailscaled that tsrun depends on (SOCKS5
quirks, LocalAPI shape, login states); see tests/fakes/README.md.  Dials go
into the network namespace named by $BED_PEER_NETNS (the bed's "tailnet").
"""
import ctypes
import fcntl
import json
import os
import queue
import select
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse
from socketserver import StreamRequestHandler, ThreadingMixIn, UnixStreamServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tailnet  # noqa: E402

CLONE_NEWNET = 0x40000000
LOGIN_URL = "https://login.tailscale.com/a/fake123"
VERBOSE = 0


def log(msg):
    sys.stderr.write("%s %s\n" % (time.strftime("%Y/%m/%d %H:%M:%S"), msg))
    sys.stderr.flush()


def fatal(msg):
    log(msg)
    os._exit(1)


def setns(fd):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "setns: " + os.strerror(err))


TUN_MODE = False  # --tun=NAME with FAKE_TS_TUN=1 (see main)

# ---------------------------------------------------------------- flags

FLAGS = {  # name: (kind, default) -- the subset of real tailscaled's flags
    "tun": ("str", "tailscale0"), "socks5-server": ("str", ""),
    "outbound-http-proxy-listen": ("str", ""), "state": ("str", ""),
    "statedir": ("str", ""), "socket": ("str", "/var/run/tailscale/tailscaled.sock"),
    "port": ("int", 0), "verbose": ("int", 0), "no-logs-no-support": ("bool", False),
    "config": ("str", ""), "debug": ("str", ""), "cleanup": ("bool", False),
    "version": ("bool", False), "encrypt-state": ("bool", False), "bird-socket": ("str", ""),
}


def usage():
    sys.stderr.write("Usage of tailscaled:\n")
    for name in sorted(FLAGS):
        kind, dflt = FLAGS[name]
        sys.stderr.write("  -%s%s\n    \t(default %r)\n" % (name, "" if kind == "bool" else " " + kind, dflt))


def flag_error(msg):
    sys.stderr.write(msg + "\n")
    usage()
    sys.exit(2)


def parse_flags(argv):
    """Go's flag package: -x or --x, =value or next arg, stops at first non-flag."""
    vals = {k: v[1] for k, v in FLAGS.items()}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            i += 1
            break
        if not a.startswith("-") or a == "-":
            break
        name = a[2:] if a.startswith("--") else a[1:]
        value = None
        if "=" in name:
            name, value = name.split("=", 1)
        if name in ("h", "help"):
            usage()
            sys.exit(0)
        if name not in FLAGS:
            flag_error("flag provided but not defined: -" + name)
        kind = FLAGS[name][0]
        if kind == "bool":
            if value is None:
                value = "true"
            if value.lower() not in ("1", "0", "t", "f", "true", "false"):
                flag_error('invalid boolean value "%s" for -%s: parse error' % (value, name))
            vals[name] = value.lower() in ("1", "t", "true")
        else:
            if value is None:
                i += 1
                if i >= len(argv):
                    flag_error("flag needs an argument: -" + name)
                value = argv[i]
            if kind == "int":
                try:
                    value = int(value)
                except ValueError:
                    flag_error('invalid value "%s" for flag -%s: parse error' % (value, name))
            vals[name] = value
        i += 1
    return vals, argv[i:]


def split_hostport(addr):
    host, sep, port = addr.rpartition(":")
    if not sep:
        raise ValueError("address %s: missing port in address" % addr)
    host = host.strip("[]") or "0.0.0.0"
    if host == "localhost":
        host = "127.0.0.1"
    return host, int(port)


def listen_tcp(addr):
    host, port = split_hostport(addr)
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(1024)  # bursts of 100+ concurrent handshakes (Go: somaxconn)
    return s


def fmt_addr(sockname):
    host, port = sockname[0], sockname[1]
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


# ---------------------------------------------------------------- backend

class PeerTexts:
    """The peers' JSON text (tailnet.SLOT), encoded once per tailnet change.

    Keyed by what the text depends on besides the fixture; a caller that
    asks while another encodes the same key waits for that text instead of
    encoding it again. clear() starts a new generation (the fixture
    changed); a caller of an older generation encodes its own text, unkept."""

    def __init__(self):
        self.lock = threading.Lock()
        self.gen = 0
        self.texts = {}  # key -> [threading.Event, text or None]

    def clear(self):
        with self.lock:
            self.gen += 1
            self.texts = {}

    def get(self, gen, key, encode):
        """The text for key in generation gen; encode() makes it (called
        without any lock)."""
        with self.lock:
            if gen != self.gen:
                return encode()
            ent = self.texts.get(key)
            mine = ent is None
            if mine:
                ent = self.texts[key] = [threading.Event(), None]
        if not mine:
            ent[0].wait()
            if ent[1] is not None:
                return ent[1]
            return encode()  # the encoder failed: try once more here
        try:
            ent[1] = encode()
        finally:
            ent[0].set()
        return ent[1]


class Backend:
    """Login state, prefs, the netmap and IPN bus watchers."""

    def __init__(self, fixture_path, state_path):
        self.lock = threading.RLock()
        self.fixture_path = fixture_path
        self.fx, self.fx_digest = tailnet.load_digest(fixture_path)
        self.state_path = state_path  # None for mem:
        self.watchers = []
        self.peer_texts = PeerTexts()
        self.auth_url = ""
        self.prefs = {"ControlURL": self.fx.get("ControlURL", ""), "RouteAll": False,
                      "CorpDNS": True, "WantRunning": False, "LoggedOut": True,
                      "Hostname": "", "AdvertiseTags": None, "ShieldsUp": False,
                      "RunSSH": False, "ExitNodeID": "", "ExitNodeIP": ""}
        self.logged_in = False
        self.machine_authorized = False
        self.state = "NeedsLogin"
        saved = self._load_state()
        if saved.get("LoggedIn"):
            self.logged_in = True
            self.machine_authorized = saved.get("MachineAuthorized", True)
            self.prefs.update(saved.get("Prefs") or {})
            self.state = self._logged_in_state()

    def _load_state(self):
        if not self.state_path or not os.path.exists(self.state_path):
            return {}
        try:
            with open(self.state_path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def _save_state(self):
        if not self.state_path:
            return
        os.makedirs(os.path.dirname(os.path.abspath(self.state_path)), exist_ok=True)
        tailnet.write_atomic(self.state_path, json.dumps({
            "_comment": "fake tailscaled state", "LoggedIn": self.logged_in,
            "MachineAuthorized": self.machine_authorized, "Prefs": self.prefs}, indent=2))

    def _logged_in_state(self):
        if not self.prefs.get("WantRunning", True):
            return "Stopped"
        if self.fx.get("ForceNeedsMachineAuth") and not self.machine_authorized:
            return "NeedsMachineAuth"
        return "Running"

    def running(self):
        return self.state == "Running"

    # -- the peers' JSON, once per tailnet change
    def _peer_text(self, key):
        """("status", exit_id, indent) -> the Peer map's text, ("netmap",)
        -> NetMap.Peers' text. The fixture is never edited in place (a
        change replaces self.fx), so the one taken under the lock stays
        whole while it is encoded outside the lock."""
        with self.lock:
            fx, digest, gen = self.fx, self.fx_digest, self.peer_texts.gen
        return self.peer_texts.get(gen, key, lambda: tailnet.cached_peer_text(fx, digest, key))

    def _fixture_changed(self):
        """After self.fx was replaced (under self.lock)."""
        self.peer_texts.clear()
        self.prepare()

    def prepare(self):
        """Encode the peers' text ahead, in a thread, for the status and
        netmap that logging in needs (a cold start asks for both): with
        10,000 peers the encoding then overlaps the client's own start-up.
        Small fixtures skip this."""
        with self.lock:
            if len(self.fx.get("Peers") or []) <= tailnet.BIG_TAILNET:
                return
            exit_id = tailnet.status_exit_id(self.fx, "Running", self.prefs)
        def run():
            self._peer_text(("netmap",))
            self._peer_text(("status", exit_id, None))
        threading.Thread(target=run, daemon=True).start()

    def netmap_json(self):
        """A NetMap as JSON text (compact, like every bus message)."""
        with self.lock:
            nm = tailnet.netmap(self.fx, self.prefs, slot=True)
        return tailnet.dumps_spliced(nm, self._peer_text(("netmap",)))

    # -- IPN bus
    def notify(self, msg):
        """msg: a dict, or bytes already encoded (one JSON object)."""
        with self.lock:
            for q in list(self.watchers):
                q.put(msg)

    def notify_netmap(self):
        with self.lock:
            if self.watchers:
                self.notify(b'{"NetMap": %s}' % self.netmap_json().encode())

    def set_state(self, st):
        with self.lock:
            if st == self.state:
                return
            log("Switching ipn state %s -> %s" % (self.state, st))
            self.state = st
            self.notify({"State": tailnet.STATES.index(st)})

    def watch(self, mask):
        q = queue.Queue()
        with self.lock:
            first = {}
            if mask & 2:
                first["State"] = tailnet.STATES.index(self.state)
            if mask & 4:
                first["Prefs"] = self.prefs_json()
            if mask & 8 and self.logged_in:
                first["NetMap"] = tailnet.SLOT
                q.put(tailnet.dumps_spliced(first, self.netmap_json()).encode())
            elif first:
                q.put(first)
            self.watchers.append(q)
        return q

    def unwatch(self, q):
        with self.lock:
            if q in self.watchers:
                self.watchers.remove(q)

    def prefs_json(self):
        return dict(self.prefs)

    # -- status
    def status_json(self, peers=True):
        """The status body's JSON text: indented like tailscaled's up to
        BIG_TAILNET peers, compact beyond."""
        with self.lock:
            st = tailnet.status(self.fx, self.state, self.prefs, peers=peers,
                                auth_url=self.auth_url, slot=True)
            st["TUN"] = TUN_MODE
            if st["Peer"] is None:
                return json.dumps(st, indent=2)
            indent = tailnet.status_indent(self.fx)
            key = ("status", tailnet.status_exit_id(self.fx, self.state, self.prefs), indent)
        return tailnet.dumps_spliced(st, self._peer_text(key), indent)

    # -- control
    def edit_prefs(self, masked):
        with self.lock:
            # ipn.MaskedPrefs: a field changes only when its "<Field>Set" is true.
            for k, v in masked.items():
                if k in self.prefs and masked.get(k + "Set"):
                    self.prefs[k] = v
            if self.logged_in:
                self._save_state()
                self.set_state(self._logged_in_state())
            # Every watcher hears of a prefs change, whatever its mask asked
            # for initially (the mask's 4 is only NotifyInitialPrefs).
            self.notify({"Prefs": self.prefs_json()})
            return self.prefs_json()

    def start(self, opts):
        with self.lock:
            upd = opts.get("UpdatePrefs") or {}
            for k in self.prefs:
                if k in upd:
                    self.prefs[k] = upd[k]
            self.prefs["WantRunning"] = upd.get("WantRunning", True)
            key = opts.get("AuthKey") or ""
            if key:
                if "invalid" in key:
                    self.notify({"ErrMessage": "invalid key: unable to validate API key"})
                    self.logged_in = False
                    self.set_state("NeedsLogin")
                    return
                self.login_done()
            elif self.logged_in:
                self._save_state()
                self.set_state(self._logged_in_state())
            else:
                self.set_state("NeedsLogin")

    def login_interactive(self):
        with self.lock:
            self.auth_url = LOGIN_URL
            self.notify({"BrowseToURL": LOGIN_URL})

    def login_done(self):
        with self.lock:
            self.logged_in = True
            self.auth_url = ""
            self.prefs["LoggedOut"] = False
            self.prefs["WantRunning"] = True
            self._save_state()
            self.set_state("Starting")
            self.notify_netmap()
            self.set_state(self._logged_in_state())
            self.notify({"LoginFinished": {}})

    def set_online(self, host, online):
        """Test hook: a peer comes online or goes offline (a netmap delta)."""
        with self.lock:
            self.fx = dict(self.fx, Peers=[dict(p, Online=online) if p.get("HostName") == host else p
                                           for p in self.fx.get("Peers") or []])
            self.fx_digest = None  # no longer the fixture file's bytes
            self._fixture_changed()
            self.notify({"PeersChanged": [{"HostName": host, "Online": online}]})

    def approve_machine(self):
        with self.lock:
            self.machine_authorized = True
            if self.logged_in:
                self._save_state()
                self.set_state(self._logged_in_state())

    def logout(self):
        with self.lock:
            self.logged_in = False
            self.machine_authorized = False
            self.prefs["LoggedOut"] = True
            self.prefs["WantRunning"] = False
            if self.state_path and os.path.exists(self.state_path):
                os.unlink(self.state_path)
            self.set_state("NeedsLogin")

    def reload(self):
        with self.lock:
            try:
                self.fx, self.fx_digest = tailnet.load_digest(self.fixture_path)
            except (OSError, ValueError) as e:
                log("SIGHUP: fixture reload failed: %s" % e)
                return
            log("netmap: fixture reloaded (%d peers)" % len(self.fx.get("Peers") or []))
            self._fixture_changed()
            if self.logged_in:
                self.notify_netmap()
                self.set_state(self._logged_in_state())


# ---------------------------------------------------------------- dialing

class DialError(Exception):
    pass


def parse_dial_delays(spec):
    """FAKE_TS_DIAL_DELAY: "TARGET=MS,..." -> {key: seconds}.

    TARGET is a port (digits: "8088"), an IP ("100.88.12.5",
    "fd7a:115c:a1e0::d401:c05") or both ("100.88.12.5:80", "[fd7a::1]:80").
    Keys: ("port", p), ("ip", ip), ("ipport", ip, p).  Raises ValueError."""
    rules = {}
    for item in (spec or "").split(","):
        item = item.strip()
        if not item:
            continue
        target, sep, ms = item.rpartition("=")
        if not sep or not target or not ms.isdigit():
            raise ValueError("bad rule %r (want TARGET=MS)" % item)
        sec = int(ms) / 1000.0
        if target.isdigit():
            key = ("port", int(target))
        elif target.startswith("["):
            host, _, port = target[1:].partition("]:")
            key = ("ipport", socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, host)),
                   int(port))
        elif target.count(":") == 1:
            host, port = target.split(":")
            key = ("ipport", socket.inet_ntoa(socket.inet_aton(host)), int(port))
        else:
            fam = socket.AF_INET6 if ":" in target else socket.AF_INET
            key = ("ip", socket.inet_ntop(fam, socket.inet_pton(fam, target)))
        if key[0] != "ip" and not 0 < key[-1] < 65536:
            raise ValueError("bad port in %r" % item)
        rules[key] = sec
    return rules


class Dialer:
    def __init__(self, backend, timeout_ms, delay_ms=0, delay_rules=None):
        self.b = backend
        self.timeout = timeout_ms / 1000.0
        self.delay = delay_ms / 1000.0
        self.delay_rules = delay_rules or {}
        self.client_ns_fd = self.peer_ns_fd = None  # set once we setns()

    def dial_delay(self, ip, port):
        """Seconds this dial takes before its outcome (a tailnet round trip):
        the most specific of FAKE_TS_DIAL_DELAY's rules, else FAKE_TS_DIAL_DELAY_MS."""
        r = self.delay_rules
        fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
        ip = socket.inet_ntop(fam, socket.inet_pton(fam, ip))
        for key in (("ipport", ip, port), ("ip", ip), ("port", port)):
            if key in r:
                return r[key]
        return self.delay

    def client_socket(self, family, kind):
        """A socket in the client netns (where tailscaled itself runs)."""
        if self.client_ns_fd is None:
            return socket.socket(family, kind)
        setns(self.client_ns_fd)  # per thread; switch straight back
        try:
            return socket.socket(family, kind)
        finally:
            setns(self.peer_ns_fd)

    def _stall(self, deadline, what):
        # An unreachable tailnet address: netstack's SYNs go nowhere until the
        # 5 s context expires (socks5.go handleTCP).
        time.sleep(max(0.0, deadline - time.monotonic()))
        raise DialError("dial tcp %s: i/o timeout" % what)

    def resolve(self, host):
        """Name -> IP string, like tsdial's userDialResolve with only the netmap."""
        try:
            socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
            return host
        except OSError:
            pass
        with self.b.lock:
            n = tailnet.resolve(self.b.fx, host, self.b.prefs) if self.b.logged_in else None
        if n is None:
            raise DialError("lookup %s on 127.0.0.53:53: no such host" % host)
        v4 = [ip for ip in n["TailscaleIPs"] if ":" not in ip]
        return (v4 or n["TailscaleIPs"])[0]

    def classify(self, ip):
        """'self', 'netstack' (tailnet dial from self), 'stall' or 'host'."""
        with self.b.lock:
            fx, prefs, up = self.b.fx, self.b.prefs, self.b.running()
            n = tailnet.node_for_ip(fx, ip, prefs)
            if n is not None:
                if up and n["_self"]:
                    return "self"
                if up and n.get("Online"):
                    return "netstack"
                return "stall"
            owner = tailnet.route_owner(fx, ip, prefs)
            if owner is not None:
                if up and owner.get("Online") and prefs.get("RouteAll"):
                    return "netstack"
                return "stall"
            if tailnet.is_tailscale_ip(ip):
                return "stall"
            # An exit node's default route makes PeerForIP match everything
            # else too: the dial goes through it, and stalls while it is away.
            ex = tailnet.exit_node(fx, prefs)
            if ex is not None and not (up and ex.get("Online")):
                return "stall"
        return "host"

    def self_ip(self, family):
        with self.b.lock:
            ips = self.b.fx["Self"]["TailscaleIPs"]
        want_v6 = family == socket.AF_INET6
        for ip in ips:
            if (":" in ip) == want_v6:
                return ip
        return None

    def dial(self, host, port, kind=socket.SOCK_STREAM):
        """-> (socket, BND address for the SOCKS reply)."""
        deadline = time.monotonic() + self.timeout
        ip = self.resolve(host)
        what = "%s:%d" % (ip if ":" not in ip else "[%s]" % ip, port)
        how = self.classify(ip)
        if how == "stall":
            self._stall(deadline, what)
        # The dial's round trip: success and failure (refused) alike arrive
        # only after it, so the SOCKS reply is written after it too.  Bounded
        # by the dial timeout, like the real 5 s context.
        delay = self.dial_delay(ip, port)
        if delay > 0:
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            if time.monotonic() >= deadline:
                raise DialError("dial tcp %s: i/o timeout" % what)
        fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
        if how == "self":
            # netstack hands connections to the node's own tailnet address to
            # 127.0.0.1:port on the node itself (research §3.1): the client netns.
            s = self.client_socket(socket.AF_INET, kind)
            s.settimeout(max(0.001, deadline - time.monotonic()))
            try:
                s.connect(("127.0.0.1", port))
            except OSError as e:
                s.close()
                raise DialError("dial tcp %s: connect: %s" % (what, getattr(e, "strerror", None) or e))
            s.settimeout(None)
            return s, (ip, s.getsockname()[1])
        s = socket.socket(fam, kind)
        if how == "netstack":
            # Peers see the sandbox's own tailnet address as the source.
            src = self.self_ip(fam)
            if src:
                try:
                    s.bind((src, 0))
                except OSError:
                    pass
        s.settimeout(max(0.001, deadline - time.monotonic()))
        try:
            s.connect((ip, port))
        except socket.timeout:
            s.close()
            raise DialError("dial tcp %s: i/o timeout" % what)
        except OSError as e:
            s.close()
            raise DialError("dial tcp %s: connect: %s" % (what, e.strerror or e))
        s.settimeout(None)
        return s, s.getsockname()


# ---------------------------------------------------------------- relaying
#
# One connection is relayed by the thread that accepted it: poll() over both
# sockets, both directions spliced through a pipe each (zero copy for the
# bulk rows). A thread per direction cost the fake a thread start and a GIL
# handoff per transfer for every connection, which showed up as the time after
# the dial of 50 parallel connects (the fake's cost, not the shim's).

PIPE_SIZE = 1 << 20  # F_SETPIPE_SZ: one splice moves up to this many bytes
PIPE_POOL_MAX = 64   # empty pipes kept for the next connections (2 per relay)
_SPLICE = os.SPLICE_F_NONBLOCK | os.SPLICE_F_MOVE


class _PipePool:
    """Empty pipes (r, w, capacity) for splice, reused across connections:
    a relay takes two and gives back the ones it drained."""

    def __init__(self):
        self.lock = threading.Lock()
        self.free = []

    def get(self):
        with self.lock:
            if self.free:
                return self.free.pop()
        r, w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        try:
            cap = fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
        except OSError:
            cap = 65536  # the default size (pipe-max-size below 1 MiB)
        return r, w, cap

    def put(self, pipe, empty):
        if empty:
            with self.lock:
                if len(self.free) < PIPE_POOL_MAX:
                    self.free.append(pipe)
                    return
        os.close(pipe[0])
        os.close(pipe[1])


_pipes = _PipePool()


class _Way:
    """One direction src -> dst of a relay: a pipe (or, without one, a
    buffer) holding what was read from src and not yet written to dst."""

    def __init__(self, src, dst):
        self.src, self.dst = src, dst
        self.sfd, self.dfd = src.fileno(), dst.fileno()
        self.pending = 0  # bytes read from src, not yet written to dst
        self.eof = False  # src ended; done once pending is written
        self.full = False  # the pipe took no more (its slots hold partial pages)
        try:
            self.pipe = _pipes.get()
            self.cap = self.pipe[2]
        except OSError:
            self.pipe = None
            self.cap = 1 << 18
            self.buf = bytearray(self.cap)
            self.off = 0

    def want_read(self):
        # The buffer is refilled only once empty (it does not wrap).
        if self.pipe is None:
            return not self.eof and not self.pending
        return not self.eof and not self.full and self.pending < self.cap

    def read(self):
        """Moves what src has into the pipe; sets eof at EOF. Raises OSError."""
        try:
            if self.pipe is not None:
                n = os.splice(self.sfd, self.pipe[1], self.cap - self.pending, flags=_SPLICE)
            else:
                self.off = 0
                n = self.src.recv_into(self.buf)
        except BlockingIOError:
            self.full = self.pending > 0  # readable, but no room: wait for a write
            return
        if n == 0:
            self.eof = True
        self.pending += n

    def write(self):
        """Moves pending bytes to dst until it would block. Raises OSError."""
        while self.pending:
            try:
                if self.pipe is not None:
                    n = os.splice(self.pipe[0], self.dfd, self.pending, flags=_SPLICE)
                else:
                    n = self.dst.send(memoryview(self.buf)[self.off:self.off + self.pending])
                    self.off += n
            except BlockingIOError:
                return
            self.pending -= n
            self.full = False

    def done(self):
        return self.eof and not self.pending

    def release(self):
        if self.pipe is not None:
            _pipes.put(self.pipe, self.pending == 0)
            self.pipe = None


def relay(a, b):
    """Both directions in this thread until the FIRST of them finishes (EOF
    read and everything before it written, or an error); then both sockets
    are shut down and closed (no half-close)."""
    ways = []
    try:
        a.setblocking(False)
        b.setblocking(False)
        ways = [_Way(a, b), _Way(b, a)]
        p = select.poll()
        while not any(w.done() for w in ways):
            masks = {}
            for w in ways:
                if w.want_read():
                    masks[w.sfd] = masks.get(w.sfd, 0) | select.POLLIN
                if w.pending:
                    masks[w.dfd] = masks.get(w.dfd, 0) | select.POLLOUT
            for fd in (a.fileno(), b.fileno()):
                if fd in masks:
                    p.register(fd, masks[fd])
                else:
                    try:
                        p.unregister(fd)
                    except KeyError:
                        pass
            ready = dict(p.poll())
            for w in ways:
                # POLLIN, or POLLHUP/POLLERR: the read reports EOF or the error.
                if ready.get(w.sfd, 0) & ~select.POLLOUT and w.want_read():
                    w.read()
                w.write()  # what was just read goes out at once, mostly
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for w in ways:
            w.release()
        a.close()
        b.close()


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("short read")
        buf += chunk
    return buf


# ---------------------------------------------------------------- SOCKS5

class Socks5:
    def __init__(self, dialer, legacy_errors, client_ns_fd, peer_ns_fd):
        self.dialer = dialer
        self.legacy = legacy_errors
        self.client_ns_fd = client_ns_fd
        self.peer_ns_fd = peer_ns_fd

    def reply(self, c, rep, bnd=None):
        if rep != 0 and self.legacy:
            c.sendall(bytes([5, rep, 0, 1]))  # pre-1.72: no BND at all
            return
        if bnd is None:
            c.sendall(bytes([5, rep, 0, 1, 0, 0, 0, 0, 0, 0]))
            return
        host, port = bnd[0], bnd[1]
        if ":" in host and not host.startswith("::ffff:"):
            c.sendall(bytes([5, rep, 0, 4]) + socket.inet_pton(socket.AF_INET6, host) + struct.pack(">H", port))
        else:
            host = host.replace("::ffff:", "")
            c.sendall(bytes([5, rep, 0, 1]) + socket.inet_aton(host) + struct.pack(">H", port))

    def handle(self, c):
        try:
            self._handle(c)
        except (OSError, EOFError) as e:
            log("socks5: client connection failed: %s" % e)
        finally:
            c.close()

    def _handle(self, c):
        ver, nm = recv_exact(c, 2)
        methods = recv_exact(c, nm)
        if ver != 5:
            raise EOFError("unsupported socks version %d" % ver)
        if 0 not in methods:
            c.sendall(b"\x05\xff")
            return
        c.sendall(b"\x05\x00")
        try:
            _ver, cmd, _rsv, atyp = recv_exact(c, 4)  # VER and RSV are not validated
            if atyp == 1:
                host = socket.inet_ntoa(recv_exact(c, 4))
            elif atyp == 4:
                host = socket.inet_ntop(socket.AF_INET6, recv_exact(c, 16))
            elif atyp == 3:
                ln = recv_exact(c, 1)[0]
                host = recv_exact(c, ln).decode("latin-1")
            else:
                raise ValueError("unknown address type %d" % atyp)
            port = struct.unpack(">H", recv_exact(c, 2))[0]
        except (ValueError, EOFError) as e:
            log("socks5: client connection failed: could not read packet header: %s" % e)
            self.reply(c, 1)
            return
        if cmd == 1:
            self.connect(c, host, port)
        elif cmd == 3:
            self.udp_associate(c)
        else:
            log("socks5: client connection failed: unsupported command %d" % cmd)
            self.reply(c, 7)

    def connect(self, c, host, port):
        try:
            srv, bnd = self.dialer.dial(host, port)
        except DialError as e:
            log("socks5: client connection failed: %s" % e)
            self.reply(c, 1)
            return
        self.reply(c, 0, bnd)
        relay(c, srv)

    def udp_associate(self, c):
        # The relay socket faces the client: create it in the client's netns.
        local_ip = c.getsockname()[0]
        fam = socket.AF_INET6 if ":" in local_ip else socket.AF_INET
        if self.client_ns_fd is not None:
            setns(self.client_ns_fd)
        try:
            u = socket.socket(fam, socket.SOCK_DGRAM)
            u.bind((local_ip, 0))
        finally:
            if self.peer_ns_fd is not None:
                setns(self.peer_ns_fd)
        self.reply(c, 0, u.getsockname())
        conns = {}
        client = [None]
        stop = threading.Event()

        def back(key, s, hdr):
            while not stop.is_set():
                try:
                    data = s.recv(65535)
                except OSError:
                    return
                if client[0]:
                    try:
                        u.sendto(hdr + data, client[0])
                    except OSError:
                        pass

        def forward():
            while not stop.is_set():
                try:
                    pkt, addr = u.recvfrom(65535)
                except OSError:
                    return
                client[0] = addr
                try:
                    atyp = pkt[3]
                    if atyp == 1:
                        host, off = socket.inet_ntoa(pkt[4:8]), 8
                    elif atyp == 4:
                        host, off = socket.inet_ntop(socket.AF_INET6, pkt[4:20]), 20
                    elif atyp == 3:
                        ln = pkt[4]
                        host, off = pkt[5:5 + ln].decode("latin-1"), 5 + ln
                    else:
                        continue
                    port = struct.unpack(">H", pkt[off:off + 2])[0]
                    key = (host, port)
                    if key not in conns:
                        s, _ = self.dialer.dial(host, port, socket.SOCK_DGRAM)
                        conns[key] = s
                        threading.Thread(target=back, args=(key, s, pkt[:off + 2]), daemon=True).start()
                    conns[key].send(pkt[off + 2:])
                except (DialError, OSError, IndexError, struct.error) as e:
                    log("socks5: udp: %s" % e)

        threading.Thread(target=forward, daemon=True).start()
        try:
            while c.recv(4096):  # the association lives as long as the TCP conn
                pass
        except OSError:
            pass
        stop.set()
        for s in [u] + list(conns.values()):
            try:
                s.shutdown(socket.SHUT_RDWR)  # wakes the threads blocked in recv
            except OSError:
                pass
            s.close()


# ---------------------------------------------------------------- HTTP proxy

def http_proxy(c, dialer):
    try:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = c.recv(65536)
            if not chunk:
                return
            data += chunk
            if len(data) > 1 << 16:
                return
        head, rest = data.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = (lines[0].split(" ", 2) + ["", ""])[:3]
        if method == "CONNECT":
            host, port = split_hostport(target)
            try:
                srv, _ = dialer.dial(host, port)
            except DialError as e:
                c.sendall(("HTTP/1.1 500 Internal Server Error\r\nTailscale-Connect-Error: %s\r\n"
                           "Content-Length: 0\r\nConnection: close\r\n\r\n" % e).encode())
                return
            c.sendall(b"HTTP/1.1 200 OK\r\n\r\n")
            if rest:
                srv.sendall(rest)
            relay(c, srv)
            return
        u = urllib.parse.urlsplit(target)
        if not u.scheme or not u.hostname:
            body = b"bogus RequestURI; must be absolute URL or CONNECT\n"
            c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
                      b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
            return
        try:
            srv, _ = dialer.dial(u.hostname, u.port or 80)
        except DialError as e:
            body = ("%s\n" % e).encode()
            c.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                      % (len(body), body))
            return
        path = (u.path or "/") + ("?" + u.query if u.query else "")
        hdrs = [h for h in lines[1:] if not h.lower().startswith(("proxy-", "connection:"))]
        req = "%s %s HTTP/1.1\r\n%s\r\nConnection: close\r\n\r\n" % (method, path, "\r\n".join(hdrs))
        srv.sendall(req.encode("latin-1") + rest)
        relay(c, srv)
    except (OSError, ValueError) as e:
        log("http proxy: %s" % e)
    finally:
        c.close()


# ---------------------------------------------------------------- LocalAPI

class LocalAPIServer(ThreadingMixIn, UnixStreamServer):
    daemon_threads = True
    backend = None


class _Headers(dict):
    """Request headers by lower-case name; .get() ignores the name's case."""
    def get(self, name, default=None):
        return dict.get(self, name.lower(), default)


class HTTPHandler(StreamRequestHandler):
    """The part of http.server.BaseHTTPRequestHandler the LocalAPI uses:
    HTTP/1.1 requests on a kept-alive connection, bodies by Content-Length,
    `Expect: 100-continue`, do_<METHOD>, send_response/send_header/
    end_headers. Importing http.server (http.client, ssl, email) costs every
    start of the fake ~45 ms, a sixth of a cold `tsrun true` on a big
    tailnet in the bed (bench/bigtail); the real tailscaled is a Go binary."""
    MAX_LINE = 65536
    MAX_HEADERS = 100

    def handle(self):
        self.close_connection = False
        while not self.close_connection:
            if not self.handle_one_request():
                return

    def handle_one_request(self):
        line = self.rfile.readline(self.MAX_LINE + 1)
        if not line:
            return False
        self.command, self.path, self.request_version = "", "", "HTTP/1.1"
        parts = line.decode("latin-1").rstrip("\r\n").split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/") or len(line) > self.MAX_LINE:
            self.send_plain_error(400, "Bad Request")
            return False
        self.command, self.path, self.request_version = parts
        headers = _Headers()
        while True:
            h = self.rfile.readline(self.MAX_LINE + 1)
            if not h:
                return False  # the client went away mid-request
            if h in (b"\r\n", b"\n"):
                break
            k, sep, v = h.decode("latin-1").partition(":")
            if not sep or len(h) > self.MAX_LINE or len(headers) >= self.MAX_HEADERS:
                self.send_plain_error(400, "Bad Request")
                return False
            headers[k.strip().lower()] = v.strip()
        self.headers = headers
        n = headers.get("Content-Length", "0")
        if not n.isdigit():
            self.send_plain_error(400, "Bad Request: bad Content-Length")
            return False
        conn = headers.get("Connection", "").lower()
        self.close_connection = conn == "close" or (
            self.request_version == "HTTP/1.0" and conn != "keep-alive")
        if headers.get("Expect", "").lower() == "100-continue" and \
                self.request_version != "HTTP/1.0":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        do = getattr(self, "do_" + self.command, None)
        if do is None:
            self.send_plain_error(501, "Unsupported method (%r)" % self.command)
            return False
        self._out = []
        do()
        self.wfile.flush()
        return True

    def send_plain_error(self, code, text):
        self._out = []
        self.close_connection = True
        body = ("%d %s\n" % (code, text)).encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def send_response(self, code, message=None):
        # Go's net/http sends no Server header.
        self.log_message('"%s %s %s" %d', self.command, self.path, self.request_version, code)
        # Go's net/http answers an HTTP/1.0 request in HTTP/1.0.
        proto = "HTTP/1.0" if self.request_version == "HTTP/1.0" else "HTTP/1.1"
        self._out = ["%s %d %s\r\n" % (proto, code, message or _REASONS.get(code, "")),
                     "Date: %s\r\n" % time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())]

    def send_header(self, name, value):
        self._out.append("%s: %s\r\n" % (name, value))
        if name.lower() == "connection" and value.lower() == "close":
            self.close_connection = True

    def end_headers(self):
        self._out.append("\r\n")
        self.wfile.write("".join(self._out).encode("latin-1"))
        self._out = []

    def log_message(self, fmt, *args):
        pass


_REASONS = {200: "OK", 204: "No Content", 400: "Bad Request", 403: "Forbidden",
            404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
            500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable"}


class LocalAPI(HTTPHandler):
    def log_message(self, fmt, *args):
        if VERBOSE:
            log("localapi: " + fmt % args)

    def send_body(self, code, body, ctype="text/plain; charset=utf-8"):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, obj, code=200, indent=2):
        self.send_body(code, json.dumps(obj, indent=indent) + "\n", "application/json")

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PATCH(self):
        self.dispatch()

    def dispatch(self):
        b = self.server.backend
        host = self.headers.get("Host", "")
        if host not in ("", "local-tailscaled.sock"):
            self.body()
            return self.send_body(403, "invalid localapi Host header\n")
        if self.headers.get("Referer") or self.headers.get("Origin"):
            self.body()
            return self.send_body(403, "invalid localapi request\n")
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        path = u.path
        body = self.body()
        m = self.command
        if path == "/":
            return self.send_body(200, "tailscaled\n")
        if not path.startswith("/localapi/v0/"):
            return self.send_body(404, "404 page not found\n")
        name = path[len("/localapi/v0/"):]
        if name == "status":
            peers = (q.get("peers") or ["true"])[0].lower() not in ("false", "0", "f")
            return self.send_body(200, b.status_json(peers) + "\n", "application/json")
        if name == "watch-ipn-bus":
            return self.watch((q.get("mask") or ["0"])[0])
        if name == "whois":
            return self.whois((q.get("addr") or [""])[0])
        if name == "prefs":
            if m == "PATCH":
                try:
                    masked = json.loads(body or b"{}")
                except ValueError as e:
                    return self.send_body(400, "%s\n" % e)
                return self.send_json(b.edit_prefs(masked))
            return self.send_json(b.prefs_json())
        if name == "fake/set-online" and m == "POST":
            b.set_online((q.get("host") or [""])[0], (q.get("online") or ["1"])[0] == "1")
            return self.send_body(200, "ok\n")
        posts = {"start": None, "login-interactive": b.login_interactive, "logout": b.logout,
                 "fake/complete-login": b.login_done, "fake/approve-machine": b.approve_machine}
        if name in posts:
            if m != "POST":
                return self.send_body(405, "want POST\n")
            if name == "start":
                try:
                    b.start(json.loads(body or b"{}"))
                except ValueError as e:
                    return self.send_body(400, "%s\n" % e)
            else:
                posts[name]()
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        return self.send_body(404, "404 not found\n")

    def whois(self, addr):
        b = self.server.backend
        if not addr:
            return self.send_body(400, "missing 'addr' parameter\n")
        ip = addr
        if addr.startswith("["):
            ip = addr[1:addr.index("]")]
        elif addr.count(":") == 1:
            ip = addr.split(":")[0]
        with b.lock:
            n = tailnet.node_for_ip(b.fx, ip, b.prefs) if b.logged_in else None
            if n is None:
                return self.send_body(404, "no match for IP:port\n")
            self.send_json({"Node": tailnet.tailcfg_node(b.fx, n),
                            "UserProfile": tailnet.user_profile(b.fx, n["UserID"]),
                            "CapMap": {}})

    def watch(self, mask_s):
        try:
            mask = int(mask_s, 10)
        except ValueError:
            return self.send_body(400, "invalid mask\n")
        b = self.server.backend
        q = b.watch(mask)
        self.close_connection = True
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            while True:
                try:
                    msg = q.get(timeout=0.5)
                except queue.Empty:
                    # Notice a client that went away even when nothing happens.
                    r, _, _ = select.select([self.connection], [], [], 0)
                    if r and not self.connection.recv(1, socket.MSG_PEEK):
                        return
                    continue
                data = msg if isinstance(msg, bytes) else json.dumps(msg).encode()
                # One chunk per line, its pieces written as they are: a
                # 10,000-peer netmap is 7 MB, not worth two more copies.
                self.wfile.write(b"%x\r\n" % (len(data) + 1))
                self.wfile.write(data)
                self.wfile.write(b"\n\r\n")
                self.wfile.flush()
        except OSError:
            return
        finally:
            b.unwatch(q)


def listen_unix(path):
    """safesocket.Listen: refuse a live socket, replace a stale one."""
    if os.path.exists(path):
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
            probe.close()
            fatal("safesocket.Listen: %s: address already in use" % path)
        except OSError:
            probe.close()
            os.unlink(path)
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, mode=0o755, exist_ok=True)
    srv = LocalAPIServer(path, LocalAPI, bind_and_activate=True)
    os.chmod(path, 0o666)
    return srv


# ---------------------------------------------------------------- main

def serve_forever(lsock, handler, *args):
    def loop():
        while True:
            try:
                c, _ = lsock.accept()
            except OSError:
                return
            threading.Thread(target=handler, args=(c,) + args, daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()


def main(argv):
    global VERBOSE
    args, rest = parse_flags(argv)
    if args["version"]:
        print("1.102.3-fake")
        return 0
    if args["cleanup"]:
        return 0
    if rest:
        fatal("tailscaled does not take non-flag arguments: %r" % rest)
    VERBOSE = args["verbose"]
    # Signals only queue here; the main loop acts on them.  The wakeup fd
    # matters: a signal may land on any thread, and only the fd wakes main.
    pending_signals = []
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda signum, _frame: pending_signals.append(signum))
    if not args["socket"]:
        fatal("--socket is required")
    tuns = args["tun"].split(",")
    global TUN_MODE
    # FAKE_TS_TUN=1 stands for a machine with /dev/net/tun and CAP_NET_ADMIN:
    # a kernel-mode daemon (status TUN=true); it routes nothing in the bed.
    TUN_MODE = "userspace-networking" not in tuns and os.environ.get("FAKE_TS_TUN") == "1"
    if "userspace-networking" not in tuns and not TUN_MODE:
        name = tuns[0]
        log("tun failed: CreateTUN(%r) failed; /dev/net/tun does not exist" % name)
        fatal('wgengine.NewUserspaceEngine(tun "%s") error: tstun.New("%s"): CreateTUN("%s") failed;'
              ' /dev/net/tun does not exist' % (name, name, name))
    state = args["state"]
    if not state and args["statedir"]:
        state = os.path.join(args["statedir"], "tailscaled.state")
    if not state:
        fatal("--statedir (or at least --state) is required")
    state_path = None if state == "mem:" else state
    log("Program starting: v1.102.3-fake, Go 1.25.0-fake: %r" % (["tailscaled"] + argv))
    log("logtail: %s" % ("disabled" if args["no-logs-no-support"] else "started (fake: nothing uploaded)"))

    backend = Backend(tailnet.default_fixture(), state_path)
    timeout_ms = int(os.environ.get("FAKE_TS_DIAL_TIMEOUT_MS") or 5000)
    try:
        delay_ms = int(os.environ.get("FAKE_TS_DIAL_DELAY_MS") or 0)
        if delay_ms < 0:
            raise ValueError("negative")
        delay_rules = parse_dial_delays(os.environ.get("FAKE_TS_DIAL_DELAY"))
    except (ValueError, OSError) as e:
        fatal("FAKE_TS_DIAL_DELAY_MS / FAKE_TS_DIAL_DELAY: %s" % e)
    dialer = Dialer(backend, timeout_ms, delay_ms, delay_rules)

    # Every listener is opened here, in the caller's netns, before setns().
    socks_l = http_l = None
    try:
        if args["socks5-server"]:
            socks_l = listen_tcp(args["socks5-server"])
        if args["outbound-http-proxy-listen"]:
            same = args["outbound-http-proxy-listen"] == args["socks5-server"] and \
                not args["socks5-server"].endswith(":0")
            http_l = socks_l if same else listen_tcp(args["outbound-http-proxy-listen"])
    except (OSError, ValueError) as e:
        fatal("SOCKS5 listener: %s" % e if socks_l is None else "HTTP proxy listener: %s" % e)
    api = listen_unix(args["socket"])
    api.backend = backend

    # Dial from the peer netns: setns on the main thread before any thread
    # exists, so every thread started later inherits it.
    client_ns_fd = peer_ns_fd = None
    ns_path = os.environ.get("BED_PEER_NETNS")
    if ns_path:
        client_ns_fd = os.open("/proc/self/ns/net", os.O_RDONLY)
        peer_ns_fd = os.open(ns_path, os.O_RDONLY)
        setns(peer_ns_fd)
        dialer.client_ns_fd, dialer.peer_ns_fd = client_ns_fd, peer_ns_fd

    socks = Socks5(dialer, os.environ.get("FAKE_TS_LEGACY_ERRORS") == "1", client_ns_fd, peer_ns_fd)

    def mux(c):
        # proxymux: one port for both; the first byte decides.
        try:
            c.settimeout(15)
            first = c.recv(1, socket.MSG_PEEK)
            c.settimeout(None)
        except OSError:
            c.close()
            return
        if first == b"\x05":
            socks.handle(c)
        else:
            http_proxy(c, dialer)

    if socks_l is not None:
        serve_forever(socks_l, mux if http_l is socks_l else socks.handle)
    if http_l is not None and http_l is not socks_l:
        serve_forever(http_l, http_proxy, dialer)
    threading.Thread(target=api.serve_forever, daemon=True).start()

    log("LocalAPI listening on %s" % args["socket"])
    if socks_l is not None:
        log("SOCKS5 listening on %s" % fmt_addr(socks_l.getsockname()))
    if http_l is not None:
        log("HTTP proxy listening on %s" % fmt_addr(http_l.getsockname()))
    log("state: %s" % backend.state)
    # After the "listening" lines a launcher waits for: the encoding (or
    # the cache's reading) then overlaps its next steps, not its wait.
    backend.prepare()

    death_fd = os.environ.get("TS_PARENT_DEATH_FD")
    watch = [wake_r] + ([int(death_fd)] if death_fd else [])
    def stop_requested():
        while pending_signals:
            sig = pending_signals.pop(0)
            if sig != signal.SIGHUP:
                log("tailscaled got signal %s; shutting down" % signal.Signals(sig).name)
                return True
            threading.Thread(target=backend.reload, daemon=True).start()
        return False

    try:
        while not stop_requested():
            r, _, _ = select.select(watch, [], [])
            if wake_r in r:
                os.read(wake_r, 512)
            if death_fd and int(death_fd) in r:
                log("TS_PARENT_DEATH_FD: parent went away; exiting")
                break
    finally:
        try:
            os.unlink(args["socket"])
        except OSError:
            pass
        log("tailscaled: exiting")
        sys.stderr.flush()
        os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
