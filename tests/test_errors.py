"""The one error tree: every domain error lives in exoshare.errors and maps to one problem."""

from __future__ import annotations

import importlib
import pkgutil
from http import HTTPStatus

import exoshare
from exoshare import errors
from exoshare.errors import ExoshareError


def _every_domain_error() -> list[type[ExoshareError]]:
    for module in pkgutil.walk_packages(exoshare.__path__, "exoshare."):
        importlib.import_module(module.name)
    found: list[type[ExoshareError]] = []
    pending = [ExoshareError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_every_domain_error_is_defined_in_the_one_module() -> None:
    elsewhere = sorted(
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in _every_domain_error()
        if cls.__module__ != errors.__name__
    )
    assert elsewhere == []


def test_every_domain_error_has_its_own_problem_type_and_a_real_status() -> None:
    classes = _every_domain_error()
    slugs = [cls.slug for cls in classes]
    assert len(slugs) == len(set(slugs)), sorted(s for s in slugs if slugs.count(s) > 1)
    for cls in classes:
        assert 400 <= cls.status < 600, cls
        HTTPStatus(cls.status)


def test_the_tree_in_the_module_docstring_names_every_error() -> None:
    doc = errors.__doc__ or ""
    missing = [cls.__name__ for cls in _every_domain_error() if cls.__name__ not in doc]
    assert missing == []
