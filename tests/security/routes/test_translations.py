"""Route matrix of translations (the translator's catalogs), by every kind of caller."""

from __future__ import annotations

from tests.security.matrix_suite import CallerKind, MatrixEnv, check

GROUP = "translations"


def test_clinic_callers(matrix_env: MatrixEnv) -> None:
    check(matrix_env, GROUP, CallerKind.clinic)


def test_network_roles(matrix_env: MatrixEnv) -> None:
    check(matrix_env, GROUP, CallerKind.network)


def test_signed_out_callers_and_devices(matrix_env: MatrixEnv) -> None:
    check(matrix_env, GROUP, CallerKind.outsider)
