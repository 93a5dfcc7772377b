"""The words of a reminder, in the patient's language (not the reader's of any page).

A reminder says what, when and where and nothing clinical: a text message is not secure, and
an e-mail may be read by whoever shares the inbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from babel.dates import format_date, format_time

from exoshare.web.i18n import SOURCE_LOCALE, translations
from exoshare.web.labels import N_

APPOINTMENT_SUBJECT = N_("Reminder: your therapy appointment")
APPOINTMENT_TEXT = N_(
    "exoshare reminder: your therapy appointment at %(clinic)s is on %(date)s at %(time)s."
)
APPOINTMENT_ADDRESS = N_("Address: %(address)s.")
APPOINTMENT_PHONE = N_("To change it, call %(phone)s.")
PROGRAMME_SUBJECT = N_("Reminder: your home exercises")
PROGRAMME_TEXT = N_("exoshare reminder: your home exercises for today are waiting at %(link)s")


@dataclass(frozen=True)
class ReminderText:
    subject: str
    body: str


def appointment_text(
    language: str,
    clinic: str,
    local_start: datetime,
    address: str | None = None,
    phone: str | None = None,
) -> ReminderText:
    """The appointment reminder; ``local_start`` on the clinic's wall clock; the clinic's
    ``address`` (one line) and ``phone`` (as its country writes it) when it has them.

    >>> text = appointment_text("es", "Madrid Clinic", datetime(2027, 3, 29, 10, 0))
    >>> text.body.split(": ", 1)[1]
    'su cita de terapia en Madrid Clinic es el lunes, 29 de marzo de 2027 a las 10:00.'
    >>> appointment_text("qu", "Cusco Clinic", datetime(2027, 3, 29, 10, 0)).body.split(" on ")[1]
    'Monday, March 29, 2027 at 10:00\u202fAM.'
    >>> at = datetime(2027, 3, 29, 10, 0)
    >>> appointment_text("en", "Geneva", at, "Rue X 4, 1205 Genève", "022 372 00 00").body[96:]
    'Address: Rue X 4, 1205 Genève. To change it, call 022 372 00 00.'
    """
    gettext = translations(language).gettext
    words = gettext(APPOINTMENT_TEXT)
    # Dates in the language the words came out in: English words (no translation yet) with a
    # Hindi weekday would read as a mistake.
    written_in = language if words != APPOINTMENT_TEXT else SOURCE_LOCALE
    body = words % {
        "clinic": clinic,
        "date": format_date(local_start, format="full", locale=written_in),
        "time": format_time(local_start, format="short", locale=written_in),
    }
    if address:
        body += " " + gettext(APPOINTMENT_ADDRESS) % {"address": address}
    if phone:
        body += " " + gettext(APPOINTMENT_PHONE) % {"phone": phone}
    return ReminderText(gettext(APPOINTMENT_SUBJECT), body)


def programme_text(language: str, link: str) -> ReminderText:
    gettext = translations(language).gettext
    return ReminderText(gettext(PROGRAMME_SUBJECT), gettext(PROGRAMME_TEXT) % {"link": link})
