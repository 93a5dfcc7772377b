"""Which language of a course's texts a learner reads."""

from __future__ import annotations

from exoshare.academy.courses import pick

TEXTS = {
    "en": {"title": "Gait training"},
    "zh": {"title": "步态训练"},
    "zh_Hant": {"title": "步態訓練"},
    "pt": {"title": "Treino de marcha"},
}


def test_own_tag_first_then_same_language_and_script() -> None:
    assert pick(TEXTS, "zh", "en")[0] == "zh"
    assert pick(TEXTS, "zh_CN", "en")[0] == "zh"
    assert pick(TEXTS, "zh_TW", "en") == ("zh_Hant", {"title": "步態訓練"})
    assert pick(TEXTS, "pt_BR", "en")[0] == "pt"


def test_a_traditional_reader_never_gets_simplified_text() -> None:
    simplified_only = {"en": {"title": "Gait training"}, "zh": {"title": "步态训练"}}
    assert pick(simplified_only, "zh_TW", "en")[0] == "en"


def test_fallback_then_anything() -> None:
    assert pick(TEXTS, "ja", "en")[0] == "en"
    assert pick({"de": {"title": "Gangtraining"}}, "ja", "en")[0] == "de"
