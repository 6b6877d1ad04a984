"""Link tokens: the send's fast signer makes exactly what itsdangerous makes and reads."""

from __future__ import annotations

import pytest

from subscribers.tokens import InvalidToken, LinkSigner


@pytest.mark.parametrize("keys", [["only-key"], ["old-key", "new-key"]])
def test_fast_unsubscribe_tokens_are_the_ones_itsdangerous_signs(keys: list[str]) -> None:
    signer = LinkSigner(keys)
    fast = signer.unsubscribe_tokens("weekly", 12)
    for subscriber in (1, 42, 10**9):
        assert fast(subscriber) == signer.unsubscribe_token(subscriber, "weekly", 12)
        assert signer.read_unsubscribe(fast(subscriber)) == (subscriber, "weekly", 12)
        assert signer.read_preferences(fast(subscriber)) == (subscriber, "weekly")


def test_a_list_name_outside_ascii_signs_the_same_way() -> None:
    signer = LinkSigner(["k"])
    assert signer.unsubscribe_tokens("zoë", 3)(7) == signer.unsubscribe_token(7, "zoë", 3)


def test_tokens_from_a_retired_key_still_read_and_tampered_ones_do_not() -> None:
    old = LinkSigner(["old-key"]).unsubscribe_tokens("weekly", 1)(5)
    rotated = LinkSigner(["old-key", "new-key"])
    assert rotated.read_unsubscribe(old) == (5, "weekly", 1)
    with pytest.raises(InvalidToken):
        rotated.read_unsubscribe(old[:-2] + ("A" if old[-2] != "A" else "B") + old[-1])
    with pytest.raises(InvalidToken):
        LinkSigner(["other-key"]).read_unsubscribe(old)
