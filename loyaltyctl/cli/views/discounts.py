"""Discounts: listings, a discount's panel, grants, and a member's held discounts."""

from __future__ import annotations

from loyaltyctl.cli._output import Column, local_time
from loyaltyctl.cli.views.common import grid

SUMMARY_COLUMNS = (
    Column("slug", "Discount"),
    Column("percent", "%", justify="right"),
    Column("enabled", "Enabled"),
    Column("note", "Note", drop=2),
    Column("active_grants", "Grants", justify="right"),
    Column("members", "Members", justify="right"),
    Column("name", "Name", drop=1),
)
GRANT_COLUMNS = (
    Column("id", "Id", justify="right"),
    Column("discount", "Discount"),
    Column("member", "Member"),
    Column("source", "Source"),
    Column("since", "Since"),
    Column("until", "Until"),
    Column("revoke_at", "Revoke at", drop=1),
    Column("status", "Status"),
    Column("note", "Note", drop=2),
)


def percent(value) -> str:
    return f"{value.normalize():f}"


def summary_row(item) -> dict:
    spec = item.spec
    return {
        "slug": spec.slug,
        "name": spec.name,
        "percent": percent(spec.percent),
        "enabled": spec.enabled,
        "note": "dormant" if spec.dormant else None,
        "active_grants": item.active_grants,
        "members": item.members,
    }


def source_text(record) -> str:
    if record.source == "order":
        return f"order {record.order_id}"
    if record.source == "subscription":
        return f"subscription {record.subscription_id}"
    return f"by {record.operator}"


def grant_row(record) -> dict:
    return {
        "id": record.id,
        "discount": record.discount,
        "member": record.member,
        "source": source_text(record),
        "since": record.since,
        "until": record.until,
        "revoke_at": record.revoke_at,
        "status": record.status,
        "note": record.note or record.revoke_reason,
    }


def schedule_text(spec) -> str:
    schedule = spec.schedule
    if schedule.always:
        return "always"
    parts = []
    if schedule.start or schedule.end:
        parts.append(f"{schedule.start or '…'} → {schedule.end or '…'}")
    if schedule.weekdays:
        parts.append(", ".join(schedule.weekdays))
    if schedule.time_from or schedule.time_until:
        start = schedule.time_from.strftime("%H:%M") if schedule.time_from else "00:00"
        end = schedule.time_until.strftime("%H:%M") if schedule.time_until else "24:00"
        parts.append(f"{start}–{end}")
    return "; ".join(parts)


def detail(item) -> list:
    from rich.panel import Panel

    summary = item.summary
    spec = summary.spec
    scopes = ", ".join(s.type if s.value is None else f"{s.type} {s.value}" for s in spec.scopes)
    triggers = ", ".join(
        " ".join(v for v in (t.type, t.package, t.duration and f"({t.duration})") if v)
        for t in spec.triggers
    )
    rows = [
        ("Name", spec.name),
        ("Percent", f"{percent(spec.percent)}%"),
        ("Enabled", spec.enabled),
        ("Dormant", "yes: no scope or no trigger, it never applies" if spec.dormant else False),
        ("Schedule", schedule_text(spec)),
        ("Scopes", scopes or None),
        ("Triggers", triggers or None),
        ("Stacks with", ", ".join(sorted(spec.stack_with)) or "nothing"),
        ("Priority", spec.priority),
        ("Exclusive group", spec.exclusive_group),
        ("Active grants", f"{summary.active_grants:,}"),
        ("Members", f"{summary.members:,}"),
        ("Note", spec.description),
    ]
    parts: list = [Panel(grid(rows), title=f"Discount {spec.slug}", expand=False)]
    if item.grants:
        from loyaltyctl.cli._output import Output

        table = Output().table([grant_row(g) for g in item.grants], GRANT_COLUMNS)
        table.title, table.title_justify = "Held by", "left"
        parts.append(table)
    return parts


def granted(record) -> list:
    from rich.panel import Panel

    rows = [
        ("Member", record.member),
        ("Since", local_time(record.since)),
        ("Until", local_time(record.until) if record.until else "until revoked"),
        ("Note", record.note),
        ("Grant", record.id),
    ]
    title = f"Discount {record.discount} granted"
    parts: list = [Panel(grid(rows), title=title, expand=False)]
    if record.replayed:
        parts.insert(0, "[yellow]Already done[/]: this key granted it before.")
    return parts


def held_rows(records) -> list[dict]:
    """`member show`: the discounts a member holds."""
    return [
        {
            "discount": r.discount,
            "source": source_text(r),
            "until": r.until,
            "revoke_at": r.revoke_at,
            "status": r.status,
        }
        for r in records
    ]


HELD_COLUMNS = (
    Column("discount", "Discount"),
    Column("source", "Source"),
    Column("until", "Until"),
    Column("revoke_at", "Revoke at"),
    Column("status", "Status"),
)
