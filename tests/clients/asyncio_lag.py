"""N concurrent asyncio.open_connection()s, and how long the loop stalled.

    python3 asyncio_lag.py [--n N] [--timeout-ms T] [--warmup W] [--warmup-bursts K] http://HOST:PORT/PATH   GET, wants a 200
    python3 asyncio_lag.py [--n N] [--timeout-ms T] [--warmup W] [--warmup-bursts K] HOST:PORT               one echoed line

W connections (default 1) run one after another first and are not measured,
whatever their outcome (the first connection's one-time costs are the
runtime's start-up). Then K bursts (default 0) of N concurrent connections,
also not measured: the measured burst is then not the first of its size
(allocator arenas, the loop's own structures grown, caches warm).

Prints one line and exits 0 only if every connection succeeded:
    total_ms=<first start to last end> max_lag_ms=<worst lag of a 1 ms sleep loop> ok=<count> errors=<CODE:count,...|none>
CODE: the errno name of an OSError (ECONNREFUSED, ECONNRESET, ...), EOF for
a connection closed early, HTTP_<status>, SHORT for a wrong echo, TIMEOUT
past --timeout-ms (default 30000). Works with or without the shim.
"""
import asyncio
import errno
import sys
import time
import urllib.parse


def now_ms():
    return time.monotonic() * 1000.0


async def one_http(u):
    r, w = await asyncio.open_connection(u.hostname, u.port or 80)
    try:
        w.write(("GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" % (u.path or "/", u.netloc)).encode())
        await w.drain()
        data = await r.read()
    finally:
        w.close()
    status = data.split(b"\r\n", 1)[0].split(b" ")
    if len(status) < 2:
        return "EOF"
    return None if status[1] == b"200" else "HTTP_" + status[1].decode("latin-1")


async def one_echo(host, port):
    r, w = await asyncio.open_connection(host, port)
    try:
        w.write(b"ping\n")
        await w.drain()
        line = await r.readline()
    finally:
        w.close()
    return None if line == b"ping\n" else ("EOF" if not line else "SHORT")


def code_of(e):
    if isinstance(e, OSError) and e.errno:
        return errno.errorcode.get(e.errno, str(e.errno))
    if isinstance(e, asyncio.IncompleteReadError):
        return "EOF"
    return type(e).__name__


async def main(argv):
    n, timeout_ms, warmup, bursts, target = 20, 30000, 1, 0, None
    i = 0
    while i < len(argv):
        if argv[i] == "--n":
            n, i = int(argv[i + 1]), i + 1
        elif argv[i] == "--timeout-ms":
            timeout_ms, i = int(argv[i + 1]), i + 1
        elif argv[i] == "--warmup":
            warmup, i = int(argv[i + 1]), i + 1
        elif argv[i] == "--warmup-bursts":
            bursts, i = int(argv[i + 1]), i + 1
        else:
            target = argv[i]
        i += 1
    if not target or n < 1:
        sys.stderr.write(__doc__)
        return 2
    if target.startswith("http://"):
        u = urllib.parse.urlsplit(target)
        make = lambda: one_http(u)  # noqa: E731
    else:
        host, _, port = target.rpartition(":")
        host = host.strip("[]")
        make = lambda: one_echo(host, int(port))  # noqa: E731

    max_lag = 0.0
    stop = asyncio.Event()

    async def lag():
        nonlocal max_lag
        last = now_ms()
        while not stop.is_set():
            await asyncio.sleep(0.001)
            t = now_ms()
            max_lag = max(max_lag, t - last - 1.0)
            last = t

    async def guarded():
        try:
            return await make()
        except Exception as e:  # noqa: BLE001 -- every failure is a counted code
            return code_of(e)

    for _ in range(warmup):  # outcome not counted: the measured ones report it
        try:
            await asyncio.wait_for(guarded(), timeout_ms / 1000.0)
        except asyncio.TimeoutError:
            pass
    for _ in range(bursts):  # likewise, a whole burst at a time
        await asyncio.wait([asyncio.ensure_future(guarded()) for _ in range(n)],
                           timeout=timeout_ms / 1000.0)

    t0 = now_ms()
    lag_task = asyncio.ensure_future(lag())
    await asyncio.sleep(0)  # the lag task is running before the first connect
    tasks = [asyncio.ensure_future(guarded()) for _ in range(n)]
    finished, pending = await asyncio.wait(tasks, timeout=timeout_ms / 1000.0)
    total = now_ms() - t0
    stop.set()
    await lag_task
    for t in pending:
        t.cancel()
    errors = {}
    ok = 0
    for t in finished:
        code = t.result()
        if code is None:
            ok += 1
        else:
            errors[code] = errors.get(code, 0) + 1
    if pending:
        errors["TIMEOUT"] = len(pending)
    errs = ",".join("%s:%d" % kv for kv in sorted(errors.items())) or "none"
    print("total_ms=%.1f max_lag_ms=%.1f ok=%d errors=%s" % (total, max(0.0, max_lag), ok, errs), flush=True)
    return 0 if ok == n else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
