"""Day types choose the period grid: weekday, Saturday, Sunday or public holiday."""

from datetime import date

from booking.inventory.calendar import DayType, day_type, holiday_name, is_holiday


def test_day_types():
    assert day_type(date(2026, 11, 24)) is DayType.WEEKDAY  # Tuesday
    assert day_type(date(2026, 11, 28)) is DayType.SATURDAY
    assert day_type(date(2026, 11, 29)) is DayType.SUNDAY_HOLIDAY
    assert day_type(date(2026, 11, 23)) is DayType.SUNDAY_HOLIDAY  # 勤労感謝の日, a Monday


def test_holidays_come_from_the_library_in_japanese():
    assert holiday_name(date(2026, 9, 21)) == "敬老の日"
    assert is_holiday(date(2026, 5, 6))  # 振替休日
    assert not is_holiday(date(2026, 5, 7))


def test_a_saturday_holiday_is_a_holiday():
    # 2028-04-29 (昭和の日) falls on a Saturday: the Sunday/holiday grid applies.
    assert is_holiday(date(2028, 4, 29))
    assert day_type(date(2028, 4, 29)) is DayType.SUNDAY_HOLIDAY
