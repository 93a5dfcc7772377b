"""The browser front end: page routes, templates, static assets and translation catalogs."""

from pathlib import Path

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATES_DIR = WEB_DIR / "templates"
LOCALE_DIR = WEB_DIR / "locale"
