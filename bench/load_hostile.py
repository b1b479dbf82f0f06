#!/usr/bin/env python3
"""Hostile-client load test of `baton serve` (issue 17). Not a test: prints a Markdown table.

10,000 idle connections and 200 slowloris clients (kept up: a connection the server closes is
opened again) attack the API port while a signed GitHub push arrives every 100 ms and /healthz
is probed every 100 ms on the probe listener (`api.probe_listen`, what the chart's kubelet
probes ask) and on the API port, for DURATION seconds. Traffic goes to 127.0.0.1 only; every
loop is bounded in count and time. Reports /healthz latency on each listener, pushes answered
202 "triggered", and the daemon's open file descriptors against its limit.

    bench/load-hostile [SECONDS]      # wrapper: builds baton, raises ulimit -n, runs this
"""
import asyncio, hashlib, hmac, json, os, re, resource, subprocess, sys, tempfile, time

BATON = os.environ.get("BATON_BIN", "target/release/baton")
DURATION = float(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] != "--attack" else 60.0
IDLE, SLOW = 10_000, 200
SECRET = b"load-hook-secret"
MAX_RECONNECTS = 500_000  # bound on the attackers' reconnect loops


def config(d):
    open(f"{d}/tokens", "w").write("load-token\n")
    open(f"{d}/hook", "w").write(SECRET.decode() + "\n")
    open(f"{d}/baton.yaml", "w").write(f"""
state: sqlite://{d}/data/baton.db
listen: 127.0.0.1:0
api_tokens_file: tokens
api: {{probe_listen: "127.0.0.1:0"}}
git: {{webhook_secret_file: hook}}
jenkins: {{url: "http://127.0.0.1:9", user: baton, token_file: tokens}}
spinnaker: {{gate_url: "http://127.0.0.1:9"}}
products:
  - name: load
    environments: [dev]
    chart: {{repository: "http://127.0.0.1:9/charts", name: c, version: "^1"}}
    chart_source: {{git: "https://github.com/acme/charts.git", poll: 1h}}
""")
    return f"{d}/baton.yaml"


async def start(conf):
    p = await asyncio.create_subprocess_exec(BATON, "serve", "--config", conf,
        stderr=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
        env={**os.environ, "RUST_LOG": "info"})
    log, probe = [], None
    while True:
        line = (await asyncio.wait_for(p.stderr.readline(), 30)).decode()
        if not line:
            raise SystemExit("baton serve exited:\n" + "".join(log))
        log.append(line)
        m = re.search(r"probes \(/healthz, /readyz, /metrics\) on (\S+)", line)
        if m:
            probe = int(m.group(1).rsplit(":", 1)[1])
        m = re.search(r"baton listening on (\S+)", line)
        if m:
            host, port = m.group(1).rsplit(":", 1)
            async def drain():
                async for l in p.stderr:
                    log.append(l.decode())
            asyncio.ensure_future(drain())
            if probe is None:
                raise SystemExit("no probe listener in the log:\n" + "".join(log))
            return p, int(port), probe, log


class Health:
    def __init__(self):
        self.answers = []    # seconds per /healthz answer
        self.failures = 0


class Stats:
    reconnects = 0
    pushes_sent = 0
    pushes_ok = 0
    push_errors = []
    fds = []


async def idle(port, stop, st):
    while not stop.is_set() and st.reconnects < MAX_RECONNECTS:
        try:
            r, w = await asyncio.open_connection("127.0.0.1", port)
            await r.read(1)  # returns when the server closes it
            w.close()
        except OSError:
            await asyncio.sleep(0.2)
        st.reconnects += 1


async def slowloris(port, stop, st):
    while not stop.is_set() and st.reconnects < MAX_RECONNECTS:
        try:
            r, w = await asyncio.open_connection("127.0.0.1", port)
            w.write(b"POST /hooks/github HTTP/1.1\r\nHost: x\r\n")
            while not stop.is_set():
                await asyncio.sleep(1)
                w.write(b"X-a: b\r\n")
                await w.drain()
                if r.at_eof():
                    break
            w.close()
        except OSError:
            await asyncio.sleep(0.2)
        st.reconnects += 1


async def request(port, raw, timeout=5.0):
    r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    w.write(raw)
    data = await asyncio.wait_for(r.read(), timeout)
    w.close()
    return data


async def health(port, stop, h):
    while not stop.is_set():
        t = time.monotonic()
        try:
            a = await request(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            if a.startswith(b"HTTP/1.1 200"):
                h.answers.append(time.monotonic() - t)
            else:
                h.failures += 1
        except (OSError, asyncio.TimeoutError):
            h.failures += 1
        await asyncio.sleep(0.1)


async def pushes(port, stop, st):
    n = 0
    while not stop.is_set():
        n += 1
        body = json.dumps({"ref": "refs/heads/main", "after": f"{n:040x}", "deleted": False,
            "repository": {"clone_url": "https://github.com/acme/charts.git"}}).encode()
        sig = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        raw = (f"POST /hooks/github HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
               f"Content-Type: application/json\r\nX-GitHub-Event: push\r\nX-GitHub-Delivery: load-{n}\r\n"
               f"X-Hub-Signature-256: {sig}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
        try:
            a = await request(port, raw, timeout=10)
            # Counted once answered (or failed): a push cut off by the end of the run is not sent.
            st.pushes_sent += 1
            if a.startswith(b"HTTP/1.1 202") and b'"triggered"' in a:
                st.pushes_ok += 1
            else:
                st.push_errors.append(a[:80])
        except (OSError, asyncio.TimeoutError) as e:
            st.pushes_sent += 1
            st.push_errors.append(repr(e))
        await asyncio.sleep(0.1)


async def fds(pid, stop, st):
    while not stop.is_set():
        try:
            st.fds.append(len(os.listdir(f"/proc/{pid}/fd")))
        except OSError:
            pass
        await asyncio.sleep(0.5)


async def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with tempfile.TemporaryDirectory() as d:
        proc, port, probe_port, log = await start(config(d))
        limit = int(re.search(r"Max open files\s+(\d+)", open(f"/proc/{proc.pid}/limits").read()).group(1))
        st, stop = Stats(), asyncio.Event()
        # The attackers run in processes of their own, so the probes measure the daemon and
        # not this event loop's lag.
        attackers = [await asyncio.create_subprocess_exec(sys.executable, __file__, "--attack",
            str(port), str(DURATION), str(IDLE // 4), str(SLOW // 4)) for _ in range(4)]
        on_probe, on_api = Health(), Health()
        tasks = [asyncio.ensure_future(health(probe_port, stop, on_probe)),
                 asyncio.ensure_future(health(port, stop, on_api)),
                 asyncio.ensure_future(pushes(port, stop, st))]
        tasks.append(asyncio.ensure_future(fds(proc.pid, stop, st)))
        await asyncio.sleep(DURATION)
        stop.set()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for a in attackers:
            await a.wait()
        proc.terminate()
        await proc.wait()
    limit_lines = sum("connection limit reached" in l for l in log)
    print(f"| figure | value |\n| --- | --- |")
    print(f"| duration | {DURATION:.0f} s |")
    print(f"| attackers | {IDLE} idle + {SLOW} slowloris (4 processes) on the API port |")
    for name, hs in (("probe listener", on_probe), ("API port", on_api)):
        h = sorted(hs.answers)
        pct = lambda q: h[min(len(h) - 1, int(q * len(h)))] * 1000 if h else float("nan")
        within = sum(x <= 0.1 for x in h)
        print(f"| /healthz on the {name}: answered | {len(h)} ({hs.failures} failed) |")
        print(f"| /healthz on the {name}: p50 / p99 / max | {pct(.5):.1f} / {pct(.99):.1f} / {(h[-1]*1000 if h else float('nan')):.1f} ms |")
        print(f"| /healthz on the {name}: within 100 ms | {within} of {len(h) + hs.failures} ({100 * within / max(1, len(h) + hs.failures):.1f} %) |")
    print(f"| signed pushes 202 triggered | {st.pushes_ok} of {st.pushes_sent} |")
    print(f"| daemon fds max / limit | {max(st.fds) if st.fds else 0} / {limit} |")
    print(f"| 'connection limit reached' log lines | {limit_lines} |")
    for e in st.push_errors[:5]:
        print(f"push error: {e!r}", file=sys.stderr)

async def attack(port, duration, n_idle, n_slow):
    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
    st, stop = Stats(), asyncio.Event()
    tasks = [asyncio.ensure_future(idle(port, stop, st)) for _ in range(n_idle)]
    tasks += [asyncio.ensure_future(slowloris(port, stop, st)) for _ in range(n_slow)]
    await asyncio.sleep(duration)
    stop.set()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


if len(sys.argv) > 1 and sys.argv[1] == "--attack":
    asyncio.run(attack(int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])))
else:
    asyncio.run(main())
