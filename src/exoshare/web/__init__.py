"""The presentation kernel: rendering, translations, enum labels, templates and static assets.

Each capability serves its own pages (its pages.py) through web.render; web imports none of
them, only the language switch is its own route."""

from pathlib import Path

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATES_DIR = WEB_DIR / "templates"
LOCALE_DIR = WEB_DIR / "locale"
