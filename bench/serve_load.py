"""Bounded load test of `qrules serve` on localhost (issue 15). Prints, asserts nothing.

    .venv/bin/python bench/serve_load.py                    # 2,000 evaluate requests, 4 clients
    .venv/bin/python bench/serve_load.py --requests 500 --clients 8 --subject ht

Starts `qrules serve` on 127.0.0.1 (a free port) with the example history, warms it up,
then sends POST /api/evaluate from several client threads over keep-alive connections and
prints latency percentiles, throughput and the status codes seen. By default each request
evaluates the whole example history (53 subjects, about 140 events) as of 2025-12-31;
--subject evaluates one subject (the connected part of the history only).
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "qrules.cli", "serve", "--rulesets", str(ROOT / "rulesets"),
                             "--history", str(ROOT / "examples" / "haojiang-history.yaml"), "--as-of", "2025-12-31",
                             "--port", str(port), "--log-level", "warning"])
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/rulesets", timeout=1).read()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("qrules serve did not start")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--subject", help="evaluate only this subject (default: the whole history)")
    args = ap.parse_args(argv)

    port = free_port()
    proc = start(port)
    body = json.dumps({"ruleset": "haojiang-2023", "as_of": "2025-12-31",
                       **({"subjects": [args.subject]} if args.subject else {})}).encode()
    latencies: list[float] = []
    statuses: Counter = Counter()
    sizes: list[int] = []
    lock = threading.Lock()
    todo = iter(range(args.requests))

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                if next(todo, None) is None:
                    break
            t = time.perf_counter()
            conn.request("POST", "/api/evaluate", body, {"Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
            dt_ms = (time.perf_counter() - t) * 1000
            with lock:
                latencies.append(dt_ms)
                statuses[resp.status] += 1
                sizes.append(len(data))
        conn.close()

    try:
        for _ in range(20):  # warm-up: compiled rulesets are loaded at start-up; this warms the caches
            urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/api/evaluate", body,
                                                          {"Content-Type": "application/json"})).read()
        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        t0 = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    what = f"subject {args.subject}" if args.subject else "the whole example history (53 subjects)"
    print(f"qrules serve load test: {len(latencies)} POST /api/evaluate of {what}, {args.clients} clients, "
          f"keep-alive, 127.0.0.1")
    print(f"  status codes: {dict(statuses)}; response size {statistics.median(sizes) / 1000:.1f} kB (median)")
    print(f"  latency ms: p50 {pct(latencies, 50):.1f}  p90 {pct(latencies, 90):.1f}  p99 {pct(latencies, 99):.1f}  "
          f"max {max(latencies):.1f}  mean {statistics.fmean(latencies):.1f}")
    print(f"  throughput: {len(latencies) / wall:.0f} requests/s over {wall:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
