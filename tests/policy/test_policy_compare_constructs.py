"""Exact comparison, one IAM construct at a time: each pair widens or narrows one thing."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import pytest

from flightdeck.policy.actions import iam_action_universe
from policy.compare_helpers import allow, deny, doc, expands, no_new_access

S3_READ = allow("s3:GetObject", "arn:aws:s3:::logs/*")


# --- actions --------------------------------------------------------------------------


def test_action_wildcard_widened_names_an_action_only_the_wider_pattern_covers() -> None:
    result = expands(doc(allow("s3:Get*")), doc(allow("s3:*")))
    assert result.example is not None
    assert result.example.action.startswith("s3:")
    assert not result.example.action.lower().startswith("s3:get")
    assert result.example.action in iam_action_universe()  # canonical spelling, real action
    assert result.statement == 0


def test_action_wildcard_narrowed_is_no_new_access() -> None:
    no_new_access(doc(allow("s3:*")), doc(allow("s3:Get*")))
    no_new_access(doc(allow("*")), doc(allow("ec2:Describe*"), allow("s3:List*")))


def test_added_action_is_the_example_with_its_canonical_spelling() -> None:
    old = doc(allow(["s3:GetObject", "s3:ListBucket"]))
    new = doc(allow(["s3:GetObject", "s3:ListBucket"]), allow("S3:PUTOBJECT", sid="Writes"))
    result = expands(old, new)
    assert result.example is not None
    assert result.example.action == "s3:PutObject"
    assert result.statement == 1
    assert '"Writes"' in result.reason


def test_question_mark_matches_exactly_one_character() -> None:
    # "s3:GetObjec?" matches no other known action, but it does match actions AWS may add.
    result = expands(doc(allow("s3:GetObject")), doc(allow("s3:GetObjec?")))
    assert result.example is not None
    assert result.example.action.lower().startswith("s3:getobjec")
    assert len(result.example.action) == len("s3:GetObject")
    assert result.example.action not in iam_action_universe()
    assert "not in the IAM action list" in result.reason
    no_new_access(doc(allow("s3:GetObjec?")), doc(allow("s3:GetObject")))


def test_every_known_action_listed_still_misses_actions_a_wildcard_covers() -> None:
    universe = iam_action_universe()
    describe = [universe.by_lower[a] for a in universe.by_service["ec2"] if "describe" in a[4:12]]
    describe = [a for a in describe if a.lower().startswith("ec2:describe")]
    assert len(describe) > 100
    # The explicit list grants nothing beyond the wildcard ...
    no_new_access(doc(allow("ec2:Describe*")), doc(allow(describe)))
    # ... but the wildcard also covers Describe actions not in the list yet.
    result = expands(doc(allow(describe)), doc(allow("ec2:Describe*")))
    assert result.example is not None
    assert result.example.action.lower().startswith("ec2:describe")
    assert result.example.action not in universe


def test_actions_are_case_insensitive() -> None:
    no_new_access(doc(allow("S3:GETOBJECT")), doc(allow("s3:getobject")))
    no_new_access(doc(allow("s3:get*")), doc(allow("S3:GetObject")))


def test_not_action() -> None:
    everything_but_iam = allow("iam:*", not_action=True)
    no_new_access(doc(allow("*")), doc(everything_but_iam))
    result = expands(doc(everything_but_iam), doc(allow("*")))
    assert result.example is not None
    assert result.example.action.lower().startswith("iam:")
    # NotAction also covers unknown services, which an explicit list does not.
    result = expands(doc(allow(["s3:*", "ec2:*"])), doc(everything_but_iam))
    assert result.example is not None
    assert not result.example.action.lower().startswith(("s3:", "ec2:", "iam:"))


# --- resources ------------------------------------------------------------------------


def test_resource_wildcard_widened_and_narrowed() -> None:
    result = expands(doc(S3_READ), doc(allow("s3:GetObject", "arn:aws:s3:::*")))
    assert result.example is not None
    assert result.example.resource.startswith("arn:aws:s3:::")
    assert not result.example.resource.startswith("arn:aws:s3:::logs/")
    no_new_access(doc(allow("s3:GetObject", "arn:aws:s3:::*")), doc(S3_READ))


def test_resources_are_case_sensitive() -> None:
    upper = allow("s3:GetObject", "arn:aws:s3:::Logs/*")
    result = expands(doc(upper), doc(S3_READ))
    assert result.example is not None
    assert result.example.resource.startswith("arn:aws:s3:::logs/")
    no_new_access(doc(S3_READ), doc(S3_READ))


def test_resource_question_mark_and_star_across_slashes() -> None:
    no_new_access(
        doc(allow("s3:GetObject", "arn:aws:s3:::logs/*")),
        doc(allow("s3:GetObject", "arn:aws:s3:::logs/2024/??/*")),
    )
    result = expands(
        doc(allow("s3:GetObject", "arn:aws:s3:::logs/2024/??/*")),
        doc(allow("s3:GetObject", "arn:aws:s3:::logs/*")),
    )
    assert result.example is not None


def test_not_resource() -> None:
    outside_secret = allow("s3:GetObject", "arn:aws:s3:::secret/*", not_resource=True)
    result = expands(doc(outside_secret), doc(allow("s3:GetObject")))
    assert result.example is not None
    assert result.example.resource.startswith("arn:aws:s3:::secret/")
    no_new_access(doc(allow("s3:GetObject")), doc(outside_secret))


def test_single_resource_is_the_same_as_a_list() -> None:
    one = doc(allow("s3:GetObject", "arn:aws:s3:::a/*"))
    listed = doc(allow(["s3:GetObject"], ["arn:aws:s3:::a/*"]))
    no_new_access(one, listed)
    no_new_access(listed, one)


# --- Deny -----------------------------------------------------------------------------


def test_deny_added_is_no_new_access_and_removed_expands() -> None:
    base = [allow("iam:*")]
    guarded = doc(*base, deny("iam:DeleteRole", "arn:aws:iam::*:role/keep-*"))
    no_new_access(doc(*base), guarded)
    result = expands(guarded, doc(*base))
    assert result.example is not None
    assert result.example.action == "iam:DeleteRole"
    assert result.example.resource.startswith("arn:aws:iam::")
    assert ":role/keep-" in result.example.resource
    assert "OLD's statement 1 denies it" in result.reason


def test_deny_narrowed_expands_only_in_the_gap() -> None:
    wide_deny = doc(allow("s3:*"), deny("s3:Delete*"))
    narrow_deny = doc(allow("s3:*"), deny("s3:DeleteObject"))
    result = expands(wide_deny, narrow_deny)
    assert result.example is not None
    assert result.example.action.lower().startswith("s3:delete")
    assert result.example.action != "s3:DeleteObject"
    no_new_access(narrow_deny, wide_deny)


def test_deny_wins_over_allow_in_the_new_version() -> None:
    no_new_access(doc(allow("s3:*")), doc(allow("*"), deny("s3:*", not_action=True)))


# --- conditions -----------------------------------------------------------------------


def test_string_condition_removed_expands_and_added_is_no_new_access() -> None:
    scoped = allow("s3:GetObject", condition={"StringEquals": {"aws:PrincipalTag/team": "data"}})
    result = expands(doc(scoped), doc(allow("s3:GetObject")))
    assert result.example is not None
    assert result.example.context.get("aws:PrincipalTag/team") != "data"
    no_new_access(doc(allow("s3:GetObject")), doc(scoped))


def test_condition_values_are_alternatives_and_keys_both_apply() -> None:
    one = allow("s3:GetObject", condition={"StringEquals": {"aws:PrincipalTag/team": "data"}})
    two = allow(
        "s3:GetObject", condition={"StringEquals": {"aws:PrincipalTag/team": ["data", "ml"]}}
    )
    result = expands(doc(one), doc(two))
    assert result.example is not None
    assert result.example.context == {"aws:PrincipalTag/team": "ml"}
    both_keys = allow(
        "s3:GetObject",
        condition={
            "StringEquals": {"aws:PrincipalTag/team": "data", "aws:RequestedRegion": "eu-west-1"}
        },
    )
    no_new_access(doc(one), doc(both_keys))


def test_condition_key_names_are_case_insensitive_values_are_not() -> None:
    lower = allow("s3:GetObject", condition={"StringEquals": {"aws:principaltag/team": "data"}})
    upper = allow("s3:GetObject", condition={"StringEquals": {"AWS:PrincipalTag/Team": "data"}})
    no_new_access(doc(lower), doc(upper))
    shouting = allow("s3:GetObject", condition={"StringEquals": {"aws:PrincipalTag/team": "DATA"}})
    result = expands(doc(lower), doc(shouting))
    assert result.example is not None
    assert {k.lower(): v for k, v in result.example.context.items()} == {
        "aws:principaltag/team": "DATA"
    }
    ignore_case = allow(
        "s3:GetObject", condition={"StringEqualsIgnoreCase": {"aws:PrincipalTag/team": "data"}}
    )
    result = expands(doc(lower), doc(ignore_case))
    assert result.example is not None
    (value,) = result.example.context.values()
    assert value.lower() == "data" and value != "data"


def test_string_like_and_not_like() -> None:
    like = allow("s3:GetObject", condition={"StringLike": {"s3:prefix": "home/*"}})
    exact = allow("s3:GetObject", condition={"StringEquals": {"s3:prefix": "home/a"}})
    no_new_access(doc(like), doc(exact))
    result = expands(doc(exact), doc(like))
    assert result.example is not None
    assert result.example.context["s3:prefix"].startswith("home/")
    not_like = allow("s3:GetObject", condition={"StringNotLike": {"s3:prefix": "private/*"}})
    result = expands(doc(not_like), doc(allow("s3:GetObject")))
    assert result.example is not None
    assert result.example.context["s3:prefix"].startswith("private/")


def test_string_not_equals_passes_when_the_key_is_absent() -> None:
    not_equals = allow(
        "s3:GetObject", condition={"StringNotEquals": {"aws:PrincipalTag/team": "guest"}}
    )
    equals = allow("s3:GetObject", condition={"StringEquals": {"aws:PrincipalTag/team": "data"}})
    result = expands(doc(equals), doc(not_equals))
    assert result.example is not None
    # Absent key: StringNotEquals holds, StringEquals does not; the example needs no key.
    assert result.example.context == {}


def test_if_exists_allows_requests_without_the_key() -> None:
    strict = allow("ec2:RunInstances", condition={"StringEquals": {"ec2:InstanceType": "t3.micro"}})
    lenient = allow(
        "ec2:RunInstances", condition={"StringEqualsIfExists": {"ec2:InstanceType": "t3.micro"}}
    )
    result = expands(doc(strict), doc(lenient))
    assert result.example is not None
    assert result.example.context == {}
    no_new_access(doc(lenient), doc(strict))


def test_null_condition() -> None:
    with_mfa = allow("iam:*", condition={"Null": {"aws:MultiFactorAuthAge": "false"}})
    result = expands(doc(with_mfa), doc(allow("iam:*")))
    assert result.example is not None
    assert result.example.context == {}  # the key absent: what OLD refused
    without_key = allow("iam:*", condition={"Null": {"aws:MultiFactorAuthAge": "true"}})
    no_new_access(doc(allow("iam:*")), doc(with_mfa))
    result = expands(doc(with_mfa), doc(without_key))
    assert result.example is not None
    assert result.example.context == {}


def test_ip_ranges() -> None:
    wide = allow("s3:*", condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})
    narrow = allow("s3:*", condition={"IpAddress": {"aws:SourceIp": ["10.1.0.0/16", "10.2.3.4"]}})
    no_new_access(doc(wide), doc(narrow))
    result = expands(doc(narrow), doc(wide))
    assert result.example is not None
    address = ipaddress.ip_address(result.example.context["aws:SourceIp"])
    assert address in ipaddress.ip_network("10.0.0.0/8")
    assert address not in ipaddress.ip_network("10.1.0.0/16")
    assert str(address) != "10.2.3.4"


def test_not_ip_address_and_ipv6() -> None:
    outside = allow("s3:*", condition={"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}})
    result = expands(doc(outside), doc(allow("s3:*")))
    assert result.example is not None
    assert ipaddress.ip_address(result.example.context["aws:SourceIp"]) in ipaddress.ip_network(
        "192.0.2.0/24"
    )
    v4 = allow("s3:*", condition={"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}})
    v4_and_v6 = allow(
        "s3:*", condition={"IpAddress": {"aws:SourceIp": ["0.0.0.0/0", "2001:db8::/32"]}}
    )
    result = expands(doc(v4), doc(v4_and_v6))
    assert result.example is not None
    assert ipaddress.ip_address(result.example.context["aws:SourceIp"]).version == 6


def test_dates() -> None:
    until_2025 = allow(
        "s3:*", condition={"DateLessThan": {"aws:CurrentTime": "2025-01-01T00:00:00Z"}}
    )
    until_2026 = allow("s3:*", condition={"DateLessThan": {"aws:CurrentTime": "2026-01-01"}})
    no_new_access(doc(until_2026), doc(until_2025))
    result = expands(doc(until_2025), doc(until_2026))
    assert result.example is not None
    moment = datetime.fromisoformat(result.example.context["aws:CurrentTime"])
    assert datetime(2025, 1, 1, tzinfo=UTC) <= moment < datetime(2026, 1, 1, tzinfo=UTC)
    # Epoch seconds are dates too.
    epoch = allow("s3:*", condition={"DateLessThan": {"aws:CurrentTime": "1735689600"}})
    no_new_access(doc(until_2025), doc(epoch))
    no_new_access(doc(epoch), doc(until_2025))


def test_numbers() -> None:
    hour = allow("iam:*", condition={"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}})
    two_hours = allow(
        "iam:*", condition={"NumericLessThanEquals": {"aws:MultiFactorAuthAge": 7200}}
    )
    no_new_access(doc(two_hours), doc(hour))
    result = expands(doc(hour), doc(two_hours))
    assert result.example is not None
    assert 3600 <= result.example.context["aws:MultiFactorAuthAge"] <= 7200
    between = allow(
        "iam:*",
        condition={
            "NumericGreaterThan": {"aws:MultiFactorAuthAge": "0.5"},
            "NumericLessThan": {"aws:MultiFactorAuthAge": "0.75"},
        },
    )
    exact = allow("iam:*", condition={"NumericEquals": {"aws:MultiFactorAuthAge": "0.6"}})
    result = expands(doc(exact), doc(between))
    assert result.example is not None
    assert 0.5 < result.example.context["aws:MultiFactorAuthAge"] < 0.75


def test_bool() -> None:
    secure = allow("s3:*", condition={"Bool": {"aws:SecureTransport": "true"}})
    result = expands(doc(secure), doc(allow("s3:*")))
    assert result.example is not None
    assert result.example.context.get("aws:SecureTransport") in (None, False)
    insecure = allow("s3:*", condition={"Bool": {"aws:SecureTransport": False}})
    result = expands(doc(secure), doc(insecure))
    assert result.example is not None
    assert result.example.context == {"aws:SecureTransport": False}
    no_new_access(doc(allow("s3:*")), doc(secure))


def test_arn_like_matches_segment_by_segment() -> None:
    any_bucket = allow("sns:Publish", condition={"ArnLike": {"aws:SourceArn": "arn:aws:s3:::*"}})
    one_bucket = allow(
        "sns:Publish", condition={"ArnEquals": {"aws:SourceArn": "arn:aws:s3:::logs"}}
    )
    no_new_access(doc(any_bucket), doc(one_bucket))
    result = expands(doc(one_bucket), doc(any_bucket))
    assert result.example is not None
    assert result.example.context["aws:SourceArn"].startswith("arn:aws:s3:::")


def test_for_all_values_and_for_any_value() -> None:
    tags_ab = allow(
        "ec2:CreateTags", condition={"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}
    )
    tags_abc = allow(
        "ec2:CreateTags", condition={"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b", "c"]}}
    )
    no_new_access(doc(tags_abc), doc(tags_ab))
    result = expands(doc(tags_ab), doc(tags_abc))
    assert result.example is not None
    assert "c" in result.example.context["aws:TagKeys"]
    any_a = allow("ec2:CreateTags", condition={"ForAnyValue:StringEquals": {"aws:TagKeys": "a"}})
    # ForAllValues holds with no tag keys at all; ForAnyValue then fails.
    result = expands(doc(any_a), doc(tags_ab))
    assert result.example is not None
    assert "a" not in result.example.context.get("aws:TagKeys", [])


def test_several_witnesses_are_found_for_set_conditions() -> None:
    # NEW needs a tag key "x" and a tag key "y" and one outside {x, y}: three values.
    needs_three = allow(
        "ec2:CreateTags",
        condition={
            "ForAnyValue:StringEquals": {"aws:TagKeys": "x"},
            "ForAnyValue:StringLike": {"aws:TagKeys": "y*"},
            "ForAnyValue:StringNotLike": {"aws:TagKeys": ["x", "y*"]},
        },
    )
    only_xy = allow(
        "ec2:CreateTags", condition={"ForAllValues:StringLike": {"aws:TagKeys": ["x", "y*"]}}
    )
    result = expands(doc(only_xy), doc(needs_three))
    assert result.example is not None
    assert len(result.example.context["aws:TagKeys"]) == 3


@pytest.mark.parametrize("version", ["2012-10-17", "2008-10-17", None])
def test_single_statement_object_is_the_same_as_a_list(version: str | None) -> None:
    single = {"Statement": allow("s3:GetObject")}
    if version:
        single["Version"] = version
    listed = doc(allow(["s3:GetObject"]), version=version)
    no_new_access(single, listed)
    no_new_access(listed, single)


def test_empty_statement_list_allows_nothing() -> None:
    no_new_access(doc(allow("*")), doc())
    result = expands(doc(), doc(allow("sts:GetCallerIdentity")))
    assert result.example is not None
    assert result.example.action == "sts:GetCallerIdentity"
