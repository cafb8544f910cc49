"""The auditor's proof commands: keys, checkpoints, inclusion and consistency proofs."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tracker.cli.context import AppContext, pass_ctx
from tracker.core.proofs import LogProofs
from tracker.errors import NotFoundError, TrackerError
from tracker.services import auditing
from tracker.services import checkpoints as cps
from tracker.signing import Checkpoint, generate_key


def _echo_json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@click.group()
def keys() -> None:
    """Signing keys for checkpoints.

    Example:

    \b
        tracker keys generate
    """


@keys.command("generate")
@click.option(
    "--output",
    type=click.Path(dir_okay=False),
    help="Where to write the private key (default: $TRACKER_SIGNING_KEY, else <home>/signing-key.pem).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the public key as JSON.")
@pass_ctx
def keys_generate(ctx: AppContext, output: str | None, as_json: bool) -> None:
    """Make an Ed25519 signing key (never overwrites one) and print its public key.

    The private key is a PEM file readable by its owner only; keep it outside the database and
    give auditors the verifier key printed here (or the PEM public key).

    Example:

    \b
        tracker keys generate --output var/backup-signing-key.pem --json
    """
    path = Path(output) if output else cps.key_path(ctx.settings)
    key = generate_key(path, ctx.settings.signing.origin).verifier
    if as_json:
        _echo_json(
            {"path": str(path), "name": key.name, "key_id": key.id.hex(), "vkey": key.vkey, "public_key_pem": key.pem}
        )
        return
    click.echo(f"wrote the private key to {path}", err=True)
    click.echo(f"verifier key (vkey): {key.vkey}")
    click.echo(key.pem, nl=False)


@click.command()
@click.option("--output", type=click.Path(dir_okay=False), help="Also write the signed note to this file.")
@click.option("--json", "as_json", is_flag=True, help="Print the checkpoint as JSON.")
@pass_ctx
def checkpoint(ctx: AppContext, output: str | None, as_json: bool) -> None:
    """Sign the current tree head (size, root, time) and keep it; print the signed note.

    The note is a C2SP checkpoint (https://c2sp.org/tlog-checkpoint) signed with the Ed25519 key of
    $TRACKER_SIGNING_KEY (default <home>/signing-key.pem).

    Example:

    \b
        tracker checkpoint --output var/checkpoint.txt
    """
    key = cps.signing_key(ctx.settings)
    ctx.app.require_ready()
    kept = cps.make_checkpoint(ctx.app.db, key, ctx.settings.signing.origin, ctx.app.clock())
    if output:
        Path(output).write_text(kept.note, encoding="utf-8")
    if as_json:
        _echo_json(kept.as_dict())
    else:
        click.echo(kept.note, nl=False)


@click.group()
def checkpoints() -> None:
    """Kept checkpoints.

    Example:

    \b
        tracker checkpoints list --json
    """


@checkpoints.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_ctx
def checkpoints_list(ctx: AppContext, as_json: bool) -> None:
    """List the kept checkpoints, oldest first.

    Example:

    \b
        tracker checkpoints list
    """
    ctx.app.require_ready()
    for kept in cps.list_checkpoints(ctx.app.db):
        if as_json:
            click.echo(json.dumps(kept.as_dict(), ensure_ascii=False))
        else:
            click.echo(
                f"{kept.id:>5}  {kept.created_at}  size {kept.tree_size:>8}  root {kept.root_hash}  {kept.key_name}"
            )


def _checkpoint_or_size(ctx: AppContext, value: str) -> tuple[int, Checkpoint | None]:
    if value.isdigit():
        return int(value), None
    found = cps.read_checkpoint_file(Path(value))
    cps.check_against_log(ctx.app.db, found)
    return found.size, found


@click.command()
@click.argument("position", type=int, required=False)
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(dir_okay=False),
    help="Prove against this checkpoint (default: the latest kept one that covers POSITION).",
)
@click.option(
    "--from", "first", metavar="CHECKPOINT|SIZE", help="Consistency proof from this checkpoint file (or tree size) ..."
)
@click.option("--to", "second", metavar="CHECKPOINT|SIZE", help="... to this one (default: the log now).")
@click.option(
    "--json", "as_json", is_flag=True, help="Print the proof as JSON (the file `tracker verify --proof` reads)."
)
@pass_ctx
def prove(ctx: AppContext, position: int | None, checkpoint_file: str | None, first: str | None,
          second: str | None, as_json: bool) -> None:
    """Print an inclusion proof for the event at POSITION, or a consistency proof between two checkpoints.

    The inclusion proof's JSON carries the event itself as exported (field "event"): save it
    as EVENT.json for `tracker verify --proof`.

    Example:

    \b
        tracker prove 42 --json > proof.json
        tracker prove --from old-checkpoint.txt --to checkpoint.txt --json
    """
    ctx.app.require_ready()
    proofs = LogProofs(ctx.app.db)
    if first is not None:
        if position is not None:
            raise click.UsageError("give POSITION or --from/--to, not both")
        m, _ = _checkpoint_or_size(ctx, first)
        n = _checkpoint_or_size(ctx, second)[0] if second else None
        consistency = proofs.consistency(m, n)
        if as_json:
            _echo_json(consistency.as_dict())
            return
        click.echo(f"consistency from size {consistency.first_size} (root {consistency.first_root})")
        click.echo(f"to size {consistency.second_size} (root {consistency.second_root}):")
        for node in consistency.path:
            click.echo(f"  {node}")
        return
    if position is None:
        raise click.UsageError("give POSITION, or --from CHECKPOINT")
    note: str | None = None
    if checkpoint_file:
        size, found = _checkpoint_or_size(ctx, checkpoint_file)
        note = found.note if found else None
    else:
        kept = cps.latest_checkpoint(ctx.app.db)
        if kept is not None and kept.tree_size >= position:
            size, note = kept.tree_size, kept.note
        else:
            size = proofs.head().size
    if not 1 <= position <= size:
        raise NotFoundError(f"position {position} is not in the tree of size {size}")
    proof = proofs.inclusion(position, size)
    event = next(iter(auditing.export_lines_between(ctx.app.store, position)), None)
    if as_json:
        _echo_json({**proof.as_dict(), "checkpoint": note, "event": json.loads(event) if event else None})
        return
    click.echo(f"event {proof.position} (leaf {proof.leaf_index}, hash {proof.leaf_hash})")
    click.echo(f"in the tree of size {proof.tree_size} with root {proof.root_hash}"
               + ("" if note else " (no kept checkpoint covers it: run `tracker checkpoint`)"))
    for node in proof.path:
        click.echo(f"  {node}")


def verify_proofs(ctx: AppContext, proof_file: str | None, event_file: str | None,
                  checkpoint_files: tuple[str, ...], public_key: str | None) -> None:
    """`tracker verify --proof ... / --checkpoint ...`: offline where the question allows it."""
    from tracker.services import proof_check

    found = [cps.read_checkpoint_file(Path(f)) for f in checkpoint_files]
    if not found:
        raise click.UsageError("--proof needs --checkpoint FILE (and --event for an inclusion proof)")
    key = cps.verifier_for(found[0], public_key, ctx.settings)
    if proof_file:
        if "first_size" in proof_check.load_proof(Path(proof_file)):
            if len(found) != 2:
                raise click.UsageError("a consistency proof needs --checkpoint A --checkpoint B")
            verdict = proof_check.check_consistency(Path(proof_file), found[0], found[1], key)
        else:
            if not event_file:
                raise click.UsageError("an inclusion proof needs --event EVENT.json (a line of `tracker export`)")
            if len(found) != 1:
                raise click.UsageError("an inclusion proof is checked against one --checkpoint")
            verdict = proof_check.check_inclusion(Path(proof_file), Path(event_file), found[0], key)
        click.echo(f"ok: {verdict.kind} proof verifies: {verdict.detail}")
        return
    if len(found) == 2:
        click.echo(f"ok: {proof_check.check_split_view(found[0], found[1], key)}")
        if found[0].size != found[1].size:
            ctx.app.require_ready()
            for one in found:
                cps.verify_witness_checkpoint(ctx.app.db, one, key)
            click.echo("ok: the log holds both, so the larger extends the smaller (consistency proofs verified)")
        return
    if len(found) > 2:
        raise click.UsageError("give one or two --checkpoint files")
    ctx.app.require_ready()
    check = cps.verify_witness_checkpoint(ctx.app.db, found[0], key)
    click.echo(f"ok: the log of {check.log_size} events extends the checkpoint of size {found[0].size} "
               f"signed by {key.name} (consistency proof of {check.path_length} hashes)")


def verify_witness_checkpoint(ctx: AppContext, witness_file: str, public_key: str | None) -> bool:
    """`tracker verify --witness FILE` when FILE carries a checkpoint; False when it carries none."""
    found = cps.checkpoints_in_file(Path(witness_file))
    if not found:
        return False
    if len(found) > 1:
        raise TrackerError(f"{witness_file}: carries {len(found)} different checkpoints")
    key = cps.verifier_for(found[0], public_key, ctx.settings) if public_key or cps.own_verifier(ctx.settings) else None
    ctx.app.require_ready()
    check = cps.verify_witness_checkpoint(ctx.app.db, found[0], key)
    signed = f"signed by {check.signed_by}" if check.signed_by else "signature not checked: no public key at hand"
    click.echo(f"ok: the log of {check.log_size} events extends the checkpoint of size {found[0].size} stated by "
               f"{witness_file} ({signed}; consistency proof of {check.path_length} hashes)")
    return True


def register(group: click.Group) -> None:
    for command in (keys, checkpoint, checkpoints, prove):
        group.add_command(command)


__all__ = ["register", "TrackerError"]
