"""Counters of rule uses (and points) per member and scope, as one transaction sees them.

A counter is read once (ahead, for a whole chunk, or when first asked) and then kept in
memory with this transaction's uses added; `flush` writes the uses as upserts that the
database bounds again (``most_uses``, ``most_points``), so two transactions cannot both
take a limit's last use. Scopes are `domain.limits`'.
"""

from __future__ import annotations

from collections.abc import Iterable

from loyaltyctl.domain.earning import EarningRule
from loyaltyctl.store import earning as store
from loyaltyctl.store.db import Session

NO_LIMIT = store.NO_LIMIT

Key = tuple[int, int, str]  # (rule id, member id, scope)


class Counters:
    def __init__(self, session: Session, rule_ids: dict[str, int]) -> None:
        self.session = session
        self.rule_ids = rule_ids  # slug -> row id
        self.current: dict[Key, list[int]] = {}  # key -> [uses, points], with our uses
        self.counted: dict[Key, list[int]] = {}  # key -> [uses, points, most uses, most points]

    def load(self, keys: Iterable[Key]) -> None:
        wanted = [k for k in set(keys) if k not in self.current]
        found = store.counters(self.session, wanted) if wanted else {}
        for key in wanted:
            self.current[key] = found.get(key, [0, 0])

    def get(self, rule: EarningRule, member_id: int, scope: str) -> list[int]:
        """[uses, points] of a counter, with this transaction's uses."""
        key = (self.rule_ids[rule.slug], member_id, scope)
        if key not in self.current:  # not loaded ahead: read it now
            self.load([key])
        return self.current[key]

    def count(
        self,
        rule: EarningRule,
        member_id: int,
        scope: str,
        *,
        points: int = 0,
        most_uses: int = NO_LIMIT,
        most_points: int = NO_LIMIT,
    ) -> None:
        """One more use (and ``points``) in a counter, within its bounds."""
        key = (self.rule_ids[rule.slug], member_id, scope)
        current = self.get(rule, member_id, scope)
        current[0] += 1
        current[1] += points
        change = self.counted.setdefault(key, [0, 0, most_uses, most_points])
        change[0] += 1
        change[1] += points
        change[2], change[3] = min(change[2], most_uses), min(change[3], most_points)

    def flush(self) -> None:
        """Write the uses counted since the last flush."""
        store.save_counters(
            self.session, [(k[0], k[1], k[2], *change) for k, change in self.counted.items()]
        )
        self.counted = {}
