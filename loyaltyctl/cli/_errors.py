"""The only place that maps errors to exit codes and one-line messages with a hint.

ERROR_MAP holds, for every error type of domain/errors.py, how the CLI shows it: the exit
code (spec §3: 1 refused, 2 usage, 3 bad input file, 4 environment), the sentence (the
domain's, with a request's arguments named by their flags), the hint (what to do next:
commands and flags), the data the --json error document adds, and for a few types their
own printing. A new error type gets its entry here (tests/cli/test_errors.py checks).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from loyaltyctl.cli._options import flag
from loyaltyctl.cli._output import Output
from loyaltyctl.cli.views import earning as ingest_views
from loyaltyctl.domain import errors as e

REFUSED, USAGE, BAD_INPUT, ENVIRONMENT = 1, 2, 3, 4
INTERNAL = 1
INTERRUPTED = 130  # 128 + SIGINT: what a shell reports for Ctrl-C


def debug() -> bool:
    return os.environ.get("LOYALTYCTL_DEBUG") == "1"


def wants_json(args: list[str]) -> bool:
    return "--json" in args


# --- sentences and hints from an error's data ------------------------------------------


def _worded(error: e.LoyaltyError) -> str:
    """The domain's sentence; a request's arguments are named by their flags."""
    return error.worded(flag) if isinstance(error, e.UsageProblem) else error.message


def _did_you_mean(error: e.LoyaltyError) -> str:
    """The error's candidates, closest first (the domain ranks them; at most three)."""
    candidates = list(error.data.get("candidates") or [])[:3]
    if not candidates:
        return ""
    listed = (
        ", ".join(candidates[:-1]) + " or " + candidates[-1]
        if len(candidates) > 1
        else candidates[0]
    )
    return f"Did you mean {listed}?"


def _with_candidates(error: e.LoyaltyError) -> str:
    suggestion = _did_you_mean(error)
    return f"{error.message} {suggestion}" if suggestion else error.message


def _candidates_or(hint: str) -> Callable[[e.LoyaltyError], str]:
    return lambda error: _did_you_mean(error) or hint


def _filled(template: str) -> Callable[[e.LoyaltyError], str]:
    """A hint naming what the error's data names: {perk}, {campaign}, {member}; {show} is
    the command that shows the perk or campaign refused. A name the data lacks stays
    the placeholder's upper-case word."""

    def hint(error: e.LoyaltyError) -> str:
        data = error.data
        names = {k: data.get(k) or k.upper() for k in ("perk", "campaign", "member")}
        if data.get("campaign"):
            names["show"] = f"loyaltyctl promo show {data['campaign']}"
        else:
            names["show"] = f"loyaltyctl perk show {names['perk']}"
        return template.format(**names)

    return hint


def _campaign_exists(error: e.LoyaltyError) -> str:
    return (
        f"A campaign {error.data['campaign']!r} exists already; edit it in its file and run "
        "`apply`."
    )


def _longer_or_fewer(error: e.LoyaltyError) -> str:
    """A length with room for the batch, and how many codes still fit at this one."""
    longer = error.data.get("suggested_length")
    room = max(0, error.data["max_live"] - error.data["live"])
    options = [
        f"use --length {longer}" if longer else "",
        f"generate at most {room:,}" if room else "",
    ]
    text = "; or ".join(o for o in options if o)
    return text[:1].upper() + text[1:] + "." if text else "Use a longer --length, or fewer codes."


def _min_purchase_hint(error: e.LoyaltyError) -> str:
    from decimal import Decimal

    short = Decimal(error.data["min_purchase"]) - Decimal(error.data["subtotal"])
    return f"Add items worth {short:.2f} more, or use the coupon on a larger order."


def _not_permitted_hint(error: e.LoyaltyError) -> str:
    if error.data.get("role") is None:
        return (
            "Nothing was changed. An owner adds staff with `loyaltyctl staff add NAME --role "
            "ROLE`; `loyaltyctl whoami` shows who you are to this database."
        )
    return (
        "Nothing was changed. Ask someone with that role, or an owner to change yours; "
        "`loyaltyctl whoami` shows what you may run."
    )


def _unavailable_hint(error: e.LoyaltyError) -> str:
    if error.data.get("backend") == "sqlite":
        return (
            "Check --database-url / LOYALTYCTL_DATABASE_URL and that the file and its folder "
            "can be read and written by you."
        )
    return "Check --database-url / LOYALTYCTL_DATABASE_URL and that the server is running."


def _read_only_hint(error: e.LoyaltyError) -> str:
    if error.data.get("backend") == "sqlite":
        return (
            "SQLite writes the file and a journal beside it: use a writable folder and file "
            "system (or copy the database to one)."
        )
    return "Point --database-url at the primary server, not a read-only replica."


def _gave_up(failure) -> str:
    return (
        f"Gave up the webhook {failure.event} ({failure.event_id}) of claim {failure.claim_id} "
        f"(perk {failure.perk}) after {failure.attempts} attempts, the last: {failure.error}. "
        "It will not be sent again; check the perk's webhook receiver."
    )


# --- printing ------------------------------------------------------------------------------


def _show(out: Output, error: e.LoyaltyError, how: Rendering) -> None:
    """One line on stderr; with --json also the error document."""
    extra = {name: error.data[name] for name in how.fields if name in error.data}
    out.error(error.code, how.message(error), how.hint_for(error), extra)


def _show_problems(out: Output, error: e.LoyaltyError, how: Rendering) -> None:
    """Each problem of the file on its own line (grep-able `file:line: field`), then the
    sentence; --json lists them all."""
    problems = error.data["problems"]
    for problem in problems:
        out.err.print(str(problem), markup=False, highlight=False)
    if error.data["total"] > len(problems):
        out.err.print(f"... and {error.data['total'] - len(problems)} more")
    listed = [
        {"file": p.file, "line": p.line, "column": p.column, "field": p.field, "message": p.message}
        for p in problems
    ]
    out.error(error.code, how.message(error), how.hint_for(error), {"problems": listed})


def _show_also(out: Output, error: e.LoyaltyError, how: Rendering) -> None:
    """The first problem is the sentence; the others follow it."""
    _show(out, error, how)
    for problem in error.data["problems"][1:]:
        out.err.print(f"  also: {problem}", markup=False, highlight=False)


def _show_bad_lines(out: Output, error: e.LoyaltyError, how: Rendering) -> None:
    """The bad lines, then the sentence (the result document holds them for --json)."""
    result = error.data["result"]
    for bad in result.errors:
        out.err.print(f"{result.file}:{bad.line}: {bad.message}", markup=False, highlight=False)
    if more := result.errors_total - len(result.errors):
        out.err.print(f"... and {more:,} more", markup=False, highlight=False)
    _show(out, error, how)


def _show_gave_up(out: Output, error: e.LoyaltyError, _how: Rendering) -> None:
    """One line per delivery given up (the run's result document lists them for --json)."""
    for failure in error.data["failures"]:
        out.error(error.code, _gave_up(failure))


# --- the map -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendering:
    """How the CLI shows one error type."""

    exit_code: int
    hint: str | Callable[[Any], str] = ""
    message: Callable[[Any], str] = _worded
    fields: tuple[str, ...] = ()  # data the --json error document adds
    show: Callable[[Output, Any, Rendering], None] = _show
    # the command printed its result first: no second JSON document, and no traceback
    # with LOYALTYCTL_DEBUG=1 (it only says how the command ended)
    result_shown: bool = False

    def hint_for(self, error: e.LoyaltyError) -> str:
        return self.hint(error) if callable(self.hint) else self.hint


ERROR_MAP: dict[type[e.LoyaltyError], Rendering] = {
    e.LoyaltyError: Rendering(REFUSED),
    # refused by a business rule
    e.Refused: Rendering(REFUSED),
    e.UnknownMember: Rendering(
        REFUSED, hint=_candidates_or("Check the id with `loyaltyctl member find`.")
    ),
    e.MemberExists: Rendering(
        REFUSED, "Use `loyaltyctl member update` to change an existing member."
    ),
    e.MemberForgotten: Rendering(
        REFUSED,
        "A forgotten member keeps their id, points, claims and coupons; add a new member "
        "for a new profile.",
        fields=("member", "forgotten_at"),
    ),
    e.InsufficientBalance: Rendering(
        REFUSED, _filled("Check the balance with `loyaltyctl points balance {member}`.")
    ),
    e.KeyConflict: Rendering(
        REFUSED, "Use a new --key for a different change, or repeat the original one exactly."
    ),
    e.NotFound: Rendering(REFUSED, message=_with_candidates),
    e.NotHeld: Rendering(
        REFUSED, "See what the member holds with `loyaltyctl discount grants --member M`."
    ),
    e.AuditFailure: Rendering(
        REFUSED,
        "Restore the database from a backup or investigate the row named above.",
        fields=("problems", "read_from"),
        show=_show_also,
    ),
    e.MaintenanceRunning: Rendering(
        REFUSED, "Another `maintain run` holds the lock; try again when it has finished."
    ),
    e.UnknownPerk: Rendering(
        REFUSED, "List the perks with `loyaltyctl perk list --all`.", message=_with_candidates
    ),
    e.UnknownClaim: Rendering(REFUSED, "Find the claim id with `loyaltyctl perk claims SLUG`."),
    e.PerkInactive: Rendering(
        REFUSED,
        _filled("Enable it with `loyaltyctl perk enable {perk}` if it should be claimable."),
    ),
    e.NotInWindow: Rendering(REFUSED, _filled("See the window with `{show}`.")),
    e.NotInAudience: Rendering(
        REFUSED,
        _filled(
            "Change the member with `loyaltyctl member update {member}` if they belong, "
            "or see who may with `{show}`."
        ),
    ),
    e.SoldOut: Rendering(
        REFUSED, "Raise max_supply in the perk file and apply it, or offer another perk."
    ),
    e.MemberLimit: Rendering(
        REFUSED, _filled("`loyaltyctl member show {member}` lists their claims and redemptions.")
    ),
    e.PointsOutOfRange: Rendering(
        REFUSED,
        "Choose --points within the bounds; `loyaltyctl perk show SLUG` shows them.",
        fields=("perk", "points", "min_points", "max_points"),
    ),
    e.AlreadyCancelled: Rendering(
        REFUSED, "Nothing to do: the points were refunded when it was cancelled."
    ),
    e.InvalidCertificate: Rendering(
        REFUSED,
        "Do not accept this certificate; ask for the original file or check the public key.",
    ),
    e.BadCheckpoint: Rendering(
        REFUSED,
        "Use the checkpoint file as `audit checkpoint` wrote it, with the key file that signed it.",
    ),
    e.UnknownCampaign: Rendering(
        REFUSED, "List the campaigns with `loyaltyctl promo list`.", message=_with_candidates
    ),
    e.UnknownCode: Rendering(
        REFUSED,
        "Codes ignore case, spaces and dashes, and read O as 0 and I, L as 1.",
        fields=("mistyped",),
    ),
    e.CodeUsedUp: Rendering(REFUSED, "Nothing was changed."),
    e.CampaignPaused: Rendering(
        REFUSED, _filled("Resume it with `loyaltyctl promo resume {campaign}` if it should run.")
    ),
    e.CampaignArchived: Rendering(
        REFUSED, "An archived campaign stays closed; start a new campaign instead."
    ),
    e.MemberDailyLimit: Rendering(
        REFUSED, "The day is counted in the program time zone; try again tomorrow."
    ),
    e.PrizeUnavailable: Rendering(
        REFUSED,
        _filled("Check the prize with `loyaltyctl perk show {perk}` (enabled, supply left)."),
    ),
    e.TooManyCodes: Rendering(
        REFUSED,
        hint=_longer_or_fewer,
        fields=("count", "length", "live", "max_live", "suggested_length"),
    ),
    e.UnknownBatch: Rendering(
        REFUSED,
        "The batch id is in the output of `promo generate` and the batch_id column of its file.",
    ),
    e.CodeExists: Rendering(
        REFUSED, "Shared codes are unique across all campaigns (ignoring case, spaces and dashes)."
    ),
    e.KeysExist: Rendering(
        REFUSED, "Keep the existing file; use `loyaltyctl keys rotate` for a new encryption key."
    ),
    # coupons at a store's checkout
    e.CouponRefused: Rendering(REFUSED, fields=("coupon",)),
    e.UnknownCoupon: Rendering(
        REFUSED,
        "Codes ignore case, spaces and dashes, and read O as 0 and I, L as 1; "
        "`loyaltyctl coupon list --member MEMBER` lists a member's coupons.",
        fields=("mistyped",),
    ),
    e.CouponUsed: Rendering(
        REFUSED,
        lambda error: (
            "A used coupon's points stay spent; a full refund of the order gives the coupon back."
            if "claim_id" in error.data
            else "If that order was cancelled before it was paid, give the coupon back with "
            "`loyaltyctl coupon release CODE --order ORDER_ID --reason TEXT`."
        ),
        fields=("coupon", "order_id", "claim_id"),
    ),
    e.CouponExpired: Rendering(
        REFUSED,
        "An expired coupon cannot be used; the member can claim a new one.",
        fields=("coupon", "expires_at"),
    ),
    e.CouponCancelled: Rendering(
        REFUSED,
        "Its claim was cancelled and the points refunded; the member can claim a new one.",
        fields=("coupon",),
    ),
    e.WrongMember: Rendering(
        REFUSED,
        "Use it for the member it was issued to; `loyaltyctl coupon show CODE` names them.",
        fields=("coupon", "member"),
    ),
    e.MinPurchase: Rendering(
        REFUSED, hint=_min_purchase_hint, fields=("coupon", "min_purchase", "subtotal")
    ),
    e.NoEligibleItems: Rendering(
        REFUSED,
        "Add an item of one of those collections to the cart; only those are discounted.",
        fields=("coupon", "collections"),
    ),
    e.ProductNotInCart: Rendering(
        REFUSED,
        "Add the product to the cart: the coupon makes one unit of it free.",
        fields=("coupon", "product", "variants"),
    ),
    e.CouponNotUsed: Rendering(
        REFUSED,
        "Nothing to give back; `loyaltyctl coupon show CODE` shows its status.",
        fields=("coupon",),
    ),
    e.UsedOnAnotherOrder: Rendering(
        REFUSED,
        hint=lambda error: f"Give --order {error.data['order_id']}, the order it was used on.",
        fields=("coupon", "order_id"),
    ),
    # staff and roles (spec §8)
    e.NotPermitted: Rendering(
        REFUSED,
        hint=_not_permitted_hint,
        fields=("operator", "role", "command", "allowed"),
    ),
    e.UnknownStaff: Rendering(REFUSED, "See the staff with `loyaltyctl staff list`."),
    e.StaffExists: Rendering(
        REFUSED, "Change a staff member's role with `loyaltyctl staff set-role NAME ROLE`."
    ),
    e.LastOwner: Rendering(
        REFUSED, "Make another login an owner first (`loyaltyctl staff add NAME --role owner`)."
    ),
    e.LoginInUse: Rendering(
        REFUSED,
        "Create a login of its own for this database (e.g. NAME_club) and add that one.",
        fields=("login", "holds"),
    ),
    # usage
    e.UsageProblem: Rendering(USAGE, "See the command's --help."),
    e.CampaignExists: Rendering(USAGE, "See the command's --help.", message=_campaign_exists),
    # bad input file
    e.BadInputFile: Rendering(
        BAD_INPUT,
        "Fix the problems listed above and run the command again; nothing was applied.",
        show=_show_problems,
    ),
    # outcomes: printed after the command's result
    e.BadLines: Rendering(
        BAD_INPUT,
        hint=lambda error: ingest_views.ingest_hint(error.data["result"]),
        message=lambda error: ingest_views.ingest_problem(error.data["result"]),
        show=_show_bad_lines,
        result_shown=True,
    ),
    e.DeliveriesGaveUp: Rendering(REFUSED, show=_show_gave_up, result_shown=True),
    # environment
    e.EnvironmentProblem: Rendering(ENVIRONMENT),
    e.SchemaOutdated: Rendering(ENVIRONMENT, "Run `loyaltyctl db upgrade`."),
    e.SchemaMissing: Rendering(ENVIRONMENT, "Run `loyaltyctl init` to create it."),
    e.SchemaNewer: Rendering(
        ENVIRONMENT,
        "Upgrade loyaltyctl to the version that wrote it; `db upgrade` cannot take a schema back.",
    ),
    e.DatabaseUnavailable: Rendering(ENVIRONMENT, lambda error: _unavailable_hint(error)),
    e.DatabaseBusy: Rendering(ENVIRONMENT, "Other writers held the database too long; try again."),
    e.DiskFull: Rendering(
        ENVIRONMENT, "Free space on that disk (or move the database), then run it again."
    ),
    e.DatabaseReadOnly: Rendering(ENVIRONMENT, lambda error: _read_only_hint(error)),
    e.ConfigProblem: Rendering(
        ENVIRONMENT, "Fix that setting (its flag, LOYALTYCTL_* variable or config file)."
    ),
    e.KeysMissing: Rendering(
        ENVIRONMENT,
        "Run `loyaltyctl keys init` (or set LOYALTYCTL_KEYS_FILE to the existing key file).",
    ),
    e.KeysInvalid: Rendering(
        ENVIRONMENT,
        "Restore the key file from your backup; without it stored secrets cannot be read.",
    ),
    e.RolesUnavailable: Rendering(
        ENVIRONMENT,
        "Run it as the database's owner with CREATEROLE (or as a superuser); see README "
        '"Staff and roles".',
    ),
}


def rendering(kind: type[e.LoyaltyError]) -> Rendering:
    """The entry of the type, or of its nearest base in the map."""
    return next(ERROR_MAP[k] for k in kind.__mro__ if k in ERROR_MAP)


def report(error: e.LoyaltyError, *, json_mode: bool) -> int:
    """Print the error (stderr, and the JSON document with --json); return the exit code."""
    how = rendering(type(error))
    how.show(Output(json_mode=json_mode and not how.result_shown), error, how)
    return how.exit_code


def wants_traceback(error: e.LoyaltyError) -> bool:
    return debug() and not rendering(type(error)).result_shown


# --- bad lines of an events file -------------------------------------------------------------

# a bad line's code -> the CLI's sentence for it, from the line's data
LINE_MESSAGES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "unknown_member": lambda data: (
        f"no member has the id {data['member']!r}; a member.joined event (or"
        " `loyaltyctl member add`) must add them first"
    ),
}


def line_message(line) -> str:
    """A bad line's sentence for people: the CLI's own words where it has them."""
    word = LINE_MESSAGES.get(line.code)
    return word(line.data) if word else line.message


# --- anything else -----------------------------------------------------------------------------


def _first_line(exc: BaseException) -> str:
    """A driver's message goes on with the statement and its values: keep the first line."""
    lines = str(exc).splitlines()
    return lines[0][:300] if lines else ""


def report_unexpected(exc: BaseException, *, json_mode: bool) -> int:
    out = Output(json_mode=json_mode)
    out.error(
        "internal_error",
        f"Unexpected {type(exc).__name__}: {_first_line(exc)}",
        "Nothing was changed. Rerun with LOYALTYCTL_DEBUG=1 for the traceback and report it.",
    )
    return INTERNAL
