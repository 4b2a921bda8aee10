"""Who is asking (reference §3.1): RS256 tokens of configured issuers, or anonymous users.

A request with a token must carry a valid RS256 JWT of a known issuer with a ``sub``; anything
else is a 401. A request without one is served as ``anonymous`` (or
``anonymous-<x-anonymous-id>``) with an unsigned token made on the spot, as in the reference.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from wolkenkit import errors
from wolkenkit.application.policies import ANONYMOUS_CLAIM
from wolkenkit.domain.services import ANONYMOUS_ISSUER, unsigned_token
from wolkenkit.errors import ConfigurationInvalid
from wolkenkit.messages import ClientMetadata, User
from wolkenkit.runtime.settings import IdentityProvider

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

# PyJWT and cryptography are imported where tokens are checked or made: together they take
# about 0.1 s to import, which a runtime serving anonymous users only (``wk dev``) never needs.

ANONYMOUS_TOKEN_LIFETIME_SECONDS = 60 * 60


def load_public_key(pem: bytes) -> RSAPublicKey:
    """The RSA public key of a PEM certificate or public key."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    key: object = (
        x509.load_pem_x509_certificate(pem).public_key()
        if b"BEGIN CERTIFICATE" in pem
        else load_pem_public_key(pem)
    )
    if not isinstance(key, RSAPublicKey):
        raise ValueError("the key is not an RSA key")
    return key


def load_private_key(pem: bytes) -> RSAPrivateKey:
    """The RSA private key of a PEM file; ``ValueError`` saying what the file is instead."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    # The usual mix-up is the other half of the pair, so it gets its own answer.
    if b"PUBLIC KEY-----" in pem or b"BEGIN CERTIFICATE-----" in pem:
        raise ValueError("it is a public key or certificate, not the private key")
    try:
        key: object = load_pem_private_key(pem, password=None)
    except TypeError:
        raise ValueError("it is encrypted with a passphrase; give an unencrypted key") from None
    except (ValueError, UnsupportedAlgorithm):
        raise ValueError("it is not a private key in PEM format") from None
    if not isinstance(key, RSAPrivateKey):
        raise ValueError("it is not an RSA key, which RS256 needs")
    return key


#: What an ``x-anonymous-id`` may be: it becomes the user's id in every event and token of
#: the client, so a short token of characters that need no escaping anywhere (a uuid fits).
ANONYMOUS_ID = re.compile(r"[A-Za-z0-9._~-]{1,128}")

#: Anonymous clients are remembered this long, so busy clients do not pay for a new token on
#: every request; the token itself is valid for an hour.
ANONYMOUS_CACHE_SECONDS = 60
ANONYMOUS_CACHE_SIZE = 10_000


class Authenticator:
    def __init__(self, identity_providers: Sequence[IdentityProvider]) -> None:
        self._anonymous: dict[tuple[str | None, str], tuple[float, ClientMetadata]] = {}
        self._keys: dict[str, RSAPublicKey] = {}
        for provider in identity_providers:
            path = provider.certificate / "certificate.pem"
            try:
                self._keys[provider.issuer] = load_public_key(path.read_bytes())
            except (OSError, ValueError) as error:
                raise ConfigurationInvalid(
                    f"The certificate of the identity provider '{provider.issuer}' at "
                    f"'{path}' cannot be used: {error}."
                ) from None

    def authenticate(self, token: str | None, anonymous_id: str | None, ip: str) -> ClientMetadata:
        """The client of a request; raises ``NotAuthenticated`` for a token we cannot trust."""
        if token is None:
            if anonymous_id and not ANONYMOUS_ID.fullmatch(anonymous_id):
                raise errors.RequestMalformed(
                    "x-anonymous-id must be 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', "
                    "'~' and '-'."
                )
            return self._cached_anonymous(anonymous_id or None, ip)
        claims = self._verify(token)
        return ClientMetadata(token=token, user=User(id=claims["sub"], claims=claims), ip=ip)

    def _verify(self, token: str) -> dict[str, Any]:
        import jwt

        try:
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
            key = self._keys.get(issuer) if isinstance(issuer, str) else None
            if key is None:
                raise errors.NotAuthenticated("Issuer is unknown.")
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                issuer=issuer,
                options={"require": ["sub"], "verify_aud": False},
            )
        except jwt.PyJWTError as error:
            raise errors.NotAuthenticated(f"Token is invalid: {error}.") from None
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise errors.NotAuthenticated("Token has no subject.")
        return claims

    def _cached_anonymous(self, anonymous_id: str | None, ip: str) -> ClientMetadata:
        key = (anonymous_id, ip)
        now = time.monotonic()
        cached = self._anonymous.get(key)
        if cached is not None and now - cached[0] < ANONYMOUS_CACHE_SECONDS:
            return cached[1]
        if len(self._anonymous) >= ANONYMOUS_CACHE_SIZE:
            self._anonymous.clear()
        client = self.anonymous(anonymous_id, ip)
        self._anonymous[key] = (now, client)
        return client

    @staticmethod
    def anonymous(anonymous_id: str | None, ip: str) -> ClientMetadata:
        subject = f"anonymous-{anonymous_id}" if anonymous_id else "anonymous"
        issued_at = int(time.time())
        claims = {
            "iss": ANONYMOUS_ISSUER,
            "sub": subject,
            "iat": issued_at,
            "exp": issued_at + ANONYMOUS_TOKEN_LIFETIME_SECONDS,
            ANONYMOUS_CLAIM: True,
        }
        return ClientMetadata(
            token=unsigned_token(claims), user=User(id=subject, claims=claims), ip=ip
        )


def issue_token(
    issuer: str, private_key: RSAPrivateKey, claims: Mapping[str, Any], expiration_minutes: int
) -> str:
    """An RS256 token as ``wk token`` issues it: ``iss`` and ``sub`` plus the other claims."""
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise errors.CliError("The claims must contain a non-empty string 'sub'.")
    import jwt

    now = int(time.time())
    payload = {**claims, "iss": issuer, "iat": now, "exp": now + expiration_minutes * 60}
    return jwt.encode(payload, private_key, algorithm="RS256")
