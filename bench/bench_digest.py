"""Digest and changelog benchmark (issue 5), figures printed against a floor measured in the same run.

    python -m bench.bench_digest [--events 10000] [--subscriptions 100] [--changelog-events 100000]

1. A weekly digest over N matching events for S subscriptions: `prepare_digests` (one read of the
   log for all subscriptions, matching, rendering both parts, building the MIME message, writing the
   outbox row and DigestPrepared) against the floor: Jinja2 rendering the same templates from the
   same view objects already in memory. Target: ours <= 2x the floor (ratio >= 0.5). Four filter
   shapes (none, all jurisdictions, all kinds, a tag) that all match every event.
2. The HTML changelog (timeline) over 100,000 events: its size (target < 5 MB) and time. The mix is
   what monitoring produces: most events are page changes (folded per page and year in the
   timeline), the rest steps of regulatory items.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench.common import ratio_line, timed
from tracker.app import App
from tracker.core import NewEvent
from tracker.rendering import render_digest
from tracker.services import changelog, digesting, subscribing
from tracker.settings import load_settings

JURISDICTIONS = ("US", "EU", "JP", "CN")
KINDS = ("law", "regulation", "guidance", "program", "product")
STEPS = ("InstrumentDrafted", "InstrumentPublished", "InstrumentEffective", "InstrumentAmended")
DIFF = "".join(
    ["--- old\n+++ new\n@@ -3,6 +3,6 @@\n"]
    + [f" 第{n}条 细胞治疗产品应当符合药品生产质量管理规范。\n" for n in range(3)]
    + ["-发布日期：2025年9月1日 旧版本\n", "+发布日期：2025年9月28日 新版本 <b>更新</b>\n",
       "-Effective date: 1 September 2025\n", "+Effective date: 28 September 2025\n"]
)


def make_app(home: Path) -> App:
    settings = load_settings(
        environ={"TRACKER_HOME": str(home), "TRACKER_DATABASE_URL": f"sqlite:///{home / 'bench.db'}"}
    )
    app = App(settings)
    app.init()
    return app


def register(app: App, items: int, sources: int) -> None:
    events = []
    for i in range(items):
        j, kind = JURISDICTIONS[i % 4], KINDS[i % 5]
        events.append(NewEvent(f"instrument/bench-{i}", "InstrumentRegistered", {
            "id": f"bench-{i}", "jurisdiction": j, "kind": kind,
            "title_zh": f"细胞和基因治疗产品技术指导原则（第{i}号）",
            "title_en": f"Technical guideline on cell and gene therapy products No. {i}",
            "topics": ["cgt", "cell-therapy"], "urls": [f"https://example.org/{j.lower()}/{i}"],
        }))
    for s in range(sources):
        events.append(NewEvent(f"source/src-bench-{s}", "SourceRegistered", {
            "id": f"src-bench-{s}", "url": f"https://example.org/notices/{s}", "kind": "html",
            "jurisdiction": JURISDICTIONS[s % 4], "title": f"Notices page {s} 通知公告", "items": [f"bench-{s}"],
            "tags": ["cgt"],
        }))
    for start in range(0, len(events), 5000):
        app.store.append(events[start:start + 5000])


def changes(app: App, count: int, items: int, sources: int, page_share: float, page_years: int = 20) -> None:
    """count events: page_share of them SourceChanged (dated over the last page_years years), the
    rest lifecycle steps of the items (dated 1993 to 2026, month precision)."""
    batch: list[NewEvent] = []
    pages = int(count * page_share)
    for n in range(count):
        if n < pages:
            s = n % sources
            batch.append(NewEvent(f"source/src-bench-{s}", "SourceChanged", {
                "id": f"src-bench-{s}", "url": f"https://example.org/notices/{s}", "old_hash": f"{n:064x}",
                "new_hash": f"{n + 1:064x}", "diff": DIFF, "diff_truncated": False, "snapshot": f"{n + 1:064x}",
                "http": {"status": 200},
            }, valid_from=f"{2026 - (n // sources) % page_years}-{n % 12 + 1:02d}-{n % 28 + 1:02d}"))
        else:
            i = n % items
            batch.append(NewEvent(f"instrument/bench-{i}", STEPS[(n // items) % 4], {
                "id": f"bench-{i}", "step": "published", "note": "国家药品监督管理局发布 / published by NMPA",
            }, valid_from=f"{1993 + (n * 7 + n // items) % 34}-{n % 12 + 1:02d}"))
        if len(batch) == 5000:
            app.store.append(batch)
            batch = []
    if batch:
        app.store.append(batch)


def copy_home(source: Path, target: Path) -> Path:
    target.mkdir()
    for path in source.glob("bench.db*"):
        shutil.copyfile(path, target / path.name)
    return target


def bench_digest(events: int, subs: int, runs: int) -> None:
    """Ours and the floor alternate, each on its own copy of the same database; the best of each counts
    (the machine is shared, and a slow moment should not land on one side only)."""
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        base.mkdir()
        app = make_app(base)
        register(app, items=400, sources=50)
        filters: list[dict[str, tuple[str, ...]]] = [
            {},
            {"jurisdictions": JURISDICTIONS},
            {"kinds": KINDS},
            {"tags": ("cgt",)},
        ]
        for s in range(subs):
            shape = filters[s % 4]
            subscribing.subscribe(app, f"reader{s}@example.org", name=f"Weekly 周报 {s}",
                                  jurisdictions=shape.get("jurisdictions", ()), kinds=shape.get("kinds", ()),
                                  tags=shape.get("tags", ()))
        changes(app, events, items=400, sources=50, page_share=0.2)
        app.close()
        now = datetime.now(UTC)

        chosen_app = make_app(copy_home(base, Path(tmp) / "floor"))
        chosen = digesting.select(chosen_app, now=now)  # the same selection, to build the floor's input
        views = [digesting.digest_view(chosen_app, sub, chosen) for sub in chosen.subs]
        # One entry per item or page since issue 12: every subscription sees all 400 items and 50 pages.
        assert len(views) == subs and all(v.count == 450 for v in views), {v.count for v in views}

        def floor_render() -> int:
            return sum(len(html) + len(text) for html, text in map(render_digest, views))

        ours_times: list[float] = []
        floor_times: list[float] = []
        chars = 0
        for run in range(runs):
            run_app = make_app(copy_home(base, Path(tmp) / f"run{run}"))
            took, prepared = timed(lambda: digesting.prepare_digests(run_app, now=now))
            assert len(prepared) == subs and all(p.count == 450 for p in prepared)
            ours_times.append(took)
            run_app.close()
            took, chars = timed(floor_render)
            floor_times.append(took)
        select_time, _ = timed(lambda: digesting.select(chosen_app, now=now))
        chosen_app.close()
        print(
            f"digest: {subs} subscriptions x {events} matching events, {chars / subs / 1e6:.2f} M characters per digest"
        )
        print(f"  selection alone (one read of the log for all subscriptions, matching): {select_time:.3f}s")
        print(
            f"  runs: ours {', '.join(f'{t:.2f}' for t in ours_times)}s; floor "
            f"{', '.join(f'{t:.2f}' for t in floor_times)}s"
        )
        print(ratio_line("prepare_digests vs Jinja2 floor", min(ours_times), min(floor_times), 0.5))


def bench_changelog(events: int) -> None:
    """A log shaped like a monitored one: 2,000 items registered with 4 dated steps each, 1,000
    sources, and page changes (dated over the last 3 years) for the rest of the events."""
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp))
        items, sources = 2000, 1000
        steps = 4 * items
        register(app, items=items, sources=sources)
        rest = max(events - items - sources, 0)
        load, _ = timed(lambda: changes(app, rest, items, sources, page_share=(rest - steps) / rest if rest else 0,
                                        page_years=3))
        total = app.store.count()
        print(f"changelog over {total} events: {items} items + {min(steps, rest)} dated steps, {sources} sources + "
              f"{max(rest - steps, 0)} page changes")
        for fmt in ("html", "md", "atom"):
            took, text = timed(lambda: changelog.render(app, fmt))  # noqa: B023 - called at once
            size = len(text.encode("utf-8")) / 1e6
            verdict = ("OK" if size < 5 else "ABOVE TARGET") if fmt == "html" else ""
            target = "  (target < 5 MB) " if fmt == "html" else "  "
            print(f"  changelog {fmt:<4} {size:7.2f} MB in {took:6.2f}s{target}{verdict}")
            if fmt == "html":
                per_step = (len(text.encode("utf-8")) / max(min(steps, rest), 1)) / 1e3
                print(f"    ({per_step:.2f} kB per dated step, the folded page rows included)")
        print(f"  (loading the {total} events took {load:.1f}s)")
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--subscriptions", type=int, default=100)
    parser.add_argument("--changelog-events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    bench_digest(args.events, args.subscriptions, args.runs)
    bench_changelog(args.changelog_events)


if __name__ == "__main__":
    main()
