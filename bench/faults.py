"""Benchmark of source faults: how long a scan takes, and how much memory, when a
source misbehaves.

Serves every fault of ``tests/faultserver.py`` (hang, drip, reset mid-body, gzip
bomb, redirect loop, 10 MB single lines, an unclosed link, wrong charsets) on
127.0.0.1 from this process. Each fault is scanned in a child process of its own,
so its peak memory is its own: the child loads a temporary config.toml (``[http]``
timeout and size cap from the options), warms up (jieba's dictionary and the
parsers load on a first scan of the healthy feed alone), then scans the healthy
feed and the fault together `--runs` times, each in a fresh data directory, with
`App.scan_all`. Reported per fault: the slowest scan, the peak resident set size
(RSS) above the warmed-up process (read from /proc every 5 ms, so Linux only), and
what the fault's source reported. A last row scans every fault at once. Prints a
table and one JSON line.

The RSS figure levels off after a few scans (ten scans peak no higher than three):
memory the allocator keeps for the parser threads is reused, not leaked.

    .venv/bin/python bench/faults.py                 # 3 scans of each fault
    .venv/bin/python bench/faults.py --runs 1 hang   # chosen faults only
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot import config  # noqa: E402
from bot.app import App  # noqa: E402
from tests.faultserver import FAULTS, FaultServer, source_toml  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 3, 5, 10, 0, tzinfo=TZ)
ALL = "(all at once)"
HEALTHY = "健康来源"

CONFIG = """
admins = ["admin"]

[bot]
name = "故障基准"
data_dir = "data"

[[sections]]
id = "szk"
name = "税政管理科"
monitors = ["zhangsan"]
heads = ["lisi"]
chat = "szk-group"

[office]
members = ["sunqi"]
chat = "office-group"

[http]
timeout_s = {timeout_s}
max_bytes = {max_bytes}
retries = {retries}
per_host_delay_s = 0

[scan]
failures_before_alert = 1

[[rules]]
name = "虚开发票"
expr = "虚开发票"
section = "szk"

"""


class Poster:
    """Accepts every message (the bench measures scans, not delivery)."""

    async def post(self, chat: str, text: str) -> None:
        pass


class RssSampler:
    """Samples this process's RSS every 5 ms in a thread; `peak` in bytes."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self.peak = current_rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, current_rss())


def current_rss() -> int:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize()


# --- the child: scans one fault -----------------------------------------------------


def child(args: argparse.Namespace) -> None:
    chosen = [f for f in FAULTS if f.name == args.child]
    faults = FAULTS if args.child == ALL else chosen
    healthy = source_toml(HEALTHY, "rss", f"{args.base}/ok")
    sources = healthy + "".join(
        source_toml(f.name, f.kind, f"{args.base}/{f.name}") for f in faults
    )
    head = CONFIG.format(
        timeout_s=args.timeout_s, max_bytes=args.max_bytes, retries=args.retries
    )
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp:
        folders = [Path(tmp) / f"run{run}" for run in range(args.runs)]
        warm = write_config(Path(tmp) / "warm", head + healthy)
        runs = [write_config(folder, head + sources) for folder in folders]
        times, reports, rss_before, peak = asyncio.run(measure(warm, runs))
    outcome = {}
    for name, (ok, items, hits, error) in reports[-1].items():
        outcome[name] = error if not ok else f"ok: {items} items, {hits} hits"
    print(
        json.dumps(
            {
                "fault": args.child,
                "max_s": max(times),
                "times_s": times,
                "rss_growth_mb": (peak - rss_before) / 1e6,
                "outcome": outcome,
                "healthy_ok": all(r[HEALTHY][0] and r[HEALTHY][2] for r in reports),
            },
            ensure_ascii=False,
        )
    )


async def measure(
    warm: Path, runs: list[Path]
) -> tuple[list[float], list[dict[str, tuple[bool, int, int, str]]], int, int]:
    """Warm up with `warm`, then scan each of `runs` (fresh data directories) in
    this one event loop, as the bot would: (times, reports, RSS before, peak)."""
    await scan(warm)
    rss_before = current_rss()
    times: list[float] = []
    reports = []
    with RssSampler() as sampler:
        for path in runs:
            started = time.perf_counter()
            reports.append(await scan(path))
            times.append(time.perf_counter() - started)
    return times, reports, rss_before, sampler.peak


def write_config(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True)
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def scan(path: Path) -> dict[str, tuple[bool, int, int, str]]:
    settings = config.load(path, env={})
    async with App.open(settings, clock=lambda: NOW) as app:
        app.poster = Poster()
        report = await app.scan_all()
    return {s.name: (s.ok, s.items, s.hits, s.error) for s in report.sources}


# --- the parent: serves the faults, runs a child per fault --------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("faults", nargs="*", help="fault names (default: all)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout-s", type=float, default=1.0)
    parser.add_argument("--max-bytes", type=int, default=12_000_000)
    parser.add_argument("--retries", type=int, default=0)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    names = args.faults or [f.name for f in FAULTS] + [ALL]
    print(
        f"[http] timeout_s={args.timeout_s:g} max_bytes={args.max_bytes:,} "
        f"retries={args.retries}; {args.runs} scan(s) of each fault beside a "
        "healthy feed, each child warmed up first"
    )
    print(f"{'fault':<20} {'max s':>6} {'RSS +MB':>8}  outcome")
    results = []
    with FaultServer(NOW) as server:
        for name in names:
            result = run_child(name, server.base_url, args)
            results.append(result)
            outcome = result["outcome"].get(name, "")
            if name == ALL:
                failed = sum(1 for o in result["outcome"].values() if "ok:" not in o)
                outcome = f"{failed} of {len(result['outcome'])} sources failed"
            if not result["healthy_ok"]:
                outcome += "  [healthy source missed its hit!]"
            print(
                f"{name:<20} {result['max_s']:>6.2f} "
                f"{result['rss_growth_mb']:>8.1f}  {outcome}"
            )
    print(json.dumps(results, ensure_ascii=False))


def run_child(name: str, base: str, args: argparse.Namespace) -> dict[str, object]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        name,
        "--base",
        base,
        f"--runs={args.runs}",
        f"--timeout-s={args.timeout_s}",
        f"--max-bytes={args.max_bytes}",
        f"--retries={args.retries}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"child for {name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
