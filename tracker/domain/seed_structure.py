"""The analyst's structure in seed files: provenance, flags, classes, regimes, pathways, time limits.

Pure checks over one item's table (seeds/README.md, "Provenance and structure"), each problem named
by file, item and field through ItemChecker. Fields are written into the record only when given,
so an item that uses none of them keeps the payload it always had (seeding again changes nothing).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tracker.domain.dates import DATE_BASES
from tracker.domain.seed_checks import ItemChecker

CLASS_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,80}$")
# Where a date comes from. stated: the review states it; cited-source: the publication (or access)
# date of the source the review cites for it; review: the review's own date (2025) for a figure it
# gives undated; title: read from the document's title or number ("2015版", "2001/83/EC");
# external: from outside the review (with `source`).
FLAG_TYPES = ("conflict", "inconsistency", "approximate", "bound", "expected", "anachronism")
TIME_UNITS = ("days", "months", "years")

# Item fields every kind may carry; each is stored under the record's attributes when present.
COMMON_FIELDS = frozenset({"external", "source", "external_facts", "flags", "classified", "time_limits", "retracted"})
KIND_FIELDS: Mapping[str, frozenset[str]] = {
    "classification": frozenset({"definition", "classes"}),
    "regime": frozenset({"route", "scope"}),
    "pathway": frozenset({"regime", "stages"}),
    "watch": frozenset({"concerns", "pending"}),
}
STEP_FIELDS = frozenset({"external", "source", "date_basis", "corrects"})
RELATION_FIELDS = frozenset({"external", "source", "inferred", "basis", "date"})


def provenance(raw: Mapping[str, Any], check: ItemChecker, prefix: str = "") -> dict[str, Any]:
    """``external = true`` needs a ``source``; a ``source`` alone is refused (say external)."""
    external = raw.get("external")
    if external is None:
        if "source" in raw:
            check.bad(prefix + "source", "only with external = true (a fact from outside the review)")
        return {}
    if not isinstance(external, bool):
        check.bad(prefix + "external", f"must be true or false, not {external!r}")
        return {}
    source = check.text(raw, "source", required=external, prefix=prefix)
    return {"external": True, "source": source} if external else {}


def inference(raw: Mapping[str, Any], check: ItemChecker, prefix: str = "") -> dict[str, Any]:
    """``inferred = true`` (the analyst's reading, not the review's words) needs its ``basis``."""
    inferred = raw.get("inferred")
    if inferred is None:
        if "basis" in raw:
            check.bad(prefix + "basis", "only with inferred = true")
        return {}
    if not isinstance(inferred, bool):
        check.bad(prefix + "inferred", f"must be true or false, not {inferred!r}")
        return {}
    basis = check.text(raw, "basis", required=inferred, prefix=prefix)
    return {"inferred": True, "basis": basis} if inferred else {}


def step_extras(raw: Mapping[str, Any], check: ItemChecker, prefix: str) -> dict[str, Any]:
    extras = provenance(raw, check, prefix)
    basis = raw.get("date_basis")
    if basis is not None:
        if basis not in DATE_BASES:
            check.bad(prefix + "date_basis", f"{basis!r} is not one of {', '.join(DATE_BASES)}")
        elif basis == "external" and not extras:
            check.bad(prefix + "date_basis", "'external' needs external = true and a source")
        else:
            extras["date_basis"] = basis
    return extras


def _step_ref(value: Any, check: ItemChecker, key: str, step_types: Any, parse_date: Any) -> tuple[str, str] | None:
    """A reference to a recorded step: { type = "published", date = "2025" }."""
    if not isinstance(value, dict) or set(value) - {"type", "date", "reason"}:
        check.bad(key, 'must be a table { type = "..", date = ".." }')
        return None
    step_type, date = value.get("type"), value.get("date")
    if step_type not in step_types:
        check.bad(key + ".type", f"{step_type!r} is not a step type that can be corrected")
        return None
    try:
        parse_date(date)
    except (TypeError, ValueError) as exc:
        check.bad(key + ".date", str(exc) if isinstance(exc, ValueError) else f"{date!r} is not a date")
        return None
    return str(step_type), str(date)


def step_corrections(raw: Mapping[str, Any], steps: list[dict[str, Any]], check: ItemChecker, step_types: Any,
                     parse_date: Any) -> tuple[dict[tuple[str, str], tuple[str, str]], list[dict[str, Any]]]:
    """Which recorded step each seed step replaces (``corrects``), and the steps ``retracted`` outright.

    Returns ({(type, date) of the new step: (type, date) of the old}, [{step, date, reason}]).
    """
    replaces: dict[tuple[str, str], tuple[str, str]] = {}
    for number, step in enumerate(raw.get("steps", []) if isinstance(raw.get("steps"), list) else []):
        if isinstance(step, dict) and "corrects" in step:
            old = _step_ref(step["corrects"], check, f"steps[{number}].corrects", step_types, parse_date)
            if old is not None and number < len(steps):
                if steps[number]["step"] == "renamed":
                    check.bad(f"steps[{number}].corrects", "a renamed step cannot replace another (record the rename)")
                replaces[(steps[number]["step"], steps[number]["date"])] = old
    retracted = []
    for number, table in enumerate(_tables(raw, "retracted", check)):
        old = _step_ref(table, check, f"retracted[{number}]", step_types, parse_date)
        reason = check.text(table, "reason", required=True, prefix=f"retracted[{number}].")
        if old is not None:
            retracted.append({"step": old[0], "date": old[1], "reason": reason})
    return replaces, retracted


def relation_extras(raw: Mapping[str, Any], check: ItemChecker, prefix: str, parse_date: Any) -> dict[str, Any]:
    extras = {**provenance(raw, check, prefix), **inference(raw, check, prefix)}
    if "date" in raw:
        date = check.text(raw, "date", required=True, prefix=prefix)
        if date is not None:
            try:
                parse_date(date)
                extras["date"] = date
            except ValueError as exc:
                check.bad(prefix + "date", str(exc))
    return extras


def _tables(raw: Mapping[str, Any], key: str, check: ItemChecker) -> list[dict[str, Any]]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        check.bad(key, f"must be an array of tables ([[items.{key}]])")
        return []
    return value


def common_attributes(raw: Mapping[str, Any], check: ItemChecker) -> dict[str, Any]:
    """The provenance and structure fields any item may carry (only those given)."""
    found: dict[str, Any] = dict(provenance(raw, check))
    facts = []
    for n, table in enumerate(_tables(raw, "external_facts", check)):
        prefix = f"external_facts[{n}]."
        check.unknown(table, frozenset({"fact", "source", "field"}), prefix)
        facts.append({"fact": check.text(table, "fact", required=True, prefix=prefix),
                      "source": check.text(table, "source", required=True, prefix=prefix),
                      **({"field": check.text(table, "field", prefix=prefix)} if "field" in table else {})})
    flags = []
    for n, table in enumerate(_tables(raw, "flags", check)):
        prefix = f"flags[{n}]."
        check.unknown(table, frozenset({"type", "note", "against", "external", "source", "citation"}), prefix)
        if table.get("type") not in FLAG_TYPES:
            check.bad(prefix + "type", f"{table.get('type')!r} is not one of {', '.join(FLAG_TYPES)}")
        flag = {"type": table.get("type"), "note": check.text(table, "note", required=True, prefix=prefix),
                **provenance(table, check, prefix)}
        if "against" in table:
            flag["against"] = check.text(table, "against", required=True, prefix=prefix)
        if "citation" in table:
            flag["citation"] = check.citation(table["citation"], prefix + "citation")
        flags.append(flag)
    classified = []
    for n, table in enumerate(_tables(raw, "classified", check)):
        prefix = f"classified[{n}]."
        check.unknown(table, frozenset({"scheme", "class", "note", "inferred", "basis"}), prefix)
        entry = {"scheme": check.text(table, "scheme", required=True, prefix=prefix),
                 "class": check.text(table, "class", required=True, prefix=prefix), **inference(table, check, prefix)}
        if "note" in table:
            entry["note"] = check.text(table, "note", prefix=prefix)
        classified.append(entry)
    limits = []
    for n, table in enumerate(_tables(raw, "time_limits", check)):
        prefix = f"time_limits[{n}]."
        check.unknown(table, frozenset({"what", "value", "unit", "starts", "citation"}), prefix)
        value = table.get("value")
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            check.bad(prefix + "value", f"must be a positive whole number, not {value!r}")
        if table.get("unit") not in TIME_UNITS:
            check.bad(prefix + "unit", f"{table.get('unit')!r} is not one of {', '.join(TIME_UNITS)}")
        limit = {
            "what": check.text(table, "what", required=True, prefix=prefix),
            "value": value,
            "unit": table.get("unit"),
            "starts": check.text(table, "starts", required=True, prefix=prefix),
        }
        if "citation" in table:
            limit["citation"] = check.citation(table["citation"], prefix + "citation")
        limits.append(limit)
    for key, value in (
        ("external_facts", facts),
        ("flags", flags),
        ("classified", classified),
        ("time_limits", limits),
    ):
        if value:
            found[key] = value
    return found


def _classification(raw: Mapping[str, Any], check: ItemChecker) -> dict[str, Any]:
    classes, seen = [], set()
    for n, table in enumerate(_tables(raw, "classes", check)):
        prefix = f"classes[{n}]."
        check.unknown(
            table, frozenset({"id", "title_zh", "title_en", "parent", "excluded", "note", "citation"}), prefix
        )
        class_id = check.text(table, "id", required=True, prefix=prefix)
        if class_id is not None and not CLASS_ID_RE.match(class_id):
            check.bad(prefix + "id", f"{class_id!r} must be lower-case [a-z0-9-]")
        if class_id in seen:
            check.bad(prefix + "id", f"a second class {class_id!r}")
        seen.add(class_id)
        classes.append(_class_entry(table, class_id, check, prefix))
    for n, entry in enumerate(classes):
        if "parent" in entry and entry["parent"] not in seen:
            check.bad(f"classes[{n}].parent", f"unknown class {entry['parent']!r} in this scheme")
    if not classes:
        check.bad("classes", "a classification needs at least one class ([[items.classes]])")
    definition = check.text(raw, "definition")
    return {"classes": classes, **({"definition": definition} if definition else {})}


def _class_entry(table: Mapping[str, Any], class_id: str | None, check: ItemChecker, prefix: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": class_id, "title_zh": check.text(table, "title_zh", prefix=prefix),
                             "title_en": check.text(table, "title_en", required=True, prefix=prefix)}
    if "parent" in table:
        entry["parent"] = check.text(table, "parent", required=True, prefix=prefix)
    if table.get("excluded") is True:
        entry["excluded"] = True
    elif "excluded" in table and table["excluded"] is not False:
        check.bad(prefix + "excluded", f"must be true or false, not {table['excluded']!r}")
    if "note" in table:
        entry["note"] = check.text(table, "note", prefix=prefix)
    if "citation" in table:
        entry["citation"] = check.citation(table["citation"], prefix + "citation")
    return entry


def _pathway(raw: Mapping[str, Any], check: ItemChecker) -> dict[str, Any]:
    stages = []
    for n, table in enumerate(_tables(raw, "stages", check)):
        prefix = f"stages[{n}]."
        check.unknown(
            table, frozenset({"name", "name_zh", "gatekeeper", "instrument", "note", "inferred", "basis"}), prefix
        )
        stage = {"name": check.text(table, "name", required=True, prefix=prefix), **inference(table, check, prefix)}
        for key in ("name_zh", "gatekeeper", "instrument", "note"):
            if key in table:
                stage[key] = check.text(table, key, required=True, prefix=prefix)
        stages.append(stage)
    if not stages:
        check.bad("stages", "a pathway needs at least one stage ([[items.stages]])")
    regime = check.text(raw, "regime")
    return {"stages": stages, **({"regime": regime} if regime else {})}


def _regime(raw: Mapping[str, Any], check: ItemChecker) -> dict[str, Any]:
    return {"route": check.text(raw, "route", required=True), "scope": check.text(raw, "scope", required=True)}


def _watch(raw: Mapping[str, Any], check: ItemChecker) -> dict[str, Any]:
    return {
        "concerns": check.text(raw, "concerns", required=True),
        "pending": check.text(raw, "pending", required=True),
    }


_KIND_PARSERS = {"classification": _classification, "regime": _regime, "pathway": _pathway, "watch": _watch}


def kind_attributes(kind: str, raw: Mapping[str, Any], check: ItemChecker) -> dict[str, Any]:
    """Fields of the analyst's kinds: classes of a scheme, a regime's route, a pathway's stages."""
    parse = _KIND_PARSERS.get(kind)
    return parse(raw, check) if parse else {}


def referenced_ids(attributes: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, item id) for every item these attributes name: checked across files."""
    found: list[tuple[str, str]] = []
    for n, entry in enumerate(attributes.get("classified", [])):
        found.append((f"classified[{n}].scheme", entry["scheme"]))
    for n, stage in enumerate(attributes.get("stages", [])):
        for key in ("gatekeeper", "instrument"):
            if key in stage:
                found.append((f"stages[{n}].{key}", stage[key]))
    for key in ("regime", "concerns"):
        if attributes.get(key):
            found.append((key, attributes[key]))
    for n, flag in enumerate(attributes.get("flags", [])):
        if "against" in flag and not str(flag["against"]).startswith("src-"):
            found.append((f"flags[{n}].against", flag["against"]))
    return found
