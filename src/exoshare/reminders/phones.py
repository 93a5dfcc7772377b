"""Phone numbers for text messages: parsed and validated with Google's libphonenumber rules,
stored in E.164 (``+34612345678``)."""

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
