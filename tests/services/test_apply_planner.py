"""The apply planner over registered kinds, with two kinds made for the test (their rows
in memory, their audit events in the real database): what a kind must give, and what the
planner does with it, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from loyaltyctl.domain.errors import BadInputFile
from loyaltyctl.domain.perks import FieldChange, PerkSpec, PlanChange
from loyaltyctl.program.files import ProgramFiles
from loyaltyctl.services.apply import apply_program
from loyaltyctl.services.apply.kinds import KINDS
from loyaltyctl.services.apply.planner import Kind, plan, problem, raise_problems
from loyaltyctl.store.tables import AuditEvent

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Gadget:
    """A spec as a program-file reader would give it."""

    slug: str
    colour: str
    size: int = 1
    source: str = "gadgets.toml"
    line: int = 1

    def where(self, key: str) -> tuple[int, int]:
        return self.line, 3


class GadgetKind(Kind):
    name = "gadget"
    rows: dict[str, SimpleNamespace] = {}  # the stored gadgets, by slug
    after_writes = 0

    def stored(self, slugs):
        return {slug: self.rows[slug] for slug in slugs if slug in self.rows}

    def active_slugs(self):
        return [slug for slug, row in self.rows.items() if row.active]

    def columns(self, spec):
        return {"colour": spec.colour, "size": spec.size}

    def problems(self, spec, row):
        if spec.colour == "red" and row is not None:
            return [problem(spec, "colour", f"gadget {spec.slug} cannot turn red.")]
        return []

    def insert(self, draft, values):
        self.rows[values["slug"]] = SimpleNamespace(active=True, **values)

    def update(self, draft, values):
        vars(draft.row).update(values)

    def disable(self, slug):
        self.rows[slug].active = False

    def after_write(self):
        type(self).after_writes += 1


class WidgetKind(GadgetKind):
    """A kind that depends on another: a widget's colour must be a gadget's, stored or
    of the same files."""

    name = "widget"
    disable_field = "status"
    disabled_value = "paused"
    disable_action = "pause"
    rows: dict[str, SimpleNamespace] = {}

    def problems(self, spec, row):
        colours = {r.colour for r in GadgetKind.rows.values()}
        colours |= {g.colour for g in self.context.program.of("gadget")}
        if spec.colour not in colours:
            return [problem(spec, "colour", f"no gadget is {spec.colour}.", (spec.line, 9))]
        return []


@pytest.fixture(autouse=True)
def empty_stores():
    GadgetKind.rows, WidgetKind.rows = {}, {}
    GadgetKind.after_writes = 0


@pytest.fixture
def planned(run):
    """planned(gadget=[...], widget=[...], prune=) -> (Plan, written); written: whether
    the plan was written (only when it has no problems)."""

    def make(*, prune=False, **specs):
        def work(session):
            result = plan(
                (GadgetKind, WidgetKind),
                session=session,
                program=ProgramFiles(specs),
                keys=lambda: None,
                operator="tester",
                prune=prune,
                now=NOW,
            )
            if not result.problems:
                result.write()
            return result

        return run(work)

    return make


def events(db) -> list[tuple]:
    with db.transaction() as s:
        rows = s.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
        return [(e.subject, e.action, e.reason, json.loads(e.details)) for e in rows]


def test_a_plan_lists_creates_updates_unchanged_and_prunes_then_writes_them(planned, db):
    first = planned(gadget=[Gadget("a", "blue"), Gadget("b", "green")])
    assert first.changes == [
        PlanChange(
            "gadget",
            "a",
            "create",
            ("colour", "size"),
            (FieldChange("colour", None, "blue"), FieldChange("size", None, 1)),
        ),
        PlanChange(
            "gadget",
            "b",
            "create",
            ("colour", "size"),
            (FieldChange("colour", None, "green"), FieldChange("size", None, 1)),
        ),
    ]
    assert GadgetKind.rows["a"].colour == "blue" and GadgetKind.rows["a"].created_at == NOW

    again = planned(gadget=[Gadget("a", "blue", size=2)], prune=True)
    assert again.changes == [  # old -> new of each changed field
        PlanChange("gadget", "a", "update", ("size",), (FieldChange("size", 1, 2),)),
        PlanChange("gadget", "b", "disable", ("active",), (FieldChange("active", True, False),)),
    ]
    assert (GadgetKind.rows["a"].size, GadgetKind.rows["b"].active) == (2, False)
    assert planned(gadget=[Gadget("a", "blue", size=2)], prune=True).changes == [
        PlanChange("gadget", "a", "unchanged", ())
    ]
    assert events(db) == [
        ("gadget:a", "gadget.create", None, {"fields": ["colour", "size"], "file": "gadgets.toml"}),
        ("gadget:b", "gadget.create", None, {"fields": ["colour", "size"], "file": "gadgets.toml"}),
        ("gadget:a", "gadget.update", None, {"fields": ["size"], "file": "gadgets.toml"}),
        ("gadget:b", "gadget.disable", "not in the applied files (--prune)", {}),
    ]
    # called after each write that changed something, not after the unchanged one
    assert GadgetKind.after_writes == 2


def test_a_kind_says_what_a_prune_changes_and_its_audit_action(planned, db):
    planned(gadget=[Gadget("a", "blue")], widget=[Gadget("w", "blue")])
    result = planned(gadget=[Gadget("a", "blue")], prune=True)
    assert result.changes[-1] == PlanChange(
        "widget", "w", "disable", ("status",), (FieldChange("status", None, "paused"),)
    )
    assert events(db)[-1][:2] == ("widget:w", "widget.pause")


def test_a_kind_sees_the_specs_of_the_other_kinds_of_the_same_files(planned):
    # the gadget is new in the same files: the widget may name its colour
    result = planned(gadget=[Gadget("a", "teal")], widget=[Gadget("w", "teal")])
    assert [c.action for c in result.changes] == ["create", "create"]


def test_problems_of_every_kind_are_gathered_and_nothing_is_written(planned, db):
    planned(gadget=[Gadget("a", "blue")])
    before = (dict(GadgetKind.rows), events(db))
    result = planned(
        gadget=[Gadget("a", "red", line=4), Gadget("new", "pink")],
        widget=[Gadget("w", "black", source="a.toml", line=2)],
    )
    assert [(p.file, p.line, p.column, p.field, p.message) for p in result.problems] == [
        ("gadgets.toml", 4, 3, "colour", "gadget a cannot turn red."),
        ("a.toml", 2, 9, "colour", "no gadget is black."),
    ]
    assert (dict(GadgetKind.rows), events(db)) == before
    with pytest.raises(BadInputFile) as caught:
        raise_problems(result.problems)
    # sorted by file, line and column, as the file reader sorts its own
    assert [p.file for p in caught.value.problems] == ["a.toml", "gadgets.toml"]


def test_the_registered_kinds_are_planned_in_the_order_apply_lists_them():
    assert [kind.name for kind in KINDS] == ["perk", "campaign", "earning_rule", "tier", "discount"]


def test_a_perk_update_is_audited_with_the_fields_it_changed(run, db, keys):
    tea = PerkSpec(slug="tea", name="Tea", price=100, source="p.toml", line=1)
    for spec in (tea, replace(tea, price=150, description="Green")):
        run(apply_program, program=ProgramFiles({"perk": [spec]}), keys=lambda: keys, operator="t")
    assert events(db)[-1] == (
        "perk:tea",
        "perk.update",
        None,
        {
            "fields": ["description", "price"],
            "file": "p.toml",
            # the values that change money or promises, for `audit verify` to check
            "values": {
                "price": 150,
                "max_supply": None,
                "max_per_member": None,
                "tier_prices": None,
            },
        },
    )
