"""Read models: projections of the log, each dropped and rebuilt from it at will.

JSON columns hold canonical JSON text (both backends). Each projection owns its tables here and
writes its checkpoint in ``projection_checkpoints`` in the same transaction as its rows.
"""

from __future__ import annotations

import sqlalchemy as sa

from tracker.schema import metadata

# A projection's position, written in the same transaction as its read model.
projection_checkpoints = sa.Table(
    "projection_checkpoints", metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
)

# Stored events a projection could not apply: skipped and kept here, so a read model never stops
# on one event (an old or buggy version's, or a future one's). A rebuild deletes the projection's
# rows and records again what it still cannot apply (core/projector.py).
projection_quarantine = sa.Table(
    "projection_quarantine", metadata,
    sa.Column("projection", sa.String(100), primary_key=True),
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("stream", sa.String(200), nullable=False),
    sa.Column("type", sa.String(100), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("quarantined_at", sa.String(32), nullable=False),
)

# -- the record (projections/record.py) ------------------------------------------------------
record_items = sa.Table(
    "record_items", metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("stream", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("jurisdiction", sa.String(10), nullable=False),
    sa.Column("title_zh", sa.Text, nullable=False),
    sa.Column("title_en", sa.Text, nullable=False),
    sa.Column("issuer", sa.Text, nullable=True),
    sa.Column("topics", sa.Text, nullable=False),  # JSON list
    sa.Column("discipline", sa.String(20), nullable=True),
    sa.Column("status", sa.String(20), nullable=True),
    sa.Column("status_date", sa.String(40), nullable=True),
    sa.Column("attributes", sa.Text, nullable=False),  # JSON: kind-specific fields, urls, citation, notes
    sa.Column("registered_position", sa.BigInteger, nullable=False),
    sa.Column("updated_position", sa.BigInteger, nullable=False),
    sa.Index("ix_record_items_jurisdiction_kind", "jurisdiction", "kind"),
)

record_steps = sa.Table(
    "record_steps", metadata,
    sa.Column("item_id", sa.String(200), primary_key=True),
    sa.Column("position", sa.BigInteger, primary_key=True),
    sa.Column("step", sa.String(20), nullable=False),
    sa.Column("event_type", sa.String(100), nullable=False),
    sa.Column("date", sa.String(40), nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("details", sa.Text, nullable=True),  # JSON: date_basis, external, source (migration 0014)
    # A renamed step's new title (migration 0027): what the fold names the item by again when a
    # rename is corrected or retracted.
    sa.Column("title_zh", sa.Text, nullable=True),
    sa.Column("title_en", sa.Text, nullable=True),
)

record_relations = sa.Table(
    "record_relations", metadata,
    sa.Column("item_id", sa.String(200), primary_key=True),
    sa.Column("relation", sa.String(40), primary_key=True),
    sa.Column("target_id", sa.String(200), primary_key=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("details", sa.Text, nullable=True),  # JSON: date, external, source, inferred, basis (migration 0014)
    sa.Index("ix_record_relations_target", "target_id"),
)

# -- monitored sources (projections/sources.py): SourceRegistered, SourceRemoved, SourceRulesAdopted
sources = sa.Table(
    "sources", metadata,
    sa.Column("id", sa.String(120), primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("jurisdiction", sa.String(20), nullable=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("items", sa.Text, nullable=False),        # JSON list
    sa.Column("tags", sa.Text, nullable=False),         # JSON list
    sa.Column("select_css", sa.Text, nullable=True),
    sa.Column("ignore", sa.Text, nullable=False),       # JSON list
    # JSON list: ignore patterns for volatile lines found at a first change (SourceVolatileIgnored)
    sa.Column("volatile", sa.Text, nullable=True),
    sa.Column("every_seconds", sa.Integer, nullable=True),
    sa.Column("respect_robots", sa.Boolean, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("origin", sa.String(100), nullable=False),
    sa.Column("registered_position", sa.BigInteger, nullable=False),
)

# -- register entries (projections/register_entries.py): RegisterEntryAdded, RegisterEntryRevised
register_entries = sa.Table(
    "register_entries", metadata,
    sa.Column("source_id", sa.String(120), primary_key=True),
    sa.Column("entry_id", sa.Text, primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("date", sa.String(40), nullable=False),           # "" when the register gives none
    sa.Column("precision", sa.String(10), nullable=True),
    sa.Column("type", sa.String(100), nullable=False),
    sa.Column("agency", sa.Text, nullable=False),
    sa.Column("url", sa.Text, nullable=True),
    sa.Column("identity", sa.Text, nullable=False),             # JSON: the event's identity fields
    sa.Column("added_position", sa.BigInteger, nullable=False),
    sa.Column("revised_position", sa.BigInteger, nullable=True),
)

# One row per dated deadline of an entry: what `tracker upcoming` and calendars join.
register_deadlines = sa.Table(
    "register_deadlines", metadata,
    sa.Column("source_id", sa.String(120), primary_key=True),
    sa.Column("entry_id", sa.Text, primary_key=True),
    sa.Column("kind", sa.String(60), primary_key=True),
    sa.Column("date", sa.String(40), nullable=False),
    sa.Index("ix_register_deadlines_date", "date"),
)

# -- subscriptions (projections/subscriptions.py): SubscriptionCreated, SubscriptionCancelled,
# SubscriberForgotten
subscriptions = sa.Table(
    "subscriptions", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("subscriber_id", sa.String(40), nullable=False, index=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("cadence", sa.String(10), nullable=False),
    sa.Column("filters", sa.Text, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("created_position", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("cancelled_at", sa.String(32), nullable=True),
)

# -- the digest index (projections/digest_index.py) --------------------------------------------
digest_index = sa.Table(
    "digest_index", metadata,
    sa.Column("ref", sa.String(220), primary_key=True),  # "item:<id>" or "source:<id>"
    sa.Column("entry", sa.String(10), nullable=False),
    sa.Column("id", sa.String(200), nullable=False),
    sa.Column("jurisdiction", sa.String(10), nullable=True),
    sa.Column("kind", sa.String(30), nullable=True),
    sa.Column("title_zh", sa.Text, nullable=False),
    sa.Column("title_en", sa.Text, nullable=False),
    sa.Column("topics", sa.Text, nullable=False),  # JSON list: item topics, source tags
    sa.Column("items", sa.Text, nullable=False),   # JSON list: a source's item ids
    sa.Column("url", sa.Text, nullable=True),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("state_since", sa.String(32), nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    # JSON list of what a reader must see beside an item: its flags (a conflict with an official
    # source, an anachronism, an approximate figure) and that it comes from outside the review.
    sa.Column("marks", sa.Text, nullable=True),  # migration 0021
    # An item's own title and its live renames, JSON {"title": [zh, en], "renames": [[position,
    # date, zh, en], ...]}, once it has been renamed (migration 0027): the fold's state for the title.
    sa.Column("renames", sa.Text, nullable=True),
)

digest_effective = sa.Table(
    "digest_effective", metadata,
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("item_id", sa.String(200), nullable=False),
    sa.Column("date", sa.String(40), nullable=False, index=True),
    sa.Column("note", sa.Text, nullable=True),
)

# -- triage (projections/proposals.py): ProposalRaised and the analyst's decisions -------------
triage_proposals = sa.Table(
    "triage_proposals", metadata,
    sa.Column("id", sa.String(20), primary_key=True),
    sa.Column("state", sa.String(12), nullable=False),           # open, accepted, rejected, deferred
    sa.Column("source_id", sa.String(120), nullable=False),
    sa.Column("jurisdiction", sa.String(10), nullable=False),
    sa.Column("kind", sa.String(20), nullable=True),
    sa.Column("step", sa.String(20), nullable=False),
    sa.Column("title_zh", sa.Text, nullable=False),
    sa.Column("title_en", sa.Text, nullable=False),
    sa.Column("date", sa.String(40), nullable=True),
    sa.Column("identifier", sa.Text, nullable=True),
    sa.Column("url", sa.Text, nullable=True),
    sa.Column("match_item", sa.String(200), nullable=True),     # the item matched when raised
    sa.Column("item_id", sa.String(200), nullable=True),        # the item an acceptance wrote to
    sa.Column("assignee", sa.String(80), nullable=True),
    sa.Column("deferred_until", sa.String(40), nullable=True),
    sa.Column("impact", sa.String(10), nullable=True),
    sa.Column("evidence_position", sa.BigInteger, nullable=False),
    sa.Column("raised_position", sa.BigInteger, nullable=False),
    sa.Column("updated_position", sa.BigInteger, nullable=False),
    sa.Column("proposal", sa.Text, nullable=False),              # JSON: the ProposalRaised payload
    sa.Index("ix_triage_proposals_state", "state", "jurisdiction"),
)

# Every decision on a proposal, in log order: who (the event's actor), what, and its fields.
triage_decisions = sa.Table(
    "triage_decisions", metadata,
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("proposal_id", sa.String(20), nullable=False, index=True),
    sa.Column("type", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(80), nullable=True),
    sa.Column("recorded_at", sa.String(32), nullable=False),
    sa.Column("details", sa.Text, nullable=False),               # JSON: the decision's payload
)

# -- the changelog (projections/changelog_rows.py): the event's half of each reader's row ---------
# (domain/reporting.py); titles, jurisdiction, kind, link and flags are joined from digest_index
# when a changelog is written. jurisdiction .. topics: what the event itself says, for an item the
# index does not know.
changelog_rows = sa.Table(
    "changelog_rows", metadata,
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("event_hash", sa.String(64), nullable=False),
    sa.Column("recorded_at", sa.String(32), nullable=False),
    sa.Column("ref", sa.String(220), nullable=False),
    sa.Column("section", sa.String(10), nullable=False),
    sa.Column("ref_id", sa.String(200), nullable=False),
    sa.Column("label", sa.String(60), nullable=False),
    sa.Column("category", sa.String(20), nullable=False),
    sa.Column("date", sa.String(40), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("excerpt", sa.Text, nullable=False),  # the diff excerpt's lines joined by newlines
    sa.Column("excerpt_truncated", sa.Boolean, nullable=False),
    sa.Column("date_basis", sa.String(30), nullable=False),
    sa.Column("provenance", sa.Text, nullable=False),
    sa.Column("jurisdiction", sa.String(10), nullable=False),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("title_zh", sa.Text, nullable=False),
    sa.Column("title_en", sa.Text, nullable=False),
    sa.Column("topics", sa.Text, nullable=False),  # JSON list
)
