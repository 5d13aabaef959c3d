"""Who is calling: bearer tokens (JWT) from a configured issuer, and what each role may see.

Production points AUTH_JWKS_URL (or AUTH_PUBLIC_KEY_FILE) at its identity provider. The
embedded default signs and verifies with a local key made on first use, and
`customs-audit token` prints tokens for it.
"""

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from api.errors import ApiError
from config import Settings
from domain.identifiers import OFFICE_PATTERN, bin_problem

Role = Literal["inspector", "supervisor", "party", "treasury", "operator"]
ROLES: tuple[str, ...] = get_args(Role)
OFFICE_ROLES = frozenset({"inspector", "supervisor"})
STAFF_ROLES = frozenset({"inspector", "supervisor", "operator"})
ALGORITHMS = ["RS256", "ES256", "PS256"]


@dataclass(frozen=True)
class Principal:
    sub: str
    role: Role
    office: str | None = None
    bin: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    def sees(self, customs_office: str, party_bin: str) -> bool:
        """May this caller know that a case of this office and party exists?"""
        if self.role in OFFICE_ROLES:
            return customs_office == self.office
        if self.role == "party":
            return party_bin == self.bin
        return True  # operator (read-only everywhere) and treasury (payments only)


def unauthenticated(message: str) -> ApiError:
    return ApiError(401, "unauthenticated", message)


class TokenVerifier:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._jwks = jwt.PyJWKClient(settings.auth_jwks_url) if settings.auth_jwks_url else None
        self._key: Any = None
        if self._jwks is None:
            path = settings.auth_public_key_file
            self._key = path.read_bytes() if path else dev_key(settings).public_key()

    def verify(self, token: str) -> Principal:
        try:
            key = self._jwks.get_signing_key_from_jwt(token).key if self._jwks else self._key
            claims = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=self._settings.auth_audience,
                issuer=self._settings.auth_issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise unauthenticated("the token has expired; get a new one") from error
        except jwt.InvalidIssuerError as error:
            raise unauthenticated(
                f"the token was not issued by {self._settings.auth_issuer}"
            ) from error
        except jwt.InvalidAudienceError as error:
            raise unauthenticated(f"the token is not for {self._settings.auth_audience}") from error
        except jwt.MissingRequiredClaimError as error:
            raise unauthenticated(f"the token lacks the {error.claim!r} claim") from error
        except jwt.PyJWTError as error:
            raise unauthenticated(f"the token is not valid: {error}") from error
        return principal_from(claims)


def principal_from(claims: dict[str, Any]) -> Principal:
    role = claims.get("role")
    if role not in ROLES:
        raise unauthenticated(f"the token's role claim must be one of {', '.join(ROLES)}")
    office = claims.get("office")
    if role in OFFICE_ROLES and not (isinstance(office, str) and OFFICE_PATTERN.fullmatch(office)):
        raise unauthenticated(f"a {role} token needs an 'office' claim of 5 digits")
    party_bin = claims.get("bin")
    if role == "party" and (not isinstance(party_bin, str) or bin_problem(party_bin)):
        raise unauthenticated("a party token needs a 'bin' claim with a valid BIN/IIN")
    return Principal(sub=str(claims["sub"]), role=role, office=office, bin=party_bin)


def dev_key_path(settings: Settings) -> Path:
    return settings.auth_dev_key_file or settings.data_dir / "dev-jwt-key.pem"


def dev_key(settings: Settings) -> rsa.RSAPrivateKey:
    """The embedded default's signing key, made on first use and readable only by its owner."""
    path = dev_key_path(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(pem)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    return loaded


def issue_dev_token(
    settings: Settings,
    *,
    role: str,
    sub: str,
    office: str | None = None,
    party_bin: str | None = None,
    ttl_seconds: int = 12 * 3600,
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": settings.auth_issuer,
        "aud": settings.auth_audience,
        "sub": sub,
        "role": role,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    if office:
        claims["office"] = office
    if party_bin:
        claims["bin"] = party_bin
    principal_from(claims)  # refuse to mint a token the API would refuse
    return jwt.encode(claims, dev_key(settings), algorithm="RS256")
