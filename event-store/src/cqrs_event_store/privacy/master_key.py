"""The master key that wraps every data key, behind a small provider interface so a KMS
(AWS KMS, Vault transit, GCP KMS) can take its place: wrap, unwrap, and derive a secret
for a named purpose (the keyed hash of unique claims).

`StaticMasterKey` holds a 32-byte key from configuration (`privacy.master_key`, base64;
in deployments the CQRS__PRIVACY__MASTER_KEY environment variable)."""

import base64
import binascii
import hashlib
import hmac
import os
from typing import Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from cqrs_contracts.settings import PrivacySettings

NONCE_BYTES = 12


class MasterKeyProvider(Protocol):
    @property
    def key_id(self) -> str:
        """Which master key wrapped a data key (stored beside it, for rotation)."""
        ...

    def wrap(self, material: bytes, subject: str) -> bytes: ...

    def unwrap(self, wrapped: bytes, subject: str) -> bytes: ...

    def derive(self, purpose: str) -> bytes:
        """A 32-byte secret for `purpose`, the same on every call and every process."""
        ...


class MasterKeyError(ValueError):
    """The configured master key is not 32 bytes of base64."""


class StaticMasterKey:
    def __init__(self, encoded: str) -> None:
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as bad:
            raise MasterKeyError("privacy.master_key is not base64") from bad
        if len(key) != 32:
            raise MasterKeyError(f"privacy.master_key must be 32 bytes, not {len(key)}")
        self._key = key
        self._aead = AESGCM(key)
        self._id = "static-" + hashlib.sha256(b"master-key-id:" + key).hexdigest()[:12]

    @property
    def key_id(self) -> str:
        return self._id

    def wrap(self, material: bytes, subject: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, material, subject.encode())

    def unwrap(self, wrapped: bytes, subject: str) -> bytes:
        return self._aead.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], subject.encode())

    def derive(self, purpose: str) -> bytes:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode())
        return hkdf.derive(self._key)


class ClaimHasher:
    """The keyed hash (HMAC-SHA256) a unique claim stores instead of its value: equal
    values give equal digests, and nobody without the master key can test a guess."""

    PURPOSE = "cqrs unique claims v1"

    def __init__(self, master: MasterKeyProvider) -> None:
        self._secret = master.derive(self.PURPOSE)

    def digest(self, value: str) -> str:
        return hmac.new(self._secret, value.encode(), hashlib.sha256).hexdigest()


def master_key_from(settings: PrivacySettings) -> MasterKeyProvider:
    """The master key the configuration names (a KMS provider would be chosen here)."""
    return StaticMasterKey(settings.master_key)
