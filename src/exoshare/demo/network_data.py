"""Static tables of the demo network: regions, countries, clinics, partners, models, names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from exoshare.devices.envelope import SettingLimit
from exoshare.devices.schemas import DeviceType
from exoshare.network.schemas import PartnerKind

CONSORTIUM_CODE = "EXO"
CONSORTIUM_NAME = "exoshare Global Rehabilitation Network"


@dataclass(frozen=True)
class RegionSpec:
    code: str
    name: str


REGIONS: tuple[RegionSpec, ...] = (
    RegionSpec("EXO-NA", "North America"),
    RegionSpec("EXO-EU", "Europe"),
    RegionSpec("EXO-APAC", "Asia-Pacific"),
    RegionSpec("EXO-AF", "Africa"),
    RegionSpec("EXO-LATAM", "Latin America"),
)


@dataclass(frozen=True)
class CountrySpec:
    """A country and the population figures its synthetic patients are drawn from.

    Heights are adult means by sex (metres), rounded from NCD-RisC estimates for recent adult
    cohorts; the SD is the usual within-country spread (~7 cm men, ~6.5 cm women). BMI is the
    adult national mean (kg/m²), which with height gives a plausible weight.
    """

    code: str
    name: str
    region: str
    currency: str
    timezone: str
    name_cultures: tuple[tuple[str, float], ...]
    male_height_m: float
    female_height_m: float
    mean_bmi: float
    male_height_sd_m: float = 0.070
    female_height_sd_m: float = 0.065


# fmt: off
COUNTRIES: tuple[CountrySpec, ...] = (
    # code, name, region, currency, timezone, name cultures, male m, female m, mean BMI
    CountrySpec("US", "United States", "EXO-NA", "USD", "America/New_York",
                (("english", 0.75), ("hispanic", 0.25)), 1.770, 1.633, 28.8),
    CountrySpec("CA", "Canada", "EXO-NA", "CAD", "America/Toronto",
                (("english", 0.65), ("french", 0.2), ("chinese", 0.15)), 1.781, 1.643, 27.2),
    CountrySpec("ES", "Spain", "EXO-EU", "EUR", "Europe/Madrid",
                (("spanish", 1.0),), 1.761, 1.632, 26.5),
    CountrySpec("DE", "Germany", "EXO-EU", "EUR", "Europe/Berlin",
                (("german", 0.9), ("turkish", 0.1)), 1.800, 1.664, 26.3),
    CountrySpec("FR", "France", "EXO-EU", "EUR", "Europe/Paris",
                (("french", 1.0),), 1.773, 1.645, 25.5),
    CountrySpec("NL", "Netherlands", "EXO-EU", "EUR", "Europe/Amsterdam",
                (("dutch", 1.0),), 1.826, 1.695, 25.8),
    CountrySpec("IN", "India", "EXO-APAC", "INR", "Asia/Kolkata",
                (("indian_north", 0.5), ("indian_south", 0.5)), 1.650, 1.530, 22.0),
    CountrySpec("JP", "Japan", "EXO-APAC", "JPY", "Asia/Tokyo",
                (("japanese", 1.0),), 1.712, 1.586, 22.8),
    CountrySpec("KR", "South Korea", "EXO-APAC", "KRW", "Asia/Seoul",
                (("korean", 1.0),), 1.749, 1.623, 23.8),
    CountrySpec("AU", "Australia", "EXO-APAC", "AUD", "Australia/Sydney",
                (("english", 0.85), ("chinese", 0.15)), 1.790, 1.652, 27.2),
    CountrySpec("SG", "Singapore", "EXO-APAC", "SGD", "Asia/Singapore",
                (("chinese", 0.75), ("malay", 0.15), ("indian_south", 0.1)), 1.723, 1.603, 23.8),
    CountrySpec("PH", "Philippines", "EXO-APAC", "PHP", "Asia/Manila",
                (("filipino", 1.0),), 1.652, 1.543, 23.0),
    CountrySpec("NG", "Nigeria", "EXO-AF", "NGN", "Africa/Lagos",
                (("nigerian", 1.0),), 1.716, 1.596, 24.0),
    CountrySpec("KE", "Kenya", "EXO-AF", "KES", "Africa/Nairobi",
                (("kenyan", 1.0),), 1.706, 1.588, 23.5),
    CountrySpec("ZA", "South Africa", "EXO-AF", "ZAR", "Africa/Johannesburg",
                (("south_african", 0.7), ("english", 0.15), ("afrikaans", 0.15)),
                1.684, 1.590, 27.5),
    CountrySpec("BR", "Brazil", "EXO-LATAM", "BRL", "America/Sao_Paulo",
                (("brazilian", 1.0),), 1.736, 1.609, 26.5),
    CountrySpec("MX", "Mexico", "EXO-LATAM", "MXN", "America/Mexico_City",
                (("hispanic", 1.0),), 1.700, 1.572, 28.0),
    CountrySpec("CO", "Colombia", "EXO-LATAM", "COP", "America/Bogota",
                (("hispanic", 1.0),), 1.709, 1.581, 26.0),
)
# fmt: on

COUNTRY_BY_CODE = {c.code: c for c in COUNTRIES}


@dataclass(frozen=True)
class ClinicSpec:
    """A clinic, its place, and how big it is in the demo (device units, patients, therapists)."""

    code: str
    name: str
    city: str
    latitude: float
    longitude: float
    timezone: str
    opened_on: date
    units: int
    patients: int
    therapists: int
    # The UI locale of staff, then the preferred languages of its patients with weights.
    staff_locale: str
    patient_languages: tuple[tuple[str, float], ...]

    @property
    def country_code(self) -> str:
        return self.code[:2]


# fmt: off
CLINICS: tuple[ClinicSpec, ...] = (
    # code, name, city, lat, lon, timezone, opened on, units, patients, therapists,
    # staff locale, patient languages
    ClinicSpec("US-BOS-01", "Boston Harbor Rehabilitation Center", "Boston", 42.3601, -71.0589,
               "America/New_York", date(2014, 9, 15), 6, 30, 3, "en",
               (("en", 0.85), ("es", 0.1), ("pt", 0.05))),
    ClinicSpec("US-CHI-01", "Lakeshore Neuro Recovery Institute", "Chicago", 41.8781, -87.6298,
               "America/Chicago", date(2016, 3, 1), 5, 26, 3, "en",
               (("en", 0.8), ("es", 0.2))),
    ClinicSpec("CA-TOR-01", "Toronto Gait and Mobility Clinic", "Toronto", 43.6532, -79.3832,
               "America/Toronto", date(2017, 5, 8), 3, 20, 2, "en",
               (("en", 0.8), ("fr", 0.1), ("zh", 0.1))),
    ClinicSpec("ES-MAD-01", "Centro de Neurorrehabilitación Madrid", "Madrid", 40.4168, -3.7038,
               "Europe/Madrid", date(2015, 2, 2), 5, 28, 3, "es", (("es", 1.0),)),
    ClinicSpec("ES-BCN-01", "Institut de Rehabilitació Robòtica Barcelona", "Barcelona",
               41.3874, 2.1686, "Europe/Madrid", date(2018, 10, 1), 4, 22, 2, "es",
               (("es", 0.6), ("ca", 0.4))),
    ClinicSpec("DE-BER-01", "Gangschule Berlin-Mitte", "Berlin", 52.5200, 13.4050,
               "Europe/Berlin", date(2013, 4, 15), 6, 30, 3, "de", (("de", 0.9), ("tr", 0.1))),
    ClinicSpec("FR-LYS-01", "Centre de Rééducation Robotisée de Lyon", "Lyon", 45.7640, 4.8357,
               "Europe/Paris", date(2019, 1, 7), 3, 18, 2, "fr", (("fr", 1.0),)),
    ClinicSpec("NL-RTM-01", "Revalidatiecentrum Rotterdam Zuid", "Rotterdam", 51.9244, 4.4777,
               "Europe/Amsterdam", date(2016, 6, 20), 3, 20, 2, "nl", (("nl", 1.0),)),
    # One exoskeleton for fifty patients: the article's Bangalore clinic and its long wait.
    ClinicSpec("IN-BLR-01", "Bangalore Community Rehabilitation Centre", "Bangalore",
               12.9716, 77.5946, "Asia/Kolkata", date(2022, 8, 1), 1, 50, 1, "en",
               (("kn", 0.5), ("en", 0.3), ("hi", 0.2))),
    ClinicSpec("IN-DEL-01", "Delhi Institute of Neuro-Rehabilitation", "Delhi", 28.6139, 77.2090,
               "Asia/Kolkata", date(2020, 11, 16), 2, 24, 2, "hi", (("hi", 0.8), ("en", 0.2))),
    ClinicSpec("JP-TYO-01", "Tokyo Setagaya Gait Rehabilitation Hospital", "Tokyo",
               35.6762, 139.6503, "Asia/Tokyo", date(2012, 4, 1), 4, 24, 3, "ja", (("ja", 1.0),)),
    ClinicSpec("KR-SEL-01", "Seoul Robotic Rehabilitation Center", "Seoul", 37.5665, 126.9780,
               "Asia/Seoul", date(2017, 3, 2), 3, 20, 2, "ko", (("ko", 1.0),)),
    ClinicSpec("AU-SYD-01", "Sydney Spinal and Stroke Rehabilitation", "Sydney",
               -33.8688, 151.2093, "Australia/Sydney", date(2015, 7, 13), 3, 20, 2, "en",
               (("en", 0.9), ("zh", 0.1))),
    ClinicSpec("SG-SIN-01", "Singapore Mobility Recovery Centre", "Singapore", 1.3521, 103.8198,
               "Asia/Singapore", date(2018, 2, 5), 2, 16, 2, "en",
               (("en", 0.6), ("zh", 0.3), ("ms", 0.1))),
    ClinicSpec("PH-MNL-01", "Manila Rehabilitation and Gait Center", "Manila", 14.5995, 120.9842,
               "Asia/Manila", date(2023, 6, 12), 1, 14, 1, "fil", (("fil", 0.7), ("en", 0.3))),
    ClinicSpec("NG-LOS-01", "Lagos Mobility and Spine Centre", "Lagos", 6.5244, 3.3792,
               "Africa/Lagos", date(2023, 1, 16), 1, 14, 1, "en", (("en", 0.7), ("yo", 0.3))),
    ClinicSpec("KE-NBO-01", "Nairobi Neuro-Rehabilitation Clinic", "Nairobi", -1.2921, 36.8219,
               "Africa/Nairobi", date(2022, 3, 7), 1, 16, 1, "sw", (("sw", 0.6), ("en", 0.4))),
    ClinicSpec("ZA-CPT-01", "Cape Town Gait Rehabilitation Centre", "Cape Town",
               -33.9249, 18.4241, "Africa/Johannesburg", date(2019, 9, 2), 2, 16, 2, "en",
               (("en", 0.5), ("xh", 0.3), ("af", 0.2))),
    ClinicSpec("BR-SAO-01", "Centro de Reabilitação Robótica São Paulo", "São Paulo",
               -23.5505, -46.6333, "America/Sao_Paulo", date(2016, 8, 22), 3, 22, 2, "pt",
               (("pt", 1.0),)),
    ClinicSpec("MX-MEX-01", "Centro de Rehabilitación de la Marcha CDMX", "Mexico City",
               19.4326, -99.1332, "America/Mexico_City", date(2019, 5, 6), 2, 18, 2, "es",
               (("es", 1.0),)),
    ClinicSpec("CO-BOG-01", "Clínica de Neurorrehabilitación Bogotá", "Bogotá", 4.7110, -74.0721,
               "America/Bogota", date(2021, 2, 15), 1, 14, 1, "es", (("es", 1.0),)),
)
# fmt: on


# Street address (line 1), postcode and phone as each country writes it. The streets are real
# places in each city, the house numbers and phones made up (North American ones in the 555-01xx
# range kept for fiction, Sydney's in 02 5550); patients read them on their appointments and in
# reminders.
# fmt: off
CLINIC_CONTACTS: dict[str, tuple[str, str, str]] = {
 "US-BOS-01": ("210 Harborside Drive", "MA 02128", "(617) 555-0142"),
 "US-CHI-01": ("1450 North Lake Shore Drive", "IL 60610", "(312) 555-0187"),
 "CA-TOR-01": ("88 Queens Quay West", "ON M5J 0B8", "(416) 555-0163"),
 "ES-MAD-01": ("Calle de Alcalá 402", "28027", "913 20 45 00"),
 "ES-BCN-01": ("Carrer de Pujades 151", "08005", "934 85 62 00"),
 "DE-BER-01": ("Invalidenstraße 48", "10115", "030 20 45 61 00"),
 "FR-LYS-01": ("24 quai Perrache", "69002", "04 72 40 58 00"),
 "NL-RTM-01": ("Zuiderparkweg 310", "3079 DZ", "010 480 25 00"),
 "IN-BLR-01": ("14 Hosur Road, Koramangala", "560034", "080 4120 3400"),
 "IN-DEL-01": ("22 Ring Road, Lajpat Nagar IV", "110024", "011 4160 2200"),
 "JP-TYO-01": ("世田谷区用賀4-10-1", "158-0097", "03-5491-2800"),
 "KR-SEL-01": ("종로구 대학로 101", "03080", "02-740-5800"),
 "AU-SYD-01": ("50 Missenden Road, Camperdown", "NSW 2050", "(02) 5550 4821"),
 "SG-SIN-01": ("11 Jalan Tan Tock Seng, #04-02", "308433", "6350 4200"),
 "PH-MNL-01": ("1180 Taft Avenue, Ermita", "1000", "(02) 8524 6100"),
 "NG-LOS-01": ("15 Ikorodu Road, Yaba", "101212", "0201 280 4500"),
 "KE-NBO-01": ("Argwings Kodhek Road, Hurlingham", "00100", "020 272 4500"),
 "ZA-CPT-01": ("40 Main Road, Observatory", "7925", "021 447 3800"),
 "BR-SAO-01": ("Rua Vergueiro 1800, Vila Mariana", "04101-000", "(11) 3385-4200"),
 "MX-MEX-01": ("Av. Insurgentes Sur 1605, Benito Juárez", "03900", "55 5322 4100"),
 "CO-BOG-01": ("Carrera 7 # 40-62", "110231", "601 320 8300"),
}
# fmt: on


@dataclass(frozen=True)
class PartnerSpec:
    key: str
    name: str
    kind: PartnerKind
    country_code: str
    website: str | None = None


# Manufacturers, universities, the NGO and the patient group are fictional (".example" sites);
# regulators are the real national agencies, because device approvals are filed with them.
# fmt: off
PARTNERS: tuple[PartnerSpec, ...] = (
    PartnerSpec("corvane", "Corvane Robotics Inc.", PartnerKind.manufacturer, "US",
                "https://corvane.example"),
    PartnerSpec("gangwerk", "Gangwerk Medizintechnik GmbH", PartnerKind.manufacturer, "DE",
                "https://gangwerk.example"),
    PartnerSpec("andar", "Andar Robótica S.L.", PartnerKind.manufacturer, "ES",
                "https://andar-robotica.example"),
    PartnerSpec("hoshizora", "Hoshizora Mobility K.K.", PartnerKind.manufacturer, "JP",
                "https://hoshizora-mobility.example"),
    PartnerSpec("sahaj", "Sahaj Rehab Robotics Pvt. Ltd.", PartnerKind.manufacturer, "IN",
                "https://sahaj-rehab.example"),
    PartnerSpec("umoja", "Umoja Mobility Labs", PartnerKind.manufacturer, "KE",
                "https://umoja-mobility.example"),
    PartnerSpec("northbridge", "Northbridge Institute of Technology", PartnerKind.university,
                "US", "https://northbridge.example"),
    PartnerSpec("levante", "Universidad Politécnica de Levante", PartnerKind.university, "ES",
                "https://upl.example"),
    PartnerSpec("hanriver", "Han River University", PartnerKind.university, "KR",
                "https://hanriver-u.example"),
    PartnerSpec("gtwb", "Gait Trainers Without Borders", PartnerKind.ngo, "US",
                "https://gait-trainers-without-borders.example"),
    PartnerSpec("gaeu", "Global Alliance of Exoskeleton Users", PartnerKind.patient_group, "NL",
                "https://gaeu.example"),
    PartnerSpec("andes", "Red Andina de Neurorrehabilitación", PartnerKind.clinic_operator, "CO",
                "https://red-andina.example"),
    PartnerSpec("fda", "U.S. Food and Drug Administration", PartnerKind.regulator, "US",
                "https://www.fda.gov"),
    PartnerSpec("bfarm", "Bundesinstitut für Arzneimittel und Medizinprodukte",
                PartnerKind.regulator, "DE", "https://www.bfarm.de"),
    PartnerSpec("pmda", "Pharmaceuticals and Medical Devices Agency", PartnerKind.regulator,
                "JP", "https://www.pmda.go.jp"),
    PartnerSpec("cdsco", "Central Drugs Standard Control Organisation", PartnerKind.regulator,
                "IN", "https://cdsco.gov.in"),
    PartnerSpec("anvisa", "Agência Nacional de Vigilância Sanitária", PartnerKind.regulator,
                "BR", "https://www.gov.br/anvisa"),
)
# fmt: on


# What the non-clinic partners offer and need, and the languages they work in (the clinics'
# own partner records follow from their size: see demo/network.py, clinic_partner_profile).
# fmt: off
PARTNER_PROFILES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    # key: (offers, needs, languages)
    "corvane": (("devices", "training"), ("data",), ("en", "es")),
    "gangwerk": (("devices", "training"), ("data",), ("de", "en")),
    "andar": (("devices", "training"), ("data", "funding"), ("es", "en", "pt")),
    "hoshizora": (("devices",), ("data",), ("ja", "en")),
    "sahaj": (("devices", "training"), ("funding",), ("hi", "en", "kn")),
    "umoja": (("devices",), ("funding", "training"), ("sw", "en")),
    "northbridge": (("data", "training"), ("data", "devices"), ("en",)),
    "levante": (("data", "training"), ("data",), ("es", "en")),
    "hanriver": (("data",), ("data",), ("ko", "en")),
    "gtwb": (("training", "remote_supervision", "funding"), ("devices",), ("en", "fr", "sw")),
    "gaeu": ((), ("devices", "funding"), ("en", "nl", "de", "es")),
    "andes": (("remote_supervision",), ("devices", "training"), ("es",)),
    "fda": ((), (), ("en",)),
    "bfarm": ((), (), ("de",)),
    "pmda": ((), (), ("ja",)),
    "cdsco": ((), (), ("hi", "en")),
    "anvisa": ((), (), ("pt",)),
}
# fmt: on


def _overground_envelope(
    step_min_m: float,
    step_max_m: float,
    step_default_m: float,
    hip_max_deg: float,
    knee_max_deg: float,
) -> list[SettingLimit]:
    return [
        # 0 = position control (full guidance), 1 = assist-as-needed, 2 = transparent (no assist)
        SettingLimit("assistance_mode", "mode", 0, 2, 1, 0),
        SettingLimit("guidance_force_pct", "%", 0, 100, 10, 100),
        SettingLimit("step_length_m", "m", step_min_m, step_max_m, 0.05, step_default_m),
        SettingLimit("step_time_s", "s", 0.8, 3.0, 0.2, 1.6),
        SettingLimit("hip_rom_limit_deg", "deg", 10, hip_max_deg, 5, 30),
        SettingLimit("knee_rom_limit_deg", "deg", 20, knee_max_deg, 5, 60),
    ]


def _treadmill_envelope(max_speed_mps: float) -> list[SettingLimit]:
    return [
        SettingLimit("assistance_mode", "mode", 0, 2, 1, 0),
        SettingLimit("guidance_force_pct", "%", 0, 100, 10, 100),
        SettingLimit("body_weight_support_pct", "%", 0, 60, 5, 40),
        SettingLimit("treadmill_speed_mps", "m/s", 0.1, max_speed_mps, 0.2, 0.5),
        SettingLimit("hip_rom_limit_deg", "deg", 10, 45, 5, 35),
        SettingLimit("knee_rom_limit_deg", "deg", 20, 70, 5, 60),
    ]


def _end_effector_envelope(max_step_m: float) -> list[SettingLimit]:
    return [
        SettingLimit("guidance_force_pct", "%", 0, 100, 10, 100),
        SettingLimit("body_weight_support_pct", "%", 0, 60, 5, 30),
        SettingLimit("step_length_m", "m", 0.15, max_step_m, 0.05, 0.35),
        SettingLimit("cadence_steps_per_min", "steps/min", 20, 80, 5, 40),
        SettingLimit("foot_lift_height_m", "m", 0.0, 0.15, 0.02, 0.05),
    ]


@dataclass(frozen=True)
class ModelSpec:
    key: str
    name: str
    maker: str
    serial_prefix: str
    device_type: DeviceType
    min_height_m: float
    max_height_m: float
    max_weight_kg: float
    power_requirements: str
    description: str
    envelope: tuple[SettingLimit, ...]


MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        "ax2",
        "Corvane AX2",
        "corvane",
        "AX2",
        DeviceType.overground_exoskeleton,
        1.50,
        1.95,
        113.0,
        "36 V Li-ion battery, 4 h per charge; charger 100–240 V AC, 50/60 Hz",
        "Clinical overground exoskeleton for stroke and spinal cord injury; crutches required.",
        tuple(_overground_envelope(0.20, 0.60, 0.35, 45, 70)),
    ),
    ModelSpec(
        "ax3",
        "Corvane AX3 Home",
        "corvane",
        "AX3",
        DeviceType.overground_exoskeleton,
        1.55,
        1.92,
        100.0,
        "24 V Li-ion battery, 6 h per charge; household socket charger 100–240 V AC",
        "Personal exoskeleton for community and home use; folds to fit a car boot.",
        tuple(_overground_envelope(0.20, 0.55, 0.35, 40, 65)),
    ),
    ModelSpec(
        "paso",
        "Andar Paso Junior",
        "andar",
        "APJ",
        DeviceType.overground_exoskeleton,
        0.95,
        1.50,
        60.0,
        "24 V Li-ion battery, 3 h per charge; charger 100–240 V AC",
        "Paediatric overground exoskeleton for children with cerebral palsy (GMFCS II–IV).",
        tuple(_overground_envelope(0.10, 0.40, 0.25, 40, 65)),
    ),
    ModelSpec(
        "tembea",
        "Umoja Tembea",
        "umoja",
        "UTB",
        DeviceType.overground_exoskeleton,
        1.45,
        1.90,
        100.0,
        "12 V LiFePO4 battery, 5 h per charge; solar charging from a 100 W panel",
        "Low-power overground exoskeleton for clinics with unreliable mains electricity.",
        tuple(_overground_envelope(0.20, 0.50, 0.30, 40, 65)),
    ),
    ModelSpec(
        "lt5",
        "Gangwerk LT5",
        "gangwerk",
        "GL5",
        DeviceType.treadmill_gait_trainer,
        1.00,
        2.00,
        135.0,
        "400 V three-phase, 16 A dedicated circuit; 3.5 kW peak",
        "Driven gait orthosis on a treadmill with dynamic body-weight support.",
        tuple(_treadmill_envelope(3.2)),
    ),
    ModelSpec(
        "ayumi",
        "Hoshizora Ayumi T",
        "hoshizora",
        "HAT",
        DeviceType.treadmill_gait_trainer,
        1.00,
        1.95,
        120.0,
        "200–240 V single-phase, 20 A; 2.2 kW peak",
        "Compact treadmill gait trainer with paediatric leg cuffs and body-weight support.",
        tuple(_treadmill_envelope(2.0)),
    ),
    ModelSpec(
        "es2",
        "Gangwerk EndoStep E2",
        "gangwerk",
        "GE2",
        DeviceType.end_effector_trainer,
        1.20,
        2.00,
        135.0,
        "230 V single-phase, 16 A; 1.8 kW peak",
        "End-effector trainer: programmable footplates simulate level walking and stairs.",
        tuple(_end_effector_envelope(0.65)),
    ),
    ModelSpec(
        "chalo",
        "Sahaj Chalo E1",
        "sahaj",
        "SC1",
        DeviceType.end_effector_trainer,
        1.10,
        1.90,
        110.0,
        "230 V single-phase, 10 A; rides through 2 h outages on a 1.5 kVA UPS",
        "Low-cost end-effector trainer built for dusty, hot clinics; Hindi and Tamil panel.",
        tuple(_end_effector_envelope(0.55)),
    ),
)

# Which models each clinic's units are drawn from, with weights: makers sell where they are
# approved and supported, so the mix differs by region.
MODEL_MIX_BY_REGION: dict[str, tuple[tuple[str, float], ...]] = {
    "EXO-NA": (("ax2", 0.35), ("ax3", 0.2), ("lt5", 0.2), ("es2", 0.15), ("paso", 0.1)),
    "EXO-EU": (("ax2", 0.25), ("lt5", 0.3), ("es2", 0.2), ("paso", 0.15), ("ax3", 0.1)),
    "EXO-APAC": (("ayumi", 0.35), ("ax2", 0.25), ("chalo", 0.2), ("lt5", 0.1), ("paso", 0.1)),
    "EXO-AF": (("tembea", 0.5), ("chalo", 0.3), ("ax2", 0.2)),
    "EXO-LATAM": (("ax2", 0.35), ("chalo", 0.25), ("lt5", 0.2), ("paso", 0.2)),
}

# Fixed units for clinics whose equipment the story depends on: Bangalore's single overground
# exoskeleton (one device, a long queue), Nairobi's solar-chargeable unit.
FIXED_MODELS: dict[str, tuple[str, ...]] = {
    "IN-BLR-01": ("ax2",),
    "KE-NBO-01": ("tembea",),
    "ES-MAD-01": ("ax2", "ax2", "lt5", "es2", "paso"),
}

# Units taken out of service: (clinic code, index of the unit at that clinic, status). The
# reason is picked to fit the unit's device type from FAULT_REASONS.
UNIT_FAULTS: tuple[tuple[str, int, str], ...] = (
    ("US-CHI-01", 2, "awaiting_repair"),
    ("DE-BER-01", 4, "awaiting_repair"),
    ("JP-TYO-01", 1, "awaiting_repair"),
    ("BR-SAO-01", 0, "awaiting_repair"),
    ("ZA-CPT-01", 1, "unserviceable"),
    ("US-BOS-01", 5, "unserviceable"),
)

FAULT_REASONS: dict[tuple[str, DeviceType], tuple[str, ...]] = {
    ("awaiting_repair", DeviceType.overground_exoskeleton): (
        "Left knee actuator encoder reports intermittent position jumps; replacement ordered.",
        "Battery pack holds under 40 % of rated capacity; new pack held in customs.",
    ),
    ("awaiting_repair", DeviceType.treadmill_gait_trainer): (
        "Treadmill belt tracking error above 8 mm; belt and rollers to be replaced.",
        "Body-weight support cable frayed at the pulley; blocked until the cable is replaced.",
    ),
    ("awaiting_repair", DeviceType.end_effector_trainer): (
        "Right footplate drive grinds under load; gearbox to be replaced.",
        "Emergency-stop circuit failed its monthly test; service visit booked.",
    ),
    ("unserviceable", DeviceType.overground_exoskeleton): (
        "Hip frame cracked after a fall; beyond economic repair, awaiting disposal.",
    ),
    ("unserviceable", DeviceType.treadmill_gait_trainer): (
        "Control cabinet water-damaged by a burst pipe; manufacturer declined repair.",
    ),
    ("unserviceable", DeviceType.end_effector_trainer): (
        "Footplate linkage bent in transport; manufacturer declined repair.",
    ),
}


# Given names by culture and sex, and family names; realistic, common, and fictional together.
NAMES: dict[str, dict[str, tuple[str, ...]]] = {
    "english": {
        "male": (
            "James",
            "Michael",
            "Robert",
            "David",
            "William",
            "Daniel",
            "Matthew",
            "Christopher",
            "Andrew",
            "Joshua",
            "Ryan",
            "Thomas",
            "Liam",
            "Noah",
            "Ethan",
        ),
        "female": (
            "Mary",
            "Jennifer",
            "Linda",
            "Sarah",
            "Emily",
            "Jessica",
            "Ashley",
            "Olivia",
            "Emma",
            "Chloe",
            "Grace",
            "Hannah",
            "Megan",
            "Laura",
            "Amelia",
        ),
        "family": (
            "Smith",
            "Johnson",
            "Williams",
            "Brown",
            "Jones",
            "Miller",
            "Davis",
            "Wilson",
            "Taylor",
            "Anderson",
            "Thomas",
            "Moore",
            "Martin",
            "Thompson",
            "White",
            "Clarke",
            "Walker",
            "Campbell",
            "Mitchell",
            "O'Brien",
        ),
    },
    "hispanic": {
        "male": (
            "José",
            "Juan",
            "Luis",
            "Carlos",
            "Jorge",
            "Miguel",
            "Alejandro",
            "Andrés",
            "Diego",
            "Santiago",
            "Sebastián",
            "Ricardo",
            "Fernando",
            "Mateo",
            "Emiliano",
        ),
        "female": (
            "María",
            "Guadalupe",
            "Ana",
            "Sofía",
            "Valentina",
            "Camila",
            "Daniela",
            "Fernanda",
            "Isabella",
            "Mariana",
            "Lucía",
            "Gabriela",
            "Paola",
            "Ximena",
            "Adriana",
        ),
        "family": (
            "Hernández",
            "García",
            "Martínez",
            "López",
            "González",
            "Rodríguez",
            "Pérez",
            "Sánchez",
            "Ramírez",
            "Torres",
            "Flores",
            "Rivera",
            "Gómez",
            "Díaz",
            "Cruz",
            "Morales",
            "Reyes",
            "Gutiérrez",
            "Ortiz",
            "Castillo",
        ),
    },
    "spanish": {
        "male": (
            "Antonio",
            "Manuel",
            "José",
            "Francisco",
            "David",
            "Javier",
            "Carlos",
            "Daniel",
            "Jesús",
            "Alejandro",
            "Pablo",
            "Sergio",
            "Álvaro",
            "Hugo",
            "Raúl",
        ),
        "female": (
            "María",
            "Carmen",
            "Ana",
            "Isabel",
            "Laura",
            "Cristina",
            "Marta",
            "Lucía",
            "Elena",
            "Pilar",
            "Paula",
            "Sara",
            "Nuria",
            "Rocío",
            "Montserrat",
        ),
        "family": (
            "García",
            "Fernández",
            "González",
            "Rodríguez",
            "López",
            "Martínez",
            "Sánchez",
            "Pérez",
            "Gómez",
            "Martín",
            "Jiménez",
            "Ruiz",
            "Hernández",
            "Díaz",
            "Moreno",
            "Muñoz",
            "Álvarez",
            "Romero",
            "Navarro",
            "Torres",
        ),
    },
    "german": {
        "male": (
            "Lukas",
            "Jonas",
            "Maximilian",
            "Felix",
            "Leon",
            "Thomas",
            "Michael",
            "Andreas",
            "Stefan",
            "Klaus",
            "Jürgen",
            "Wolfgang",
            "Matthias",
            "Tobias",
            "Florian",
        ),
        "female": (
            "Anna",
            "Lena",
            "Sophie",
            "Marie",
            "Julia",
            "Sabine",
            "Petra",
            "Ursula",
            "Monika",
            "Claudia",
            "Katharina",
            "Lea",
            "Hannah",
            "Birgit",
            "Anke",
        ),
        "family": (
            "Müller",
            "Schmidt",
            "Schneider",
            "Fischer",
            "Weber",
            "Meyer",
            "Wagner",
            "Becker",
            "Schulz",
            "Hoffmann",
            "Koch",
            "Richter",
            "Klein",
            "Wolf",
            "Schröder",
            "Neumann",
            "Schwarz",
            "Zimmermann",
            "Braun",
            "Krüger",
        ),
    },
    "turkish": {
        "male": ("Mehmet", "Mustafa", "Ahmet", "Ali", "Emre", "Can", "Murat", "Yusuf"),
        "female": ("Ayşe", "Fatma", "Elif", "Zeynep", "Emine", "Hatice", "Merve", "Selin"),
        "family": ("Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Aydın", "Öztürk"),
    },
    "french": {
        "male": (
            "Jean",
            "Pierre",
            "Michel",
            "Philippe",
            "Nicolas",
            "Julien",
            "Thomas",
            "Antoine",
            "Louis",
            "Hugo",
            "Lucas",
            "Mathieu",
            "Olivier",
            "François",
            "Étienne",
        ),
        "female": (
            "Marie",
            "Nathalie",
            "Isabelle",
            "Sophie",
            "Camille",
            "Claire",
            "Julie",
            "Chloé",
            "Léa",
            "Manon",
            "Émilie",
            "Céline",
            "Sandrine",
            "Amélie",
            "Inès",
        ),
        "family": (
            "Martin",
            "Bernard",
            "Dubois",
            "Thomas",
            "Robert",
            "Richard",
            "Petit",
            "Durand",
            "Leroy",
            "Moreau",
            "Simon",
            "Laurent",
            "Lefèvre",
            "Michel",
            "Garcia",
            "David",
            "Bertrand",
            "Roux",
            "Vincent",
            "Fournier",
        ),
    },
    "dutch": {
        "male": (
            "Jan",
            "Pieter",
            "Hendrik",
            "Daan",
            "Sem",
            "Bram",
            "Thijs",
            "Lars",
            "Ruben",
            "Joost",
            "Willem",
            "Sander",
            "Niels",
            "Maarten",
            "Bas",
        ),
        "female": (
            "Anna",
            "Emma",
            "Sanne",
            "Femke",
            "Lotte",
            "Eva",
            "Anouk",
            "Lieke",
            "Marieke",
            "Ingrid",
            "Annelies",
            "Inge",
            "Fleur",
            "Julia",
            "Sophie",
        ),
        "family": (
            "de Jong",
            "Jansen",
            "de Vries",
            "van den Berg",
            "van Dijk",
            "Bakker",
            "Janssen",
            "Visser",
            "Smit",
            "Meijer",
            "de Boer",
            "Mulder",
            "de Groot",
            "Bos",
            "Vos",
            "Peters",
            "Hendriks",
            "van Leeuwen",
            "Dekker",
            "Brouwer",
        ),
    },
    "indian_north": {
        "male": (
            "Rahul",
            "Amit",
            "Rajesh",
            "Suresh",
            "Vikram",
            "Arjun",
            "Rohit",
            "Sanjay",
            "Anil",
            "Manoj",
            "Deepak",
            "Ravi",
            "Aditya",
            "Karan",
            "Raj",
        ),
        "female": (
            "Priya",
            "Anjali",
            "Sunita",
            "Pooja",
            "Neha",
            "Kavita",
            "Rekha",
            "Meena",
            "Asha",
            "Shalini",
            "Divya",
            "Ritu",
            "Geeta",
            "Ananya",
            "Sneha",
        ),
        "family": (
            "Sharma",
            "Verma",
            "Gupta",
            "Singh",
            "Kumar",
            "Yadav",
            "Mishra",
            "Agarwal",
            "Chauhan",
            "Joshi",
            "Patel",
            "Mehta",
            "Saxena",
            "Malhotra",
            "Kapoor",
        ),
    },
    "indian_south": {
        "male": (
            "Raghav",
            "Karthik",
            "Venkatesh",
            "Srinivas",
            "Prakash",
            "Manjunath",
            "Naveen",
            "Harish",
            "Girish",
            "Suresh",
            "Ramesh",
            "Mahesh",
            "Anand",
            "Vinay",
            "Kiran",
        ),
        "female": (
            "Lakshmi",
            "Deepa",
            "Shruti",
            "Kavya",
            "Meghana",
            "Sowmya",
            "Bhavana",
            "Anitha",
            "Shobha",
            "Pavithra",
            "Radha",
            "Savitha",
            "Nandini",
            "Rashmi",
            "Vidya",
        ),
        "family": (
            "Rao",
            "Reddy",
            "Gowda",
            "Shetty",
            "Hegde",
            "Nair",
            "Iyer",
            "Iyengar",
            "Murthy",
            "Naidu",
            "Pillai",
            "Krishnan",
            "Raghavan",
            "Bhat",
            "Kulkarni",
        ),
    },
    "japanese": {
        "male": (
            "Hiroshi",
            "Takeshi",
            "Kenji",
            "Haruto",
            "Daiki",
            "Shota",
            "Yuto",
            "Kazuki",
            "Makoto",
            "Ren",
            "Takumi",
            "Kenta",
            "Satoshi",
            "Yuki",
            "Masaru",
        ),
        "female": (
            "Yui",
            "Aoi",
            "Sakura",
            "Yuko",
            "Keiko",
            "Naomi",
            "Haruka",
            "Misaki",
            "Emi",
            "Hana",
            "Akiko",
            "Tomoko",
            "Mai",
            "Rin",
            "Kaori",
        ),
        "family": (
            "Sato",
            "Suzuki",
            "Takahashi",
            "Tanaka",
            "Watanabe",
            "Ito",
            "Yamamoto",
            "Nakamura",
            "Kobayashi",
            "Kato",
            "Yoshida",
            "Yamada",
            "Sasaki",
            "Matsumoto",
            "Inoue",
        ),
    },
    "korean": {
        "male": (
            "Min-jun",
            "Seo-jun",
            "Ji-ho",
            "Hyun-woo",
            "Dong-hyun",
            "Sung-min",
            "Jae-won",
            "Tae-yang",
            "Jun-seo",
            "Young-ho",
            "Sang-woo",
            "Jin-woo",
        ),
        "female": (
            "Seo-yeon",
            "Ji-woo",
            "Min-seo",
            "Ha-eun",
            "Soo-jin",
            "Eun-ji",
            "Hye-won",
            "Ji-yeon",
            "Yu-na",
            "Mi-kyung",
            "Soo-ah",
            "Da-eun",
        ),
        "family": (
            "Kim",
            "Lee",
            "Park",
            "Choi",
            "Jung",
            "Kang",
            "Cho",
            "Yoon",
            "Jang",
            "Lim",
            "Han",
            "Oh",
            "Seo",
            "Shin",
        ),
    },
    "chinese": {
        "male": (
            "Wei",
            "Jun",
            "Ming",
            "Hao",
            "Jian",
            "Zhi Hao",
            "Jia Hui",
            "Kai",
            "Yong",
            "Boon Keng",
            "Wei Liang",
            "Cheng",
        ),
        "female": (
            "Mei",
            "Xin Yi",
            "Hui Min",
            "Li Ting",
            "Jia Ying",
            "Shu Fen",
            "Yan",
            "Ling",
            "Xiu Ying",
            "Pei Shan",
            "Wen",
            "Hui Ling",
        ),
        "family": (
            "Tan",
            "Lim",
            "Lee",
            "Ng",
            "Ong",
            "Wong",
            "Goh",
            "Chua",
            "Chan",
            "Koh",
            "Teo",
            "Wang",
            "Chen",
            "Zhang",
        ),
    },
    "malay": {
        "male": ("Muhammad", "Ahmad", "Hafiz", "Faizal", "Rizal", "Azman", "Irfan", "Zulkifli"),
        "female": ("Nur", "Siti", "Aisyah", "Farah", "Nurul", "Aminah", "Zarina", "Aishah"),
        "family": (
            "bin Abdullah",
            "binti Ismail",
            "bin Rahman",
            "binti Hassan",
            "bin Osman",
            "binti Yusof",
            "bin Salleh",
            "binti Ahmad",
        ),
    },
    "filipino": {
        "male": (
            "Jose",
            "Juan",
            "Mark",
            "John Paul",
            "Rodrigo",
            "Emmanuel",
            "Ramon",
            "Angelo",
            "Carlo",
            "Miguel",
            "Paolo",
            "Jericho",
        ),
        "female": (
            "Maria",
            "Rosario",
            "Kristine",
            "Jasmine",
            "Angelica",
            "Marites",
            "Lorna",
            "Princess",
            "Grace",
            "Divina",
            "Joy",
            "Camille",
        ),
        "family": (
            "Santos",
            "Reyes",
            "Cruz",
            "Bautista",
            "Ocampo",
            "Garcia",
            "Mendoza",
            "Torres",
            "Dela Cruz",
            "Villanueva",
            "Aquino",
            "Ramos",
            "Castillo",
            "Flores",
        ),
    },
    "nigerian": {
        "male": (
            "Chinedu",
            "Emeka",
            "Oluwaseun",
            "Tunde",
            "Babatunde",
            "Ikechukwu",
            "Abubakar",
            "Musa",
            "Femi",
            "Obinna",
            "Segun",
            "Ibrahim",
            "Kelechi",
        ),
        "female": (
            "Amara",
            "Ngozi",
            "Funmilayo",
            "Chiamaka",
            "Adaeze",
            "Folake",
            "Aisha",
            "Blessing",
            "Yetunde",
            "Ifeoma",
            "Zainab",
            "Chioma",
            "Bukola",
        ),
        "family": (
            "Okafor",
            "Adeyemi",
            "Okonkwo",
            "Balogun",
            "Eze",
            "Ogunleye",
            "Nwosu",
            "Abubakar",
            "Adebayo",
            "Chukwu",
            "Okeke",
            "Bello",
            "Olawale",
            "Obi",
        ),
    },
    "kenyan": {
        "male": (
            "John",
            "Peter",
            "Joseph",
            "Brian",
            "Kevin",
            "Dennis",
            "Samuel",
            "Otieno",
            "Kamau",
            "Mwangi",
            "Kiprono",
            "Omondi",
        ),
        "female": (
            "Mary",
            "Grace",
            "Faith",
            "Mercy",
            "Esther",
            "Wanjiru",
            "Achieng",
            "Akinyi",
            "Njeri",
            "Wambui",
            "Jepkemoi",
            "Nafula",
        ),
        "family": (
            "Kamau",
            "Mwangi",
            "Otieno",
            "Odhiambo",
            "Wanjiku",
            "Kariuki",
            "Njoroge",
            "Ochieng",
            "Kiprop",
            "Mutua",
            "Wafula",
            "Chebet",
            "Onyango",
            "Mohamed",
        ),
    },
    "south_african": {
        "male": (
            "Sipho",
            "Thabo",
            "Mandla",
            "Lwazi",
            "Sibusiso",
            "Bongani",
            "Themba",
            "Kagiso",
            "Lungile",
            "Xolani",
            "Andile",
        ),
        "female": (
            "Nomvula",
            "Thandiwe",
            "Zanele",
            "Lindiwe",
            "Nokuthula",
            "Ayanda",
            "Palesa",
            "Buhle",
            "Nandi",
            "Lerato",
            "Zodwa",
        ),
        "family": (
            "Dlamini",
            "Nkosi",
            "Ndlovu",
            "Khumalo",
            "Mokoena",
            "Mahlangu",
            "Zulu",
            "Mthembu",
            "Sithole",
            "Ngcobo",
            "Mabaso",
            "Molefe",
        ),
    },
    "afrikaans": {
        "male": ("Johan", "Pieter", "Willem", "Francois", "Hendrik", "Gerhard", "Jaco"),
        "female": ("Elize", "Annelie", "Marelize", "Riana", "Karin", "Anika", "Lize"),
        "family": (
            "van der Merwe",
            "Botha",
            "Pretorius",
            "Nel",
            "du Plessis",
            "Venter",
            "Coetzee",
            "Steyn",
        ),
    },
    "brazilian": {
        "male": (
            "João",
            "Pedro",
            "Lucas",
            "Gabriel",
            "Rafael",
            "Matheus",
            "Gustavo",
            "Felipe",
            "Bruno",
            "Thiago",
            "Rodrigo",
            "Marcelo",
            "Eduardo",
            "Paulo",
            "André",
        ),
        "female": (
            "Ana",
            "Maria",
            "Juliana",
            "Fernanda",
            "Camila",
            "Beatriz",
            "Larissa",
            "Mariana",
            "Patrícia",
            "Aline",
            "Letícia",
            "Gabriela",
            "Luana",
            "Renata",
            "Vitória",
        ),
        "family": (
            "Silva",
            "Santos",
            "Oliveira",
            "Souza",
            "Rodrigues",
            "Ferreira",
            "Alves",
            "Pereira",
            "Lima",
            "Gomes",
            "Costa",
            "Ribeiro",
            "Martins",
            "Carvalho",
            "Almeida",
            "Araújo",
            "Barbosa",
            "Rocha",
        ),
    },
}

# Median height for age (metres) of the WHO 2007 growth reference, ages 8–18; a child's height is
# scaled by the ratio of its country's adult mean to the WHO adult value at 18.
WHO_MEDIAN_HEIGHT_M: dict[str, tuple[float, ...]] = {
    "male": (1.280, 1.334, 1.387, 1.437, 1.491, 1.560, 1.630, 1.688, 1.727, 1.751, 1.763),
    "female": (1.280, 1.332, 1.385, 1.443, 1.510, 1.564, 1.598, 1.617, 1.626, 1.629, 1.632),
}
WHO_FIRST_AGE = 8

# Diagnoses with their share of patients in robotic gait rehabilitation, male share, and the
# details a therapist would write; ages are drawn per diagnosis in network.py.
DIAGNOSIS_MIX: tuple[tuple[str, float, float], ...] = (
    ("stroke", 0.44, 0.56),
    ("spinal_cord_injury", 0.22, 0.78),
    ("cerebral_palsy", 0.16, 0.57),
    ("multiple_sclerosis", 0.10, 0.30),
    ("other", 0.08, 0.55),
)

STROKE_DETAILS = (
    "Ischaemic stroke, left MCA territory; right hemiparesis",
    "Ischaemic stroke, right MCA territory; left hemiparesis with neglect",
    "Haemorrhagic stroke, left basal ganglia; right hemiparesis",
    "Haemorrhagic stroke, right thalamus; left hemiparesis",
    "Lacunar stroke, internal capsule; pure motor hemiparesis",
    "Brainstem stroke; ataxic gait",
)
SCI_LEVELS = ("C5", "C6", "C7", "T4", "T6", "T8", "T10", "T11", "T12", "L1", "L2")
SCI_AIS = ("A", "B", "C", "C", "D", "D")
CP_DETAILS = (
    "Spastic diplegia, GMFCS II",
    "Spastic diplegia, GMFCS III",
    "Spastic hemiplegia, GMFCS I",
    "Spastic quadriplegia, GMFCS IV",
    "Dyskinetic cerebral palsy, GMFCS III",
)
MS_DETAILS = (
    "Relapsing-remitting MS, EDSS 4.0",
    "Relapsing-remitting MS, EDSS 5.5",
    "Secondary progressive MS, EDSS 6.0",
    "Primary progressive MS, EDSS 6.5",
)
OTHER_DETAILS = (
    "Traumatic brain injury; spastic paraparesis",
    "Guillain–Barré syndrome, recovery phase",
    "Parkinson's disease, Hoehn and Yahr 3; freezing of gait",
    "Transverse myelitis; incomplete paraparesis",
    "Critical-illness polyneuropathy after ICU stay",
)
