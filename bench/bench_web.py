"""Web interface benchmark (issue 15), figures printed against a floor measured in the same run.

    python -m bench.bench_web [--items 10000] [--sources 1000] [--events 100000] [--runs 20] [--clients 50]
                              [--postgres URL]

A database of N items, S sources and E events in all (registrations, lifecycle steps and page
changes). `tracker web`'s server (uvicorn in a thread of this process) answers a real HTTP client
(httpx) over loopback:

1. the record page (100 items of one jurisdiction matching a word), an item page (its timeline)
   and the JSON API (/api/items), each against the floor: the same query done through the same
   services plus Jinja2 rendering (or json.dumps) alone, in this process, without HTTP.
   Target: each within 3x the floor's time.
2. C concurrent clients (threads, one connection each) mixing the three: no errors allowed;
   requests per second and the slowest request are reported.

On SQLite, and on PostgreSQL too with --postgres URL (or TRACKER_TEST_POSTGRES_URL): a fresh schema.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from bench.bench_digest import changes, register
from bench.bench_tick import database
from tracker.app import App
from tracker.rendering.web import render_page
from tracker.settings import load_settings
from tracker.web.auth import ANONYMOUS
from tracker.web.handling import Call, Page
from tracker.web.record_pages import item, record
from tracker.web.server import WebServer
from tracker.web.state import Web

TARGET = 3.0  # at most this many times the floor's time


def times_line(name: str, ours: float, floor: float) -> str:
    times = ours / floor if floor else float("inf")
    verdict = "OK" if times <= TARGET else "ABOVE TARGET"
    return (f"{name:<28} ours {ours * 1000:8.2f} ms  floor {floor * 1000:8.2f} ms  = {times:4.2f}x the floor "
            f"(target <= {TARGET:.0f}x) {verdict}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_app(home: Path, url: str) -> App:
    app = App(load_settings(environ={"TRACKER_HOME": str(home), "TRACKER_DATABASE_URL": url}))
    app.init()
    return app


def build(home: Path, url: str, items: int, sources: int, events: int) -> None:
    app = make_app(home, url)
    register(app, items=items, sources=sources)
    changes(app, events - items - sources, items=items, sources=sources, page_share=0.3)
    app.fresh()
    app.close()


def floor_page(web: Web, handler: Callable[[Web, Call], Page], params: dict[str, str], path: dict[str, str],
               as_json: bool) -> int:
    """The page's services and its rendering, without HTTP or Starlette."""
    call = Call(params, path, {}, ANONYMOUS, "0" * 64, "/")
    page = handler(web, call)
    if as_json:
        return len(json.dumps(page.data, ensure_ascii=False, default=str))
    return len(render_page(page.template, title=page.title, v=page.view, nav=web.nav, who=ANONYMOUS,
                           csrf_token="0" * 64, csrf_field="csrf_token", url="/"))


def best_pair(runs: int, ours: Callable[[], object], floor: Callable[[], object]) -> tuple[float, float]:
    """The best time of each, the two alternating run by run (the machine is shared: a slow moment
    should not land on one side only)."""
    ours_times: list[float] = []
    floor_times: list[float] = []
    for _ in range(runs):
        for fn, times in ((ours, ours_times), (floor, floor_times)):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return min(ours_times), min(floor_times)


def concurrent(base: str, clients: int, per_client: int, urls: list[str]) -> tuple[int, int, float, float]:
    errors: list[str] = []
    slowest = [0.0]
    lock = threading.Lock()

    def client(n: int) -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            for k in range(per_client):
                url = urls[(n + k) % len(urls)]
                start = time.perf_counter()
                try:
                    response = http.get(url)
                    if response.status_code != 200:
                        errors.append(f"{url}: {response.status_code}")
                except httpx.HTTPError as exc:
                    errors.append(f"{url}: {exc!r}")
                took = time.perf_counter() - start
                with lock:
                    slowest[0] = max(slowest[0], took)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    for error in errors[:5]:
        print(f"  error: {error}")
    return clients * per_client, len(errors), elapsed, slowest[0]


def run(args: argparse.Namespace, backend: str, url: str, home: Path) -> None:
    started = time.perf_counter()
    build(home, url, args.items, args.sources, args.events)
    print(f"[{backend}] web: {args.items} items, {args.sources} sources, {args.events} events "
          f"(built in {time.perf_counter() - started:.1f}s)")
    app = make_app(home, url)
    web = Web(app)
    port = free_port()
    server = WebServer(app, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}"
    item_id = f"bench-{args.items // 2}"
    cases = [
        ("record page (100 rows)", "/", {"jurisdiction": "CN", "q": "guideline"}, {}, record, False),
        ("item page (timeline)", f"/items/{item_id}", {}, {"item_id": item_id}, item, False),
        ("JSON API /api/items", "/api/items", {"jurisdiction": "CN", "q": "guideline"}, {}, record, True),
        ("JSON API /api/items/{id}", f"/api/items/{item_id}", {}, {"item_id": item_id}, item, True),
    ]
    try:
        with httpx.Client(base_url=base, timeout=60) as http:
            for name, url_path, params, path, handler, as_json in cases:
                response = http.get(url_path, params=params)
                assert response.status_code == 200, (url_path, response.status_code, response.text[:300])
                floor_size = floor_page(web, handler, params, path, as_json)
                ours, floor = best_pair(args.runs, lambda: http.get(url_path, params=params).raise_for_status(),
                                        lambda: floor_page(web, handler, params, path, as_json))
                print(times_line(name, ours, floor)
                      + f"  [{len(response.content) / 1024:.0f} KiB over HTTP, {floor_size / 1024:.0f} K chars floor]")
        urls = ["/?jurisdiction=CN&q=guideline", f"/items/{item_id}", "/api/items?jurisdiction=US",
                f"/items/bench-{args.items // 3}", "/api/items/bench-7"]
        total, errors, elapsed, slowest = concurrent(base, args.clients, args.per_client, urls)
        verdict = "OK" if errors == 0 else "ERRORS"
        print(f"{args.clients} concurrent clients: {total} requests in {elapsed:.2f}s ({total / elapsed:.0f}/s), "
              f"{errors} errors, slowest {slowest:.3f}s  {verdict}")
    finally:
        server.stop()
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--sources", type=int, default=1_000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--per-client", type=int, default=10)
    parser.add_argument("--postgres", default=os.environ.get("TRACKER_TEST_POSTGRES_URL", ""))
    args = parser.parse_args()
    for backend in ["sqlite"] + (["postgres"] if args.postgres else []):
        with tempfile.TemporaryDirectory() as tmp, database(backend, args.postgres) as url:
            run(args, backend, url, Path(tmp))
    if not args.postgres:
        print("[postgres] skipped: give --postgres URL or set TRACKER_TEST_POSTGRES_URL")


if __name__ == "__main__":
    main()
