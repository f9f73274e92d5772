"""A10: members have the owner's rights except removing the owner; keys outlive members."""

from __future__ import annotations

import pytest

from ledger.application import Ledger
from ledger.domain.api import ApiOrganization
from ledger.domain.errors import DomainError
from ledger.domain.terms import ApiKey, TaskSpec
from ledger.domain.types import RefusalReason
from ledger.pricing.models import PriceBook
from tests.unit.domain.domain_kit import at, only, recorded

START = at(2027, 1, 1)


def test_a10_removing_the_owner_is_an_error(ledger: Ledger, book: PriceBook) -> None:
    org = ledger.open_organization("o", START, book, members=["owner", "dev"])
    with pytest.raises(DomainError, match="A10"):
        org.remove_member(at(2027, 1, 2), "owner")
    assert org.members == ["owner", "dev"]


def test_a10_keys_of_removed_members_stay_active_and_are_flagged_until_disabled(
    ledger: Ledger, book: PriceBook
) -> None:
    org = ledger.open_organization("o", START, book, members=["owner", "dev"])
    org.purchase_credits(START, 1000)
    org.create_key(at(2027, 1, 2), "dev-key", by="dev")
    org.create_key(at(2027, 1, 2), "owner-key")
    org.remove_member(at(2027, 1, 3), "dev")
    assert only(org, ApiOrganization.MemberRemoved).keys_left_active == ["dev-key"]
    assert org.flagged_keys == ["dev-key"]
    # The key belongs to the organization: it still works.
    org.submit_tasks(at(2027, 1, 4), 0, 1, TaskSpec("gen4.5", 120), 2, 200, key="dev-key")
    assert only(org, ApiOrganization.TaskCharged).key == "dev-key"
    org.disable_key(at(2027, 1, 5), "dev-key")
    assert org.flagged_keys == []
    org.submit_tasks(at(2027, 1, 6), 0, 2, TaskSpec("gen4.5", 120), 2, 200, key="dev-key")
    refused = only(org, ApiOrganization.TaskRefused)
    assert (refused.reason, refused.count) == (RefusalReason.UNKNOWN_KEY, 2)
    assert org.balance == 880


def test_a10_a_member_can_do_what_the_owner_does(ledger: Ledger, book: PriceBook) -> None:
    org = ledger.open_organization("o", START, book, members=["owner", "dev"])
    org.add_member(at(2027, 1, 2), "ops")
    org.create_key(at(2027, 1, 2), "k", by="dev")
    org.remove_member(at(2027, 1, 3), "ops")
    assert org.members == ["owner", "dev"]
    assert org.keys == {"k": ApiKey(by="dev", active=True)}


def test_a10_only_members_create_keys(ledger: Ledger, book: PriceBook) -> None:
    org = ledger.open_organization("o", START, book)
    org.create_key(at(2027, 1, 2), "k", by="stranger")
    assert only(org, ApiOrganization.KeyRefused).reason is RefusalReason.NOT_A_MEMBER
    assert org.keys == {}


def test_a10_removing_someone_who_is_not_a_member_is_refused(
    ledger: Ledger, book: PriceBook
) -> None:
    org = ledger.open_organization("o", START, book)
    org.remove_member(at(2027, 1, 2), "ghost")
    org.add_member(at(2027, 1, 2), "owner")
    reasons = [e.reason for e in recorded(org, ApiOrganization.MemberRefused)]
    assert reasons == [RefusalReason.NOT_A_MEMBER, RefusalReason.ALREADY_MEMBER]


def test_a10_disabling_an_unknown_key_is_refused(ledger: Ledger, book: PriceBook) -> None:
    org = ledger.open_organization("o", START, book)
    org.disable_key(at(2027, 1, 2), "nope")
    assert only(org, ApiOrganization.KeyRefused).reason is RefusalReason.UNKNOWN_KEY
