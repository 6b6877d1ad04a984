"""The double opt-in email, sent through the configured provider like every one-off message."""

from __future__ import annotations

from digest.app import App
from digest.transactional import send_one_off


def send_confirmation(app: App, email: str, list_title: str, link: str) -> None:
    """A short plain email with the confirm link (nothing else: no tracking, no promotion)."""
    text = (
        f"Someone (we hope you) asked to get {list_title} at this address.\n\n"
        f"To confirm, open:\n{link}\n\n"
        "If it was not you, ignore this email: nothing will be sent.\n"
    )
    send_one_off(app, [email], f"Confirm your subscription to {list_title}", text, folder="confirm")
