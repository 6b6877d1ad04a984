"""Which way a block of text reads: right to left for Arabic, Hebrew and their kin.

Apart from digest.core.scripts (word counts and cuts for every script, with large character
classes to compile) because every rendering asks it, a send included.
"""

from __future__ import annotations

import re

# Letters of the right-to-left scripts: Hebrew, Arabic (with its supplements and
# presentation forms), Syriac, Thaana, N'Ko.
_RTL_LETTER = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
LETTER = re.compile(r"[^\W\d_]")  # a letter of any script
# Languages written right to left (ISO 639 codes in common use, and script subtags).
RTL_LANGUAGES = frozenset(
    [
        "ar",
        "arc",
        "arz",
        "ary",
        "apc",
        "ckb",
        "dv",
        "fa",
        "he",
        "iw",
        "ks",
        "mzn",
        "ps",
        "sd",
        "syr",
        "ug",
        "ur",
        "yi",
        "ku-arab",
        "pa-arab",
    ]
)


def is_rtl_language(language: str | None) -> bool:
    """Whether a BCP 47 tag names a language written right to left ('ar', 'he-IL', 'ku-Arab')."""
    if not language:
        return False
    tag = language.lower().replace("_", "-")
    return tag.split("-")[0] in RTL_LANGUAGES or any(
        tag.startswith(code) for code in RTL_LANGUAGES if "-" in code
    )


def direction(language: str | None, text: str = "") -> str:
    """'rtl' or 'ltr' for a block: the declared language decides, else most of its letters."""
    if language:
        return "rtl" if is_rtl_language(language) else "ltr"
    letters = len(LETTER.findall(text))
    return "rtl" if letters and len(_RTL_LETTER.findall(text)) * 2 > letters else "ltr"
