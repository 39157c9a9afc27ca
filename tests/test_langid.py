"""Language identification restricted to the languages in play."""

from __future__ import annotations

import pytest

from crossling.errors import CrosslingError
from crossling.langid import LanguageIdentifier

TEXTS = {
    "en": "The weather is lovely today and we are going for a walk in the park.",
    "de": "Das Wetter ist heute herrlich und wir gehen im Park spazieren.",
    "ru": "Сегодня прекрасная погода, и мы идём гулять в парк.",
    "bg": "Днес времето е прекрасно и ще се разходим в парка.",
    "es": "Hoy hace un tiempo precioso y vamos a pasear por el parque.",
    "fr": "Il fait très beau aujourd'hui et nous allons nous promener au parc.",
    "zh": "今天天气很好，我们要去公园散步。",
}


@pytest.mark.parametrize("code", list(TEXTS))
def test_detects_each_language_normal_and_caps(code: str) -> None:
    lid = LanguageIdentifier(list(TEXTS))
    assert lid.detect(TEXTS[code]) == code
    assert lid.detect(TEXTS[code].upper()) == code
    assert lid.is_language(TEXTS[code].upper(), code)


def test_restricted_set_and_foil() -> None:
    only_de = LanguageIdentifier(["de"])
    assert only_de.codes == ("de", "en")  # a foil, or everything would be German
    assert only_de.detect(TEXTS["en"]) == "en"
    assert not only_de.is_language(TEXTS["en"], "de")
    assert LanguageIdentifier(["en"]).codes == ("de", "en")


def test_undetectable_and_detector_cached() -> None:
    a = LanguageIdentifier(["en", "de"])
    b = LanguageIdentifier(["de", "en", "de"])
    assert a.detect("") is None and a.detect("12345 !!!") is None
    assert a.detector is b.detector  # built once per language set


def test_unknown_code() -> None:
    with pytest.raises(CrosslingError, match="unknown language code 'xx'"):
        LanguageIdentifier(["en", "xx"])
