"""Language identification restricted to the languages in play (lingua).

Why restricted: telling German from English is easy; telling German from any of 75
languages on a 100-token answer is not. Detecting only among the languages of a study makes
"the answer is in the prompt's language" a sharp test. Detectors are expensive to build
(language models are loaded per language), so one is built per language set and cached.

ALL CAPS text: lingua's n-gram models are lowercase; text is casefolded before detection so
a behaviour that uppercases answers does not look like a language switch.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from crossling.errors import CrosslingError
from crossling.languages import get_language

# A detector over a single language would call everything that language; a foil is added.
_FOIL = ("en", "de")


@functools.lru_cache(maxsize=16)
def _detector(codes: tuple[str, ...]) -> Any:
    from lingua import Language as LinguaLanguage
    from lingua import LanguageDetectorBuilder

    members = []
    for code in codes:
        name = get_language(code).lingua
        try:
            members.append(getattr(LinguaLanguage, name))
        except AttributeError:
            raise CrosslingError(
                f"lingua has no language '{name}' (for '{code}'); fix Language.lingua in "
                "crossling/languages.py."
            ) from None
    return LanguageDetectorBuilder.from_languages(*members).build()


class LanguageIdentifier:
    """Detect which of ``codes`` a text is written in.

    Args:
        codes: crossling language codes in play (e.g. ``["en", "de", "ru"]``). With a single
            code, English (or German for ``en``) is added as a foil.

    Example:
        >>> LanguageIdentifier(["en", "de"]).detect("DAS IST EIN HAUS")
        'de'
    """

    def __init__(self, codes: Iterable[str]) -> None:
        wanted = sorted({get_language(c).code for c in codes})
        if not wanted:
            raise CrosslingError("LanguageIdentifier needs at least one language code.")
        if len(wanted) == 1:
            wanted.append(_FOIL[0] if wanted[0] != _FOIL[0] else _FOIL[1])
            wanted.sort()
        self.codes: tuple[str, ...] = tuple(wanted)
        self._by_lingua = {get_language(c).lingua: c for c in self.codes}

    @property
    def detector(self) -> Any:
        """The cached lingua detector for this language set."""
        return _detector(self.codes)

    def detect(self, text: str) -> str | None:
        """The crossling code of the language of ``text``, or None when lingua cannot tell
        (empty text, digits or punctuation only)."""
        if not text or not text.strip():
            return None
        found = self.detector.detect_language_of(text.casefold())
        if found is None:
            return None
        return self._by_lingua.get(found.name)

    def is_language(self, text: str, code: str) -> bool:
        """True when ``text`` is detected as language ``code``."""
        return self.detect(text) == get_language(code).code
