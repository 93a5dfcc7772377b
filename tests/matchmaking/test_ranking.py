"""The pure ranking: who meets a need, in which order, and the reasons (values checked by hand)."""

from __future__ import annotations

import pytest

from exoshare.matchmaking.ranking import Candidate, RankingError, Reason, Seeker, rank

# Bangalore's clinic, the article's one exoskeleton for fifty patients.
BANGALORE = Seeker("IN", frozenset({"en", "kn", "hi"}), 12.9716, 77.5946)
DELHI = Candidate(
    "delhi", "Delhi clinic", frozenset({"devices"}), "IN", frozenset({"hi"}), 28.6139, 77.2090,
    spare_units=2,
)  # fmt: skip
BERLIN_MAKER = Candidate(
    "gangwerk", "Gangwerk", frozenset({"devices", "training"}), "DE", frozenset({"de", "en"}),
    52.52, 13.405, approved_models=("Gangwerk G7",),
)  # fmt: skip
TOKYO = Candidate(
    "tokyo", "Tokyo clinic", frozenset({"devices"}), "JP", frozenset({"ja"}), 35.68, 139.65
)  # no spare unit, no model of its own approved in India: it cannot meet the need
UNIVERSITY = Candidate(
    "uni", "University", frozenset({"data"}), "IN", frozenset({"en"}), 12.97, 77.59
)


def test_devices_ranked_with_distance_spare_units_and_language() -> None:
    matches = rank("devices", BANGALORE, [TOKYO, BERLIN_MAKER, UNIVERSITY, DELHI])
    # Bangalore -> Delhi is 1,740 km (haversine): 2·e^(−1.740) + 2·2/5 + 0 + 1 = 2.151;
    # Bangalore -> Berlin is 7,131 km: 2·e^(−7.131) + 0 + 1 (a model approved) + 1 = 2.002.
    assert [(m.partner_id, round(m.score, 3)) for m in matches] == [
        ("delhi", 2.151),
        ("gangwerk", 2.002),
    ]
    assert matches[0].reasons == (
        Reason("distance", {"km": 1740}),
        Reason("language", {"languages": "hi"}),
        Reason("spare-units", {"count": 2, "country": "IN"}),
    )
    assert matches[1].reasons == (
        Reason("distance", {"km": 7131}),
        Reason("language", {"languages": "en"}),
        Reason("approved", {"count": 1, "models": "Gangwerk G7", "country": "IN"}),
    )


def test_remote_supervision_weighs_a_shared_language_over_more_people() -> None:
    seeker = Seeker("NG", frozenset({"en", "yo"}))
    speaks = Candidate("a", "Toronto", frozenset({"remote_supervision"}), "CA",
                       frozenset({"en"}), certified_people=1)  # fmt: skip
    many = Candidate("b", "Lyon", frozenset({"remote_supervision"}), "FR",
                     frozenset({"fr"}), certified_people=7)  # fmt: skip
    nobody = Candidate("c", "Nobody", frozenset({"remote_supervision"}), "FR",
                       frozenset({"en"}), certified_people=0)  # fmt: skip
    matches = rank("remote_supervision", seeker, [many, nobody, speaks])
    # Toronto: 2·1/5 + 3 = 3.4; Lyon: 2·min(7, 5)/5 + 0 = 2.0; nobody certified: no match.
    assert [(m.name, round(m.score, 2)) for m in matches] == [("Toronto", 3.4), ("Lyon", 2.0)]
    assert matches[1].reasons == (Reason("no-language"), Reason("certified", {"count": 7}))


def test_unknown_need_is_refused() -> None:
    with pytest.raises(RankingError, match="unknown need 'love'"):
        rank("love", BANGALORE, [DELHI])
