"""Perks as code: plan and apply perk files; list, show, toggle and export perks."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import datetime

from loyaltyctl.crypto import KeyRing
from loyaltyctl.domain import perks as domain
from loyaltyctl.domain.errors import BadInputFile, Problem
from loyaltyctl.domain.values import utcnow
from loyaltyctl.store import audit
from loyaltyctl.store import members as member_store
from loyaltyctl.store import perks as store
from loyaltyctl.store.db import Session
from loyaltyctl.store.tables import Perk

KeyLoader = Callable[[], KeyRing]


# --- apply ---------------------------------------------------------------------------


def _audience_json(audience: domain.Audience) -> str:
    return json.dumps(audience.as_dict(), sort_keys=True, separators=(",", ":"))


def _audience(text: str) -> domain.Audience:
    data = json.loads(text or "{}")
    return domain.Audience(**{k: tuple(v) for k, v in data.items()})


def _columns(spec: domain.PerkSpec) -> dict:
    """The perk's stored columns as the file says them (secrets apart)."""
    return {
        "name": spec.name,
        "price": spec.price,
        "category": spec.category,
        "description": spec.description,
        "active": spec.active,
        "media": spec.media,
        "media_type": spec.media_type,
        "media_size": spec.media_size,
        "max_supply": spec.max_supply,
        "max_per_member": spec.max_per_member,
        "valid_from": spec.valid_from,
        "valid_until": spec.valid_until,
        "audience": _audience_json(spec.audience),
        "redemption_type": spec.redemption_type,
        "instructions": spec.instructions,
        "single_use": spec.single_use,
        "iframe": spec.iframe,
        "checkout_url": spec.checkout_url,
        "webhook_url": spec.webhook_url,
    }


def _changed_columns(row: Perk | None, wanted: dict) -> list[str]:
    if row is None:
        return list(wanted)
    return [name for name, value in wanted.items() if getattr(row, name) != value]


def _secret_changes(spec: domain.PerkSpec, row: Perk | None, keys: KeyLoader) -> dict[str, str]:
    """Secrets given in the file that differ from the stored ones: field -> plaintext."""
    changed = {}
    for field in domain.SECRET_FIELDS:
        wanted = getattr(spec, field)
        if wanted is None:
            continue  # left out: keep the stored one
        stored_token = getattr(row, f"{field}_enc") if row is not None else None
        stored = (
            keys().decrypt(stored_token, bound_to=domain.perk_secret_binding(spec.slug, field))
            if stored_token
            else None
        )
        if stored != wanted:
            changed[field] = wanted
    return changed


def _plan_problems(spec: domain.PerkSpec, row: Perk | None, secrets: dict) -> list[Problem]:
    """What only the database can tell: a missing secret, a supply below the claims."""

    def has(field: str) -> bool:
        return field in secrets or (row is not None and getattr(row, f"{field}_enc") is not None)

    problems = []

    def problem(field: str, message: str, at: str | None = None) -> None:
        line, column = spec.where(at or field)
        problems.append(
            Problem(file=spec.source, line=line, field=field, message=message, column=column)
        )

    if spec.redemption_type in ("code", "link") and not has("value"):
        problem(
            "redemption.value",
            f"perk {spec.slug}: a {spec.redemption_type} redemption needs a value "
            "(value, value_env or value_file); none is stored yet.",
        )
    if spec.redemption_type == "webhook" and not has("webhook_secret"):
        problem(
            "redemption.webhook_secret",
            f"perk {spec.slug}: a webhook redemption needs webhook_secret (or "
            "webhook_secret_env / webhook_secret_file) to sign deliveries; none is stored yet.",
            at="redemption.type",
        )
    if row is not None and spec.max_supply is not None and spec.max_supply < row.claimed:
        problem(
            "max_supply",
            f"perk {spec.slug} already has {row.claimed:,} active claims; max_supply "
            f"{spec.max_supply:,} would be below them (cancel claims first, or raise it).",
        )
    return problems


@dataclass
class Plan:
    """What applying would change, the problems that stop it, and how to write it."""

    changes: list[domain.PlanChange]
    problems: list[Problem]
    write: Callable[[], None]


def raise_problems(problems: list[Problem]) -> None:
    if problems:
        raise BadInputFile(sorted(problems, key=lambda p: (p.file, p.line, p.column or 0)))


def apply_perks(
    *,
    session: Session,
    specs: list[domain.PerkSpec],
    keys: KeyLoader,
    operator: str,
    prune: bool = False,
    dry_run: bool = False,
    now: datetime | None = None,
) -> domain.ApplyResult:
    """Plan every perk against the database, then write the plan (one transaction,
    the caller's). Problems only the database can show are reported all at once,
    like the file's own, and nothing is written."""
    plan = plan_perks(
        session=session, specs=specs, keys=keys, operator=operator, prune=prune, now=now
    )
    raise_problems(plan.problems)
    if not dry_run:
        plan.write()
    return domain.ApplyResult(dry_run=dry_run, changes=tuple(plan.changes))


def plan_perks(
    *,
    session: Session,
    specs: list[domain.PerkSpec],
    keys: KeyLoader,
    operator: str,
    prune: bool = False,
    now: datetime | None = None,
) -> Plan:
    now = now or utcnow()
    rows = store.by_slugs(session, [s.slug for s in specs])
    changes: list[domain.PlanChange] = []
    writes: list[tuple[domain.PerkSpec, Perk | None, dict, dict]] = []
    problems: list[Problem] = []
    for spec in specs:
        row = rows.get(spec.slug)
        wanted = _columns(spec)
        secrets = _secret_changes(spec, row, keys)
        problems.extend(_plan_problems(spec, row, secrets))
        fields = _changed_columns(row, wanted)
        if "media_size" in fields:  # the same path with other bytes is a changed media
            fields.remove("media_size")
            if "media" not in fields:
                fields.append("media")
        fields += list(secrets)
        action = "create" if row is None else ("update" if fields else "unchanged")
        changes.append(domain.PlanChange("perk", spec.slug, action, tuple(fields)))
        if action != "unchanged":
            writes.append((spec, row, wanted, secrets))
    pruned = []
    if prune:
        named = {s.slug for s in specs}
        pruned = [slug for slug in store.active_slugs(session) if slug not in named]
        changes += [domain.PlanChange("perk", slug, "disable", ("active",)) for slug in pruned]
    return Plan(
        changes,
        problems,
        lambda: _write_plan(session, writes, pruned, keys=keys, operator=operator, now=now),
    )


def _write_plan(session, writes, pruned, *, keys: KeyLoader, operator: str, now) -> None:
    events = []
    for spec, row, wanted, secrets in writes:
        values = dict(wanted, updated_at=now)
        for field, plaintext in secrets.items():
            values[f"{field}_enc"] = keys().encrypt(
                plaintext, bound_to=domain.perk_secret_binding(spec.slug, field)
            )
        if row is None:
            store.insert_perk(session, dict(values, slug=spec.slug, created_at=now))
            action, fields = "perk.create", sorted(wanted)
        else:
            store.update_perk(session, row.id, values)
            action = "perk.update"
            fields = sorted(set(_changed_columns(row, wanted)) | set(secrets))
        # field names only: a secret's value never reaches the audit log
        events.append(
            audit.NewEvent(
                subject=f"perk:{spec.slug}",
                action=action,
                operator=operator,
                at=now,
                details={"fields": fields, "file": spec.source},
            )
        )
    for slug in pruned:
        store.set_active(session, store.require(session, slug).id, False, now)
        events.append(
            audit.NewEvent(
                subject=f"perk:{slug}",
                action="perk.disable",
                operator=operator,
                at=now,
                reason="not in the applied files (--prune)",
            )
        )
    audit.append_events(session, events)


# --- read ----------------------------------------------------------------------------


def _from_row(cls, row: Perk, **computed):
    """A domain object from a perk row: same-named columns copied, the rest as given."""
    names = {f.name for f in fields(cls)} - computed.keys()
    return cls(**{name: getattr(row, name) for name in names}, **computed)


def to_domain(row: Perk, *, figures: tuple[int, int, int, int] | None = None) -> domain.Perk:
    claims, cancelled, members, spent = figures or (row.claimed, 0, 0, 0)
    return _from_row(
        domain.Perk,
        row,
        supply_left=None if row.max_supply is None else max(row.max_supply - row.claimed, 0),
        audience=_audience(row.audience),
        has_value=row.value_enc is not None,
        claims=claims,
        cancelled_claims=cancelled,
        members=members,
        points_spent=spent,
    )


def perk_state(row: Perk) -> domain.PerkState:
    return _from_row(domain.PerkState, row, audience=_audience(row.audience))


def claimant_state(
    session: Session, member_row, claims_of_perk: int, *, with_labels: bool = True
) -> domain.ClaimantState:
    groups, tags = (
        member_store.labels(session, [member_row.id])[member_row.id] if with_labels else ([], [])
    )
    return domain.ClaimantState(
        external_id=member_row.external_id,
        balance=member_row.balance,
        plan=member_row.plan,
        tier=member_row.tier,
        groups=frozenset(groups),
        tags=frozenset(tags),
        claims_of_perk=claims_of_perk,
    )


def list_perks(*, session: Session, include_inactive: bool = False) -> list[domain.Perk]:
    return [to_domain(row) for row in store.listing(session, include_inactive=include_inactive)]


def perks_for_member(
    *, session: Session, member: str, include_inactive: bool = False, now: datetime | None = None
) -> list[domain.Eligibility]:
    """Every listed perk with whether this member can claim it now, and if not, why."""
    now = now or utcnow()
    row = member_store.require_row(session, member)
    held = store.claims_by_member(session, row.id)
    claimant = claimant_state(session, row, 0)
    result = []
    for perk in store.listing(session, include_inactive=include_inactive):
        mine = replace(claimant, claims_of_perk=held.get(perk.id, 0))
        refused = domain.refusal(perk_state(perk), mine, now)
        result.append(
            domain.Eligibility(
                perk=to_domain(perk),
                claimable=refused is None,
                code=refused[0] if refused else None,
                reason=refused[1] if refused else None,
            )
        )
    return result


def show_perk(*, session: Session, slug: str) -> domain.Perk:
    row = store.require(session, slug)
    return to_domain(row, figures=store.claim_figures(session, row.id))


def set_perk_active(
    *,
    session: Session,
    slug: str,
    active: bool,
    operator: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> tuple[domain.Perk, bool]:
    """Enable or disable without editing the file; returns (perk, changed)."""
    now = now or utcnow()
    row = store.require(session, slug)
    changed = store.set_active(session, row.id, active, now)
    if changed:
        audit.append_event(
            session,
            subject=f"perk:{slug}",
            action="perk.enable" if active else "perk.disable",
            operator=operator,
            at=now,
            reason=reason,
        )
        session.refresh(row)
    return to_domain(row), changed


# --- export --------------------------------------------------------------------------


def export_document(
    *, session: Session, slugs: list[str], reveal_secrets: bool, keys: KeyLoader
) -> dict:
    """The perks as a TOML document that `apply` takes back unchanged.

    Secrets are left out unless revealed; a file without them keeps the stored ones.
    """
    rows = (
        [store.require(session, s) for s in slugs]
        if slugs
        else store.listing(session, include_inactive=True)
    )
    rows.sort(key=lambda r: r.slug)
    return {"perk": [_perk_table(row, reveal_secrets=reveal_secrets, keys=keys) for row in rows]}


def _secrets_used_by(redemption_type: str) -> tuple[str, ...]:
    """A secret kept from an earlier redemption type is not exported: the file would
    not validate (e.g. a value on a webhook perk)."""
    return {"code": ("value",), "link": ("value",), "webhook": ("webhook_secret",)}.get(
        redemption_type, ()
    )


def _perk_table(row: Perk, *, reveal_secrets: bool, keys: KeyLoader) -> dict:
    table: dict = {"slug": row.slug, "name": row.name, "price": row.price}
    table["category"] = row.category
    optional = {
        "description": row.description,
        "media": row.media,
        "max_supply": row.max_supply,
        "max_per_member": row.max_per_member,
        "valid_from": row.valid_from,
        "valid_until": row.valid_until,
    }
    table["active"] = row.active
    table.update({k: v for k, v in optional.items() if v is not None})
    audience = _audience(row.audience)
    if not audience.is_everyone():
        table["audience"] = {k: v for k, v in audience.as_dict().items() if v}
    redemption: dict = {"type": row.redemption_type}
    if reveal_secrets:
        for field in _secrets_used_by(row.redemption_type):
            token = getattr(row, f"{field}_enc")
            if token:
                redemption[field] = keys().decrypt(
                    token, bound_to=domain.perk_secret_binding(row.slug, field)
                )
    extra = {
        "instructions": row.instructions,
        "single_use": row.single_use or None,
        "iframe": row.iframe or None,
        "checkout_url": row.checkout_url,
        "webhook_url": row.webhook_url,
    }
    redemption.update({k: v for k, v in extra.items() if v is not None})
    if redemption != {"type": "none"}:
        table["redemption"] = redemption
    return table
