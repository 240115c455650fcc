"""The error map (cli/_errors.py): every error type has its exit code and hint there, and
the CLI words the domain leaves out (flags, commands, did-you-mean) come from the data."""

from __future__ import annotations

import importlib
import pkgutil
from types import SimpleNamespace

import pytest

import loyaltyctl
from loyaltyctl.cli._errors import ERROR_MAP, line_message, rendering
from loyaltyctl.domain import errors as e
from loyaltyctl.services.earning.ingest import LineError


def _all_error_types() -> list[type[e.LoyaltyError]]:
    """Every LoyaltyError type of the package, wherever it is defined."""
    for module in pkgutil.walk_packages(loyaltyctl.__path__, "loyaltyctl."):
        if ".migrations." not in module.name and not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found, todo = [], [e.LoyaltyError]
    while todo:
        kind = todo.pop()
        if kind.__module__.startswith("loyaltyctl."):
            found.append(kind)
        todo.extend(kind.__subclasses__())
    return found


def _category_exit_code(kind: type[e.LoyaltyError]) -> int:
    """Spec §3: 1 refused, 2 usage, 3 bad input file, 4 environment."""
    if issubclass(kind, e.UsageProblem):
        return 2
    if issubclass(kind, e.BadInputFile | e.BadLines):
        return 3
    if issubclass(kind, e.EnvironmentProblem):
        return 4
    return 1


def test_every_error_type_has_its_own_entry_in_the_map():
    kinds = _all_error_types()
    assert len(kinds) > 40
    assert [k.__name__ for k in kinds if k not in ERROR_MAP] == []
    mapped = {k.__name__: ERROR_MAP[k].exit_code for k in kinds}
    expected = {k.__name__: _category_exit_code(k) for k in kinds}
    assert mapped == expected


def test_domain_errors_carry_no_exit_code_and_no_hint():
    for kind in _all_error_types():
        assert not hasattr(kind, "exit_code"), kind
        assert not hasattr(kind, "hint"), kind


def test_a_subtype_without_an_entry_would_fall_back_to_its_base():
    class Unmapped(e.SoldOut):
        pass

    assert rendering(Unmapped) is ERROR_MAP[e.SoldOut]


def test_arguments_are_named_as_parameters_in_the_domain_and_as_flags_in_the_cli():
    problem = e.UsageProblem(e.Argument("uses_per_code"), " must be at least 1.")
    assert problem.message == "uses_per_code must be at least 1."
    assert problem.data == {"arguments": ["uses_per_code"]}
    assert ERROR_MAP[e.UsageProblem].message(problem) == "--uses-per-code must be at least 1."
    missing = e.UsageProblem(
        e.Argument("count"), " is required (or give ", e.Argument("batch_id"), ")."
    )
    assert ERROR_MAP[e.UsageProblem].message(missing) == "--count is required (or give --batch ID)."


def test_several_problems_make_one_capitalised_sentence():
    several = e.UsageProblem.several(
        [("give ", e.Argument("points"), ", ", e.Argument("perks"), " or both"),
         (e.Argument("code"), " has no letter"), (e.Argument("code"), " is too long")]
    )  # fmt: skip
    assert several.message == "Give points, perks or both; code has no letter; code is too long."
    assert several.data["arguments"] == ["points", "perks", "code"]
    assert rendering(type(several)).message(several) == (
        "Give --points, --perk or both; --code has no letter; --code is too long."
    )


@pytest.mark.parametrize(
    ("candidates", "hint"),
    [
        (["C-1001", "C-1010"], "Did you mean C-1001 or C-1010?"),
        ([], "Check the id with `loyaltyctl member find`."),
    ],
)
def test_an_unknown_member_hint_offers_the_close_ids(candidates, hint):
    error = e.UnknownMember("No member has the id 'C-1000'.", candidates=candidates)
    how = rendering(e.UnknownMember)
    assert (how.message(error), how.hint_for(error)) == ("No member has the id 'C-1000'.", hint)


def test_an_unknown_perk_message_offers_the_close_slug():
    how = rendering(e.UnknownPerk)
    close = e.UnknownPerk("There is no perk 'cofee'.", perk="cofee", candidates=["coffee"])
    assert how.message(close) == "There is no perk 'cofee'. Did you mean coffee?"
    far = e.UnknownPerk("There is no perk 'zz'.", perk="zz", candidates=[])
    assert how.message(far) == "There is no perk 'zz'."


@pytest.mark.parametrize(
    ("live", "suggested", "hint"),
    [
        (0, 7, "Use --length 7; or generate at most 1,073."),
        (1_000, None, "Generate at most 73."),
        (1_073, 9, "Use --length 9."),
        (1_073, None, "Use a longer --length, or fewer codes."),
    ],
)
def test_too_many_codes_names_a_length_and_how_many_still_fit(live, suggested, hint):
    error = e.TooManyCodes(
        "...", count=2_000, length=6, live=live, max_live=1_073, suggested_length=suggested
    )
    assert rendering(e.TooManyCodes).hint_for(error) == hint


def test_a_bad_line_is_worded_by_the_cli_where_it_has_its_own_words():
    unknown = LineError(3, "no member has the id 'C-9'; ...", "unknown_member", {"member": "C-9"})
    assert line_message(unknown) == (
        "no member has the id 'C-9'; a member.joined event (or `loyaltyctl member add`) must "
        "add them first"
    )
    plain = LineError(2, "not valid JSON")
    assert line_message(plain) == "not valid JSON"


def test_outcomes_after_a_result_print_no_second_json_document(capsys):
    from loyaltyctl.cli._errors import report

    failure = SimpleNamespace(
        event="claim.created", event_id="evt_1", claim_id="cl_1", perk="vip", attempts=8,
        error="HTTP 500",
    )  # fmt: skip
    assert report(e.DeliveriesGaveUp([failure], result=None), json_mode=True) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert " ".join(err.split()) == (
        "error: Gave up the webhook claim.created (evt_1) of claim cl_1 (perk vip) after 8 "
        "attempts, the last: HTTP 500. It will not be sent again; check the perk's webhook "
        "receiver."
    )


def test_did_you_mean_reaches_the_user_as_before(cli, keys):
    assert cli("member", "add", "C-1001", "--name", "Ada").exit_code == 0
    member = cli("member", "show", "C-1000", "--json")
    assert (member.exit_code, member.json["error"]) == (
        1,
        {
            "code": "unknown_member",
            "message": "No member has the id 'C-1000'.",
            "hint": "Did you mean C-1001?",
        },
    )
    created = cli("promo", "create", "spring", "--name", "Spring", "--points", "5")
    assert created.exit_code == 0, created.stderr
    campaign = cli("promo", "show", "sprin")
    assert campaign.exit_code == 1
    assert " ".join(campaign.stderr.split()) == (
        "error: There is no campaign 'sprin'. Did you mean spring? "
        "List the campaigns with `loyaltyctl promo list`."
    )
