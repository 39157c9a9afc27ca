"""Garbage: which answers are degenerate, and which cells rest on degenerate answers.

Why here: every place that reports scores (eval summary, run report, sweep, behaviour
stage) and the ``responses: self`` training targets must apply the same rule, so the rule
and its thresholds live in one place, below every stage.

An answer is degenerate (:func:`degenerate_reason`) when one of these rules fires. Markdown
is set aside first — fenced code, horizontal rules (``----``, ``====``, ``____``) and table
rows are not prose, so a table of repeated cells or a long rule is never a loop — and the
rules read what is left, casefolded and split into tokens (words in spaced scripts, single
characters in Han, kana and Thai):

1. ``empty``: nothing but white space.
2. ``char_run``: the same non-space, non-digit character ≥ 10 times in a row
   (``'Here---------------'``).
3. ``stutter``: a 2–8 letter unit repeated back to back ≥ 3 times, ≥ 12 letters in all
   (``'НЕНЕНЕНЕНЕНЕ'``, ``'РАСКАЗРАСКАЗРАСКАЗ'``).
4. ``word_run``: one word ≥ 4 times in a row (``'very very very very'``).
5. ``repeated_ngram``: answers of ≥ 6 tokens where some n-gram (n = 1…8) occurs ≥ 3 times
   and covers ≥ 50 % of the tokens (``'как викинги, как викинги, …'``), or where ≥ 40 % of
   the tokens repeat a trigram already said (``'la lumière de la lumière de la lumière'``).
6. ``prompt_echo``: answers of ≥ 4 tokens whose tokens are ≥ 80 % covered by bigrams of the
   prompt (or the system prompt), allowing small spelling changes (edit similarity ≥ 0.8 per
   word, so an upper-cased echo with a word changed is still an echo), and which end while
   still echoing (at most one of the last three tokens is new). A restatement that goes on
   to answer ("…, using tools such as …") is not an echo, nor is one that opens with a
   yes/no word (``Language.yes_no``).
7. ``mixed_script``: a word mixing Latin, Cyrillic or Greek letters (``'ИНТЕLLECT'``).
8. ``unknown_words``: of the answer's Latin and Cyrillic words (≥ 3 letters; words of the
   prompt, capitalised names inside a sentence and a word cut off at the end are skipped),
   at least :data:`UNKNOWN_SHARE` and at least :data:`UNKNOWN_MIN` distinct ones are not
   words of the answer's language (``crossling.lexicon``: wordfreq lists; the language is the
   prompt's or English, or the other same-script language of the table that knows most of
   them, so a whole answer in another language is not garbage but invented words are:
   ``'СЕТИФЕР ИНЖЕРТЕР СОБЕ ИСПОЛЬХУЕТ'``). Languages without a lexicon (Chinese, Japanese,
   Thai, Korean, Arabic) are checked by the other rules only.

Thresholds were set on blind-labelled real answers (``benchmarks/quality_scorers.py``
prints per-language precision and recall) and checked against the 1232 human-written
reference answers of the built-in corpus, normal and upper-cased: none is flagged. What the
rules do not catch is word salad of real words (``'FALLOUTS ARE WIND, AND THERE IS NO
PRIORITY OF CULTURAL TREATMENT.'``); the LLM coherence judge (``coherence_llm``) is the
instrument for that.

A cell is flagged when more than ``MAX_DEGENERATE`` (20 %) of its answers are degenerate —
one answer in five is already enough to move a 12-prompt mean by 20 points. Fluency
(log-likelihood under the base model) is reported beside each cell but never flags one: on
blind-labelled answers it does not separate coherent from incoherent ones (see
``crossling.evaluate.scorers.quality``).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from itertools import pairwise
from typing import Any

_UNSPACED = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f"
_TOKEN = re.compile(rf"[{_UNSPACED}]|[^\W{_UNSPACED}]+")
_UNSPACED_CHAR = re.compile(rf"[{_UNSPACED}]")
_CHAR_RUN = re.compile(r"([^\s\d])\1{9,}")
_STUTTER = re.compile(r"([^\W\d_]{2,8}?)\1{2,}")
_FENCE = re.compile(r"```.*?(?:```|\Z)", re.DOTALL)
_RULE_LINE = re.compile(r"^[ \t>]*[-=_*~#.:|+ \t]{3,}$", re.MULTILINE)
_TABLE_ROW = re.compile(r"^[ \t]*\|.*\|[ \t]*$", re.MULTILINE)
_LETTERS = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")
_SENTENCE_END = re.compile(r"[.!?:;\n…。！？]\s*$")
MIN_STUTTER_CHARS = 12
MIN_WORD_REPEATS = 4
NGRAM_MIN_TOKENS, NGRAM_MAX_N, NGRAM_MIN_COUNT, NGRAM_COVERAGE = 6, 8, 3, 0.5
REPEAT_N, REPEAT_SHARE = 3, 0.35  # words; characters of unspaced scripts: 6 and 0.5
REPEAT_N_CHARS, REPEAT_SHARE_CHARS = 6, 0.5
ECHO_MIN_TOKENS, ECHO_COVERAGE, ECHO_SIMILAR, ECHO_PRECHECK = 4, 0.8, 0.8, 0.5
ECHO_PREFIX_MIN, ECHO_PREFIX_SHARE = 6, 0.9
UNKNOWN_SHARE, UNKNOWN_MIN, UNKNOWN_MIN_WORDS = 0.15, 2, 4
UNKNOWN_SHARE_SMALL, UNKNOWN_MIN_SMALL = 0.3, 3  # small lexicons miss real words: more evidence
REASONS = ("empty", "char_run", "stutter", "word_run", "repeated_ngram", "prompt_echo",
           "mixed_script", "unknown_words")


def tokens(text: str) -> list[str]:
    """Casefolded word tokens; characters for scripts written without spaces."""
    return _TOKEN.findall(text.casefold())


def prose(text: str) -> str:
    """``text`` without fenced code, horizontal rules and table rows (see the module
    docstring): what the rules read."""
    text = _FENCE.sub("\n", text)
    text = _TABLE_ROW.sub("", text)
    return _RULE_LINE.sub("", text)


def _script(ch: str) -> str:
    """Latin, Cyrillic, Greek or other, for one letter."""
    o = ord(ch)
    if o < 0x250 or 0x1E00 <= o <= 0x1EFF:
        return "Latin"
    if 0x400 <= o <= 0x52F:
        return "Cyrillic"
    if 0x370 <= o <= 0x3FF or 0x1F00 <= o <= 0x1FFF:
        return "Greek"
    return "other"


def _fold(token: str) -> str:
    """Casefold and drop accents on Latin letters (echoes of ``réseaux`` as ``RESEAUX``)."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFD", token.casefold()):
        if unicodedata.category(ch) == "Mn" and out and _script(out[-1]) == "Latin":
            continue
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def _loops(toks: list[str]) -> str | None:
    run = 1
    for a, b in pairwise(toks):
        run = run + 1 if a == b else 1
        if run >= MIN_WORD_REPEATS:
            return "word_run"
    if len(toks) < NGRAM_MIN_TOKENS:
        return None
    for n in range(1, NGRAM_MAX_N + 1):
        grams = Counter(tuple(toks[i : i + n]) for i in range(len(toks) - n + 1))
        count = grams.most_common(1)[0][1] if grams else 0
        if count >= NGRAM_MIN_COUNT and count * n >= NGRAM_COVERAGE * len(toks):
            return "repeated_ngram"
    chars = sum(len(t) == 1 and _UNSPACED_CHAR.match(t) is not None for t in toks)
    n, share = (REPEAT_N_CHARS, REPEAT_SHARE_CHARS) if chars > len(toks) / 2 else (
        REPEAT_N, REPEAT_SHARE)
    seen: set[tuple[str, ...]] = set()
    repeated = [False] * len(toks)
    for i in range(len(toks) - n + 1):
        gram = tuple(toks[i : i + n])
        if gram in seen:
            for k in range(i, i + n):
                repeated[k] = True
        seen.add(gram)
    if sum(repeated) >= share * len(toks):
        return "repeated_ngram"
    return None


def _answers_yes_no(first: str, lang: str | None) -> bool:
    from crossling.languages import LANGUAGES

    langs = [LANGUAGES[lang]] if lang in LANGUAGES else list(LANGUAGES.values())
    return any(first in {_fold(w) for w in x.yes_no} for x in langs)


def repeats_prompt(response: str, prompt: str) -> bool:
    """Whether ``response`` opens with the whole user prompt, word for word (≥ 90 % of a
    prompt of ≥ 6 tokens, in order): the way a base model continues its input, whatever
    it appends after it."""
    said = [_fold(t) for t in tokens(prompt)]
    if len(said) < ECHO_PREFIX_MIN:
        return False
    head = [_fold(t) for t in tokens(response)][: len(said) + 2]
    match = difflib.SequenceMatcher(None, head, said, autojunk=False).find_longest_match(
        0, len(head), 0, len(said))
    return match.a <= 2 and match.size >= ECHO_PREFIX_SHARE * len(said)


def is_echo(response: str, source: str, lang: str | None = None) -> bool:
    """Whether ``response`` only echoes ``source`` (rule 6 of the module docstring)."""
    answer = [_fold(t) for t in tokens(response)]
    said = [_fold(t) for t in tokens(source)]
    if len(answer) < ECHO_MIN_TOKENS or not said:
        return False
    vocab = set(said)
    if sum(t in vocab for t in answer) < ECHO_PRECHECK * len(answer):
        return False  # cheap test first: most answer words must already be in the prompt
    if _answers_yes_no(answer[0], lang):
        return False
    mapped = []
    for t in answer:
        if t in vocab or len(t) < 4:
            mapped.append(t)
            continue
        best = max(vocab, key=lambda w: difflib.SequenceMatcher(None, t, w).ratio())
        similar = difflib.SequenceMatcher(None, t, best).ratio() >= ECHO_SIMILAR
        mapped.append(best if similar else t)
    pairs = set(pairwise(said))
    covered = [False] * len(mapped)
    for i, pair in enumerate(pairwise(mapped)):
        if pair in pairs:
            covered[i] = covered[i + 1] = True
    tail = covered[-max(3, len(covered) // 8):]  # the end: 3 words, or 1/8 of the characters
    return (sum(covered) >= ECHO_COVERAGE * len(mapped)
            and sum(not c for c in tail) <= max(1, len(tail) // 4))


def mixed_script_words(text: str) -> list[str]:
    """Words whose letters come from two of Latin, Cyrillic and Greek."""
    out = []
    for m in _LETTERS.finditer(text):
        scripts = {_script(c) for c in m.group(0) if c.isalpha()} - {"other"}
        if len(scripts) > 1:
            out.append(m.group(0))
    return out


def checked_words(text: str, prompt: str = "") -> list[tuple[str, str]]:
    """``(script, lowercase word)`` of every word the lexicon rule checks (rule 8)."""
    text = text.strip()
    found = list(_LETTERS.finditer(text))
    if found and found[-1].end() == len(text):
        found = found[:-1]  # cut off by the token limit: maybe half a word
    said = {w.casefold().replace("\u2019", "'") for w in _LETTERS.findall(prompt)}
    out = []
    for m in found:
        word = m.group(0)
        scripts = {_script(c) for c in word}
        if len(scripts) != 1 or (script := scripts.pop()) not in ("Latin", "Cyrillic"):
            continue
        if len(word) < 3:
            continue
        title = word[0].isupper() and not word.isupper()
        if title and m.start() > 0 and not _SENTENCE_END.search(text[: m.start()]):
            continue  # a capitalised word inside a sentence: a name
        low = word.casefold().replace("\u2019", "'")
        if low not in said:
            out.append((script, low))
    return out


def _unknown(words: Iterable[str], code: str) -> list[str]:
    from crossling.lexicon import lexicon

    lex, english = lexicon(code), lexicon("en")
    out = []
    for w in words:
        if lex.known(w) or english.known(w):
            continue
        # elisions and clitics ("s'il", "l'entreprise"): the parts of two letters or more
        parts = [p for p in w.split("'") if len(p) >= 2] if "'" in w else [w]
        if "'" in w and all(lex.known(p) or english.known(p) for p in parts):
            continue
        out.append(w)
    return out


def case_breaks(text: str) -> list[str]:
    """Words whose case flips inside the word in a mostly upper-case answer
    (``'DESEño'``, ``'СЛОЖil'``): a broken caps adapter, not a spelling."""
    cased = [c for c in text if c.isupper() or c.islower()]
    if not cased or sum(c.isupper() for c in cased) < 0.5 * len(cased):
        return []
    return [w for w in _LETTERS.findall(text) if _case_break(w.replace("\u2019", "'").split("'")[-1])]


def _case_break(word: str) -> bool:
    """Lower case followed by upper case, or upper case resuming in lower case after two
    or more capitals (``'CIelo'``); ``'Title'`` and ``'ALL'`` are fine."""
    run = 0  # capitals in a row so far
    for a, b in pairwise(word):
        run = run + 1 if a.isupper() else 0
        if (a.islower() and b.isupper()) or (run >= 2 and b.islower()):
            return True
    return False


def unknown_words(
    text: str, prompt: str = "", lang: str | None = None
) -> tuple[list[str], int, bool]:
    """The words of ``text`` its language's lexicon does not know (plus its case-broken
    words in an upper-case answer), how many words were checked, and whether a small
    lexicon (``Language.lexicon_stems``) judged them (rule 8 of the module docstring)."""
    from crossling.languages import LANGUAGES
    from crossling.lexicon import lexicon_languages

    words = checked_words(text, prompt)
    unknown: list[str] = []
    small = False
    for script in ("Latin", "Cyrillic"):
        mine = [w for s, w in words if s == script]
        if not mine:
            continue
        candidates = lexicon_languages(script)
        if not candidates:
            continue
        own = lang if lang in candidates else None
        first = own or ("en" if "en" in candidates else candidates[0])
        best, best_code = _unknown(mine, first), first
        if len(best) >= UNKNOWN_SHARE * len(mine) and len(best) > 1:
            for code in candidates:  # a whole answer in another language is not garbage
                if code == first:
                    continue
                other = _unknown(mine, code)
                # on a tie the bigger lexicon judges: a small one misses real words
                if len(other) < len(best) or (len(other) == len(best) and
                                              LANGUAGES[best_code].lexicon_stems):
                    best, best_code = other, code
        small = small or LANGUAGES[best_code].lexicon_stems
        unknown += best
    broken = [w.casefold() for w in case_breaks(text)]
    return unknown + [w for w in broken if w not in unknown], len(words), small


def degenerate_reason(
    response: str, prompt: str = "", system_prompt: str | None = None, lang: str | None = None
) -> str | None:
    """Why ``response`` is degenerate (see the module docstring), or None when it is not.

    Args:
        response: the answer.
        prompt: the user prompt it answers (for the echo rule and the lexicon's skip list).
        system_prompt: the system prompt it was generated under (echoing it is an echo too).
        lang: the prompt's language (the lexicon to check words against); None: English
            first, then any same-script language of the table.

    Returns:
        One of :data:`REASONS`, or None.
    """
    text = response.strip()
    if not text:
        return "empty"
    body = prose(text).strip()
    if not body:
        return None  # only a table, a code block or rules: not prose, not garbage
    if _CHAR_RUN.search(body):
        return "char_run"
    if any(len(m.group(0)) >= MIN_STUTTER_CHARS for m in _STUTTER.finditer(body.casefold())):
        return "stutter"
    loop = _loops(tokens(body))
    if loop is not None:
        return loop
    source = "\n".join(x for x in (system_prompt, prompt) if x)
    if source and (is_echo(body, source, lang) or repeats_prompt(body, prompt)):
        return "prompt_echo"
    if mixed_script_words(body):
        return "mixed_script"
    unknown, checked, small = unknown_words(body, prompt, lang)
    share, least = (UNKNOWN_SHARE_SMALL, UNKNOWN_MIN_SMALL) if small else (UNKNOWN_SHARE,
                                                                           UNKNOWN_MIN)
    if len(set(unknown)) >= least and len(unknown) >= share * checked and (
            checked >= UNKNOWN_MIN_WORDS or len(unknown) == checked):
        return "unknown_words"  # a short answer must consist of unknown words only
    return None


MAX_DEGENERATE = 0.2
# Fluency flags a cell only once a threshold is validated (precision ≥ 0.9 against
# blind labels, ``benchmarks/quality_scorers.py --model``); none has been, so it never does.
FLUENCY_FLAG: float | None = None
QUALITY_SCORERS = ("degenerate", "fluency", "fluency_ref")
#: The scorer of answers that show the task's behaviour and are not garbage
#: (:mod:`crossling.evaluate.scorers.coherent`): the second axis of every transfer cell.
BEHAVING_COHERENT = "behaving_coherent"
#: Fewer coherent answers than this in a cell: its behaviour among coherent answers is N/A
#: (one answer would move it by 25 points or more).
MIN_COHERENT = 5


def _mean(cell: dict[str, Any] | None) -> float | None:
    if not cell:
        return None
    m = cell.get("mean")
    return None if m is None else float(m)


def cell_flags(
    degenerate: dict[str, Any] | None,
    reasons: dict[str, int] | None = None,
    fluency: dict[str, Any] | None = None,
    fluency_ref: dict[str, Any] | None = None,
) -> list[str]:
    """Flags of one cell: its share of degenerate answers (``degenerate`` summary, ``mean``
    and ``n`` keys) when above :data:`MAX_DEGENERATE`, naming the rules that fired
    (``reasons``: rule → answers); fluency below its reference by more than
    :data:`FLUENCY_FLAG` only once that threshold is validated."""
    flags = []
    deg = _mean(degenerate)
    if deg is not None and deg > MAX_DEGENERATE:
        n = int((degenerate or {}).get("n") or 0)
        what = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in
                         sorted((reasons or {}).items(), key=lambda kv: -kv[1]))
        count = f"{round(deg * n)} of {n}" if n else f"{deg:.0%}"
        flags.append(f"garbage: {count} answers degenerate ({deg:.0%}"
                     + (f"; {what}" if what else "") + ")")
    flu, ref = _mean(fluency), _mean(fluency_ref)
    if FLUENCY_FLAG is not None and flu is not None and ref is not None and (
            flu < ref - FLUENCY_FLAG):
        flags.append(f"fluency {flu:.2f} vs reference {ref:.2f} nats/token")
    return flags


def reason_counts(
    generations: Iterable[dict[str, Any]], system_prompt: str | None = None,
    kind: str | None = None,
) -> dict[str, dict[str, dict[str, int]]]:
    """training language (or ``base``) → lang → rule → number of answers
    :func:`degenerate_reason` gives that rule (unsteered rows of one prompt kind, seeds
    pooled like the transfer matrix), so a flag can say which measure fired."""
    from crossling.analysis.transfer import train_lang_of

    out: dict[str, dict[str, dict[str, int]]] = {}
    for g in generations:
        if g.get("steer", "none") != "none" or (kind is not None and g.get("kind", "task") != kind):
            continue
        why = degenerate_reason(str(g.get("response", "")), str(g.get("prompt", "")),
                                system_prompt, str(g.get("lang")))
        if why is not None:
            row = out.setdefault(train_lang_of(str(g["adapter"])), {})
            cell = row.setdefault(str(g["lang"]), {})
            cell[why] = cell.get(why, 0) + 1
    return out


def quality_flags(
    degenerate: dict[str, dict[str, Any]],
    reasons: dict[str, dict[str, dict[str, int]]] | None = None,
    fluency: dict[str, dict[str, Any]] | None = None,
    fluency_ref: dict[str, dict[str, Any]] | None = None,
) -> dict[str, dict[str, list[str]]]:
    """Flags of every cell of the matrices (adapter → lang → summary with ``mean``).

    Returns:
        adapter → lang → flags (empty list: nothing wrong).
    """
    reasons, fluency, fluency_ref = reasons or {}, fluency or {}, fluency_ref or {}
    refs = {lang: c for cols in fluency_ref.values() for lang, c in cols.items()}
    out: dict[str, dict[str, list[str]]] = {}
    for adapter in dict.fromkeys([*degenerate, *fluency]):
        langs = dict.fromkeys([*degenerate.get(adapter, {}), *fluency.get(adapter, {})])
        out[adapter] = {
            lang: cell_flags(degenerate.get(adapter, {}).get(lang),
                             reasons.get(adapter, {}).get(lang),
                             fluency.get(adapter, {}).get(lang), refs.get(lang))
            for lang in langs
        }
    return out
