"""The price table behind the cost notes covers every region and instance type a cluster may
be requested with, and its figures are plausible on-demand prices (no zero, no typo)."""

from __future__ import annotations

import pytest

from flightdeck.aws import prices, reference


@pytest.mark.parametrize("region", list(reference.REGIONS))
def test_every_reference_region_has_a_price_for_every_type(region: str) -> None:
    for instance_type in reference.NODE_INSTANCE_TYPES:
        assert 0.01 < prices.ec2_hourly(region, instance_type) < 5
    for instance_type in reference.DB_INSTANCE_TYPES:
        assert 0.01 < prices.rds_hourly(region, instance_type) < 5
    assert 0.01 < prices.nat_gateway_hourly(region) < 0.2


def test_the_table_has_no_region_or_type_the_reference_does_not_know() -> None:
    assert set(prices.REGION_ANCHOR) == set(reference.REGIONS)
    assert set(prices.EC2) == set(reference.NODE_INSTANCE_TYPES)
    assert set(prices.RDS_POSTGRESQL) == set(reference.DB_INSTANCE_TYPES)


def test_us_east_1_prices_are_the_published_ones_and_sizes_double() -> None:
    assert prices.ec2_hourly("us-east-1", "m5.xlarge") == 0.192
    assert prices.ec2_hourly("us-east-1", "m5.2xlarge") == 2 * prices.ec2_hourly(
        "us-east-1", "m5.xlarge")
    assert prices.ec2_hourly("eu-west-3", "m5.large") == 0.112
    assert prices.ec2_hourly("sa-east-1", "m5.large") > prices.ec2_hourly("us-east-1", "m5.large")


def test_an_unknown_region_or_type_is_named() -> None:
    with pytest.raises(prices.NoPrice, match="mars-north-1"):
        prices.ec2_hourly("mars-north-1", "m5.large")
    with pytest.raises(prices.NoPrice, match=r"m9\.huge"):
        prices.ec2_hourly("us-east-1", "m9.huge")
