"""The base of the readers of `[perk.redemption]`, one per redemption type: the keys
every type reads, a secret given inline, by environment variable or by file, and the
checks several types share."""

from __future__ import annotations

import unicodedata
from typing import Any, ClassVar

from loyaltyctl.program.checks import TEXT_MAX, URL_MAX, describe, text_problem, url_problem
from loyaltyctl.program.reader import Reader

SECRET_MAX = 500


class RedemptionReader:
    """Reads the `[perk.redemption]` table of one type into the PerkSpec's redemption
    fields; problems are noted on the perk's reader. A type reads the keys it uses and
    refuses the others it finds."""

    type: ClassVar[str] = ""
    keys: ClassVar[tuple[str, ...]] = ()  # the keys of [perk.redemption] it uses, besides type
    perk_keys: ClassVar[tuple[str, ...]] = ()  # keys of the perk itself it reads

    def __init__(self, perk: Reader, table: dict[str, Any]) -> None:
        self.perk = perk
        self.table = table

    def read(self) -> dict[str, Any]:
        """The keys every type reads (a problem of their value is one whatever the type),
        then the type's own (`fill`)."""
        t = self.table
        fields: dict[str, Any] = {
            "redemption_type": self.type or "none",
            "value": None,
            "instructions": self.perk.text("redemption.instructions", t, TEXT_MAX, multiline=True),
            "single_use": self.perk.boolean("redemption.single_use", t, default=False),
            "iframe": self.perk.boolean("redemption.iframe", t, default=False),
            "checkout_url": self.perk.text("redemption.checkout_url", t, URL_MAX),
            "webhook_url": self.perk.text("redemption.webhook_url", t, URL_MAX),
            "webhook_secret": None,
        }
        self.fill(fields)
        return fields

    def fill(self, fields: dict[str, Any]) -> None:
        """Read this type's own keys into `fields`, check them, refuse the others."""
        raise NotImplementedError

    def add(self, key: str, message: str) -> None:
        self.perk.add(f"redemption.{key}", message)

    def given(self, base: str) -> list[str]:
        """Which of `base`, `base_env` and `base_file` the table gives."""
        return [k for k in (base, f"{base}_env", f"{base}_file") if k in self.table]

    # -- checks several types share

    def check_iframe(self, fields: dict[str, Any]) -> None:
        """iframe = true needs checkout_url; then checkout_url's own checks."""
        if fields["iframe"] and fields["checkout_url"] is None and "checkout_url" not in self.table:
            self.add("iframe", "needs checkout_url, an https URL with {code} where the code goes.")
        self.check_checkout_url(fields)

    def check_checkout_url(self, fields: dict[str, Any]) -> None:
        url = fields["checkout_url"]
        if url is None:
            return
        problem = url_problem(url, schemes=("https",))
        if not fields["iframe"]:
            self.add(
                "checkout_url", "is only used with iframe = true; set iframe = true or remove it."
            )
        elif problem:
            self.add("checkout_url", problem)
        elif "{code}" not in url:
            self.add(
                "checkout_url", "must contain {code}, where the member's code is put in the URL."
            )

    def check_webhook_url(self, fields: dict[str, Any]) -> None:
        url = fields["webhook_url"]
        if url is not None and (problem := url_problem(url, schemes=("https",), local_http=True)):
            self.add("webhook_url", problem)

    def refuse_single_use(self, fields: dict[str, Any]) -> None:
        if fields["single_use"]:
            self.add(
                "single_use",
                'only works with type "code": a unique suffix is added to the code per claim.',
            )

    def refuse_webhook(self, fields: dict[str, Any]) -> None:
        for key in self.given("webhook_secret"):
            self.add(key, 'is only used with type "webhook".')
        if fields["webhook_url"] is not None:
            self.add("webhook_url", 'is only used with type "webhook".')

    # -- secrets

    def secret(self, base: str) -> str | None:
        """The secret from `base`, `base_env` or `base_file`; None when none is given
        (the stored one is kept). Messages never quote the secret itself."""
        given = self.given(base)
        if not given:
            return None
        if len(given) > 1:
            self.add(
                given[1],
                f"give only one of {base}, {base}_env and {base}_file; this perk gives"
                f" {' and '.join(given)}.",
            )
            return None
        key = given[0]
        raw = self.table[key]
        if not isinstance(raw, str):
            self.add(key, f"must be a string, not {describe(raw)}.")
            return None
        if key != base and (problem := text_problem(raw, URL_MAX, multiline=False)):
            self.add(key, problem)  # a name or path: one line, and no NUL for the OS
            return None
        found = self._secret_text(key, base, raw)
        if found is None:
            return None
        secret, origin = found
        if not secret:
            self.add(key, f"{origin} is empty; leave {base} out to keep the stored one.")
            return None
        if len(secret) > SECRET_MAX:
            self.add(key, f"{origin} holds {len(secret)} characters; at most {SECRET_MAX}.")
            return None
        if any(unicodedata.category(ch) == "Cc" for ch in secret):
            self.add(key, f"{origin} must hold one line of text without control characters.")
            return None
        return secret

    def _secret_text(self, key: str, base: str, raw: str) -> tuple[str, str] | None:
        """(the secret, where it came from as messages say it); None after a noted problem."""
        if key == base:
            return raw, "it"
        if key.endswith("_env"):
            origin = f"the environment variable {raw}"
            secret = self.perk.file.env.get(raw, "")
            if not secret:
                self.add(key, f"{origin} is not set or is empty; set it before running apply.")
                return None
            return secret, origin
        path = self.perk.file.path.parent / raw
        origin = f"the file {path}"
        try:
            return path.read_bytes().decode("utf-8").rstrip("\r\n"), origin
        except UnicodeDecodeError:
            self.add(key, f"{origin} is not UTF-8 text.")
        except OSError as exc:
            self.add(key, f"cannot read {origin}: {exc.strerror}.")
        return None


class UntypedRedemption(RedemptionReader):
    """A table whose type is missing or unknown (that problem is noted): every key is
    still read and checked, so all the table's problems are told at once."""

    def fill(self, fields: dict[str, Any]) -> None:
        fields["value"] = self.secret("value")
        fields["webhook_secret"] = self.secret("webhook_secret")
        self.check_iframe(fields)
        self.check_webhook_url(fields)
