"""Route matrix of reminders, by every kind of caller.

The group: reminder preferences (API, the patient's own page, the clinic admin's page).
"""

from __future__ import annotations

from tests.security.matrix_suite import CallerKind, MatrixEnv, check

GROUP = "reminders"


def test_clinic_callers(matrix_env: MatrixEnv) -> None:
    check(matrix_env, GROUP, CallerKind.clinic)


def test_network_roles(matrix_env: MatrixEnv) -> None:
    check(matrix_env, GROUP, CallerKind.network)


def test_signed_out_callers_and_devices(matrix_env: MatrixEnv) -> None:
    check(matrix_env, GROUP, CallerKind.outsider)
