"""Route matrix of patients, by every kind of caller.

The group: patient records, their voiding and audit trail, the patient table and pages.
"""

from __future__ import annotations

from tests.security.matrix_suite import CallerKind, MatrixEnv, check

GROUP = "patients"


def test_clinic_callers(matrix_env: MatrixEnv) -> None:
    check(matrix_env, GROUP, CallerKind.clinic)


def test_network_roles(matrix_env: MatrixEnv) -> None:
    check(matrix_env, GROUP, CallerKind.network)


def test_signed_out_callers_and_devices(matrix_env: MatrixEnv) -> None:
    check(matrix_env, GROUP, CallerKind.outsider)
