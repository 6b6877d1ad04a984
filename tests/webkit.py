"""Helpers the web tests share: a signed-in client, a sent edition, a SendGrid-style signer."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from digest.core.app import App
from digest.web.accounts import add_user

PASSWORD = "correct horse battery"


class SendGridSigner:
    """Signs webhook bodies the way SendGrid does: ECDSA P-256 over timestamp + body."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())

    @property
    def public_key(self) -> str:
        """The base64 DER public key, as SendGrid shows it."""
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode()

    def headers(self, body: bytes, when: datetime) -> dict[str, str]:
        """The two signature headers for `body` sent at `when`."""
        stamp = str(int(when.timestamp()))
        signature = self.key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
            "Content-Type": "application/json",
        }


def body(events: list[dict[str, Any]]) -> bytes:
    """A webhook body as SendGrid sends it."""
    return json.dumps(events).encode()


def make_user(app: App, name: str, role: str, email: str = "") -> None:
    """An account with the shared test password."""
    with app.engine.begin() as conn:
        add_user(conn, name, PASSWORD, role, app.clock(), email=email)


def sign_in(client: TestClient, name: str) -> str:
    """Sign in and return a CSRF token scraped from a page, as a browser would have it."""
    r = client.post("/login", data={"username": name, "password": PASSWORD}, follow_redirects=True)
    assert r.status_code == 200, r.text
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', r.text)
    assert match, "no CSRF token on the page after sign-in"
    return match.group(1)
