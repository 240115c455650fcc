"""`[[perk]]` as an apply kind: its columns, its secrets (compared decrypted, written
encrypted, never in the audit log), and what only the database can tell (a missing
secret, a supply below the claims)."""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any

from loyaltyctl.domain import perks as domain
from loyaltyctl.domain.errors import Problem
from loyaltyctl.domain.perks import FieldChange
from loyaltyctl.services.apply.planner import Draft, Kind, problem
from loyaltyctl.store import perk_rows
from loyaltyctl.store import perks as store
from loyaltyctl.store.earning import tiers as store_tiers
from loyaltyctl.store.tables import Perk


class PerkKind(Kind):
    name = "perk"
    json_columns = frozenset({"audience", "coupon", "tier_prices"})
    secret_fields = frozenset(domain.SECRET_FIELDS)
    promised = ("price", "max_supply", "max_per_member", "tier_prices")

    def stored(self, slugs: list[str]) -> dict[str, Perk]:
        return perk_rows.by_slugs(self.session, slugs)

    def active_slugs(self) -> list[str]:
        return perk_rows.active_slugs(self.session)

    def columns(self, spec: domain.PerkSpec) -> dict[str, Any]:
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
            "supply_buckets": domain.supply_buckets(spec.max_supply, spec.supply_buckets),
            "max_per_member": spec.max_per_member,
            "valid_from": spec.valid_from,
            "valid_until": spec.valid_until,
            "audience": _json(spec.audience.as_dict()),
            "redemption_type": spec.redemption_type,
            "instructions": spec.instructions,
            "single_use": spec.single_use,
            "iframe": spec.iframe,
            "checkout_url": spec.checkout_url,
            "webhook_url": spec.webhook_url,
            "coupon": _json(spec.coupon.as_json()) if spec.coupon else None,
            "tier_prices": _json(spec.tier_prices) if spec.tier_prices else None,
        }

    def draft(self, spec: domain.PerkSpec, row: Perk | None) -> Draft:
        columns = self.columns(spec)
        secrets = self._secret_changes(spec, row)
        fields = self.changed(row, columns)
        if "media_size" in fields:  # the same path with other bytes is a changed media
            fields.remove("media_size")
            if "media" not in fields:
                fields.append("media")
        return Draft(
            spec,
            row,
            columns,
            fields + list(secrets),
            _problems(spec, row, secrets, store.counted(self.session, row) if row else None),
            extra=secrets,
            warnings=self._unknown_tiers(spec),
        )

    def field_changes(self, draft: Draft) -> list[FieldChange]:
        changes = super().field_changes(draft)
        row = draft.row
        if row is not None and "media" in draft.fields and row.media == draft.columns["media"]:
            # the same path with other bytes: the sizes tell the change
            changes.append(FieldChange("media_size", row.media_size, draft.columns["media_size"]))
        return changes

    @cached_property
    def _tiers(self) -> set[str]:
        """The tiers stored or in the applied files: what tier_prices may name."""
        stored = {tier.slug for tier in store_tiers(self.session, include_inactive=True)}
        return stored | {tier.slug for tier in self.context.program.of("tier")}

    def _unknown_tiers(self, spec: domain.PerkSpec) -> list[str]:
        if not spec.tier_prices:
            return []
        unknown = sorted(set(spec.tier_prices) - self._tiers)
        if not unknown:
            return []
        line, column = spec.where("tier_prices")
        names = " and ".join(", ".join(unknown).rsplit(", ", 1))
        return [
            f"{spec.source}:{line}:{column}: tier_prices: perk {spec.slug} names {names}, "
            f"but no [[tier]] has {'that slug' if len(unknown) == 1 else 'those slugs'} yet; "
            "its price applies to members of that tier once it exists."
        ]

    def insert(self, draft: Draft, values: dict[str, Any]) -> None:
        perk_id = perk_rows.insert_perk(self.session, self._sealed(draft, values))
        if values.get("supply_buckets", 1) > 1:
            perk_rows.lay_out_buckets(self.session, perk_id)

    def update(self, draft: Draft, values: dict[str, Any]) -> None:
        perk_rows.update_perk(self.session, draft.row.id, self._sealed(draft, values))
        if {"supply_buckets", "max_supply"} & set(draft.fields):
            perk_rows.lay_out_buckets(self.session, draft.row.id)

    def disable(self, slug: str) -> None:
        perk_rows.set_active(
            self.session, perk_rows.require(self.session, slug).id, False, self.context.now
        )

    def audited_fields(self, draft: Draft) -> list[str]:
        # the columns as stored (media_size apart from media); secrets by name only
        if draft.row is None:
            return sorted(draft.columns)
        return sorted(set(self.changed(draft.row, draft.columns)) | set(draft.extra))

    def _secret_changes(self, spec: domain.PerkSpec, row: Perk | None) -> dict[str, str]:
        """Secrets given in the file that differ from the stored ones: field -> plaintext."""
        changed = {}
        for field in domain.SECRET_FIELDS:
            wanted = getattr(spec, field)
            if wanted is None:
                continue  # left out: keep the stored one
            token = getattr(row, f"{field}_enc") if row is not None else None
            binding = domain.perk_secret_binding(spec.slug, field)
            stored = self.context.keys().decrypt(token, bound_to=binding) if token else None
            if stored != wanted:
                changed[field] = wanted
        return changed

    def _sealed(self, draft: Draft, values: dict[str, Any]) -> dict[str, Any]:
        """The values with the changed secrets encrypted, each bound to its perk and field."""
        for field, plaintext in draft.extra.items():
            values[f"{field}_enc"] = self.context.keys().encrypt(
                plaintext, bound_to=domain.perk_secret_binding(draft.spec.slug, field)
            )
        return values


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _problems(
    spec: domain.PerkSpec, row: Perk | None, secrets: dict[str, str], counted=None
) -> list[Problem]:
    """What only the database can tell: a missing secret, a supply below the claims
    (``counted``: the stored perk's figures, wherever they are kept)."""

    def has(field: str) -> bool:
        return field in secrets or (row is not None and getattr(row, f"{field}_enc") is not None)

    problems = []
    if spec.redemption_type in ("code", "link") and not has("value"):
        problems.append(
            problem(
                spec,
                "redemption.value",
                f"perk {spec.slug}: a {spec.redemption_type} redemption needs a value "
                "(value, value_env or value_file); none is stored yet.",
            )
        )
    if spec.redemption_type == "webhook" and not has("webhook_secret"):
        problems.append(
            problem(
                spec,
                "redemption.webhook_secret",
                f"perk {spec.slug}: a webhook redemption needs webhook_secret (or "
                "webhook_secret_env / webhook_secret_file) to sign deliveries; none is stored"
                " yet.",
                spec.where("redemption.type"),
            )
        )
    claimed = counted.claimed if counted is not None else 0
    if row is not None and spec.max_supply is not None and spec.max_supply < claimed:
        problems.append(
            problem(
                spec,
                "max_supply",
                f"perk {spec.slug} already has {claimed:,} active claims; max_supply "
                f"{spec.max_supply:,} would be below them (cancel claims first, or raise it).",
            )
        )
    return problems
