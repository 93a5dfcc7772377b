"""Every capability's tables on one metadata: what Alembic compares and the tests create."""

from exoshare.academy import models as academy_models
from exoshare.auth import models as auth_models
from exoshare.careplan import models as careplan_models
from exoshare.consents import models as consent_models
from exoshare.db import Base
from exoshare.devices import models as device_models
from exoshare.devices.approvals import models as device_approvals
from exoshare.fleet import models as fleet_models
from exoshare.network import models as network_models
from exoshare.outcomes import models as outcome_models
from exoshare.patients import models as patient_models
from exoshare.reminders import models as reminder_models
from exoshare.scheduling import models as scheduling_models
from exoshare.sharing import models as sharing_models
from exoshare.telemetry import models as telemetry_models
from exoshare.telerehab import models as telerehab_models

metadata = Base.metadata

__all__ = [
    "academy_models",
    "auth_models",
    "careplan_models",
    "consent_models",
    "device_approvals",
    "device_models",
    "fleet_models",
    "metadata",
    "network_models",
    "outcome_models",
    "patient_models",
    "reminder_models",
    "scheduling_models",
    "sharing_models",
    "telemetry_models",
    "telerehab_models",
]
