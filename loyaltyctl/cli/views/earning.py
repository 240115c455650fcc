"""Human renderings of earning rules, tiers, event ingests and tier status."""

from __future__ import annotations

from loyaltyctl.cli._output import Column

RULE_COLUMNS = [
    Column("slug", "Rule"),
    Column("kind", "Kind"),
    Column("name", "Name"),
    Column("earns", "Earns"),
    Column("limit", "Limit"),
    Column("tiers", "Tiers", drop=2),
    Column("active", "Active", drop=3),
]

TIER_COLUMNS = [
    Column("slug", "Tier"),
    Column("name", "Name"),
    Column("threshold", "Threshold", "right"),
    Column("period", "Period"),
    Column("multiplier", "Multiplier", "right"),
    Column("overrides", "Overrides", drop=1),
    Column("downgrade", "Downgrade", drop=2),
    Column("active", "Active", drop=3),
]


def rule_json(rule) -> dict:
    settings = rule.settings()
    if rule.points_per_unit is not None:
        settings["points_per_unit"] = rule.points_per_unit  # a number, not its stored text
    return {
        "slug": rule.slug,
        "kind": rule.kind,
        "name": rule.name,
        "description": rule.description,
        "active": rule.active,
        "tiers": list(rule.tiers),
        **settings,
    }


def rule_rows(rules) -> list[dict]:
    return [
        {
            "slug": r.slug,
            "kind": r.kind,
            "name": r.name,
            "earns": r.describe(),
            "limit": r.limit.describe() if r.limit else None,
            "tiers": list(r.tiers) or "everyone",
            "active": r.active,
        }
        for r in rules
    ]


def tier_json(tier) -> dict:
    return {
        "slug": tier.slug,
        "name": tier.name,
        "description": tier.description,
        "threshold": tier.threshold,
        "period": tier.period,
        "multiplier": tier.multiplier,
        "overrides": dict(tier.overrides),
        "downgrade": tier.downgrade,
        "active": tier.active,
    }


def tier_rows(tiers) -> list[dict]:
    rows = []
    for t in tiers:
        from loyaltyctl.domain.earning import decimal_text

        row = tier_json(t)
        row["multiplier"] = f"×{decimal_text(t.multiplier)}"
        row["overrides"] = ", ".join(f"{k} = {v}" for k, v in t.overrides.items()) or None
        rows.append(row)
    return rows


def ingest_json(result) -> dict:
    from loyaltyctl.cli._output import jsonable

    document = jsonable(result)
    document["errors"] = [{"line": e.line, "message": e.message} for e in result.errors]
    document["notes"] = [{"line": n.line, "message": n.message} for n in result.notes]
    # exit 3 either way: partial says the good lines were applied and the bad ones skipped
    document["partial"] = bool(result.errors_total) and _any_good_line_applied(result)
    _with_error(document, result)
    return document


def ingest_problem(result) -> str:
    noun = "line is" if result.errors_total == 1 else "lines are"
    return f"{result.file}: {result.errors_total:,} bad {noun} listed above."


def _any_good_line_applied(result) -> bool:
    if result.rolled_back or result.dry_run:
        return False
    return bool(result.applied or result.replayed)


def ingest_hint(result) -> str:
    if getattr(result, "mapped_only", False):
        return "Nothing is applied by `events map`; fix the payloads or the members first."
    if result.rolled_back:
        return "--strict: nothing was applied; fix them and ingest the file again."
    if result.dry_run:
        return "--dry-run: nothing was applied; fix them and try again."
    if not _any_good_line_applied(result):
        return "No line was good, so nothing was applied; fix them and ingest the file again."
    return (
        "The other events were applied; fix the bad lines and ingest the file again "
        "(events applied already are replayed, not applied twice)."
    )


def ingest_summary(result) -> list[str]:
    if result.rolled_back:
        head = f"--strict: nothing applied from {result.file} ({result.events:,} events read)."
    else:
        verb = "Would apply" if result.dry_run else "Applied"
        parts = []
        if result.replayed:
            parts.append(f"{result.replayed:,} ingested before (nothing changed for them)")
        if result.skipped:
            parts.append(f"{result.skipped:,} skipped")
        head = (
            f"{verb} {result.applied:,} of {result.events:,} events from {result.file}"
            + (f"; {', '.join(parts)}" if parts else "")
            + "."
        )
    lines = [head]
    would = "would be " if result.dry_run else ""
    if not result.rolled_back and (result.points_awarded or result.points_reversed):
        pending = f" ({result.points_pending:,} pending)" if result.points_pending else ""
        lines.append(
            f"Points {would}awarded {result.points_awarded:,}{pending}, {would}reversed "
            f"{result.points_reversed:,}."
        )
    if result.shortfall and not result.rolled_back:
        lines.append(
            f"[yellow]warning:[/] {result.shortfall:,} points to reverse had been spent "
            "already; balances stop at 0 and the shortfall is recorded on the refunds."
        )
    extras = []
    if result.capped:
        extras.append(
            f"{_count(result.capped, 'event')} {would}held back by a rule's limit (0 points)"
        )
    if result.members_created and not result.rolled_back:
        extras.append(f"{_count(result.members_created, 'member')} {would}added")
    if result.held:
        extras.append(
            f"{_count(result.held, 'refund')} of orders not known yet {would}held"
            " (applied when the order is ingested)"
        )
    if result.held_applied:
        extras.append(
            f"{_count(result.held_applied, 'held refund')} {would}applied with their order"
        )
    if result.notes_total:
        extras.append(f"{_count(result.notes_total, 'note')} (listed on stderr)")
    if result.tier_changes and not result.rolled_back:
        extras.append(f"{_count(result.tier_changes, 'tier change')}")
    if extras:
        lines.append("; ".join(extras) + ".")
    if result.dry_run and not result.rolled_back:
        lines.append("Dry run: nothing was changed.")
    return lines


def map_json(result) -> dict:
    """`events map --json`: the events, the notes and the bad payloads."""
    document = {
        "file": result.file,
        "format": result.format,
        "events": list(result.documents),
        "notes": [{"line": n.line, "message": n.message} for n in result.notes],
        "errors": [{"line": e.line, "message": e.message} for e in result.errors],
        "errors_total": result.errors_total,
    }
    _with_error(document, result)
    return document


def _with_error(document: dict, result) -> None:
    """The `error` of a result whose file had bad lines (exit 3)."""
    if result.errors_total:
        document["error"] = {
            "code": "bad_input_file",
            "message": ingest_problem(result),
            "hint": ingest_hint(result),
        }


def ingest_notes(result) -> list[str]:
    """What the payloads said that was reported, not applied: one line each."""
    lines = [f"{result.file}:{note.line}: note: {note.message}" for note in result.notes]
    if more := result.notes_total - len(result.notes):
        lines.append(f"... and {more:,} more notes")
    return lines


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def tier_status_text(status) -> str | None:
    """ "Gold ×1.5 · 1,200 earned in 12 months · 300 more for Platinum (1,500)"."""
    if status is None:
        return None
    from loyaltyctl.domain.earning import decimal_text

    parts = []
    if status.tier is not None:
        label = status.name or status.tier
        if status.multiplier is not None:
            label += f" ×{decimal_text(status.multiplier)}"
        parts.append(label + (" (set by hand)" if status.manual else ""))
    else:
        parts.append("none")
    if status.earned is not None:
        parts.append(f"{status.earned:,} earned in {status.period}")
    if status.next_tier is not None:
        parts.append(
            f"{status.needed:,} more for {status.next_name} ({status.next_threshold:,}"
            + (f" in {status.next_period}" if status.next_period != status.period else "")
            + ")"
        )
    return " · ".join(parts)
