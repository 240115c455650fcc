"""`[[campaign]]` as an apply kind: its columns, its shared codes (added, or restocked:
an inventory only grows), and what only the database can tell (a prize that is no perk,
an archived campaign, a code another campaign holds). --prune pauses."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from loyaltyctl.crypto import KeyRing
from loyaltyctl.domain import promo as domain
from loyaltyctl.domain.errors import Problem
from loyaltyctl.domain.perks import FieldChange
from loyaltyctl.services.apply.planner import Context, Draft, Kind, problem
from loyaltyctl.store import perk_rows
from loyaltyctl.store import promo as store
from loyaltyctl.store.tables import Campaign

# (what to do, the code, its hash, the stored code's id): ("add", ...) or ("restock", ...)
CodeWrite = tuple[str, domain.SharedCodeSpec, str, int | None]


def _json(value) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, separators=(",", ":"))


class CampaignKind(Kind):
    name = "campaign"
    disable_field = "status"
    disabled_value = "paused"
    disable_action = "pause"
    json_columns = frozenset({"perks", "audience", "share", "page"})
    promised = ("points", "per_member", "per_member_daily", "perks")

    def __init__(self, context: Context) -> None:
        super().__init__(context)
        # a prize may be a perk of the same files
        self.known_perks = set(perk_rows.all_slugs(self.session)) | {
            perk.slug for perk in context.program.of("perk")
        }
        self.hashes = {
            (spec.slug, code.code): context.keys().lookup_hash(domain.normalize(code.code))
            for spec in self.specs
            for code in spec.codes
        }
        self.existing = (
            store.codes_by_hashes(self.session, list(self.hashes.values())) if self.hashes else {}
        )

    def stored(self, slugs: list[str]) -> dict[str, Campaign]:
        return store.by_slugs(self.session, slugs)

    def active_slugs(self) -> list[str]:
        return store.running_slugs(self.session)

    def columns(self, spec: domain.CampaignSpec) -> dict[str, Any]:
        return {
            "name": spec.name,
            "description": spec.description,
            "valid_from": spec.valid_from,
            "valid_until": spec.valid_until,
            "points": spec.points,
            "perks": _json(list(spec.perks)),
            "per_member": spec.per_member,
            "per_member_daily": spec.per_member_daily,
            "audience": _json(spec.audience.as_dict()),
            "status": spec.status,
            "share": _json(spec.share),
            "page": _json(spec.page),
        }

    def problems(self, spec: domain.CampaignSpec, row: Campaign | None) -> list[Problem]:
        problems = [
            problem(spec, "perks", f"campaign {spec.slug}: there is no perk {missing!r} to grant.")
            for missing in sorted(set(spec.perks) - self.known_perks)
        ]
        if row is not None and row.status == "archived" and spec.status != "archived":
            problems.append(
                problem(
                    spec,
                    "status",
                    f"campaign {spec.slug} is archived and cannot be made {spec.status} again.",
                )
            )
        return problems

    def draft(self, spec: domain.CampaignSpec, row: Campaign | None) -> Draft:
        draft = super().draft(spec, row)
        draft.extra = self._code_writes(spec, row, draft.problems)
        if draft.extra:
            draft.fields.append("codes")
        return draft

    def field_changes(self, draft: Draft) -> list[FieldChange]:
        """Shared codes are secrets: how many are added and restocked, never which."""
        changes = super().field_changes(draft)
        if draft.extra:
            counted = {"added": 0, "restocked": 0}
            for action, *_ in draft.extra:
                counted["added" if action == "add" else "restocked"] += 1
            changes = [c for c in changes if c.field != "codes"]
            changes.append(FieldChange("codes", None, counted))
        return changes

    def _code_writes(
        self, spec: domain.CampaignSpec, row: Campaign | None, problems: list[Problem]
    ) -> list[CodeWrite]:
        """The shared codes to add or restock; the problems of the others go to `problems`."""
        writes: list[CodeWrite] = []
        for code in spec.codes:
            where = (code.line, code.column) if code.line else None
            digest = self.hashes[(spec.slug, code.code)]
            stored = self.existing.get(digest)
            if stored is None:
                writes.append(("add", code, digest, None))
            elif row is None or stored.campaign_id != row.id or stored.batch_id is not None:
                problems.append(
                    problem(
                        spec,
                        "code",
                        # the code itself is not quoted: apply's output may end up in a CI log
                        "this shared code is already a code of another campaign or a generated "
                        "one; codes are unique across campaigns (ignoring case, spaces, dashes "
                        "and the look-alikes O/0, I/L/1).",
                        where,
                    )
                )
            elif stored.uses_allowed != code.inventory:
                if code.inventory is not None and (
                    stored.uses_allowed is None or code.inventory < stored.uses_allowed
                ):
                    have = (
                        "unlimited" if stored.uses_allowed is None else f"{stored.uses_allowed:,}"
                    )
                    problems.append(
                        problem(
                            spec,
                            "code.inventory",
                            f"the inventory of this shared code can only grow: it is {have}, "
                            f"the file says {code.inventory:,}.",
                            where,
                        )
                    )
                else:
                    writes.append(("restock", code, digest, stored.id))
        return writes

    def insert(self, draft: Draft, values: dict[str, Any]) -> None:
        self._write_codes(draft, store.insert_campaign(self.session, values))

    def update(self, draft: Draft, values: dict[str, Any]) -> None:
        store.update_campaign(self.session, draft.row.id, values)
        self._write_codes(draft, draft.row.id)

    def disable(self, slug: str) -> None:
        campaign_id = store.require(self.session, slug).id
        store.set_status(
            self.session, campaign_id, "paused", allowed_from=("active",), now=self.context.now
        )

    def _write_codes(self, draft: Draft, campaign_id: int) -> None:
        for action, code, digest, code_id in draft.extra:
            if action == "add":
                _add_shared_code(
                    self.session,
                    self.context.keys(),
                    campaign_id,
                    code.code,
                    code.inventory,
                    digest,
                    self.context.now,
                )
            else:
                store.raise_inventory(self.session, code_id, code.inventory)


def _add_shared_code(
    session, keys: KeyRing, campaign_id: int, code: str, inventory, digest: str, now: datetime
) -> None:
    store.insert_code(
        session,
        {
            "campaign_id": campaign_id,
            "batch_id": None,
            "code_hash": digest,  # of the normalised code: what redeeming looks up
            # as written (WINTER50, not the normalised W1NTER50): what people are shown
            "code_enc": keys.encrypt(" ".join(code.split()), bound_to=domain.code_binding(digest)),
            "uses_allowed": inventory,
            "uses": 0,
            "created_at": now,
        },
    )
