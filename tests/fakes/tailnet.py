"""The fake tailnet: fixture loading and the JSON shapes real tailscaled serves.

One fixture (tests/fakes/tailnet.json) feeds the fake tailscaled, the fake
`tailscale` CLI and the bed's name map, so all three always agree.

    python3 tailnet.py names FIXTURE OUT     write a name map (docs/name-map.md)
    FAKE_TS_CACHE_DIR=DIR python3 tailnet.py encode FIXTURE
                                            fill the peer-text cache (see "cache")
"""
import copy
import datetime
import ipaddress
import json
import os
import sys

ZERO_TIME = "0001-01-01T00:00:00Z"
CGNAT = ipaddress.ip_network("100.64.0.0/10")
ULA = ipaddress.ip_network("fd7a:115c:a1e0::/48")

# ipn.State numbers, as carried by Notify.State on the IPN bus.
STATES = ["NoState", "InUseOtherUser", "NeedsLogin", "NeedsMachineAuth",
          "Stopped", "Starting", "Running"]


def default_fixture():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.environ.get("FAKE_TS_FIXTURE") or os.path.join(here, "tailnet.json")


def load(path=None):
    with open(path or default_fixture()) as f:
        return json.load(f)


def load_digest(path=None):
    """(fixture, digest): the digest names the fixture's peer texts in the
    cache (see cached_peer_text); None when no cache is asked for. With a
    cache, the decoded fixture itself is kept there too (marshal: 10,000
    peers load in 0.026 s instead of json's 0.044 s)."""
    with open(path or default_fixture(), "rb") as f:
        data = f.read()
    cache = os.environ.get(CACHE_ENV)
    if not cache:
        return json.loads(data), None
    import marshal
    digest = _digest(data)
    path = os.path.join(cache, digest[:40] + ".fixture")
    try:
        with open(path, "rb") as f:
            return marshal.loads(f.read()), digest
    except (OSError, EOFError, ValueError, TypeError):
        pass
    fx = json.loads(data)
    _write_cache(path, marshal.dumps(fx))
    return fx, digest


def suffix(fx):
    return fx["Tailnet"]["MagicDNSSuffix"]


def host_prefix(ip):
    return "%s/%d" % (ip, 32 if ":" not in ip else 128)


def is_tailscale_ip(ip):
    try:
        a = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return a in CGNAT or a in ULA


def self_hostname(fx, prefs):
    return (prefs or {}).get("Hostname") or fx["Self"]["HostName"]


def self_node(fx, prefs=None):
    """Self as nodes() gives it, without copying every peer."""
    me = dict(fx["Self"], HostName=self_hostname(fx, prefs), Online=True, _self=True)
    me["_fqdn"] = "%s.%s" % (me["HostName"].lower(), suffix(fx))
    return me


def nodes(fx, prefs=None):
    """Self then peers, each a dict with a computed FQDN (no trailing dot)."""
    out = [self_node(fx, prefs)]
    for p in fx.get("Peers") or []:
        n = dict(p, _self=False)
        n["_fqdn"] = "%s.%s" % (n["HostName"].lower(), suffix(fx))
        out.append(n)
    return out


# ---------------------------------------------------------------- slots
#
# A big tailnet's peers are most of every status and netmap (9 MB of JSON
# for 10,000 peers, ~0.2 s of Python to build and encode), yet they change
# only with the fixture. So the callers may leave a SLOT string where the
# peers go, encode the small rest, and splice in the peers' text, encoded
# once per tailnet change (tailscaled.py caches it). The bytes are exactly
# json.dumps() of the whole object: JSON text never holds a raw newline, so
# re-indenting the spliced text is a plain replace.

SLOT = "\x00tailnet-slot\x00"


def dumps_spliced(obj, text, indent=None, depth=1):
    """json.dumps(obj, indent=indent) with the one SLOT string in obj
    replaced by text (JSON encoded with the same indent at depth 0) that
    sits depth levels deep."""
    out = json.dumps(obj, indent=indent)
    if indent is not None:
        text = text.replace("\n", "\n" + " " * (indent * depth))
    token = json.dumps(SLOT)
    assert out.count(token) == 1, "one slot"
    return out.replace(token, text)


# Status replies for more peers than this are compact, not indented like
# tailscaled's: Python's indenting encoder is pure Python (0.46 s for
# 10,000 peers, the compact one 0.12 s).
BIG_TAILNET = 1000


def status_indent(fx):
    """The indent of a logged-in status reply (see BIG_TAILNET)."""
    return None if len(fx.get("Peers") or []) > BIG_TAILNET else 2


def encode_piecewise(obj, indent=None, piece=200):
    """json.dumps(obj, indent=indent), the same bytes; a compact dict or
    list is encoded piece members at a time. One json.dumps() call holds the
    GIL throughout (0.06 s for 10,000 peers), stalling every LocalAPI and
    SOCKS5 thread; between pieces the other threads get their turn."""
    if indent is not None or not obj:
        return json.dumps(obj, indent=indent)
    if isinstance(obj, dict):
        items = list(obj.items())
        parts = [json.dumps(dict(items[i:i + piece]))[1:-1] for i in range(0, len(items), piece)]
        return "{%s}" % ", ".join(parts)
    parts = [json.dumps(obj[i:i + piece])[1:-1] for i in range(0, len(obj), piece)]
    return "[%s]" % ", ".join(parts)


def peer_text(fx, key):
    """The peers' text for a SLOT: key ("status", exit_id, indent) -> the
    status Peer map (status_peers), ("netmap",) -> NetMap.Peers."""
    if key[0] == "status":
        return encode_piecewise(status_peers(fx, key[1]), key[2])
    return encode_piecewise(netmap_peers(fx))


# ---------------------------------------------------------------- cache
#
# Encoding a big tailnet's peers is most of the fake's start-up (10,000
# peers: ~0.3 s of CPU for the status map and the netmap list), while a real
# tailscaled serves them in milliseconds. With FAKE_TS_CACHE_DIR set, each
# peer text is also kept there as a file named by a digest of the fixture's
# bytes, this file's source, the Python version and the text's key, and is
# read back instead of encoded: the same bytes. A fixture changed in memory
# (fake/set-online) has no digest and is never cached. The decoded fixture
# is kept too (load_digest). `tailnet.py encode FIXTURE` fills the cache
# ahead (bench/bigtail does, before it measures).

CACHE_ENV = "FAKE_TS_CACHE_DIR"


def _digest(data):
    import hashlib  # only with a cache: its import is not free
    h = hashlib.sha256(sys.version.encode())
    with open(os.path.abspath(__file__), "rb") as f:
        h.update(f.read())
    h.update(data)
    return h.hexdigest()


def cached_peer_text(fx, digest, key):
    """peer_text(fx, key), through the cache when there is one."""
    cache = os.environ.get(CACHE_ENV)
    if not cache or digest is None:
        return peer_text(fx, key)
    import hashlib
    name = hashlib.sha256(("%s %r" % (digest, key)).encode()).hexdigest()[:40]
    path = os.path.join(cache, name + ".json")
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        pass
    text = peer_text(fx, key)
    _write_cache(path, text.encode())
    return text


def _write_cache(path, data):
    try:  # a cache that cannot be written only costs the next start its time
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = "%s.tmp.%d.%d" % (path, os.getpid(), id(data))
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, path)
    except OSError:
        pass


def exit_node(fx, prefs):
    """The peer that prefs select as exit node (ExitNodeID or ExitNodeIP), or None."""
    want_id = (prefs or {}).get("ExitNodeID") or ""
    want_ip = (prefs or {}).get("ExitNodeIP") or ""
    if not want_id and not want_ip:
        return None
    for n in nodes(fx, prefs)[1:]:
        if n["ID"] == want_id or want_ip in (n.get("TailscaleIPs") or []):
            return n
    return None


def peer_status(fx, n, exit_id=None):
    """An ipnstate.PeerStatus for node n (self or peer)."""
    ips = list(n.get("TailscaleIPs") or [])
    allowed = [host_prefix(ip) for ip in ips] + list(n.get("PrimaryRoutes") or [])
    if n.get("ExitNodeOption"):
        allowed += ["0.0.0.0/0", "::/0"]
    port = 40000 + n["NodeID"] % 20000
    st = {
        "ID": n["ID"], "NodeID": n["NodeID"], "PublicKey": n["PublicKey"], "HostName": n["HostName"],
        "DNSName": n["_fqdn"] + ".", "OS": n.get("OS", "linux"), "UserID": n["UserID"],
        "TailscaleIPs": ips, "AllowedIPs": allowed,
    }
    if n.get("Tags"):
        st["Tags"] = n["Tags"]
    if n.get("PrimaryRoutes"):
        st["PrimaryRoutes"] = n["PrimaryRoutes"]
    st.update({
        "Addrs": n.get("Addrs"), "CurAddr": "", "Relay": n.get("Relay", "fra"), "PeerRelay": "",
        "RxBytes": 0, "TxBytes": 0, "Created": n.get("Created", ZERO_TIME),
        "LastWrite": ZERO_TIME, "LastSeen": n.get("LastSeen", ZERO_TIME),
        "LastHandshake": ZERO_TIME, "Online": bool(n.get("Online")),
        "ExitNode": exit_id is not None and n["ID"] == exit_id,
        "ExitNodeOption": bool(n.get("ExitNodeOption")), "Active": False,
        "PeerAPIURL": ["http://%s:%d" % (ip if ":" not in ip else "[%s]" % ip, port) for ip in ips],
        "TaildropTarget": 0, "NoFileSharingReason": "",
        "InNetworkMap": True, "InMagicSock": not n["_self"] and bool(n.get("Online")),
        "InEngine": False,
    })
    if n.get("KeyExpiry"):
        st["KeyExpiry"] = n["KeyExpiry"]
    return st


def status_exit_id(fx, state, prefs=None):
    """The stable ID of the exit node a status marks (ExitNode: true), or None."""
    have_netmap = state in ("Running", "Starting", "Stopped", "NeedsMachineAuth")
    ex = exit_node(fx, prefs) if have_netmap else None
    return ex["ID"] if ex is not None else None


def status_peers(fx, exit_id=None):
    """The Peer map of a logged-in status (None when there are no peers)."""
    peers = nodes(fx)[1:]
    if not peers:
        return None
    return {n["PublicKey"]: peer_status(fx, n, exit_id) for n in peers}


def status(fx, state, prefs=None, peers=True, auth_url="", version=None, slot=False):
    """An ipnstate.Status: the body of GET /localapi/v0/status. With slot,
    a Peer map is left as SLOT (see dumps_spliced; the map is
    status_peers(fx, status_exit_id(fx, state, prefs)))."""
    have_netmap = state in ("Running", "Starting", "Stopped", "NeedsMachineAuth")
    version = version or fx.get("Version", "1.102.3-fake")
    me = self_node(fx, prefs)
    health = []
    if state == "Stopped":
        health = ["Tailscale is stopped."]
    elif state == "NeedsLogin":
        health = ["You are logged out."]
    st = {"Version": version, "TUN": False, "BackendState": state}
    if have_netmap:
        st["HaveNodeKey"] = True
    st["AuthURL"] = auth_url
    if have_netmap:
        self_st = peer_status(fx, me)
        self_st["Online"] = state == "Running"
        st["TailscaleIPs"] = list(me["TailscaleIPs"])
    else:
        # Before login Self exists but carries no tailnet identity.
        self_st = {"ID": "", "PublicKey": "nodekey:" + "0" * 64, "HostName": me["HostName"],
                   "DNSName": "", "OS": "linux", "UserID": 0, "TailscaleIPs": None,
                   "Addrs": None, "CurAddr": "", "Relay": "", "PeerRelay": "", "RxBytes": 0,
                   "TxBytes": 0, "Created": ZERO_TIME, "LastWrite": ZERO_TIME,
                   "LastSeen": ZERO_TIME, "LastHandshake": ZERO_TIME, "Online": False,
                   "ExitNode": False, "ExitNodeOption": False, "Active": False,
                   "PeerAPIURL": None, "TaildropTarget": 0, "NoFileSharingReason": "",
                   "InNetworkMap": False, "InMagicSock": False, "InEngine": False}
        st["TailscaleIPs"] = None
    st["Self"] = self_st
    ex = exit_node(fx, prefs) if have_netmap else None
    if ex is not None:  # omitempty: only while an exit node is selected
        st["ExitNodeStatus"] = {"ID": ex["ID"], "Online": bool(ex.get("Online")),
                                "TailscaleIPs": [host_prefix(ip) for ip in ex["TailscaleIPs"]]}
    st["Health"] = health
    st["MagicDNSSuffix"] = suffix(fx) if have_netmap else ""
    st["CurrentTailnet"] = copy.deepcopy(fx["Tailnet"]) if have_netmap else None
    st["CertDomains"] = fx.get("CertDomains") if have_netmap else None
    st["ExtraRecords"] = None
    if have_netmap and peers and fx.get("Peers"):
        exit_id = ex["ID"] if ex is not None else None
        st["Peer"] = SLOT if slot else status_peers(fx, exit_id)
    else:
        st["Peer"] = None
    users = {}
    if have_netmap:
        for uid, u in (fx.get("Users") or {}).items():
            users[uid] = dict(u, Roles=[])
    st["User"] = users or None
    st["ClientVersion"] = None
    return st


def tailcfg_node(fx, n):
    """A tailcfg.Node, as found in NetMap.Peers/SelfNode and whois answers."""
    ips = list(n.get("TailscaleIPs") or [])
    addrs = [host_prefix(ip) for ip in ips]
    node = {
        "ID": n["NodeID"], "StableID": n["ID"], "Name": n["_fqdn"] + ".", "User": n["UserID"],
        "Key": n["PublicKey"], "KeyExpiry": n.get("KeyExpiry", ZERO_TIME),
        "Machine": "mkey:" + n["PublicKey"].split(":", 1)[1][::-1],
        "DiscoKey": "discokey:" + n["PublicKey"].split(":", 1)[1][:32] * 2,
        "Addresses": addrs, "AllowedIPs": addrs + list(n.get("PrimaryRoutes") or []),
        "Endpoints": n.get("Addrs"), "HomeDERP": 4,
        "Hostinfo": {"OS": n.get("OS", "linux"), "Hostname": n["HostName"]},
        "Created": n.get("Created", ZERO_TIME), "Cap": 130,
        "Online": bool(n.get("Online")), "MachineAuthorized": True,
        "ComputedName": n["HostName"], "ComputedNameWithHost": n["HostName"],
    }
    if n.get("PrimaryRoutes"):
        node["PrimaryRoutes"] = n["PrimaryRoutes"]
    if n.get("Tags"):
        node["Tags"] = n["Tags"]
    return node


def user_profile(fx, uid):
    u = (fx.get("Users") or {}).get(str(uid)) or {"ID": uid, "LoginName": "", "DisplayName": ""}
    return dict(u)


def netmap_peers(fx):
    """NetMap.Peers."""
    return [tailcfg_node(fx, n) for n in nodes(fx)[1:]]


def netmap(fx, prefs=None, slot=False):
    """A netmap.NetworkMap, as carried by Notify.NetMap on the IPN bus.
    With slot, Peers is left as SLOT (the list is netmap_peers(fx))."""
    me = self_node(fx, prefs)
    return {
        "SelfNode": tailcfg_node(fx, me),
        "NodeKey": me["PublicKey"],
        "Peers": SLOT if slot else netmap_peers(fx),
        "DNS": {"Domains": [suffix(fx)], "Proxied": True},
        "Domain": fx["Tailnet"]["Name"],
        "UserProfiles": {uid: dict(u) for uid, u in (fx.get("Users") or {}).items()},
    }


def canon(name):
    return name.rstrip(".").lower()


def resolve(fx, name, prefs=None):
    """MagicDNS lookup from the netmap: FQDN or short name -> the node, else None."""
    key = canon(name)
    sfx = "." + suffix(fx)
    for n in nodes(fx, prefs):
        if key == n["_fqdn"] or key + sfx == n["_fqdn"]:
            return n
    return None


def node_for_ip(fx, ip, prefs=None):
    """The node owning tailnet address ip, or None."""
    for n in nodes(fx, prefs):
        if ip in (n.get("TailscaleIPs") or []):
            return n
    return None


def route_owner(fx, ip, prefs=None):
    """The peer advertising a subnet route containing ip, or None."""
    a = ipaddress.ip_address(ip)
    for n in nodes(fx, prefs)[1:]:
        for r in n.get("PrimaryRoutes") or []:
            if a in ipaddress.ip_network(r, strict=False):
                return n
    return None


def names_map(fx, prefs=None, version=None):
    """The name map text (docs/name-map.md) for a logged-in node."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = ["tsrun-names 1",
             "# generated %s from tailscaled %s (fake fixture)" % (now, version or fx.get("Version")),
             "suffix " + suffix(fx)]
    all_nodes = nodes(fx, prefs)
    for n in all_nodes:
        lines.append("node %s %s %s %s" % (
            n["_fqdn"], "self" if n["_self"] else "peer",
            "online" if n.get("Online") else "offline", " ".join(n["TailscaleIPs"])))
    lines.append("end %d" % len(all_nodes))
    return "\n".join(lines) + "\n"


def write_atomic(path, text):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


def main(argv):
    if len(argv) == 4 and argv[1] == "names":
        write_atomic(argv[3], names_map(load(argv[2])))
        return 0
    if len(argv) == 3 and argv[1] == "encode" and os.environ.get(CACHE_ENV):
        # What a cold start asks for: the netmap, and the status without
        # an exit node (prefs select none before `tailscale up`).
        fx, digest = load_digest(argv[2])
        cached_peer_text(fx, digest, ("netmap",))
        cached_peer_text(fx, digest, ("status", None, status_indent(fx)))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
