"""Phone numbers (patients' for text messages, clinics'): parsed and validated with Google's
libphonenumber rules, stored in E.164 (``+34612345678``), shown in the country's own format."""

from __future__ import annotations

import phonenumbers

from exoshare.errors import InvalidPhoneNumber


def to_e164(raw: str, country_code: str | None) -> str:
    """The number in E.164; a national number is read in the clinic's country.

    >>> to_e164("612 34 56 78", "ES")
    '+34612345678'
    >>> to_e164("+1 (416) 555-0143", None)
    '+14165550143'
    """
    text = raw.strip()
    try:
        parsed = phonenumbers.parse(text, (country_code or "").upper() or None)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber(
            f"{text!r} is not a phone number; write it with its country code, "
            "e.g. +34 612 34 56 78",
            field="phone",
        ) from None
    if not phonenumbers.is_valid_number(parsed):
        region = phonenumbers.region_code_for_number(parsed) or country_code or "any country"
        raise InvalidPhoneNumber(
            f"{text!r} is not a valid phone number of {region}: check the digits and the "
            "country code (e.g. +34 612 34 56 78)",
            field="phone",
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def national_format(e164: str, country_code: str | None) -> str:
    """The number as people of the clinic's country write it; international beyond it.

    >>> national_format("+41223720000", "CH")
    '022 372 00 00'
    >>> national_format("+41223720000", "FR")
    '+41 22 372 00 00'
    """
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    home = phonenumbers.region_code_for_number(parsed)
    if home and home == (country_code or "").upper():
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
