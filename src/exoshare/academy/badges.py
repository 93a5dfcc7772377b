"""Open Badges 3.0 credentials of certificates: the issuer key, signing, offline verification.

A credential is an ``OpenBadgeCredential`` secured as a VC-JWT (OB 3.0 §8.2): a compact JWS
signed with Ed25519, whose ``vc`` claim is the credential. The issuer key is derived from the
app's secret key (HKDF), so every process of one installation signs with the same key and no
private key is stored; its public half is published as a JWK Set, and the key of a former
secret key stays published during a rotation so credentials signed before still verify.

Revocation is checked against a signed revocation list (OB 3.0 ``1EdTechRevocationList``) that
a verifier downloads once and keeps: verification needs no call to exoshare.

This module reads no database: ``exoshare academy verify`` runs it offline.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OKPKey

ISSUER_KEY_PURPOSE = b"exoshare academy open badges issuer ed25519"
# The fully specified JOSE algorithm name of RFC 9864, which deprecates the polymorphic "EdDSA".
ALGORITHM = "Ed25519"
ALGORITHMS = [ALGORITHM]
CREDENTIAL_TYPE = "vc+jwt"
REVOCATION_LIST_TYPE = "revocation-list+jwt"
CONTEXTS = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def issuer_key(secret_key: str) -> OKPKey:
    """The Ed25519 signing key of an installation, derived from its secret key."""
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=ISSUER_KEY_PURPOSE).derive(
        secret_key.encode()
    )
    private = Ed25519PrivateKey.from_private_bytes(seed)
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key = OKPKey.import_key({"kty": "OKP", "crv": "Ed25519", "d": _b64(seed), "x": _b64(public)})
    return key


def public_jwks(secret_keys: Sequence[str]) -> dict[str, list[dict[str, str]]]:
    """The JWK Set of the public keys of the current and former secret keys."""
    keys = []
    for secret in secret_keys:
        public = issuer_key(secret).as_dict(private=False)
        keys.append(
            {
                "kty": str(public["kty"]),
                "crv": str(public["crv"]),
                "x": str(public["x"]),
                "kid": issuer_key(secret).thumbprint(),
                "alg": ALGORITHM,
                "use": "sig",
            }
        )
    return {"keys": keys}


@dataclass(frozen=True)
class BadgeFacts:
    """What a credential states about one certificate."""

    certificate_id: str
    verification_code: str
    holder_email: str
    device_model: str
    model_id: str
    issued_on: date
    expires_on: date
    course_title: str | None


def _hashed_email(email: str, salt: str) -> str:
    # OB 3.0 IdentityObject: the holder proves the address; the credential does not reveal it.
    return "sha256$" + hashlib.sha256((email.strip().lower() + salt).encode()).hexdigest()


def credential_document(facts: BadgeFacts, public_url: str) -> dict[str, Any]:
    """The OpenBadgeCredential of a certificate (OB 3.0 data model)."""
    base = public_url.rstrip("/")
    criteria = (
        f"Passed the exoshare academy course '{facts.course_title}' (quiz and supervised "
        "practical sign-off)."
        if facts.course_title
        else "Certified by an exoshare academy trainer."
    )
    return {
        "@context": CONTEXTS,
        "id": f"urn:uuid:{facts.certificate_id}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": f"{base}/academy", "type": ["Profile"], "name": "exoshare academy"},
        "validFrom": datetime.combine(facts.issued_on, time(), UTC).isoformat(),
        "validUntil": datetime.combine(facts.expires_on, time(23, 59, 59), UTC).isoformat(),
        "name": f"Certified to run and adjust the {facts.device_model}",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityType": "emailAddress",
                    "hashed": True,
                    "identityHash": _hashed_email(facts.holder_email, facts.verification_code),
                    "salt": facts.verification_code,
                }
            ],
            "achievement": {
                "id": f"{base}/academy/device-models/{facts.model_id}",
                "type": ["Achievement"],
                "achievementType": "Certificate",
                "name": f"{facts.device_model} operator",
                "description": f"May run and adjust the {facts.device_model} with patients.",
                "criteria": {"narrative": criteria},
            },
        },
        "credentialStatus": {
            "id": f"{base}/api/v1/academy/revocations",
            "type": "1EdTechRevocationList",
        },
        "evidence": [
            {"id": f"{base}/verify/{facts.verification_code}", "type": ["Evidence"]},
        ],
    }


def sign_credential(document: dict[str, Any], key: OKPKey) -> str:
    """The VC-JWT of a credential: JWT claims of VC-JWT 1.1 plus the credential in ``vc``."""
    valid_from = datetime.fromisoformat(document["validFrom"])
    valid_until = datetime.fromisoformat(document["validUntil"])
    claims = {
        "iss": document["issuer"]["id"],
        "jti": document["id"],
        "nbf": int(valid_from.timestamp()),
        "exp": int(valid_until.timestamp()),
        "iat": int(datetime.now(UTC).timestamp()),
        "vc": document,
    }
    header = {"alg": ALGORITHM, "typ": CREDENTIAL_TYPE, "kid": key.thumbprint()}
    return jwt.encode(header, claims, key, algorithms=ALGORITHMS)


def sign_revocation_list(
    revoked_ids: Sequence[str], issuer_id: str, key: OKPKey, now: datetime
) -> str:
    """A signed list of the ids (``urn:uuid:...``) of every revoked credential, as of ``now``."""
    claims = {
        "iss": issuer_id,
        "iat": int(now.timestamp()),
        "revoked": sorted(revoked_ids),
    }
    header = {"alg": ALGORITHM, "typ": REVOCATION_LIST_TYPE, "kid": key.thumbprint()}
    return jwt.encode(header, claims, key, algorithms=ALGORITHMS)


# ------------------------------------------------------------------------------ verifying


@dataclass
class Verdict:
    """The outcome of checking a credential: ``valid``, ``expired``, ``not_yet_valid``,
    ``revoked`` or ``invalid`` (signature or content wrong), with the reasons in words."""

    status: str
    reasons: list[str] = field(default_factory=list)
    credential: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status == "valid"


def _key_set(jwks: dict[str, Any]) -> KeySet:
    return KeySet.import_key_set(jwks)  # type: ignore[arg-type]


def read_credential_file(text: str) -> tuple[str, dict[str, Any] | None]:
    """(compact JWT, readable copy or None) from a file holding either the JWT alone or the
    JSON the API answers (``{"jwt": ..., "credential": {...}}``)."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            parsed = json.loads(stripped)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"the file is not valid JSON: {error.msg} (line {error.lineno})"
            ) from None
        if not isinstance(parsed, dict) or not isinstance(parsed.get("jwt"), str):
            raise ValueError("the JSON holds no 'jwt' field with the signed credential")
        copy = parsed.get("credential")
        return parsed["jwt"], copy if isinstance(copy, dict) else None
    return stripped, None


def verify_revocation_list(text: str, jwks: dict[str, Any]) -> set[str]:
    """The revoked credential ids of a signed revocation list; ValueError if it is not one."""
    try:
        token = jwt.decode(text.strip(), _key_set(jwks), algorithms=ALGORITHMS)
    except (JoseError, ValueError) as error:
        raise ValueError(f"the revocation list's signature does not verify ({error})") from None
    if token.header.get("typ") != REVOCATION_LIST_TYPE:
        raise ValueError("this file is not an exoshare revocation list")
    revoked = token.claims.get("revoked")
    if not isinstance(revoked, list):
        raise ValueError("the revocation list holds no 'revoked' array")
    return {str(item) for item in revoked}


def verify_credential(
    text: str,
    jwks: dict[str, Any],
    today: date,
    revoked_ids: set[str] | None = None,
) -> Verdict:
    """Check a credential with the issuer's public keys alone (and, if given, the revoked ids
    of a revocation list already verified)."""
    try:
        compact, copy = read_credential_file(text)
    except ValueError as error:
        return Verdict("invalid", [str(error)])
    try:
        token = jwt.decode(compact, _key_set(jwks), algorithms=ALGORITHMS)
    except (JoseError, ValueError) as error:
        return Verdict(
            "invalid", [f"the signature does not verify with the issuer's keys ({error})"]
        )
    if token.header.get("typ") != CREDENTIAL_TYPE:
        return Verdict("invalid", ["this JWT is not a credential (wrong 'typ')"])
    document = token.claims.get("vc")
    if not isinstance(document, dict) or "OpenBadgeCredential" not in document.get("type", []):
        return Verdict("invalid", ["the signed JWT holds no OpenBadgeCredential in 'vc'"])
    if copy is not None and copy != document:
        return Verdict(
            "invalid",
            ["the readable 'credential' differs from the signed one: it was altered"],
            document,
        )
    if revoked_ids is not None and document.get("id") in revoked_ids:
        return Verdict("revoked", ["the issuer revoked this credential"], document)
    valid_from = datetime.fromisoformat(document["validFrom"]).date()
    valid_until = datetime.fromisoformat(document["validUntil"]).date()
    if today < valid_from:
        return Verdict("not_yet_valid", [f"valid from {valid_from.isoformat()}"], document)
    if today > valid_until:
        return Verdict("expired", [f"expired on {valid_until.isoformat()}"], document)
    reasons = [f"signed by the issuer; valid until {valid_until.isoformat()}"]
    if revoked_ids is None:
        reasons.append("revocation not checked: give the issuer's revocation list")
    return Verdict("valid", reasons, document)
