"""Event type names and stream names: the permanent vocabulary of the log.

These strings are stored forever: never rename one. Payload fields are listed with each type, as
a reminder; the definitions the code reads them as are payloads.py (the record) and payloads_ops.py,
registered by these names in payloads_registry.py. A new payload shape gets the next schema
version and an upcaster from the version before, declared there.
"""

from __future__ import annotations

from typing import Final

# -- the regulatory record (from seeds; valid_from = the real-world date of the step) ----------
# Full attributes of an item: id, jurisdiction, kind, title_zh, title_en, issuer, topics,
# discipline, urls, citation {ref, quote}, notes, relations [{type, target, note}], attributes
# (kind-specific: product and fact fields), seed_file.
INSTRUMENT_REGISTERED: Final = "InstrumentRegistered"
# Lifecycle steps: id, step (seed step type), date (as given), note, by, citation; renamed adds
# title_zh/title_en (the new title). valid_from = date with the precision the source gives.
INSTRUMENT_DRAFTED: Final = "InstrumentDrafted"          # 征求意见稿 released for comment
INSTRUMENT_TRIAL_ISSUED: Final = "InstrumentTrialIssued"  # 试行 issued
INSTRUMENT_PUBLISHED: Final = "InstrumentPublished"
INSTRUMENT_EFFECTIVE: Final = "InstrumentEffective"
INSTRUMENT_AMENDED: Final = "InstrumentAmended"
INSTRUMENT_SUPERSEDED: Final = "InstrumentSuperseded"
INSTRUMENT_REPEALED: Final = "InstrumentRepealed"
INSTRUMENT_RENAMED: Final = "InstrumentRenamed"
INSTRUMENT_WITHDRAWN: Final = "InstrumentWithdrawn"
PROGRAM_ESTABLISHED: Final = "ProgramEstablished"        # full attributes + date
PRODUCT_APPROVED: Final = "ProductApproved"              # full attributes + date
AGENCY_REGISTERED: Final = "AgencyRegistered"            # full attributes
AGENCY_RENAMED: Final = "AgencyRenamed"                  # id, date, title_zh, title_en, note
FACT_REPORTED: Final = "FactReported"                    # full attributes + metric, value, unit, date
# The analyst's structure (full attributes, as for instruments, with kind-specific attributes):
# a classification scheme with its classes; a regime (the route a kind of product took over a
# period: effective = start, superseded/repealed = end, switch = a dated change within it); a
# pathway (its stages, gatekeepers and instruments); a watch item (something the review says is
# pending, which later changes can resolve).
CLASSIFICATION_REGISTERED: Final = "ClassificationRegistered"
REGIME_REGISTERED: Final = "RegimeRegistered"
PATHWAY_REGISTERED: Final = "PathwayRegistered"
WATCH_ITEM_REGISTERED: Final = "WatchItemRegistered"
REGIME_SWITCHED: Final = "RegimeSwitched"                # a step: id, step "switch", date, note, ...
# A seed item edited after it was recorded: id, changes {field: {"old": .., "new": ..}}, reason.
ITEM_CORRECTED: Final = "ItemCorrected"
# A step whose date or type was wrong, replaced: id, old {step, date} (the step it replaces: every
# step of the item with that type and date recorded before this event), new (the step payload
# without id, as a step event carries it; null when the step is retracted), reason.
# valid_from = the new date. Replays and the record projection fold the item as if the old step
# had never been recorded and the new one were recorded here.
STEP_CORRECTED: Final = "StepCorrected"
REFERENCE_REGISTERED: Final = "ReferenceRegistered"      # number, text, url

# -- monitoring ---------------------------------------------------------------------------------
# id, url, kind, jurisdiction, title, items, tags, select, ignore, every, respect_robots, origin
SOURCE_REGISTERED: Final = "SourceRegistered"
SOURCE_REMOVED: Final = "SourceRemoved"                  # id, reason
SOURCE_RULES_ADOPTED: Final = "SourceRulesAdopted"       # id, select, ignore, reason
# Lines that differed between two immediate fetches at a page's first change (at its baseline before
# migration 0029), ignored from then on (the tracker's proposal, in effect at once): id, ignore
# (patterns), lines (examples), reason.
SOURCE_VOLATILE_IGNORED: Final = "SourceVolatileIgnored"
SOURCE_VOLATILE_REVOKED: Final = "SourceVolatileRevoked"  # id, ignore (the patterns taken back), reason
SOURCE_BASELINED: Final = "SourceBaselined"              # id, content_hash, snapshot, http {...}
SOURCE_CHANGED: Final = "SourceChanged"                  # id, old_hash, new_hash, diff, diff_truncated, snapshot, http
SOURCE_UNREACHABLE: Final = "SourceUnreachable"          # id, error_class, error, failures
SOURCE_RECOVERED: Final = "SourceRecovered"              # id, after_failures
# A new official entry of a register: id (source), entry_id, date, title, url, fields, and its identity:
# precision, type, titles {}, agency, links {role: url}, dates {name: date}, deadlines {kind: date}.
REGISTER_ENTRY_ADDED: Final = "RegisterEntryAdded"
# An entry known before, changed under the same official id (a corrected date, a new comment deadline,
# a draft turned final): the same fields as RegisterEntryAdded, plus changes {field: {"old", "new"}}.
REGISTER_ENTRY_REVISED: Final = "RegisterEntryRevised"
# What may raise proposals for triage (services/proposing.py): named here, so that a check whose
# events hold none of them does not import triage to find that out (issue 18).
RAISES_PROPOSALS: Final = frozenset({SOURCE_CHANGED, REGISTER_ENTRY_ADDED, REGISTER_ENTRY_REVISED})

# -- subscriptions and digests --------------------------------------------------------------------
SUBSCRIPTION_CREATED: Final = "SubscriptionCreated"      # id, subscriber (opaque), filters, cadence, name
SUBSCRIPTION_CANCELLED: Final = "SubscriptionCancelled"  # id
SUBSCRIBER_FORGOTTEN: Final = "SubscriberForgotten"      # subscriber (opaque): the address was erased
DIGEST_PREPARED: Final = "DigestPrepared"                # subscription, message_id, positions [from, to], count
DIGEST_SENT: Final = "DigestSent"                        # subscription, message_id
DIGEST_NOTIFIED: Final = "DigestNotified"                # subscription, message_id, channel (opaque id), positions
# Refused for good (mail.max_rejections 5xx answers): subscription, message_id, positions, rejections, code.
DIGEST_FAILED: Final = "DigestFailed"

# -- triage (domain/proposals.py): the machine proposes, an analyst decides ---------------------
# A candidate regulatory event derived from a SourceChanged, RegisterEntryAdded or
# RegisterEntryRevised (metadata causation_id = that event's position): id, key, source, origin
# (register kind or "html-rows"), jurisdiction, issuer, kind, step, title_zh, title_en, titles {},
# date, precision, identifier, url, deadlines {}, note, suggested_id, evidence {position, type,
# content_hash, entry_id, lines}, match {item_id, reason, score, alternatives}. Idempotency key
# "proposal:<key>": the key is derived from the evidence, so it is never raised twice.
PROPOSAL_RAISED: Final = "ProposalRaised"
# Decisions: id, and (actor in metadata; free text kept outside the chain, see triage_texts):
PROPOSAL_ACCEPTED: Final = (
    "ProposalAccepted"  # item_id, new_item, step, date, kind, title_zh, title_en, events, note_ref
)
PROPOSAL_REJECTED: Final = "ProposalRejected"    # reason_ref
PROPOSAL_DEFERRED: Final = "ProposalDeferred"    # until
PROPOSAL_ASSIGNED: Final = "ProposalAssigned"    # to
PROPOSAL_ASSESSED: Final = "ProposalAssessed"    # impact, products, due, note_ref
# An auto-accept rule for a register whose fields are official (stream triage-rule/<source>): id
# (the source), steps (accepted steps; [] = any), new_items (also proposals that match no item).
# Proposals it accepts are ProposalAccepted with actor "rule:<source>" and metadata rule = its position.
TRIAGE_RULE_ADOPTED: Final = "TriageRuleAdopted"
TRIAGE_RULE_REVOKED: Final = "TriageRuleRevoked"  # id

STEP_EVENTS: Final = {
    "drafted": INSTRUMENT_DRAFTED,
    "trial": INSTRUMENT_TRIAL_ISSUED,
    "published": INSTRUMENT_PUBLISHED,
    "effective": INSTRUMENT_EFFECTIVE,
    "amended": INSTRUMENT_AMENDED,
    "superseded": INSTRUMENT_SUPERSEDED,
    "repealed": INSTRUMENT_REPEALED,
    "renamed": INSTRUMENT_RENAMED,
    "withdrawn": INSTRUMENT_WITHDRAWN,
    "established": PROGRAM_ESTABLISHED,
    "approved": PRODUCT_APPROVED,
    "reported": FACT_REPORTED,
    "switch": REGIME_SWITCHED,
}

ITEM_KINDS: Final = ("law", "regulation", "directive", "guidance", "program", "product", "agency", "fact",
                     "classification", "regime", "pathway", "watch")
INSTRUMENT_KINDS: Final = ("law", "regulation", "directive", "guidance")
# Kinds whose status comes from lifecycle steps (drafted, published, effective, superseded, ...).
LIFECYCLE_KINDS: Final = INSTRUMENT_KINDS + ("classification", "regime", "pathway")
JURISDICTIONS: Final = ("US", "EU", "JP", "CN", "INTL")


def item_stream(kind: str, item_id: str) -> str:
    """instrument/<id> for laws, regulations, directives and guidances; <kind>/<id> otherwise."""
    category = "instrument" if kind in INSTRUMENT_KINDS else kind
    return f"{category}/{item_id}"


def source_stream(source_id: str) -> str:
    return f"source/{source_id}"


def proposal_stream(proposal_id: str) -> str:
    return f"proposal/{proposal_id}"


def triage_rule_stream(source_id: str) -> str:
    return f"triage-rule/{source_id}"


def subscription_stream(subscription_id: str) -> str:
    return f"subscription/{subscription_id}"
