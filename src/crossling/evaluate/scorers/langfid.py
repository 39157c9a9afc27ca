"""Language fidelity: is the answer in the prompt's language?"""

from __future__ import annotations

from typing import Any

from crossling.evaluate.scorers.base import SCORERS, ScorerContext
from crossling.langid import LanguageIdentifier


@SCORERS.register("lang_fidelity")
class LangFidelity:
    """1.0 when lingua (restricted to the languages in play, plus the row's) detects the
    prompt's language in the response, else 0.0 (also for letters of a language not in
    play); N/A for an empty answer and for one without letters (digits, punctuation). Casefolds first, so ALL CAPS answers are
    judged by language, not by case."""

    name = "lang_fidelity"
    rate = True  # 0/1 values: rate intervals

    def __init__(self, ctx: ScorerContext | None = None) -> None:
        self.langs = list((ctx or ScorerContext()).langs)
        self._ids: dict[str, LanguageIdentifier] = {}

    def _identifier(self, lang: str) -> LanguageIdentifier:
        if lang not in self._ids:
            self._ids[lang] = LanguageIdentifier([*self.langs, lang])
        return self._ids[lang]

    def score(self, response: str, lang: str, row: dict[str, Any]) -> float | None:
        if not response.strip():
            return None
        found = self._identifier(lang).detect(response)
        if found is None:  # no language in play matches: letters of another script, or none
            return 0.0 if any(c.isalpha() for c in response) else None
        return 1.0 if found == lang else 0.0
