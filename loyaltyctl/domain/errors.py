"""Typed errors: a stable ``code`` for scripts, one sentence about the domain, and the data
behind it (ids, numbers, did-you-mean candidates, the arguments a request got wrong).

How an error reaches a person (its exit code, what to do next, the names of commands and
flags) is the front end's business: cli/_errors.py maps every type defined here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass


class LoyaltyError(Exception):
    """Base of every error a user may see. ``code`` is stable for scripts, ``message`` is
    one sentence and ``data`` what it is about."""

    code = "error"

    def __init__(self, message: str, **data: object) -> None:
        super().__init__(message)
        self.message = message
        self.data = data


# --- refused by a business rule: nothing changed -----------------------------------


class Refused(LoyaltyError):
    """Refused by a business rule; nothing was changed."""


class UnknownMember(Refused):
    """data: member, candidates (close ids, best first)."""

    code = "unknown_member"


class MemberExists(Refused):
    """data: member."""

    code = "member_exists"


class MemberForgotten(Refused):
    """The member's personal data was erased (`member forget`): forgetting again, or
    giving them a profile again, is refused. data: member, forgotten_at (ISO date)."""

    code = "member_forgotten"


class InsufficientBalance(Refused):
    code = "insufficient_balance"


class KeyConflict(Refused):
    code = "idempotency_conflict"


class NotFound(Refused):
    code = "not_found"


class AuditFailure(Refused):
    """data: problems (every one found, the first in the message)."""

    code = "audit_failed"


class MaintenanceRunning(Refused):
    code = "maintenance_running"


class UnknownPerk(Refused):
    """data: perk, candidates (close slugs, best first)."""

    code = "unknown_perk"


class UnknownClaim(Refused):
    code = "unknown_claim"


class PerkInactive(Refused):
    code = "perk_inactive"


class NotInWindow(Refused):
    code = "not_in_window"


class NotInAudience(Refused):
    code = "not_in_audience"


class SoldOut(Refused):
    code = "sold_out"


class MemberLimit(Refused):
    code = "member_limit"


class PointsOutOfRange(Refused):
    """A convert coupon claimed for points outside its min_points-max_points.
    data: perk, points, min_points, max_points (None: no upper bound)."""

    code = "points_out_of_range"


class AlreadyCancelled(Refused):
    code = "already_cancelled"


class InvalidCertificate(Refused):
    code = "invalid_certificate"


class BadCheckpoint(Refused):
    """An audit checkpoint file that is not one, or whose signature does not match."""

    code = "bad_checkpoint"


class UnknownCampaign(Refused):
    """data: campaign, candidates (close slugs, best first)."""

    code = "unknown_campaign"


class UnknownCode(Refused):
    code = "unknown_code"


class CodeUsedUp(Refused):
    code = "code_used_up"


class CampaignPaused(Refused):
    code = "campaign_paused"


class CampaignArchived(Refused):
    code = "campaign_archived"


class MemberDailyLimit(Refused):
    code = "member_daily_limit"


class PrizeUnavailable(Refused):
    code = "prize_unavailable"


class TooManyCodes(Refused):
    """data: count, length, live (codes of that length live now), max_live,
    suggested_length (a length with room for them, or None)."""

    code = "too_many_codes"


class UnknownBatch(Refused):
    code = "unknown_batch"


class CodeExists(Refused):
    code = "code_exists"


# --- coupons at a store's checkout (their reason codes are domain.coupons') ----------


class CouponRefused(Refused):
    """A coupon that cannot be used as asked. data: coupon (masked to its last 4 symbols,
    absent for an unknown code), and what the reason is about."""


class NotHeld(Refused):
    """A revoke of a discount the member holds no active grant of. data: discount, member."""

    code = "not_held"


class UnknownCoupon(CouponRefused):
    code = "unknown_coupon"


class CouponUsed(CouponRefused):
    """data: coupon, order_id (the order it was used on); claim_id when it is the claim
    that cannot be cancelled."""

    code = "coupon_used"


class CouponExpired(CouponRefused):
    """data: coupon, expires_at."""

    code = "coupon_expired"


class CouponCancelled(CouponRefused):
    code = "coupon_cancelled"


class WrongMember(CouponRefused):
    """data: coupon, member (the one asked for)."""

    code = "wrong_member"


class MinPurchase(CouponRefused):
    """data: coupon, min_purchase, subtotal (decimal strings)."""

    code = "min_purchase"


class NoEligibleItems(CouponRefused):
    """data: coupon, collections."""

    code = "no_eligible_items"


class ProductNotInCart(CouponRefused):
    """data: coupon, product, variants."""

    code = "product_not_in_cart"


class CouponNotUsed(CouponRefused):
    """A release of a coupon that is not used on any order."""

    code = "coupon_not_used"


class UsedOnAnotherOrder(CouponRefused):
    """A release naming another order than the one the coupon was used on.
    data: coupon, order_id (the one it was used on)."""

    code = "used_on_another_order"


# the coupon refusals by their stable code (domain.coupons returns the code)
COUPON_REFUSALS: dict[str, type[CouponRefused]] = {
    kind.code: kind
    for kind in (
        UnknownCoupon,
        CouponUsed,
        CouponExpired,
        CouponCancelled,
        WrongMember,
        MinPurchase,
        NoEligibleItems,
        ProductNotInCart,
        CouponNotUsed,
        UsedOnAnotherOrder,
    )
}

# --- staff and roles (spec §8) --------------------------------------------------------


class NotPermitted(Refused):
    """The operator's role may not do this, or the operator is not on the staff.
    data: operator, role (None: not staff), command, allowed (the roles that may)."""

    code = "not_permitted"


class UnknownStaff(Refused):
    """data: login."""

    code = "unknown_staff"


class StaffExists(Refused):
    """data: login, role."""

    code = "staff_exists"


class LastOwner(Refused):
    """Removing or demoting the last owner would leave nobody to manage the staff.
    data: login."""

    code = "last_owner"


class LoginInUse(Refused):
    """A PostgreSQL login holds a staff role through another club's database of the
    cluster (group roles are cluster-wide). data: login, holds."""

    code = "login_in_use"


# the claim refusals by their stable code (domain.perks.refusal returns the code)
CLAIM_REFUSALS: dict[str, type[Refused]] = {
    "perk_inactive": PerkInactive,
    "not_in_window": NotInWindow,
    "not_in_audience": NotInAudience,
    "sold_out": SoldOut,
    "member_limit": MemberLimit,
    "insufficient_balance": InsufficientBalance,
}

# the redemption refusals by their stable code (domain.promo.refusal returns the code)
PROMO_REFUSALS: dict[str, type[Refused]] = {
    "code_used_up": CodeUsedUp,
    "campaign_paused": CampaignPaused,
    "campaign_archived": CampaignArchived,
    "not_in_window": NotInWindow,
    "not_in_audience": NotInAudience,
    "member_limit": MemberLimit,
    "member_daily_limit": MemberDailyLimit,
}


# --- usage: a request that cannot be taken as given --------------------------------


@dataclass(frozen=True)
class Argument:
    """An argument of a request, named inside a message. The domain names it as the
    parameter (``uses_per_code``); a front end names it its own way (the CLI: its flag)."""

    name: str

    def __str__(self) -> str:
        return self.name


class UsageProblem(LoyaltyError):
    """A request that cannot be taken as given. The sentence comes in parts, the request's
    arguments kept apart (``Argument``) so that each front end names them its own way.
    data: arguments (their names)."""

    code = "usage"

    def __init__(self, *parts: str | Argument, **data: object) -> None:
        self.parts = parts
        named = [p.name for p in parts if isinstance(p, Argument)]
        super().__init__("".join(map(str, parts)), arguments=list(dict.fromkeys(named)), **data)

    @classmethod
    def several(cls, problems: Sequence[Sequence[str | Argument]]) -> UsageProblem:
        """One sentence of several problems: separated by semicolons, capitalised."""
        parts: list[str | Argument] = []
        for problem in problems:
            parts.extend(["; ", *problem] if parts else problem)
        if isinstance(parts[0], str):
            parts[0] = parts[0][:1].upper() + parts[0][1:]
        return cls(*parts, ".")

    def worded(self, name: Callable[[str], str]) -> str:
        """The sentence with each argument named by ``name``."""
        return "".join(name(p.name) if isinstance(p, Argument) else p for p in self.parts)


class CampaignExists(UsageProblem):
    """A new campaign's slug is taken. data: campaign."""


# --- bad input file: nothing applied -----------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One problem in an input file: where it is and what is wrong."""

    file: str
    line: int
    field: str | None
    message: str
    column: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        if self.column is not None:
            where += f":{self.column}"
        if self.field:
            return f"{where}: {self.field}: {self.message}"
        return f"{where}: {self.message}"


class BadInputFile(LoyaltyError):
    """data: problems (the first ones), total (how many were found)."""

    code = "bad_input_file"

    def __init__(self, problems: list[Problem], *, total: int | None = None) -> None:
        self.problems = problems
        count = total if total is not None else len(problems)
        first = problems[0] if problems else None
        noun = "problem" if count == 1 else "problems"
        message = f"{first.file if first else 'input'}: {count} {noun} found."
        super().__init__(message, problems=problems, total=count)


# --- outcomes: the request went through with a result, and ended like this ---------


class BadLines(LoyaltyError):
    """Bad lines of a file handled line by line: the others were applied (strictly, none
    were). data: file, count (bad lines), result (the whole outcome)."""

    code = "bad_input_file"

    def __init__(self, file: str, count: int, *, result: object) -> None:
        noun = "line" if count == 1 else "lines"
        super().__init__(f"{file}: {count:,} bad {noun}.", file=file, count=count, result=result)


class DeliveriesGaveUp(LoyaltyError):
    """Webhook deliveries were given up in a run that otherwise went through.
    data: failures (the deliveries given up), result (the run's)."""

    code = "webhook_given_up"

    def __init__(self, failures: Sequence[object], *, result: object) -> None:
        count = len(failures)
        noun = "delivery was" if count == 1 else "deliveries were"
        super().__init__(
            f"{count:,} webhook {noun} given up.", failures=list(failures), result=result
        )


# --- environment: the database, the config, the key file ---------------------------


class EnvironmentProblem(LoyaltyError):
    """The database, the config or the key file is not as the command needs it."""

    code = "environment"


class SchemaOutdated(EnvironmentProblem):
    code = "schema_outdated"


class SchemaMissing(EnvironmentProblem):
    code = "schema_missing"


class DatabaseUnavailable(EnvironmentProblem):
    code = "database_unavailable"


class DatabaseBusy(EnvironmentProblem):
    code = "database_busy"


class DiskFull(EnvironmentProblem):
    """The database could not grow: the disk (or the server's quota) is full."""

    code = "disk_full"


class DatabaseReadOnly(EnvironmentProblem):
    """The database can be read but not written: a read-only file system or folder, or
    a read-only server. data: backend."""

    code = "database_read_only"


class SchemaNewer(EnvironmentProblem):
    """The database was migrated by a newer loyaltyctl. data: revision, head."""

    code = "schema_newer"


class ConfigProblem(EnvironmentProblem):
    code = "config"


class KeysMissing(EnvironmentProblem):
    code = "keys_missing"


class KeysInvalid(EnvironmentProblem):
    code = "keys_invalid"


class RolesUnavailable(EnvironmentProblem):
    """The database login running a staff change lacks a privilege the change needs
    (creating roles, granting them, owning the database). data: needs."""

    code = "database_privileges"


class KeysExist(Refused):
    """Creating the key file would replace one."""

    code = "keys_exist"
