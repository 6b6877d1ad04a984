"""The global suppression list: addresses and domains never mailed, whatever their status.

Addresses are matched by a keyed hash (HMAC-SHA256 with a key derived from the secret
key), so an erased address stays blocked though it is no longer stored anywhere.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, delete, insert, or_, select, update

from subscribers.addresses import Address, normalise_domain, parse_address
from subscribers.models import Suppression


class AddressHasher:
    """Keyed hashes of addresses; the first key hashes, every key matches (key rotation)."""

    def __init__(self, secrets: Sequence[str]) -> None:
        if not secrets or not all(secrets):
            raise ValueError("AddressHasher needs at least one non-empty key")
        # A key of its own, derived from the secret, so the hash never reveals the secret;
        # its HMAC state is made once and copied per address (an import hashes every row).
        self._macs = [
            hmac.new(
                hmac.new(s.encode(), b"digest.suppression.v1", hashlib.sha256).digest(),
                digestmod=hashlib.sha256,
            )
            for s in secrets
        ]

    def __repr__(self) -> str:
        return f"AddressHasher(<{len(self._macs)} key(s) hidden>)"

    def hash(self, email_key: str) -> str:
        """The hash stored for an address (newest key): HMAC-SHA256, hex."""
        return self._hmac(self._macs[0], email_key.encode())

    def all_hashes(self, email_key: str) -> list[str]:
        """The hash under every key, to match entries made before a rotation."""
        data = email_key.encode()
        return [self._hmac(mac, data) for mac in self._macs]

    @staticmethod
    def _hmac(mac: hmac.HMAC, data: bytes) -> str:
        step = mac.copy()
        step.update(data)
        return step.hexdigest()


@dataclass(frozen=True)
class Target:
    """What a suppression entry is about: an address or a whole domain."""

    address: Address | None
    domain: str | None


def parse_target(raw: str) -> Target:
    """'someone@example.com' is an address; 'example.com' or '@example.com' a whole domain."""
    text = raw.strip()
    if "@" in text.lstrip("@"):
        return Target(parse_address(text), None)
    return Target(None, normalise_domain(text))


def suppress(
    conn: Connection,
    target: str,
    *,
    reason: str,
    source: str,
    now: datetime,
    hasher: AddressHasher | None = None,
) -> bool:
    """Add an address or domain to the suppression list; False if it was already there."""
    parsed = parse_target(target)
    if parsed.domain is not None:
        if conn.execute(select(Suppression.id).where(Suppression.domain == parsed.domain)).first():
            return False
        values: dict[str, object] = {"domain": parsed.domain}
    else:
        assert parsed.address is not None
        key = parsed.address.key
        if _matching(conn, [key], hasher):
            if hasher is not None:  # keep the hash current for entries made without one
                conn.execute(
                    update(Suppression)
                    .where(Suppression.email_key == key, Suppression.address_hash.is_(None))
                    .values(address_hash=hasher.hash(key))
                )
            return False
        values = {"email_key": key, "address_hash": hasher.hash(key) if hasher else None}
    conn.execute(
        insert(Suppression).values(
            **values, reason=reason[:200], source=source[:32], created_at=now
        )
    )
    return True


def unsuppress(conn: Connection, target: str, *, hasher: AddressHasher | None = None) -> bool:
    """Remove an address or domain from the suppression list; False if it was not there."""
    parsed = parse_target(target)
    if parsed.domain is not None:
        cond = Suppression.domain == parsed.domain
    else:
        assert parsed.address is not None
        cond = _address_condition([parsed.address.key], hasher)
    return bool(conn.execute(delete(Suppression).where(cond)).rowcount)


def is_suppressed(conn: Connection, email: str, *, hasher: AddressHasher | None = None) -> bool:
    """True if the address or its domain is suppressed (by plain address or by hash)."""
    address = parse_address(email)
    if conn.execute(select(Suppression.id).where(Suppression.domain == address.domain)).first():
        return True
    return bool(_matching(conn, [address.key], hasher))


def suppressed_keys(
    conn: Connection, addresses: Iterable[Address], hasher: AddressHasher | None
) -> set[str]:
    """Which of these addresses (by key) are suppressed; one or two queries per batch."""
    batch = list(addresses)
    if not batch:
        return set()
    domains = {a.domain for a in batch}
    blocked_domains = set(
        conn.execute(select(Suppression.domain).where(Suppression.domain.in_(domains))).scalars()
    )
    out = {a.key for a in batch if a.domain in blocked_domains}
    return out | _matching(conn, [a.key for a in batch], hasher)


def _address_condition(keys: list[str], hasher: AddressHasher | None) -> ColumnElement[bool]:
    cond: ColumnElement[bool] = Suppression.email_key.in_(keys)
    if hasher is not None:
        hashes = [h for k in keys for h in hasher.all_hashes(k)]
        cond = or_(cond, Suppression.address_hash.in_(hashes))
    return cond


def _matching(conn: Connection, keys: list[str], hasher: AddressHasher | None) -> set[str]:
    """The keys among `keys` that an address entry matches."""
    rows = conn.execute(
        select(Suppression.email_key, Suppression.address_hash).where(
            _address_condition(keys, hasher)
        )
    ).all()
    if not rows:
        return set()
    plain = {r.email_key for r in rows if r.email_key}
    hashed = {r.address_hash for r in rows if r.address_hash}
    found = {k for k in keys if k in plain}
    if hasher is not None and hashed:
        found |= {k for k in keys if any(h in hashed for h in hasher.all_hashes(k))}
    return found
