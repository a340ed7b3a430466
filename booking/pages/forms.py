"""Reading a page's form, and turning every error into a message beside its field.

A form that fails is shown again with what was typed and a message per field, in the
user's language; domain errors name their field (BookingError.field / problems), which
`Form.fail` maps to the form's own field names.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import date
from typing import Any, TypeVar

from litestar.datastructures import FormMultiDict
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.errors import as_conflict
from booking.errors import BookingError
from booking.inventory.calendar import EARLIEST_DAY, LATEST_DAY
from booking.pages.i18n import N_, Texts
from booking.web.fields import control_characters
from booking.web.path_ids import MAX_ID

# The domain's error codes (booking/errors.py and the services) in words for people.
ERROR_MESSAGES: dict[str, str] = {
    "account_suspended": N_("This account is suspended."),
    "already_applied": N_("Your group has already applied for this slot."),
    "bad_periods": N_("Choose one or more consecutive periods of that day."),
    "block_not_found": N_("That block was not found."),
    "booking_not_found": N_("That booking was not found."),
    "booking_not_final": N_("Only a confirmed booking has a usage permit."),
    "cancellation_closed": N_(
        "The deadline for cancelling online has passed: please call the facility."
    ),
    "card_taken": N_("That card number is already in use."),
    "closed": N_("The facility is closed on that date."),
    "conflict": N_("Someone else changed this at the same time: please try again."),
    "counter_only": N_("This room is booked at the facility's counter only."),
    "csrf_failed": N_("The form has expired: reload the page and try again."),
    "duplicate_member": N_("This person is already on the roster."),
    "email_taken": N_("This e-mail address is already registered."),
    "facility_not_assigned": N_("That facility is not assigned to you."),
    "facility_retired": N_("That facility is retired: put it back in service first."),
    "duplicate_key": N_("This key is already in use (retired ones keep theirs): choose another."),
    "revision_exists": N_(
        "The policy already changes on that date: enter a correction from a later date."
    ),
    "effective_date_past": N_(
        "Choose today or a later date: what was booked before keeps what it was booked under."
    ),
    "bookings_in_the_way": N_(
        "Live bookings or lottery applications are in the way: move or cancel them first."
    ),
    "facility_staff_only": N_("Only the facility's staff can do this."),
    "group_not_found": N_("That group was not found."),
    "group_suspended": N_("This registration is suspended."),
    "hold_lapsed": N_("The hold has lapsed."),
    "holds_not_allowed": N_("This room does not take holds."),
    "invalid_input": N_("This value cannot be used."),
    "login_failed": N_("The card number, e-mail address or password is not right."),
    "login_required": N_("Please log in."),
    "member_not_found": N_("That member was not found."),
    "members_only": N_("Only the group's members can do this online."),
    "no_lottery": N_("This room has no lottery."),
    "not_active": N_("This registration is not active."),
    "not_applied": N_("This application can no longer be withdrawn."),
    "not_eligible": N_("Your registration cannot use this facility."),
    "out_of_city": N_("This room takes only groups based in the city."),
    "payment_received": N_("The fee was received and a receipt issued: record a refund first."),
    "nothing_paid": N_("Nothing was paid: there is nothing to refund."),
    "not_found": N_("Not found."),
    "notice_not_found": N_("That notice was not found."),
    "notice_withdrawn": N_("This notice has been withdrawn."),
    "not_estimated": N_("This value is not an estimate: it has been confirmed already."),
    "not_live": N_("This booking is no longer live."),
    "not_pending": N_("This is no longer waiting: it has been dealt with already."),
    "not_suspended": N_("This registration is not suspended."),
    "not_won": N_("This application did not win."),
    "not_yet": N_("Not yet: the window has not opened."),
    "outside_application_window": N_(
        "Lottery applications for that month are not being taken now."
    ),
    "outside_confirmation_window": N_("The confirmation window is not open."),
    "outside_window": N_("That date cannot be booked online now."),
    "over_capacity": N_("More people than the room holds."),
    "over_quota": N_("Your group has used its lottery quota for this facility and month."),
    "past_date": N_("That date has passed."),
    "permission_denied": N_("You may not do this."),
    "purpose_not_allowed": N_("This room cannot be used for that purpose."),
    "registration_inactive": N_(
        "This registration cannot book: it is not active (pending, suspended or expired)."
    ),
    "receipt_not_found": N_("That receipt was not found."),
    "registration_expires": N_(
        "Your registration ends before that date: renew it first (renewal opens on 1 December)."
    ),
    "not_representative": N_("Only the group's representative can do this."),
    "representative_required": N_(
        "The representative cannot be removed: make another member the representative first."
    ),
    "room_not_found": N_("That room was not found."),
    "rule_violation": N_("The rules do not allow this."),
    "slot_taken": N_("Someone has just taken this slot."),
    "slot_unavailable": N_("This slot is not available."),
    "slots_taken": N_("Some of these slots are taken."),
    "too_few_members": N_("Too few members for this registration."),
    "too_many_requests": N_("Too many attempts: please wait a few minutes."),
    "database_busy": N_("The system is busy just now. Please try again in a moment."),
    "database_unavailable": N_("The system cannot be reached just now. Please try again shortly."),
    "password_changed": N_("The password was changed meanwhile. Please try again."),
    "unknown_purpose": N_("Choose a purpose from the list."),
    "unauthenticated": N_("Please log in."),
    "weak_password": N_("The password is too short or too common: use 8 or more characters."),
    "window_closed": N_("The window has closed."),
    "staff_only": N_("Only facility staff can do this."),
    "admin_only": N_("Only an administrator can do this."),
    "not_confirmed": N_("This booking is not confirmed."),
    "not_held": N_("This booking is not a hold."),
    "not_drawn": N_("The lottery for this month has not been drawn yet."),
    "renewal_not_open": N_("Renewal opens on 1 December."),
    "application_not_found": N_("That application was not found."),
    "feed_not_found": N_("That calendar address was not found."),
    "feed_target_not_found": N_("That calendar cannot be made."),
    "wrong_password": N_("The current password is not right."),
    "not_registration_password": N_("This is not the password chosen when registering."),
    "invalid_token": N_("This link is invalid, used or expired."),
    "idempotency_key_reused": N_(
        "This form was already sent with other values: reload the page and try again."
    ),
    "is_admin": N_("This person is an administrator already."),
    "admin_not_found": N_("That administrator was not found."),
    "manager_not_found": N_("That facility manager was not found."),
    "user_not_found": N_("That person was not found."),
    "self_suspension": N_("You cannot suspend yourself."),
    "self_revocation": N_("You cannot take your own administrator role away."),
    # the wait list (キャンセル待ち), waitlist/lines.py and offers.py
    "already_waiting": N_("Your group is already on the wait list for this slot."),
    "entry_not_found": N_("That wait-list entry was not found."),
    "entry_not_live": N_("This wait-list entry has ended already."),
    "offer_expired": N_("The deadline of this offer has passed."),
    "offer_not_found": N_("That offer was not found."),
    "offer_not_open": N_("This offer has ended already (accepted, declined or expired)."),
    "slot_free": N_("This slot is free: book it instead of waiting."),
    "own_slot": N_("Your group holds this slot (or part of it) already."),
    "waitlist_cap": N_(
        "Your group is on as many wait lists as it may be: leave one before joining another."
    ),
    "waitlist_disabled": N_("This room keeps no wait list."),
    # series: recurring bookings (定期利用), reservations/series.py
    "series_not_found": N_("That series was not found."),
    "series_not_free": N_(
        "Not every date of the series can be booked: book only the free ones, or change the dates."
    ),
    "series_none_free": N_("No date of the series can be booked."),
    "series_dates_reversed": N_("The last date is before the first."),
    "series_too_long": N_("A series spans a year at most."),
    "series_empty": N_("No date is left in the series."),
    "skip_date_outside": N_("A date to leave out is outside the series."),
    "skip_date_not_in_series": N_("A date to leave out is not one of the series' dates."),
    "series_nothing_to_cancel": N_("Nothing of the series is left to cancel from that date."),
}
# Reasons the registration rules give (accounts/rules.py), word for word, so that the
# catalog translates them where they appear beside a field.
RULE_REASONS = (
    N_("the representative must be 15 or over and no longer a junior-high pupil"),
    N_("a representative under 18 needs a guardian's consent"),
    N_("a birth date cannot be in the future"),
    N_("an individual registration has no other members"),
    N_("a general group needs at least 5 members, the representative included"),
    N_("a senior_civic group needs at least 10 members, the representative included"),
    N_("at least 8 characters"),
    N_("must differ from the e-mail address and card number"),
    N_("the new representative needs a login: give them an e-mail address first"),
)
GENERIC = N_("This cannot be done:")
REQUIRED = N_("Please fill this in.")
NOT_A_NUMBER = N_("Enter a whole number.")
NOT_A_DATE = N_("Enter a date as YYYY-MM-DD.")
TOO_SMALL = N_("Enter %(min)s or more.")
TOO_LARGE = N_("Enter %(max)s or less.")
TOO_LONG = N_("At most %(max)s characters.")
NO_CONTROL_CHARACTERS = N_("Line breaks, tabs and other control characters cannot be used here.")
NOT_A_CHOICE = N_("Choose one of the options.")


def error_text(texts: Texts, code: str, message: str) -> str:
    """The domain error in the user's language: by its code, else its own text if the
    catalog has it, else a generic sentence with the English detail."""
    if (known := ERROR_MESSAGES.get(code)) is not None and code not in _GENERIC_CODES:
        return texts.gettext(known)
    translated = texts.gettext(message)
    if translated != message or texts.lang == "en":
        return translated
    if (known := ERROR_MESSAGES.get(code)) is not None:
        return f"{texts.gettext(known)} ({message})"
    return f"{texts.gettext(GENERIC)} {message}"


# Codes too broad to stand for their message on their own.
_GENERIC_CODES = frozenset(
    {"invalid_input", "rule_violation", "conflict", "not_found", "permission_denied"}
)


class Form:
    """The submitted values, and the errors found, field by field."""

    def __init__(self, values: FormMultiDict | Mapping[str, Any], texts: Texts) -> None:
        self.values: dict[str, Any] = {}
        if isinstance(values, FormMultiDict):
            for key in values:
                found = values.getall(key)
                self.values[key] = found if len(found) > 1 else found[0]
        else:
            self.values = dict(values)
        self.texts = texts
        self.errors: dict[str, str] = {}
        self.general: list[str] = []

    def __getitem__(self, name: str) -> str:
        value = self.values.get(name, "")
        return value[0] if isinstance(value, list) else str(value)

    def all(self, name: str) -> list[str]:
        value = self.values.get(name)
        if value is None or value == "":
            return []
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]

    def error(self, name: str, message: str, **values: Any) -> None:
        self.errors.setdefault(name, self.texts.gettext(message, **values))

    @property
    def ok(self) -> bool:
        return not self.errors and not self.general

    def text(
        self, name: str, *, max_length: int, required: bool = True, multiline: bool = False
    ) -> str | None:
        """A text field: as long as the API's field (booking/web/fields.py), and, as there,
        no control characters (a text area may have line breaks)."""
        value = self[name].strip()
        if not value:
            if required:
                self.error(name, REQUIRED)
            return None
        if control_characters(value, multiline=multiline):
            self.error(name, NO_CONTROL_CHARACTERS)
            return None
        if len(value) > max_length:
            self.error(name, TOO_LONG, max=max_length)
            return None
        return value

    def integer(
        self,
        name: str,
        *,
        required: bool = True,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        raw = half_width(self[name].strip())
        if not raw:
            if required:
                self.error(name, REQUIRED)
            return None
        if not re.fullmatch(r"-?[0-9]{1,9}", raw):
            self.error(name, NOT_A_NUMBER)
            return None
        value = int(raw)
        if minimum is not None and value < minimum:
            self.error(name, TOO_SMALL, min=minimum)
            return None
        if maximum is not None and value > maximum:
            self.error(name, TOO_LARGE, max=maximum)
            return None
        return value

    def day(self, name: str, *, required: bool = True) -> date | None:
        raw = half_width(self[name].strip())
        if not raw:
            if required:
                self.error(name, REQUIRED)
            return None
        try:
            value = date.fromisoformat(raw)
        except ValueError:
            value = None
        if value is None or not EARLIEST_DAY <= value <= LATEST_DAY:
            self.error(name, NOT_A_DATE)
            return None
        return value

    def choice(self, name: str, choices: Mapping[str, Any] | set[str] | list[str]) -> str | None:
        value = self[name].strip()
        if not value:
            self.error(name, REQUIRED)
            return None
        if value not in choices:
            self.error(name, NOT_A_CHOICE)
            return None
        return value

    def fail(self, exc: BookingError, fields: Mapping[str, str] | None = None) -> None:
        """Put a domain error beside its field (domain field name -> form field name)."""
        fields = fields or {}
        problems = exc.problems or [(exc.field or "", exc.message)]
        for domain_field, reason in problems:
            code = exc.code if len(problems) == 1 else "rule_violation"
            text = error_text(self.texts, code, reason)
            name = fields.get(domain_field, domain_field)
            if name and name in fields.values():
                self.errors.setdefault(name, text)
            elif text not in self.general:  # a failed change's preview may say it again
                self.general.append(text)


T = TypeVar("T")


async def attempt(
    session: AsyncSession,
    form: Form,
    fields: Mapping[str, str],
    work: Callable[[], Awaitable[T]],
) -> T | None:
    """Run a change in a savepoint: on a domain error nothing of it stays, the error goes
    beside its field, and the page is shown again (the request's transaction goes on)."""
    try:
        async with session.begin_nested():
            return await work()
    except IntegrityError as exc:
        form.fail(as_conflict(exc), fields)
    except BookingError as exc:
        form.fail(exc, fields)
    return None


def half_width(value: str) -> str:
    """Full-width digits and hyphens typed on a Japanese keyboard are the same numbers."""
    return value.translate(_FULL_TO_HALF)


_FULL_TO_HALF = str.maketrans("０１２３４５６７８９－ー", "0123456789--")


def whole_id(value: str) -> int | None:
    """An id from a link or a hidden field, or None when no row can have it (an INTEGER
    column: a larger number would overflow the database's driver, not name nothing)."""
    if not (value.isascii() and value.isdecimal() and len(value) <= len(str(MAX_ID))):
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None


def iso_day(value: str) -> date | None:
    """A YYYY-MM-DD date from a link or a hidden field, or None when it is not a usable one."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return day if EARLIEST_DAY <= day <= LATEST_DAY else None
