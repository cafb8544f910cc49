"""One digest as a reader acts on it: from the events of its period to a DigestView.

One entry per item, never one per event: the item's bilingual title, its status now, every step of
the period under it, a link to its official document. Ordered by what needs action:

  1. status changes and new or changed official documents (register entries included);
  2. dates due in the next ``digest.due_days`` days (effective dates, comment deadlines);
  3. monitored pages that changed and that no item explains yet, one per page, with a bounded diff;
  4. reported figures;
  5. sources needing attention, one line per failure class with its count and hosts.

The first digest of a subscription is a welcome: what it covers, how many items of the record match,
the dates due and the sources that need a manual check, then (if any) what changed since it began.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from tracker.domain.subscriptions import Filters, Target
from tracker.domain.words import counted
from tracker.projections.digest_index import IndexEntry
from tracker.rendering import (
    AwaitingRow,
    ChangeRow,
    DigestView,
    FailureGroup,
    HeadView,
    ItemEntry,
    PageEntry,
    UpcomingRow,
    WelcomeView,
)
from tracker.rendering.views import when
from tracker.services.digest_selection import FailingSource
from tracker.services.entries import JURISDICTION_ORDER
from tracker.services.source_failures import Group, count_groups

# Steps that change what applies (an item's status): listed first.
STATUS_LABELS = frozenset({
    "draft for comment", "issued for trial", "published", "takes effect", "superseded", "repealed", "withdrawn",
    "established", "approved", "renamed",
})
CHANGE_LABELS = frozenset({"amended", "corrected"})
STATUS_CHANGE, NEW_DOCUMENT, CHANGED, ADDED = "status change", "new official document", "changed", "new in the record"
RANK = {STATUS_CHANGE: 0, NEW_DOCUMENT: 1, CHANGED: 2, ADDED: 3}


@dataclass
class Context:
    """What every digest of one run shares, read once."""

    head: HeadView
    head_time: str
    now: datetime
    index: dict[str, IndexEntry]
    statuses: dict[str, tuple[str | None, str | None]]
    due: list[tuple[UpcomingRow, Target]] = field(default_factory=list)
    # Sources failing now, counted by (state, failure class, host): what filters that do not narrow see.
    failing_groups: list[Group] = field(default_factory=list)
    # Each failing source, and what filters match for it, in the same order: read only when some
    # filter of the run narrows (digest_selection.failing_sources, failing_targets).
    failing: list[FailingSource] = field(default_factory=list)
    failing_targets: list[Target] | None = None
    due_days: int = 30
    unsubscribe_base: str = ""
    awaiting: list[tuple[AwaitingRow, Target]] = field(default_factory=list)   # open triage proposals
    _attention: dict[Filters, tuple[int, tuple[FailureGroup, ...]]] = field(default_factory=dict)

    def attention(self, filters: Filters) -> tuple[int, tuple[FailureGroup, ...]]:
        """How many failing sources the filters match, and their failure lines: once per distinct
        filters of the run (a hundred subscriptions often share a few)."""
        found = self._attention.get(filters)
        if found is None:
            if filters.narrows:
                assert self.failing_targets is not None, "failing_targets: built when a filter narrows"
                groups = count_groups((row.state, row.error_class, row.host) for row, target
                                      in zip(self.failing, self.failing_targets, strict=True)
                                      if filters.matches(target))
            else:  # a failing source is not machine-seen: filters that do not narrow match it
                groups = self.failing_groups
            found = self._attention[filters] = failure_lines(groups)
        return found


def _action(steps: Sequence[ChangeRow]) -> str:
    # An undated status step ("established", date not given) says only that the tracker learned of it.
    labels = {s.label for s in steps if s.dated}
    if labels & STATUS_LABELS:
        return STATUS_CHANGE
    if labels & CHANGE_LABELS:
        return CHANGED
    return ADDED


def _item(ref_id: str, steps: list[ChangeRow], context: Context) -> ItemEntry:
    last = steps[-1]
    status, status_date = context.statuses.get(ref_id, (None, None))
    return ItemEntry(
        ref_id=ref_id, jurisdiction=last.jurisdiction, kind=last.kind, title_zh=last.title_zh, title_en=last.title_en,
        url=last.url, status=status or "", status_when=when(status_date), action=_action(steps), steps=tuple(steps),
        marks=last.marks,
    )


def _order(entry: ItemEntry) -> tuple[int, int, str]:
    return RANK.get(entry.action, 9), JURISDICTION_ORDER.get(entry.jurisdiction, 99), entry.ref_id


def _page(rows: list[ChangeRow]) -> PageEntry:
    last = rows[-1]
    return PageEntry(
        source_id=last.ref_id, jurisdiction=last.jurisdiction, title=last.title_en, url=last.url, changes=len(rows),
        first_seen=rows[0].recorded_day, last_seen=last.recorded_day, excerpt=last.excerpt,
        excerpt_truncated=last.excerpt_truncated or len(rows) > 1,
    )


def failure_lines(groups: Iterable[Group]) -> tuple[int, tuple[FailureGroup, ...]]:
    """How many sources fail, and one line per failure class (and state): how many, on which hosts."""
    lines: dict[tuple[str, str], tuple[list[int], set[str]]] = {}
    for state, error_class, host, n in groups:
        count, hosts = lines.setdefault((error_class or "unknown", state), ([0], set()))
        count[0] += n
        if host:
            hosts.add(host)
    return sum(count[0] for count, _ in lines.values()), tuple(
        FailureGroup(error_class, state, count[0], tuple(sorted(hosts)))
        for (error_class, state), (count, hosts) in sorted(lines.items(), key=lambda kv: (-kv[1][0][0], kv[0]))
    )


def summary(view_parts: dict[str, int], jurisdictions: Iterable[str]) -> str:
    words = {"documents": ("document", None), "status": ("status change", None), "added": ("item added", "items added"),
             "due": ("deadline", None), "pages": ("page change", None), "figures": ("figure", None),
             "failing": ("source failing", "sources failing")}
    parts = [counted(n, *words[key]) for key, n in view_parts.items() if n]
    codes = sorted(set(jurisdictions), key=lambda c: (JURISDICTION_ORDER.get(c, 99), c))
    text = ", ".join(parts) or "nothing new"
    return f"{text} ({', '.join(codes)})" if codes else text


def build(
    *, subscription_id: str, name: str, cadence: str, filters: Filters, token: str, entries: Sequence[ChangeRow],
    welcome: bool, context: Context,
) -> DigestView:
    items: dict[str, list[ChangeRow]] = {}
    figures: dict[str, list[ChangeRow]] = {}
    pages: dict[str, list[ChangeRow]] = {}
    documents: list[ItemEntry] = []
    for row in entries:
        if row.section == "page":
            if row.label == "new register entry":
                documents.append(ItemEntry(
                    ref_id=row.ref_id, jurisdiction=row.jurisdiction, kind="register entry", title_zh="",
                    title_en=row.note or row.title_en, url=row.url, status="", status_when=row.when,
                    action=NEW_DOCUMENT, steps=(row,)))
            else:
                pages.setdefault(row.ref_id, []).append(row)
        elif row.kind == "fact":
            figures.setdefault(row.ref_id, []).append(row)
        else:
            items.setdefault(row.ref_id, []).append(row)
    actions = sorted([*(_item(ref, steps, context) for ref, steps in items.items()), *documents], key=_order)
    figure_entries = sorted((_item(ref, steps, context) for ref, steps in figures.items()), key=_order)
    page_entries = sorted((_page(rows) for rows in pages.values()),
                          key=lambda p: (JURISDICTION_ORDER.get(p.jurisdiction, 99), p.source_id))
    due = tuple(row for row, target in context.due if filters.matches(target))
    failing, attention = context.attention(filters)
    welcome_view = None
    if welcome:
        matching = sum(
            1
            for info in context.index.values()
            if info.entry == "item"
            and filters.matches(
                Target(
                    info.jurisdiction or "INTL",
                    frozenset({info.kind or ""}),
                    frozenset(info.topics),
                    frozenset({info.id}),
                )
            )
        )
        welcome_view = WelcomeView(matching, due, attention)
    counts = Counter(a.action for a in actions)
    parts = {"documents": counts[NEW_DOCUMENT] + counts[CHANGED], "status": counts[STATUS_CHANGE],
             "added": counts[ADDED], "due": len(due), "pages": len(page_entries), "figures": len(figure_entries),
             "failing": failing}
    shown = [*actions, *figure_entries]
    codes = [e.jurisdiction for e in shown] + [d.jurisdiction for d in due] + [p.jurisdiction for p in page_entries]
    text = summary(parts, codes)
    if welcome_view is not None:
        n = welcome_view.matching_items
        text = f"welcome: {n} item{' of the record matches' if n == 1 else 's of the record match'}" + (
            f"; since you subscribed: {text}" if entries else "")
    end = (context.head_time or context.now.strftime("%Y-%m-%dT%H:%M"))[:10]
    return DigestView(
        subscription_id=subscription_id, subscription_name=name, filters=filters.describe(), cadence=cadence,
        period_start=entries[0].recorded_at[:10] if entries else end, period_end=end,
        generated_at=context.now.strftime("%Y-%m-%d %H:%M UTC"), head=context.head,
        count=len(actions) + len(page_entries) + len(figure_entries), summary=text, welcome=welcome_view,
        actions=tuple(actions), due=due, due_days=context.due_days, pages=tuple(page_entries),
        figures=tuple(figure_entries), attention=attention,
        unsubscribe_url=f"{context.unsubscribe_base}/{token}" if context.unsubscribe_base else "",
        awaiting=tuple(row for row, target in context.awaiting if filters.matches(target)),
    )


CHANNEL_ENTRIES = 8


def channel_text(view: DigestView) -> str:
    """What a channel (Slack, Teams, a webhook) gets: the summary, the first entries with their
    official links, and where the whole digest went. Plain text, a few lines."""
    lines = [view.summary[:1].upper() + view.summary[1:] + "."]
    for a in view.actions[:CHANNEL_ENTRIES]:
        title = " / ".join(t for t in (a.title_zh, a.title_en) if t)
        last = a.steps[-1]
        lines.append(f"- [{a.jurisdiction}] {last.label} {last.when}: {title}" + (f" {a.url}" if a.url else ""))
    for u in view.due[:CHANNEL_ENTRIES]:
        lines.append(f"- due {u.date}, {u.label}: [{u.jurisdiction}] {u.title_en}" + (f" {u.url}" if u.url else ""))
    hidden = max(0, len(view.actions) - CHANNEL_ENTRIES) + max(0, len(view.due) - CHANNEL_ENTRIES) + len(view.pages) \
        + len(view.figures)
    if hidden:
        lines.append(f"... and {hidden} more in the e-mail digest.")
    lines.append(view.head.line)
    return "\n".join(lines)
