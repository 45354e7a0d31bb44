"""Verified openings (pure logic): weekly hours minus booked sessions, every week of the horizon."""

from __future__ import annotations

import datetime as dt

import pytest

from reverie.directory.availability import clean_weekly_slots, openings

MONDAY_8AM = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A UTC datetime in March 2026 (the 2nd is a Monday)."""
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=dt.UTC)


def test_free_hours_are_openings_with_their_first_free_start() -> None:
    result = openings([(3, 9), (1, 18)], [], now=MONDAY_8AM, time_zone="UTC")
    assert result.slots == ((1, 18), (3, 9))
    assert result.first_free == (at(3, 18), at(5, 9))
    assert result.next_free == at(3, 18)


def test_an_hour_booked_in_any_week_of_the_horizon_is_not_an_opening() -> None:
    booked = [(at(24, 18), 50)]  # Tuesday of the fourth week
    assert openings([(1, 18)], booked, now=MONDAY_8AM, time_zone="UTC").slots == ()


def test_a_booking_after_the_horizon_does_not_count() -> None:
    booked = [(at(31, 18), 50)]  # Tuesday of the fifth week
    assert openings([(1, 18)], booked, now=MONDAY_8AM, time_zone="UTC").slots == ((1, 18),)


def test_a_session_overlapping_the_start_of_the_hour_takes_it() -> None:
    booked = [(at(10, 17, 30), 50)]  # 17:30-18:20 overlaps 18:00-18:50
    assert openings([(1, 18)], booked, now=MONDAY_8AM, time_zone="UTC").slots == ()


def test_a_session_ending_when_the_hour_begins_leaves_it_free() -> None:
    booked = [(at(10, 17, 0), 60)]  # ends 18:00 exactly
    assert openings([(1, 18)], booked, now=MONDAY_8AM, time_zone="UTC").slots == ((1, 18),)


def test_a_session_starting_after_the_fifty_minutes_leaves_the_hour_free() -> None:
    booked = [(at(10, 18, 50), 50)]
    assert openings([(1, 18)], booked, now=MONDAY_8AM, time_zone="UTC").slots == ((1, 18),)


def test_occurrences_already_past_today_are_skipped() -> None:
    now = at(3, 19)  # Tuesday 19:00, after this week's 18:00
    booked = [(at(3, 18), 50)]  # today's session is over and does not block the slot
    result = openings([(1, 18)], booked, now=now, time_zone="UTC")
    assert result.slots == ((1, 18),)
    assert result.first_free == (at(10, 18),)


def test_slots_are_read_in_the_practice_time_zone_across_a_clock_change() -> None:
    # New York moves to summer time on 8 March 2026: 18:00 local is 23:00 UTC before
    # and 22:00 UTC after. A booking at 22:00 UTC on 10 March takes the Tuesday slot.
    booked = [(dt.datetime(2026, 3, 10, 22, 0, tzinfo=dt.UTC), 50)]
    result = openings([(1, 18)], booked, now=MONDAY_8AM, time_zone="America/New_York")
    assert result.slots == ()
    free = openings([(1, 18)], [], now=MONDAY_8AM, time_zone="America/New_York")
    assert free.first_free == (dt.datetime(2026, 3, 3, 23, 0, tzinfo=dt.UTC),)


def test_no_weekly_hours_means_no_openings() -> None:
    result = openings([], [], now=MONDAY_8AM, time_zone="UTC")
    assert result.slots == () and result.next_free is None


@pytest.mark.parametrize(
    "raw",
    [[[7, 9]], [[0, 24]], [[0]], [["1", 9]], [[True, 9]], "0,9", [[0, 9, 1]]],
    ids=["weekday-7", "hour-24", "short", "text", "bool", "string", "triple"],
)
def test_bad_weekly_slots_are_refused_with_a_clear_message(raw: object) -> None:
    with pytest.raises(ValueError, match="weekly slot"):
        clean_weekly_slots(raw)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        openings([(1, 18)], [], now=dt.datetime(2026, 3, 2, 8), time_zone="UTC")  # noqa: DTZ001
    with pytest.raises(ValueError, match="timezone-aware"):
        openings(
            [(1, 18)],
            [(dt.datetime(2026, 3, 3, 18), 50)],  # noqa: DTZ001
            now=MONDAY_8AM,
            time_zone="UTC",
        )
