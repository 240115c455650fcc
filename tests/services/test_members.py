import pytest

from loyaltyctl.domain.errors import MemberExists, UsageProblem
from loyaltyctl.services.members import (
    MemberFields,
    find_members,
    list_members,
    show_member,
    update_member,
)


def test_find_by_last_phone_digits_email_or_name(run, member):
    member("C-1", "Ada Lovelace", phone="+44 20 7946 0321", email="ada@example.org")
    member("C-2", "Alan Turing", phone="+44 161 496 0718")
    member("C-3", "Ada Byron", phone="+1 555 000 0321")

    def ids(query):
        return sorted(m.external_id for m in run(find_members, query=query))

    assert ids("0321") == ["C-1", "C-3"]
    assert ids("60321") == ["C-1"]
    assert ids("ADA@example.org") == ["C-1"]
    assert ids("ada") == ["C-1", "C-3"]
    assert ids("turing") == ["C-2"]
    assert ids("9999") == []
    with pytest.raises(UsageProblem):
        run(find_members, query="a")


def test_adding_an_existing_id_is_refused(member):
    member("C-1")
    with pytest.raises(MemberExists):
        member("C-1")


def test_update_changes_fields_and_labels_and_reports_what_changed(run, member):
    member("C-1", groups=["chess"], tags=["new"])
    m, changed = run(
        update_member,
        external_id="C-1",
        fields=MemberFields(tier="gold", email="x@y.org"),
        operator="o",
        add_tags=["vip"],
        remove_tags=["new"],
        add_groups=["darts"],
    )
    assert changed == ["email", "groups", "tags", "tier"]
    assert (m.tier, m.tier_manual, m.groups, m.tags) == ("gold", True, ("chess", "darts"), ("vip",))
    _, nothing = run(
        update_member, external_id="C-1", fields=MemberFields(tier="gold"), operator="o"
    )
    assert nothing == []


def test_list_filters_by_tier_tag_and_group(run, member):
    member("C-1", tier="gold", tags=["vip"], groups=["a"])
    member("C-2", tags=["vip"])
    member("C-3", groups=["a"])

    def ids(**kw):
        return [m.external_id for m in run(list_members, **kw)]

    assert ids() == ["C-1", "C-2", "C-3"]
    assert ids(tier="gold") == ["C-1"]
    assert ids(tag="vip") == ["C-1", "C-2"]
    assert ids(tag="vip", group="a") == ["C-1"]


def test_show_has_profile_balance_and_recent_entries(run, member):
    from loyaltyctl.services.ledger import change_points

    member("C-1", "Ada")
    run(change_points, member="C-1", amount=5, reason="r", operator="o")
    profile = run(show_member, external_id="C-1")
    assert profile.member.name == "Ada"
    assert profile.balance.balance == 5
    assert [e.amount for e in profile.recent] == [5]
