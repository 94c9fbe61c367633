"""The signing keys of Sign in with Portico: ES256 keys in DATA_DIR/oidc-keys.json (0600), through joserfc.

The newest key signs. `rotate` adds a new one; the one before keeps verifying, and stays published in the JWKS,
until every token it signed has expired (RETIRE_AFTER), and is then dropped. A running server sees a rotation
made by the command line at its next use of the keys (the file's modification time).
"""

import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from joserfc.jwk import ECKey, KeySet

ALGORITHM = 'ES256'
TOKEN_LIFETIME_SECONDS = 300  # access and ID tokens: the longest lifetime of anything the keys sign
RETIRE_AFTER_SECONDS = TOKEN_LIFETIME_SECONDS + 60  # and a minute for clocks that differ
FILE_NAME = 'oidc-keys.json'


@dataclass(frozen=True)
class StoredKey:
    kid: str
    created: int
    retires: int | None  # None: in service
    jwk: dict

    def as_record(self) -> dict:
        return {'kid': self.kid, 'created': self.created, 'retires': self.retires, 'jwk': self.jwk}


class KeyStore:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / FILE_NAME
        self._loaded_at: float | None = None
        self._keys: list[StoredKey] = []
        self._imported: dict[str, ECKey] = {}  # by kid, parsed once per version of the file

    def _new_key(self) -> StoredKey:
        kid = secrets.token_urlsafe(8)
        key = ECKey.generate_key('P-256', parameters={'kid': kid, 'use': 'sig', 'alg': ALGORITHM}, private=True)
        return StoredKey(kid=kid, created=int(time.time()), retires=None, jwk=key.as_dict(private=True))

    def _read(self) -> list[StoredKey]:
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            self._write([self._new_key()])
            mtime = self.path.stat().st_mtime
        if self._loaded_at != mtime:
            records = json.loads(self.path.read_text())['keys']
            self._keys = [StoredKey(**record) for record in records]
            self._imported = {key.kid: ECKey.import_key(key.jwk) for key in self._keys}
            self._loaded_at = mtime
        moment = int(time.time())
        return [key for key in self._keys if key.retires is None or key.retires > moment]

    def _write(self, keys: list[StoredKey]) -> None:
        temporary = self.path.with_suffix('.tmp')
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, 'w') as file:
            json.dump({'keys': [key.as_record() for key in keys]}, file)
        os.replace(temporary, self.path)  # whole or not at all, for a server reading it meanwhile

    def signing(self) -> KeySet:
        """The key that signs now (the newest in service), as a key set of one."""
        current = [key for key in self._read() if key.retires is None]
        return KeySet([self._imported[current[-1].kid]])

    def verifying(self) -> KeySet:
        """Every key still valid: the signing one and those retiring."""
        return KeySet([self._imported[key.kid] for key in self._read()])

    def public(self) -> dict:
        """The JWKS document."""
        return self.verifying().as_dict(private=False)

    def rotate(self) -> tuple[StoredKey, list[StoredKey]]:
        """A new signing key; the ones in service retire after RETIRE_AFTER_SECONDS. Returns the new and retiring."""
        moment = int(time.time())
        kept = self._read()
        retiring = [
            StoredKey(kid=key.kid, created=key.created, retires=moment + RETIRE_AFTER_SECONDS, jwk=key.jwk)
            if key.retires is None else key
            for key in kept
        ]  # fmt: skip
        new = self._new_key()
        self._write([*retiring, new])
        self._loaded_at = None
        return new, retiring
