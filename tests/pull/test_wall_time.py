"""Zoned timestamps written as wall time with the zone's offset: the same text as strftime's, faster."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from etl.pull.source import wall_time

# around both 2024 clock changes in London, a day in Lagos (no DST), Kathmandu's +05:45, the epoch, 1890
SECONDS = [
    1711846799,  # 2024-03-31 00:59:59 UTC: 00:59:59 GMT
    1711846800,  # 01:00:00 UTC: 02:00:00 BST
    1729990799,
    1729990800,
    0,
    -2524521600,
    1704067200,
    None,
]


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize(
    "zone", ["Europe/London", "Africa/Lagos", "Asia/Kathmandu", "America/St_Johns", "UTC"]
)
def test_wall_time_writes_what_strftime_writes(unit: str, zone: str) -> None:
    array = pa.array(SECONDS, pa.int64()).cast(pa.timestamp("s")).cast(pa.timestamp(unit, tz="UTC"))
    zoned = array.cast(pa.timestamp(unit, tz=zone))
    expected = pc.strftime(zoned, format="%Y-%m-%d %H:%M:%S%z").to_pylist()
    assert wall_time(zoned).to_pylist() == expected


def test_wall_time_values() -> None:
    zoned = pa.array([1711846799, 1711846800, None], pa.int64()).cast(pa.timestamp("s"))
    zoned = zoned.cast(pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us", tz="Europe/London"))
    assert wall_time(zoned).to_pylist() == [
        "2024-03-31 00:59:59.000000+0000",
        "2024-03-31 02:00:00.000000+0100",
        None,
    ]
    kathmandu = pa.array([0], pa.timestamp("s", tz="UTC")).cast(pa.timestamp("s", tz="Asia/Kathmandu"))
    assert wall_time(kathmandu).to_pylist() == ["1970-01-01 05:30:00+0530"]  # +05:45 only since 1986
    empty = pa.array([], pa.timestamp("us", tz="Africa/Lagos"))
    assert wall_time(empty).to_pylist() == []
