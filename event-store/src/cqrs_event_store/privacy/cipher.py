"""One personal value sealed with a data key, and opened again: AES-256-GCM, a fresh
96-bit nonce per value, the key id and the field name as associated data (a sealed value
moved to another field or key does not open). Stored as `{"$enc": "v1:<key id>:<b64>"}`
where the base64 holds the nonce then the ciphertext of the value's JSON."""

import base64
import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SEALED = "$enc"
FORMAT = "v1"
NONCE_BYTES = 12


@dataclass(frozen=True)
class DataKey:
    key_id: str
    subject: str  # whose data the key seals (a user id)
    aead: AESGCM


def new_material() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def data_key(key_id: str, subject: str, material: bytes) -> DataKey:
    return DataKey(key_id, subject, AESGCM(material))


def is_sealed(value: Any) -> bool:
    return type(value) is dict and SEALED in value


def sealed_key_id(value: Any) -> str | None:
    """The key id a sealed value names (None: not a sealed value of a known format)."""
    if not is_sealed(value):
        return None
    version, _, rest = str(value[SEALED]).partition(":")
    key_id, sep, _ = rest.partition(":")
    return key_id if version == FORMAT and sep else None


def seal(key: DataKey, field: str, value: Any) -> dict[str, str]:
    nonce = os.urandom(NONCE_BYTES)
    plain = json.dumps(value, separators=(",", ":")).encode()
    sealed = nonce + key.aead.encrypt(nonce, plain, _aad(key.key_id, field))
    return {SEALED: f"{FORMAT}:{key.key_id}:{base64.b64encode(sealed).decode()}"}


def open_sealed(key: DataKey, field: str, value: dict[str, str]) -> Any:
    """The value `seal` sealed; raises cryptography's InvalidTag if it was not sealed by
    `key` for `field` (or was altered)."""
    token = base64.b64decode(value[SEALED].split(":", 2)[2])
    plain = key.aead.decrypt(token[:NONCE_BYTES], token[NONCE_BYTES:], _aad(key.key_id, field))
    return json.loads(plain)


def _aad(key_id: str, field: str) -> bytes:
    return f"{key_id}:{field}".encode()
