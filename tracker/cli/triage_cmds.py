"""Triage: the proposals the tracker derived, and the analyst's decisions on them (thin commands)."""

from __future__ import annotations

import json
from typing import Any

import click

from tracker.cli.context import AppContext, pass_ctx
from tracker.services import proposing, triage, triage_rules

STATES = ("open", "accepted", "rejected", "deferred")
_actor = click.option("--actor", envvar="TRACKER_ACTOR", metavar="NAME",
                      help="The analyst deciding (default: $TRACKER_ACTOR); recorded as the event's actor.")


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, sort_keys=True))


@click.group()
def triage_group() -> None:
    """Proposals derived from page changes and register entries, and the analyst's decisions.

    Example:

    \b
        tracker triage list --state open
    """


@triage_group.command("list")
@click.option("--state", type=click.Choice(STATES), help="Only proposals in this state.")
@click.option("--jurisdiction", metavar="J", help="US, EU, JP, CN or INTL.")
@click.option("--assignee", metavar="NAME", help="Only proposals assigned to NAME.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (id, state, source, "
              "evidence_position, step, kind, title_zh, title_en, date, precision, url, match, ...).")
@pass_ctx
def list_cmd(ctx: AppContext, state: str | None, jurisdiction: str | None, assignee: str | None,
             as_json: bool) -> None:
    """The triage queue, newest first: each proposal's step, date, title and the item it matched.

    Example:

    \b
        tracker triage list --state open --jurisdiction US --json
    """
    rows = triage.list_proposals(ctx.app, state=state, jurisdiction=jurisdiction, assignee=assignee)
    for row in rows:
        if as_json:
            _echo_json(row.as_json())
        else:
            match = f"-> {row.match}" if row.match else "-> new item"
            click.echo(f"{row.id}  {row.state:<8} {row.jurisdiction:<4} {row.step:<10} {row.kind or '?':<10} "
                       f"{row.date or 'no date':<10}  {row.title}  {match}"
                       + (f"  [{row.assignee}]" if row.assignee else ""))
    if not as_json and not rows:
        click.echo("no proposals" + (f" {state}" if state else ""), err=True)


@triage_group.command("show")
@click.argument("proposal_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@pass_ctx
def show_cmd(ctx: AppContext, proposal_id: str, as_json: bool) -> None:
    """One proposal: its fields, the evidence, why it matched an item, the alternatives, the decisions.

    Example:

    \b
        tracker triage show p-0123456789ab
    """
    view = triage.show_proposal(ctx.app, proposal_id)
    if as_json:
        _echo_json(view.as_json())
        return
    s, d = view.summary, view.proposal.draft
    click.echo(f"{s.id}  {s.state}  {s.jurisdiction}  {d.kind or '?'} {s.step}  {s.date or 'no date'}"
               + (f" ({s.precision})" if s.precision else ""))
    for label, value in (("title (zh)", s.title_zh), ("title (en)", s.title_en), ("issuer", d.issuer),
                         ("identifier", s.identifier), ("url", s.url), ("note", d.note),
                         ("deadlines", ", ".join(f"{k} {val}" for k, val in d.deadlines.items()))):
        if value:
            click.echo(f"  {label:<11} {value}")
    e = view.evidence
    click.echo(f"evidence: {e.type} at position {e.position} of source {s.source}"
               + (f", content {e.content_hash[:16]}" if e.content_hash else "")
               + (f", entry {e.entry_id}" if e.entry_id else "") + (" (to check)" if d.check else ""))
    for line in e.lines:
        click.echo(f"  {line}")
    click.echo(f"match: {view.match.item_id or 'none: a new item, suggested id ' + view.proposal.suggested_id}")
    click.echo(f"  why: {view.match.reason}")
    for alt in view.match.alternatives:
        click.echo(f"  alternative: {alt.item_id} ({alt.score:.2f}): {alt.reason}")
    for decision in view.decisions:
        text = f": {decision.text}" if decision.text else ""
        click.echo(f"#{decision.position} {decision.recorded_at} {decision.type} by {decision.actor or '?'} "
                   f"{json.dumps(decision.details, ensure_ascii=False)}{text}")


@triage_group.command("accept")
@click.argument("proposal_id", metavar="ID")
@click.option("--item", metavar="ITEM_ID", help="Add the step to this item of the record (instead of the match).")
@click.option("--new", "new", metavar="ITEM_ID", help="Create a new item with this id (instead of the suggested one).")
@click.option("--step", metavar="STEP", help="drafted, trial, published, effective, amended, superseded, repealed, "
              "renamed, withdrawn, established or approved.")
@click.option("--date", metavar="DATE", help="The step's date: YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option("--title-zh", metavar="T", help="The Chinese title (a new item's, or a renamed step's).")
@click.option("--title-en", metavar="T", help="The English title (a new item's, or a renamed step's).")
@click.option("--kind", metavar="K", help="A new item's kind: law, regulation, directive, guidance, program, product.")
@click.option("--note", metavar="TEXT", help="A note, kept outside the hash chain (it may name people).")
@_actor
@pass_ctx
def accept_cmd(ctx: AppContext, proposal_id: str, item: str | None, new: str | None, step: str | None,
               date: str | None, title_zh: str | None, title_en: str | None, kind: str | None, note: str | None,
               actor: str | None) -> None:
    """Accept a proposal: write its regulatory events into the record, citing the proposal and evidence.

    Any field may be corrected first. Without --item or --new the step goes to the matched item,
    or to a new item with the suggested id.

    Example:

    \b
        tracker triage accept p-0123456789ab --actor alice --step drafted --date 2023-12-28
    """
    result = triage.accept(ctx.app, proposal_id, actor=actor or "", item=item, new=new, step=step, date=date,
                           title_zh=title_zh, title_en=title_en, kind=kind, note=note)
    what = "new item" if result.new_item else "item"
    click.echo(f"accepted {proposal_id}: {what} {result.item_id}, events "
               f"{', '.join(f'#{p}' for p in result.events)}; decision #{result.position}")


@triage_group.command("reject")
@click.argument("proposal_id", metavar="ID")
@click.option("--reason", required=True, metavar="TEXT", help="Why (kept outside the hash chain).")
@_actor
@pass_ctx
def reject_cmd(ctx: AppContext, proposal_id: str, reason: str, actor: str | None) -> None:
    """Reject a proposal (final); the reason is kept beside the log, not in it.

    Example:

    \b
        tracker triage reject p-0123456789ab --actor alice --reason "a duplicate of the 2024 notice"
    """
    result = triage.reject(ctx.app, proposal_id, actor=actor or "", reason=reason)
    click.echo(f"rejected {proposal_id}: decision #{result.position}")


@triage_group.command("defer")
@click.argument("proposal_id", metavar="ID")
@click.option("--until", required=True, metavar="DATE", help="Look at it again on this date (YYYY-MM-DD).")
@_actor
@pass_ctx
def defer_cmd(ctx: AppContext, proposal_id: str, until: str, actor: str | None) -> None:
    """Defer a proposal until a date.

    Example:

    \b
        tracker triage defer p-0123456789ab --actor alice --until 2027-01-15
    """
    result = triage.defer(ctx.app, proposal_id, actor=actor or "", until=until)
    click.echo(f"deferred {proposal_id} until {until}: decision #{result.position}")


@triage_group.command("assign")
@click.argument("proposal_id", metavar="ID")
@click.option("--to", "to", required=True, metavar="NAME", help="The analyst to look at it.")
@_actor
@pass_ctx
def assign_cmd(ctx: AppContext, proposal_id: str, to: str, actor: str | None) -> None:
    """Assign a proposal to an analyst.

    Example:

    \b
        tracker triage assign p-0123456789ab --actor alice --to bob
    """
    result = triage.assign(ctx.app, proposal_id, actor=actor or "", to=to)
    click.echo(f"assigned {proposal_id} to {to}: decision #{result.position}")


@triage_group.command("assess")
@click.argument("proposal_id", metavar="ID")
@click.option("--impact", required=True, type=click.Choice(["high", "medium", "low", "none"]), help="The impact.")
@click.option(
    "--products", multiple=True, metavar="IDS", help="Products concerned (item ids; repeatable or comma-separated)."
)
@click.option("--due", metavar="DATE", help="When the follow-up is due (YYYY-MM-DD).")
@click.option("--note", metavar="TEXT", help="A note (kept outside the hash chain).")
@_actor
@pass_ctx
def assess_cmd(ctx: AppContext, proposal_id: str, impact: str, products: tuple[str, ...], due: str | None,
               note: str | None, actor: str | None) -> None:
    """Record an impact assessment of a proposal (its state is unchanged).

    Example:

    \b
        tracker triage assess p-0123456789ab --actor alice --impact high --products us-kymriah --due 2026-02-01
    """
    result = triage.assess(ctx.app, proposal_id, actor=actor or "", impact=impact, products=products, due=due,
                           note=note)
    click.echo(f"assessed {proposal_id} ({impact}): decision #{result.position}")


@triage_group.command("derive")
@click.option("--from", "after", type=click.IntRange(min=0), metavar="POSITION",
              help="Derive again from this log position (0: the whole log); nothing is raised twice.")
@click.option("--history", is_flag=True,
              help="Also propose the old entries a register listed at its first check (by default only those "
                   "dated in the 90 days before it, or with a deadline ahead).")
@pass_ctx
def derive_cmd(ctx: AppContext, after: int | None, history: bool) -> None:
    """Raise the proposals of recorded changes not derived yet (checks do this themselves).

    Example:

    \b
        tracker triage derive --from 0
        tracker triage derive --from 0 --history
    """
    report = proposing.raise_proposals(ctx.app, after=after, history=history)
    click.echo(report.summary())


@triage_group.command("rule")
@click.argument("source_id", metavar="SOURCE")
@click.option(
    "--step",
    "steps",
    multiple=True,
    metavar="STEP",
    help="Accept only proposals of this step (repeatable; default: any).",
)
@click.option(
    "--new-items", is_flag=True, help="Also accept proposals that match no item (creating the suggested item)."
)
@click.option("--off", is_flag=True, help="Revoke the source's rule.")
@_actor
@pass_ctx
def rule_cmd(ctx: AppContext, source_id: str, steps: tuple[str, ...], new_items: bool, off: bool,
             actor: str | None) -> None:
    """Auto-accept the proposals of a register whose fields are official (recorded as accepted by the rule).

    Only federal-register, fda-guidance, ema-medicines and ecfr sources; a proposal is accepted when
    it has a date, its step is one named, and it matched an item (unless --new-items).

    Example:

    \b
        tracker triage rule src-federal-register-fda-cgt --actor alice --step published --step effective
    """
    if off:
        position = triage_rules.revoke_rule(ctx.app, source_id, actor=actor or "")
        click.echo(f"auto-accept rule of {source_id} revoked: #{position}")
        return
    position = triage_rules.adopt_rule(ctx.app, source_id, actor=actor or "", steps=steps, new_items=new_items)
    click.echo(f"auto-accept rule of {source_id} adopted: #{position}")


@triage_group.command("rules")
@pass_ctx
def rules_cmd(ctx: AppContext) -> None:
    """The auto-accept rules in force.

    Example:

    \b
        tracker triage rules
    """
    for rule in triage_rules.rules(ctx.app).values():
        steps = ", ".join(sorted(rule.steps)) or "any step"
        click.echo(f"{rule.source_id}: {steps}{', new items too' if rule.new_items else ''} (#{rule.position})")


def register(group: click.Group) -> None:
    group.add_command(triage_group, name="triage")
