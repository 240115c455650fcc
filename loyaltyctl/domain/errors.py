"""Typed errors with a stable code; the CLI maps them to exit codes and hints.

Exit codes (spec §3): 1 business refusal, 2 usage, 3 bad input file, 4 environment.
"""

from __future__ import annotations

from dataclasses import dataclass


class LoyaltyError(Exception):
    """Base of every error a user may see. ``code`` is stable for scripts."""

    code = "error"
    exit_code = 1
    hint = ""

    def __init__(self, message: str, *, hint: str | None = None, **details: object) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint
        self.details = details


# --- 1: refused by a business rule -------------------------------------------------


class Refused(LoyaltyError):
    exit_code = 1


class UnknownMember(Refused):
    code = "unknown_member"
    hint = "Check the id with `loyaltyctl member find`."


class MemberExists(Refused):
    code = "member_exists"
    hint = "Use `loyaltyctl member update` to change an existing member."


class InsufficientBalance(Refused):
    code = "insufficient_balance"
    hint = "Check the balance with `loyaltyctl points balance`."


class KeyConflict(Refused):
    code = "idempotency_conflict"
    hint = "Use a new --key for a different change, or repeat the original one exactly."


class NotFound(Refused):
    code = "not_found"


class AuditFailure(Refused):
    code = "audit_failed"
    hint = "Restore the database from a backup or investigate the row named above."


class MaintenanceRunning(Refused):
    code = "maintenance_running"
    hint = "Another `maintain run` holds the lock; try again when it has finished."


class UnknownPerk(Refused):
    code = "unknown_perk"
    hint = "List the perks with `loyaltyctl perk list --all`."


class UnknownClaim(Refused):
    code = "unknown_claim"
    hint = "Find the claim id with `loyaltyctl perk claims SLUG`."


class PerkInactive(Refused):
    code = "perk_inactive"
    hint = "Enable it with `loyaltyctl perk enable SLUG` if it should be claimable."


class NotInWindow(Refused):
    code = "not_in_window"
    hint = "See the window with `loyaltyctl perk show SLUG` or `loyaltyctl promo show CAMPAIGN`."


class NotInAudience(Refused):
    code = "not_in_audience"
    hint = "Check the member's plan, tier, groups and tags with `loyaltyctl member show`."


class SoldOut(Refused):
    code = "sold_out"
    hint = "Raise max_supply in the perk file and apply it, or offer another perk."


class MemberLimit(Refused):
    code = "member_limit"
    hint = "The member has had as many as allowed; `loyaltyctl member show MEMBER` lists them."


class AlreadyCancelled(Refused):
    code = "already_cancelled"
    hint = "Nothing to do: the points were refunded when it was cancelled."


class InvalidCertificate(Refused):
    code = "invalid_certificate"
    hint = "Do not accept this certificate; ask for the original file or check the public key."


class UnknownCampaign(Refused):
    code = "unknown_campaign"
    hint = "List the campaigns with `loyaltyctl promo list`."


class UnknownCode(Refused):
    code = "unknown_code"
    hint = "Check the code for typos; codes ignore case, spaces and dashes."


class CodeUsedUp(Refused):
    code = "code_used_up"
    hint = "Nothing was changed."


class CampaignPaused(Refused):
    code = "campaign_paused"
    hint = "Resume it with `loyaltyctl promo resume CAMPAIGN` if it should run."


class CampaignArchived(Refused):
    code = "campaign_archived"
    hint = "An archived campaign stays closed; start a new campaign instead."


class MemberDailyLimit(Refused):
    code = "member_daily_limit"
    hint = "The day is counted in the program time zone; try again tomorrow."


class PrizeUnavailable(Refused):
    code = "prize_unavailable"
    hint = "Check the prize perks with `loyaltyctl perk show SLUG` (enabled, supply left)."


class TooManyCodes(Refused):
    code = "too_many_codes"
    hint = "Use a longer --length, or fewer codes."


class UnknownBatch(Refused):
    code = "unknown_batch"
    hint = "The batch id is in the output of `promo generate` and the batch_id column of its file."


class CodeExists(Refused):
    code = "code_exists"
    hint = "Shared codes are unique across all campaigns (ignoring case, spaces and dashes)."


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


# --- 2: usage --------------------------------------------------------------------


class UsageProblem(LoyaltyError):
    code = "usage"
    exit_code = 2
    hint = "See the command's --help."


# --- 3: bad input file -----------------------------------------------------------


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
    code = "bad_input_file"
    exit_code = 3
    hint = "Fix the problems listed above and run the command again; nothing was applied."

    def __init__(self, problems: list[Problem], *, total: int | None = None) -> None:
        self.problems = problems
        count = total if total is not None else len(problems)
        first = problems[0] if problems else None
        noun = "problem" if count == 1 else "problems"
        message = f"{first.file if first else 'input'}: {count} {noun} found."
        super().__init__(message, total=count)


# --- 4: environment --------------------------------------------------------------


class EnvironmentProblem(LoyaltyError):
    code = "environment"
    exit_code = 4


class SchemaOutdated(EnvironmentProblem):
    code = "schema_outdated"
    hint = "Run `loyaltyctl db upgrade`."


class SchemaMissing(EnvironmentProblem):
    code = "schema_missing"
    hint = "Run `loyaltyctl init` to create it."


class DatabaseUnavailable(EnvironmentProblem):
    code = "database_unavailable"
    hint = "Check --database-url / LOYALTYCTL_DATABASE_URL and that the server is running."


class DatabaseBusy(EnvironmentProblem):
    code = "database_busy"
    hint = "Other writers held the database too long; try again."


class ConfigProblem(EnvironmentProblem):
    code = "config"
    hint = "Fix that setting (its flag, LOYALTYCTL_* variable or config file)."


# --- the key file (exit 4 when missing or damaged; 1 when init would replace it) ---


class KeysMissing(EnvironmentProblem):
    code = "keys_missing"
    hint = "Run `loyaltyctl keys init` (or set LOYALTYCTL_KEYS_FILE to the existing key file)."


class KeysInvalid(EnvironmentProblem):
    code = "keys_invalid"
    hint = "Restore the key file from your backup; without it stored secrets cannot be read."


class KeysExist(Refused):
    code = "keys_exist"
    hint = "Keep the existing file; use `loyaltyctl keys rotate` for a new encryption key."
