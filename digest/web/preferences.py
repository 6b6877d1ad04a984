"""What a reader's preferences page shows for each newsletter they are on: a pure function of
their memberships and the newsletters' settings, so the page states their choice truthfully."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from digest.web.lists import SubscriberView

_STATUS = {
    "active": "You get this newsletter.",
    "pending": "Waiting for you to confirm: use the link in the email we sent.",
    "unsubscribed": "You left this newsletter.",
    "bounced": "Emails to this address came back, so we stopped sending.",
    "complained": "You marked an email as spam, so we stopped sending.",
}


@dataclass(frozen=True)
class PreferenceRow:
    """One newsletter on the page."""

    list_name: str
    title: str
    status_text: str
    topics: list[str]
    ticked: list[str]
    all_topics: bool
    can_leave: bool
    can_rejoin: bool


def preference_rows(
    sub: SubscriberView, newsletters: Mapping[str, Any], first: str
) -> list[PreferenceRow]:
    """One row per membership of a configured newsletter, the link's own newsletter first.

    A member with no topics stored gets every topic, including ones added later: the page
    ticks them all and says so, instead of showing nothing ticked.
    """
    rows = []
    for member in sub.memberships:
        nl = newsletters.get(member.list_name)
        if nl is None:
            continue
        stored = sub.topics.get(member.list_name) or []
        tags = list(nl.tags)
        ticked = [t for t in tags if t in stored] if stored else tags
        rows.append(
            PreferenceRow(
                list_name=member.list_name, title=nl.title,
                status_text=_STATUS.get(member.status, member.status), topics=tags, ticked=ticked,
                all_topics=not stored or set(ticked) == set(tags),
                can_leave=member.status in ("active", "pending"),
                can_rejoin=member.status == "unsubscribed",
            )
        )  # fmt: skip
    rows.sort(key=lambda r: (r.list_name != first, r.title))
    return rows
