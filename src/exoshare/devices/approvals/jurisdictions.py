"""Regulators as reference data: each one's code, name and the countries whose market it opens."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Jurisdiction:
    code: str
    name: str
    countries: frozenset[str]


_EU_EEA = frozenset(
    {
        *("AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE"),
        *("IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"),
        *("IS", "LI", "NO"),
    }
)


JURISDICTIONS: dict[str, Jurisdiction] = {
    j.code: j
    for j in (
        Jurisdiction("FDA", "U.S. Food and Drug Administration", frozenset({"US", "PR"})),
        # A CE mark under the EU MDR opens the whole EU single market and the EEA.
        Jurisdiction("CE", "CE marking (EU MDR, notified body)", _EU_EEA),
        Jurisdiction(
            "UKCA", "UK Medicines and Healthcare products Regulatory Agency", frozenset({"GB"})
        ),
        Jurisdiction("SWISSMEDIC", "Swissmedic", frozenset({"CH"})),
        Jurisdiction("NMPA", "National Medical Products Administration (China)", frozenset({"CN"})),
        Jurisdiction(
            "PMDA", "Pharmaceuticals and Medical Devices Agency (Japan)", frozenset({"JP"})
        ),
        Jurisdiction("MFDS", "Ministry of Food and Drug Safety (Korea)", frozenset({"KR"})),
        Jurisdiction("TGA", "Therapeutic Goods Administration (Australia)", frozenset({"AU"})),
        Jurisdiction("MEDSAFE", "Medsafe (New Zealand)", frozenset({"NZ"})),
        Jurisdiction("HSA", "Health Sciences Authority (Singapore)", frozenset({"SG"})),
        Jurisdiction("PHFDA", "Food and Drug Administration Philippines", frozenset({"PH"})),
        Jurisdiction(
            "CDSCO", "Central Drugs Standard Control Organisation (India)", frozenset({"IN"})
        ),
        Jurisdiction(
            "ANVISA", "Agência Nacional de Vigilância Sanitária (Brazil)", frozenset({"BR"})
        ),
        Jurisdiction("COFEPRIS", "COFEPRIS (Mexico)", frozenset({"MX"})),
        Jurisdiction("INVIMA", "INVIMA (Colombia)", frozenset({"CO"})),
        Jurisdiction("HC", "Health Canada", frozenset({"CA"})),
        Jurisdiction(
            "SAHPRA", "South African Health Products Regulatory Authority", frozenset({"ZA"})
        ),
        Jurisdiction("PPB", "Pharmacy and Poisons Board (Kenya)", frozenset({"KE"})),
        Jurisdiction("NAFDAC", "NAFDAC (Nigeria)", frozenset({"NG"})),
    )
}


def jurisdictions_of(country: str) -> list[Jurisdiction]:
    """The regulators whose approval opens the market of ``country`` (ISO 3166-1 alpha-2)."""
    return [j for j in JURISDICTIONS.values() if country in j.countries]
