// loop_lag.js: N concurrent connections from one node event loop, and how long
// the loop stalled meanwhile (a 1 ms setInterval's worst lateness).
//
//   node loop_lag.js [--n N] [--timeout-ms T] [--warmup W] [--warmup-bursts K] http://HOST:PORT/PATH   N x http.get (no agent)
//   node loop_lag.js [--n N] [--timeout-ms T] [--warmup W] [--warmup-bursts K] HOST:PORT               N x net.connect + one echoed line
//
// W connections (default 1) run one after another first and are not
// measured, whatever their outcome: they compile node's http/net code, which is node's start-up,
// not the connects' (a cold first burst costs this VM ~15 ms of lag with or
// without any proxy). Then K bursts (default 0) of N concurrent connections,
// not measured either: V8 has then seen the concurrent paths too (a JIT
// warm-up of the workload's own size).
//
// Prints one line and exits 0 only if every connection succeeded:
//   total_ms=<first start to last end> max_lag_ms=<worst timer lag> ok=<count> errors=<CODE:count,...|none>
// CODE is the error's err.code (ECONNREFUSED, ECONNRESET, ...), HTTP_<status>
// for a non-200 answer, SHORT for a wrong echo, TIMEOUT for anything still
// open after --timeout-ms (default 30000). Works with or without the shim.
'use strict';
const http = require('http');
const net = require('net');

let n = 20, timeoutMs = 30000, warmup = 1, bursts = 0, target = null;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--n') n = parseInt(argv[++i], 10);
  else if (argv[i] === '--timeout-ms') timeoutMs = parseInt(argv[++i], 10);
  else if (argv[i] === '--warmup') warmup = parseInt(argv[++i], 10);
  else if (argv[i] === '--warmup-bursts') bursts = parseInt(argv[++i], 10);
  else target = argv[i];
}
if (!target || !(n > 0)) {
  process.stderr.write('usage: node loop_lag.js [--n N] [--timeout-ms T] URL|HOST:PORT\n');
  process.exit(2);
}

const now = () => Number(process.hrtime.bigint()) / 1e6;
const errors = new Map();
let ok = 0, done = 0, maxLag = 0, t0 = 0, last = 0, timer = null, guard = null;

function start() {
  t0 = now();
  last = t0;
  timer = setInterval(() => {
    const t = now();
    maxLag = Math.max(maxLag, t - last - 1);
    last = t;
  }, 1);
  guard = setTimeout(() => {
    if (n - done > 0) errors.set('TIMEOUT', n - done);
    finish();
  }, timeoutMs);
  for (let i = 0; i < n; i++) one(end);
}

function finish() {
  clearInterval(timer);
  clearTimeout(guard);
  const t = now();
  maxLag = Math.max(maxLag, t - last - 1); // a stall right before the end counts too
  const errs = [...errors].map(([k, v]) => `${k}:${v}`).join(',') || 'none';
  process.stdout.write(`total_ms=${(t - t0).toFixed(1)} max_lag_ms=${Math.max(0, maxLag).toFixed(1)} ` +
                       `ok=${ok} errors=${errs}\n`);
  process.exit(ok === n ? 0 : 1);
}

function end(code) {
  if (code) errors.set(code, (errors.get(code) || 0) + 1);
  else ok++;
  if (++done === n) finish();
}

// The warm-up connections, one after another, each within --timeout-ms;
// their outcome does not count (the measured ones report it).
function warm(left) {
  if (left <= 0) return warmBursts(bursts);
  let moved = false;
  const next = () => { if (!moved) { moved = true; clearTimeout(t); warm(left - 1); } };
  const t = setTimeout(next, timeoutMs);
  one(next);
}

// Then the unmeasured bursts: n at once, the next when all have ended (or
// after --timeout-ms).
function warmBursts(left) {
  if (left <= 0) return start();
  let ended = 0, moved = false;
  const next = () => { if (!moved) { moved = true; clearTimeout(t); warmBursts(left - 1); } };
  const t = setTimeout(next, timeoutMs);
  for (let i = 0; i < n; i++) one(() => { if (++ended === n) next(); });
}

function oneHttp(end) {
  let ended = false;
  const once = (code) => { if (!ended) { ended = true; end(code); } };
  const req = http.get(target, { agent: false }, (res) => {
    res.resume();
    res.on('end', () => once(res.statusCode === 200 ? null : `HTTP_${res.statusCode}`));
    res.on('error', (e) => once(e.code || 'ERROR'));
  });
  req.on('error', (e) => once(e.code || 'ERROR'));
}

function oneEcho(host, port, end) {
  let got = '', ended = false;
  const once = (code) => { if (!ended) { ended = true; end(code); } };
  const s = net.connect({ host, port }, () => s.write('ping\n'));
  s.setEncoding('latin1');
  s.on('data', (d) => {
    got += d;
    if (got.includes('\n')) {
      s.destroy();
      once(got === 'ping\n' ? null : 'SHORT');
    }
  });
  s.on('end', () => once(got === 'ping\n' ? null : 'SHORT'));
  s.on('error', (e) => once(e.code || 'ERROR'));
}

let one;
if (/^https?:\/\//.test(target)) {
  one = oneHttp;
} else {
  const m = /^\[?(.*?)\]?:(\d+)$/.exec(target);
  if (!m) {
    process.stderr.write(`loop_lag.js: bad target ${target}\n`);
    process.exit(2);
  }
  one = (cb) => oneEcho(m[1], parseInt(m[2], 10), cb);
}
warm(warmup);
