"""A language tag's script, and which texts serve which readers."""

from __future__ import annotations

import pytest

from exoshare.languages import reads, script_of


@pytest.mark.parametrize(
    ("tag", "script"),
    [
        ("zh", "Hans"),  # CLDR's likely script
        ("zh_CN", "Hans"),
        ("zh_TW", "Hant"),  # by region
        ("zh-HK", "Hant"),  # browsers send hyphens
        ("zh_Hant", "Hant"),  # by script subtag
        ("pt_BR", "Latn"),  # Babel's own parse drops this one
        ("ar", "Arab"),
        ("sr", "Cyrl"),
        ("sr_Latn", "Latn"),
        ("qq_ZZ", None),
        ("", None),
    ],
)
def test_script_of(tag: str, script: str | None) -> None:
    assert script_of(tag) == script


def test_reads_same_language_in_same_script_only() -> None:
    assert reads("pt_BR", "pt") and reads("es_MX", "es") and reads("zh_SG", "zh")
    assert reads("zh_HK", "zh_Hant")
    assert not reads("zh_TW", "zh")  # Simplified text for a Traditional reader
    assert not reads("sr_Latn", "sr")  # Cyrillic text for a Latin reader
    assert not reads("pt_BR", "es")
