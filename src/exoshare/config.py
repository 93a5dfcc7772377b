"""Settings: every knob of exoshare, read from EXOSHARE_* environment variables."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration. Defaults are the embedded set-up: everything under ``data_dir``."""

    model_config = SettingsConfigDict(env_prefix="EXOSHARE_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default_factory=lambda: Path(user_data_dir("exoshare", appauthor=False)),
        description="Where the SQLite database, telemetry files and secrets live.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; defaults to a SQLite file in data_dir. "
        "PostgreSQL: postgresql+psycopg://user@host/dbname",
    )
    secret_key: str | None = Field(
        default=None,
        description="Key for signing; generated once and kept in data_dir when unset.",
    )
    previous_secret_keys: str | None = Field(
        default=None,
        description="During a key rotation: the former secret keys, comma-separated, still "
        "accepted to decrypt stored TOTP secrets until `exoshare keys reseal` has run.",
    )
    mqtt_url: str | None = Field(
        default=None,
        description="External MQTT broker, e.g. mqtt://127.0.0.1:1883; unset: embedded broker.",
    )
    mqtt_ingest: bool = Field(
        default=False,
        description="Run the MQTT ingestion worker (and the embedded broker when mqtt_url is "
        "unset) inside the web process; `exoshare serve` and `exoshare demo` turn it on.",
    )
    mqtt_share_group: str = Field(
        default="exoshare-ingest",
        description="MQTT shared-subscription group of the ingestion workers on an external "
        "broker (mqtt_url): every device message goes to one worker of the group, so each is "
        "stored once however many server processes and machines run.",
    )
    live_relay_url: str | None = Field(
        default=None,
        description="Redis URL (redis://127.0.0.1:6379/0) through which several server "
        "processes show each other what they ingest: a browser on any process sees every "
        "session and every device answer. Unset: one process, live views in-process.",
    )
    reanalysis_scheduler: str | None = Field(
        default=None,
        description="Address of a Dask scheduler (tcp://host:8786) on which `exoshare "
        "reanalyse` runs the gait analyses. Unset: a local cluster of one worker process "
        "per core.",
    )
    live_relay_channel: str = Field(
        default="exoshare-live",
        description="The Redis pub/sub channel of the live relay: one per installation.",
    )
    mqtt_embedded_port: int = Field(
        default=1883, description="Port of the embedded broker (the next free one is used)."
    )
    mqtt_embedded_host: str = Field(
        default="127.0.0.1",
        description="Address the embedded broker listens on: loopback unless devices on other "
        "machines must reach it (every client authenticates either way).",
    )
    mosquitto_dir: Path | None = Field(
        default=None,
        description="Directory of the Mosquitto password and ACL files exoshare keeps in sync "
        "with the device credentials (`exoshare broker config` writes them and a mosquitto.conf "
        "that uses them); unset: no Mosquitto to keep in sync.",
    )
    mosquitto_pid_file: Path | None = Field(
        default=None,
        description="Mosquitto's pid file: after rewriting its files exoshare sends it SIGHUP, "
        "which reloads them and disconnects clients whose password is gone.",
    )
    telemetry_url: str | None = Field(
        default=None,
        description="Root of the raw telemetry store, a path or any fsspec URL "
        "(s3://bucket/prefix); defaults to data_dir/telemetry.",
    )
    telemetry_max_nan_run_s: float = Field(
        default=0.5, description="Longest run of missing samples in one channel of a batch."
    )
    telemetry_max_upload_mb: int = Field(default=200, description="Largest recording upload.")
    academy_max_media_mb: int = Field(
        default=50, ge=1, description="Largest lesson picture or video a trainer may upload."
    )
    host: str = "127.0.0.1"
    port: int = 8000
    cookie_secure: bool = Field(
        default=True,
        description="Mark the session cookie Secure. Turn off only for plain-HTTP localhost demos.",
    )
    session_ttl_hours: int = 12
    api_token_ttl_days: int = 30
    default_locale: str = "en"
    public_url: str | None = Field(
        default=None,
        description="The address people reach exoshare at, for links in e-mails "
        "(e.g. https://exoshare.example.org); default http://host:port.",
    )
    smtp_url: str | None = Field(
        default=None,
        description="Where e-mail is sent: smtp://[user:password@]host[:port] (STARTTLS when "
        "the server offers it, required with ?starttls=required) or smtps://... for TLS from "
        "the start. Unset: no e-mail leaves exoshare (invitations and resets are logged only).",
    )
    mail_from: str = Field(
        default="exoshare <no-reply@exoshare.invalid>", description="Sender of exoshare's e-mail."
    )
    sms_url: str | None = Field(
        default=None,
        description="The SMS provider's message endpoint (Twilio's Messages API: "
        "https://api.twilio.com/2010-04-01/Accounts/<account SID>/Messages.json). Unset: text "
        "reminders are kept in the local outbox (`exoshare reminders outbox`), none leaves.",
    )
    sms_account_sid: str | None = Field(
        default=None, description="The SMS provider account (HTTP basic-auth user)."
    )
    sms_auth_token: SecretStr | None = Field(
        default=None, description="The SMS provider's secret (HTTP basic-auth password)."
    )
    sms_from: str | None = Field(
        default=None, description="The sender of text reminders: an E.164 number of the account."
    )
    reminders_dispatch: bool = Field(
        default=False,
        description="Run the reminder dispatcher in the web process every "
        "reminders_interval_s; `exoshare serve` and `exoshare demo` turn it on.",
    )
    reminders_interval_s: int = Field(
        default=60, ge=5, description="How often the dispatcher looks for due reminders."
    )
    reminders_programme_hour: int = Field(
        default=9,
        ge=0,
        le=23,
        description="Local hour (clinic time) of the daily home-programme reminder.",
    )
    reminders_max_attempts: int = Field(
        default=3, ge=1, le=10, description="Sends of one reminder before it is marked failed."
    )
    invitation_ttl_hours: int = Field(default=72, ge=1, description="How long an invitation holds.")
    password_reset_ttl_minutes: int = Field(
        default=60, ge=5, description="How long a password-reset link holds."
    )
    login_free_failures_per_account: int = Field(
        default=5,
        ge=1,
        description="Failed sign-ins for one e-mail before each further one makes it wait.",
    )
    login_free_failures_per_address: int = Field(
        default=20,
        ge=1,
        description="Failed sign-ins from one client address before each further one waits.",
    )
    login_backoff_first_s: int = Field(
        default=30, ge=1, description="First wait after the free failures; doubles each time."
    )
    login_backoff_max_s: int = Field(default=900, ge=1, description="Longest wait.")
    require_totp_for_admins: bool = Field(
        default=False,
        description="Consortium operators and clinic admins without a confirmed TOTP second "
        "factor can reach nothing but its enrolment (and signing out).",
    )
    websocket_allowed_origins: list[str] = Field(
        default_factory=list,
        description="Origins (scheme://host[:port]) besides exoshare's own from which a browser "
        "may open a cookie-authenticated live WebSocket; in the environment a JSON list, "
        'e.g. ["https://wall.clinic.example"].',
    )

    prediction_training_patients: int = Field(
        default=2000,
        ge=50,
        le=20_000,
        description="Synthetic patients the recovery prediction is fitted on at first use (the "
        "validated model uses 2,000; fewer fit faster and predict less well).",
    )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{self.data_dir / 'exoshare.sqlite3'}"

    def resolved_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def resolved_telemetry_url(self) -> str:
        return self.telemetry_url or str(self.data_dir / "telemetry")

    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key_file = self.data_dir / "secret_key"
        if not key_file.exists():
            key_file.write_text(secrets.token_urlsafe(48))
            key_file.chmod(0o600)
        return key_file.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
