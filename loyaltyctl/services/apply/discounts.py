"""`[[discount]]` as an apply kind. A discount's schedule, scopes, triggers and stack_with
are compared as the values they hold; `--prune` disables (never deletes) one missing from
the files: its grants stay and apply nothing. A dormant discount (no scope or no trigger)
is accepted with a warning naming it: it never applies."""

from __future__ import annotations

from typing import Any

from loyaltyctl.domain import discounts as domain
from loyaltyctl.services.apply.planner import Draft, Kind
from loyaltyctl.store import discounts as store
from loyaltyctl.store import earning as rows
from loyaltyctl.store.tables import Discount


class DiscountKind(Kind):
    name = "discount"
    disable_field = "enabled"
    json_columns = frozenset({"schedule", "scopes", "triggers", "stack_with"})

    def stored(self, slugs: list[str]) -> dict[str, Any]:
        return rows.by_slugs(self.session, Discount, slugs)

    def active_slugs(self) -> list[str]:
        return store.enabled_slugs(self.session)

    def columns(self, spec: domain.DiscountSpec) -> dict[str, Any]:
        return domain.stored_columns(spec)

    def draft(self, spec: domain.DiscountSpec, row: Discount | None) -> Draft:
        draft = super().draft(spec, row)
        if spec.dormant:
            missing = [
                w for w, given in (("scope", spec.scopes), ("trigger", spec.triggers)) if not given
            ]
            draft.warnings.append(
                f"{spec.source}:{spec.line}:1: discount {spec.slug} is dormant: it has no"
                f" {' and no '.join(missing)}, so it never applies; add"
                f" {'both' if len(missing) == 2 else 'one'} for it to apply."
            )
        return draft

    def insert(self, draft: Draft, values: dict[str, Any]) -> None:
        rows.insert_one(self.session, Discount, values)

    def update(self, draft: Draft, values: dict[str, Any]) -> None:
        rows.update_one(self.session, Discount, draft.row.id, values)

    def disable(self, slug: str) -> None:
        store.disable(self.session, slug, self.context.now)
