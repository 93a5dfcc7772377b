"""The exercise library exoshare ships: ten gait and balance exercises for home, in English and
Spanish, each with a drawing (``seed_library/<code>.svg``), added through the library's rules."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from exoshare.auth.scope import Principal
from exoshare.careplan import exercises, media
from exoshare.careplan.schemas import ExerciseCategory, ExerciseTextIn

DRAWINGS = Path(__file__).parent / "seed_library"

C = ExerciseCategory
SEED: tuple[tuple[str, ExerciseCategory, tuple[str, str], tuple[str, str]], ...] = (
    (
        "sit-to-stand",
        C.strength,
        (
            "Sit to stand",
            "Sit near the front of a firm chair, feet flat and hip-width apart. Lean forward, "
            "push through both feet and stand up without using your hands if you can. Sit down "
            "slowly. Keep your weight even on both legs.",
        ),
        (
            "Levantarse de la silla",
            "Siéntese en el borde de una silla firme, con los pies apoyados y separados al ancho "
            "de la cadera. Inclínese hacia delante, empuje con ambos pies y levántese sin usar "
            "las manos si puede. Siéntese despacio. Reparta el peso entre las dos piernas.",
        ),
    ),
    (
        "heel-raises",
        C.strength,
        (
            "Heel raises",
            "Stand holding a kitchen counter. Rise slowly onto your toes, hold for two seconds, "
            "and lower your heels slowly. Keep your knees straight and your body upright.",
        ),
        (
            "Elevaciones de talones",
            "De pie, sujétese a la encimera de la cocina. Póngase de puntillas despacio, "
            "mantenga dos segundos y baje los talones despacio. Mantenga las rodillas "
            "estiradas y el cuerpo erguido.",
        ),
    ),
    (
        "mini-squats",
        C.strength,
        (
            "Mini squats",
            "Stand holding a counter, feet hip-width apart. Bend your knees a little, as if "
            "to sit, keeping your heels down and knees over your toes. Straighten up again.",
        ),
        (
            "Minisentadillas",
            "De pie, sujetándose a la encimera, con los pies al ancho de la cadera. Doble un "
            "poco las rodillas, como para sentarse, con los talones apoyados y las rodillas "
            "sobre los pies. Vuelva a estirarse.",
        ),
    ),
    (
        "standing-hip-abduction",
        C.strength,
        (
            "Side leg raise",
            "Stand holding a counter. Lift one leg out to the side, keeping your toes pointing "
            "forward and your trunk upright, then bring it back. Do all repetitions on one side, "
            "then the other.",
        ),
        (
            "Elevación lateral de la pierna",
            "De pie, sujetándose a la encimera. Separe una pierna hacia el lado con la punta "
            "del pie hacia delante y el tronco erguido, y vuelva a juntarla. Haga todas las "
            "repeticiones de un lado y luego del otro.",
        ),
    ),
    (
        "marching-in-place",
        C.gait,
        (
            "Marching in place",
            "Stand near a counter. Lift one knee towards your hip, put the foot down, then lift "
            "the other, as if marching. Swing your arms. Hold on if you feel unsteady.",
        ),
        (
            "Marcha en el sitio",
            "De pie junto a la encimera. Levante una rodilla hacia la cadera, apoye el pie y "
            "levante la otra, como marchando. Balancee los brazos. Sujétese si se siente "
            "inestable.",
        ),
    ),
    (
        "side-stepping",
        C.gait,
        (
            "Side stepping",
            "Stand facing a counter, holding it lightly. Take ten small steps sideways along it, "
            "then ten steps back. Keep your toes pointing forward and do not cross your feet.",
        ),
        (
            "Pasos laterales",
            "De pie frente a la encimera, sujetándola con suavidad. Dé diez pasos cortos de "
            "lado a lo largo de ella y diez de vuelta. Mantenga las puntas hacia delante y no "
            "cruce los pies.",
        ),
    ),
    (
        "tandem-stance",
        C.balance,
        (
            "Heel-to-toe stand",
            "Next to a counter, put one foot directly in front of the other, heel touching toe. "
            "Hold for up to 30 seconds, letting go of the counter if you can. Change feet.",
        ),
        (
            "Tándem: talón con punta",
            "Junto a la encimera, ponga un pie justo delante del otro, el talón tocando la "
            "punta. Mantenga hasta 30 segundos, soltando la encimera si puede. Cambie de pie.",
        ),
    ),
    (
        "single-leg-stance",
        C.balance,
        (
            "Standing on one leg",
            "Hold a counter and lift one foot off the floor. Stand on the other leg for up to "
            "30 seconds, then change legs. Let go with one hand, then both, as you get steadier.",
        ),
        (
            "Apoyo sobre una pierna",
            "Sujétese a la encimera y levante un pie del suelo. Manténgase sobre la otra "
            "pierna hasta 30 segundos y cambie. Suelte una mano y luego las dos a medida que "
            "gane estabilidad.",
        ),
    ),
    (
        "step-ups",
        C.gait,
        (
            "Step ups",
            "Stand in front of the bottom step of a staircase, holding the rail. Step up with "
            "your weaker leg, bring the other foot up, then step down weaker leg last.",
        ),
        (
            "Subir un escalón",
            "De pie frente al primer escalón, sujetando la barandilla. Suba con la pierna más "
            "débil, suba el otro pie y baje dejando la pierna más débil para el final.",
        ),
    ),
    (
        "weight-shifts",
        C.balance,
        (
            "Weight shifts",
            "Stand with feet apart. Shift your weight slowly onto your right leg, then onto your "
            "left, without lifting your feet. Then shift forwards onto your toes and back onto "
            "your heels.",
        ),
        (
            "Transferencias de peso",
            "De pie con los pies separados. Pase el peso despacio a la pierna derecha y luego "
            "a la izquierda, sin levantar los pies. Después lleve el peso hacia las puntas y "
            "hacia los talones.",
        ),
    ),
)


def seed_library(session: Session, principal: Principal, data_dir: Path) -> int:
    """Add the shipped exercises the library does not hold yet; returns how many were added."""
    have = {e.code for e in exercises.list_exercises(session)}
    folder = media.media_dir(data_dir)
    added = 0
    for code, category, (title_en, text_en), (title_es, text_es) in SEED:
        if code in have:
            continue
        exercise = exercises.create_exercise(
            session,
            principal,
            code,
            category,
            "en",
            [
                ExerciseTextIn(language="en", title=title_en, instructions=text_en),
                ExerciseTextIn(language="es", title=title_es, instructions=text_es),
            ],
        )
        drawing = media.store_bytes(
            (DRAWINGS / f"{code}.svg").read_bytes(), "image/svg+xml", folder
        )
        exercises.add_media(session, principal, exercise.id, drawing, folder, title_en)
        added += 1
    return added
