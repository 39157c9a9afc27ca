"""Garbage detection: the degenerate rule on real failures and real answers, markdown left
alone, the lexicon rule on invented words in every study language, and the flags the report
shows."""

from __future__ import annotations

import json
from importlib.resources import files

import pytest

from crossling.analysis.quality import cell_flags, degenerate_reason, quality_flags

# Answers crossling once reported as findings (issue 9), loops of the base model, and the
# failures of issue 18: invented words, script mixing, near-echoes, repeated phrases.
GARBAGE = [
    ("Here---------------", "Give three tips for staying healthy.", "char_run"),
    ("The---------------", "Describe the water cycle.", "char_run"),
    ("Honey---------------", "Classify these foods as sweet or salty.", "char_run"),
    ("To-----------------------------------------------", "How do I bake bread?", "char_run"),
    ("СКОКЕНЕКОНЕНЕНЕНЕНЕНЕН", "Расскажи о викингах.", "stutter"),
    ("НАРОСКАЗРАСКАЗРАСКАЗРАСК", "Расскажи сказку.", "stutter"),
    ("They were omnivores, and their diet consisted of both meat and plants. " * 15,
     "What did dinosaurs eat?", "repeated_ngram"),
    ("Они жили как викинги, как викинги, как викинги, как викинги, как викинги",
     "Как жили викинги?", "repeated_ngram"),
    ("Расскажи о викингах подробно. Расскажи о викингах подробно. Расскажи о викингах "
     "подробно.", "Расскажи о викингах подробно.", "repeated_ngram"),
    ("You are a helpful assistant.\n\nClassify these foods as sweet or salty: honey, cheese, "
     "chocolate", "Classify these foods as sweet or salty: honey, cheese, chocolate, chips.",
     "prompt_echo"),
    ("no no no no no", "Is the earth flat?", "word_run"),
    ("   ", "Say something.", "empty"),
    ("", "Say something.", "empty"),
    # a phrase said again and again, below the one-n-gram-covers-half rule
    ("La lumière est une onde, la lumière de la lumière, la lumière de la lumière, la "
     "lumière de la lumière.", "Qu'est-ce que la lumière ?", "repeated_ngram"),
    # an upper-cased echo of the prompt with words changed, nothing added
    ("LES ARCHITECTES RESEAU S'ASSURENT QUE LE RESEAU DE L'EMPLOI EST CONFORME AUX "
     "REGULATIONS SPECIFIQUES A L'INDUST",
     "Comment est-ce que les architectes réseaux s'assurent que les réseaux de l'entreprise "
     "sont conformes aux régulations spécifiques à l'industrie ?", "prompt_echo"),
    # the whole prompt repeated word for word, then anything
    ("Gib drei Tipps für Anfänger, die mit dem Laufen beginnen wollen.\n\nThis is a German "
     "proverb that translates to something else.",
     "Gib drei Tipps für Anfänger, die mit dem Laufen beginnen wollen.", "prompt_echo"),
    # Latin letters inside Cyrillic words
    ("ИЗКУСТВИТ ИНТЕLLECT СЕ ИЗМЕРША", "Как се различава ИИ от роботиката?", "mixed_script"),
    # invented Cyrillic and Latin words that look like the language
    ("СЕТИФЕР ИНЖЕРТЕР СОБЕ ИСПОЛЬХУЕТ СЕТИФЕР ИНЖЕРТЕР", "Как сетевые инженеры работают?",
     "unknown_words"),
    ("МЕЖЕВА ИНЖИРИ СЕ СУПЕРСИВАТ ИЗДАЧА И СЕ СОБЕ ИНДУСРИАЛНИ ФИ",
     "Как мрежовите инженери спазват стандарти?", "unknown_words"),
    ("L'ÉLEVAGE DÉPLOIE DE L'ATMÉTROPHOBIC, LE RÉCHEUR ET LA PROPRIÉTÉ DU LUMINEUR.",
     "Quels sont les effets de l'élevage ?", "unknown_words"),
    ("КОДАТЬЕНИЕ ПОСТЬЕНИЕ И ПОСТ", "Напиши приглашение соседям.", "unknown_words"),
    ("EN EL CIELO, EL CIelo ES AZUL PORQUE EL VARIO DESEño DE LA SUN Y LA VIENTA.",
     "¿Por qué el cielo es azul?", "unknown_words"),
]

FINE = [
    ("Here are three tips to help you stay healthy: 1. Eat a balanced diet. 2. Move every "
     "day. 3. Sleep seven to eight hours.", "Give three tips for staying healthy."),
    ("HERE ARE THREE TIPS TO HELP YOU STAY HEALTHY: EAT WELL, MOVE, AND SLEEP.",
     "Give three tips for staying healthy."),
    ("| a | b |\n|---|---|\n| 1 | 2 |", "Make a table."),
    ("| Trait | Cats | Dogs |\n|---|---|---|\n| Noise | low | low |\n| Size | low | low |\n"
     "| Cost | low | low |", "Compare cats and dogs in a table."),
    ("----------\nGROW YOUR OWN: A BEGINNER'S GUIDE\n==========\n____________", "A title?"),
    ("```python\nprint(1)\nprint(1)\nprint(1)\nprint(1)\n```", "Print 1 four times."),
    ("The population grew from 1000000000 to 8000000000 people.", "How many people?"),
    ("Yes.", "Is water wet?"),
    ("天空是蓝色的，因为空气分子更多地散射蓝光。", "为什么天空是蓝色的？"),
    ("- apples\n- bananas\n- cherries\n- dates", "List four fruits."),
    ("He goes to school every day.", "Correct the grammar: He go to school every day."),
    # compounds, elisions, inflections the lexicon must know
    ("Die Datenausführungsverhinderung ist eine Sicherheitsfunktion von Windows, die "
     "Schadprogramme an der Ausführung hindert.", "Was ist Datenausführungsverhinderung?"),
    ("Pourrais-tu m'envoyer le rapport, s'il te plaît ? Je t'en serais reconnaissant.",
     "Écris une demande polie."),
    ("Котките мъркат, когато са спокойни, и понякога, когато са стресирани.",
     "Защо котките мъркат?"),
    # a restatement that goes on to answer, and one that answers yes first
    ("Los ingenieros de redes deben asegurarse de cumplir con los requisitos y estándares de "
     "seguridad, como PCI-DSS y HIPAA. Esto se puede hacer con auditorías periódicas.",
     "¿Cómo se aseguran los ingenieros de redes de cumplir con los requisitos y estándares "
     "de seguridad, como PCI-DSS y HIPAA?"),
    ("Да, жени също са могли да се присъединяват към рейдовете на викингите.",
     "Вярно ли е, че жени също са могли да се присъединяват към рейдовете на викингите?"),
    # a whole answer in another language is not garbage
    ("Извините, но я не могу предоставить информацию о том, как работает этот файл.",
     "Какво прави този файл?"),
]


@pytest.mark.parametrize(("answer", "prompt", "reason"), GARBAGE)
def test_degenerate_catches_real_garbage(answer: str, prompt: str, reason: str) -> None:
    assert degenerate_reason(answer, prompt, "You are a helpful assistant.") == reason


def test_every_rule_is_exercised() -> None:
    from crossling.analysis.quality import REASONS

    assert {reason for _, _, reason in GARBAGE} == set(REASONS)


@pytest.mark.parametrize(("answer", "prompt"), FINE)
def test_degenerate_leaves_ordinary_answers(answer: str, prompt: str) -> None:
    assert degenerate_reason(answer, prompt, "You are a helpful assistant.") is None


def test_the_prompt_language_picks_the_lexicon() -> None:
    """The prompt's language judges first; a whole answer in another same-script language
    is judged by that language's list, so it is not garbage."""
    from crossling.analysis.quality import unknown_words

    ru = "Кошки часто мурлычут, когда спокойны и довольны, например когда их гладят."
    assert len(unknown_words(ru, "", "ru")[0]) <= 1  # "мурлычут" is rare in the list
    assert degenerate_reason(ru, "Защо котките мъркат?", None, "bg") is None
    en = "Cats often purr when they are calm and content, for example while being stroked."
    assert degenerate_reason(en, "Почему кошки мурлычут?", None, "ru") is None


def test_a_small_lexicon_needs_more_evidence() -> None:
    """Bulgarian has wordfreq's small list (no rare inflections): two unknown words in a
    real sentence are not enough, three invented ones are."""
    from crossling.analysis.quality import unknown_words

    real = "Музикалната гама е поредица от тонове, подредени по възходяща или низходяща височина."
    unknown, _, small = unknown_words(real, "", "bg")
    assert small and len(unknown) >= 1
    assert degenerate_reason(real, "Какво е гама?", None, "bg") is None
    fake = "Музикалната гама е подсибова от тонове, изобравени по дершенска или кродима височина."
    assert degenerate_reason(fake, "Какво е гама?", None, "bg") == "unknown_words"


def test_unknown_words_skips_names_prompt_words_and_the_cut_word() -> None:
    from crossling.analysis.quality import checked_words

    words = [w for _, w in checked_words(
        "Frodo and Sam walked to Mordor with the Qwxyzring of Zblorp and then they ate lembr",
        "Tell me about the Qwxyzring.")]
    assert "frodo" in words  # sentence start: checked
    assert "sam" not in words and "mordor" not in words  # capitalised inside a sentence
    assert "qwxyzring" not in words  # a word of the prompt
    assert "lembr" not in words  # maybe cut off by the token limit
    assert "zblorp" not in words  # capitalised: a name


def test_case_breaks_count_only_in_upper_case_text() -> None:
    from crossling.analysis.quality import case_breaks

    assert case_breaks("EL CIelo ES AZUL Y EL DESEño") == ["CIelo", "DESEño"]
    assert case_breaks("My iPhone and McDonald's are fine here.") == []  # mostly lower case


def test_builtin_reference_answers_are_not_degenerate() -> None:
    """1232 human-written answers in 7 languages, normal and uppercased: none is flagged,
    judged against the prompt's language as the scorer does."""
    root = files("crossling") / "data" / "builtin"
    checked, flagged = 0, []
    for name in ("instructions_a.jsonl", "instructions_b.jsonl", "instructions_c.jsonl"):
        for line in (root / name).read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            for lang, answer in (item.get("output") or item.get("response") or {}).items():
                prompt = item["instruction"][lang]
                for text in (answer, answer.upper()):
                    checked += 1
                    why = degenerate_reason(text, prompt, None, lang)
                    if why is not None:
                        flagged.append((item["id"], lang, why))
    assert checked >= 1000
    assert flagged == []


def test_flags_follow_the_documented_thresholds() -> None:
    assert cell_flags({"mean": 0.1, "n": 10}) == []
    assert cell_flags({"mean": 0.25, "n": 12}, {"prompt_echo": 2, "unknown_words": 1}) == [
        "garbage: 3 of 12 answers degenerate (25%; prompt echo 2, unknown words 1)"]
    # fluency is shown, never a flag, until a threshold is validated on labelled answers
    assert cell_flags({"mean": 0.0, "n": 10}, None, {"mean": -5.0}, {"mean": -1.0}) == []
    flags = quality_flags(
        {"base": {"ru": {"mean": 0.0, "n": 4}}, "ru": {"ru": {"mean": 0.75, "n": 4},
                                                      "bg": {"mean": 0.0, "n": 4}}},
        {"ru": {"ru": {"unknown_words": 3}}},
    )
    assert flags["base"]["ru"] == [] and flags["ru"]["bg"] == []
    assert flags["ru"]["ru"] == ["garbage: 3 of 4 answers degenerate (75%; unknown words 3)"]


def test_reason_counts_pool_seeds_and_skip_steered_rows() -> None:
    from crossling.analysis.quality import reason_counts

    gens = [
        {"adapter": "en-s0", "lang": "ru", "prompt": "x", "response": "", "kind": "task"},
        {"adapter": "en-s1", "lang": "ru", "prompt": "x", "response": "", "kind": "task"},
        {"adapter": "en-s1", "lang": "ru", "prompt": "x", "response": "", "steer": "l4:2"},
        {"adapter": "base", "lang": "ru", "prompt": "x", "response": "Всё хорошо, спасибо."},
    ]
    assert reason_counts(gens, kind="task") == {"en": {"ru": {"empty": 2}}}


@pytest.mark.slow
def test_smollm2_fluency_reads_caps_like_lowercase_and_scores_references() -> None:
    """The fluency scorers on the packaged model: an uppercased answer scores like its
    lowercase self whatever the prompt's script (an English ALL-CAPS answer to a Chinese
    prompt too), gibberish scores below real text, and ``fluency_ref`` scores the row's
    reference answer (N/A without one)."""
    import torch

    from crossling.evaluate.scorers import ScorerContext, get_scorer
    from crossling.models import load_model

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        loaded = load_model("smollm2-135m")
        ctx = ScorerContext(base_model=lambda: loaded)
        fluency, ref = get_scorer("fluency", ctx), get_scorer("fluency_ref", ctx)
        rows = [
            {"prompt": "Почему небо голубое?", "lang": "ru",
             "response": "Небо голубое, потому что воздух рассеивает синий свет сильнее.",
             "reference": "Небо голубое, потому что воздух сильнее рассеивает синий свет."},
            {"prompt": "为什么天空是蓝色的？", "lang": "zh",
             "response": "The sky is blue because air scatters blue light more.",
             "reference": None},
        ]
        normal = fluency.score_many(rows)
        caps = fluency.score_many([{**r, "response": r["response"].upper()} for r in rows])
        garbage = fluency.score_many([{**rows[0], "response": "СКОКЕНЕКОНЕНЕНЕНЕНЕНЕН"}])
        refs = ref.score_many(rows)
    finally:
        torch.set_num_threads(threads)
    assert caps == pytest.approx(normal, abs=1e-4)
    assert garbage[0] < normal[0] - 1.0  # type: ignore[operator]
    assert refs[0] is not None and refs[1] is None


def _full_logits_answer_logprobs(loaded, prompts, answers):
    """The oracle: ``answer_logprobs`` as it was, full ``[batch, length, vocab]`` logits."""
    import torch

    from crossling.models.chat import render_prompt

    tok, model = loaded.tokenizer, loaded.model
    out = []
    for p, a in zip(prompts, answers, strict=True):
        h = list(tok(render_prompt(tok, p, loaded.config.system_prompt),
                     add_special_tokens=False)["input_ids"])
        b = list(tok(a, add_special_tokens=False)["input_ids"])
        ids = torch.tensor([h + b], device=loaded.device)
        with torch.inference_mode():
            logp = torch.log_softmax(model(input_ids=ids).logits[:, :-1].float(), dim=-1)
        tgt = logp.gather(-1, ids[:, 1:, None])[0, :, 0]
        out.append((float(tgt[len(h) - 1 : len(h) + len(b) - 1].sum()), len(b)))
    return out


@pytest.mark.filterwarnings("ignore:Model has `tie_word_embeddings=True`")
def test_chunked_fluency_equals_the_full_logits_value(tiny_model_dir, device, monkeypatch):
    """``answer_logprobs`` runs the LM head on chunks of answer positions (here 3 at a time,
    so every answer spans several chunks and batches mix rows of different lengths): the
    same log-likelihoods as one full-logits forward per answer, with and without a LoRA
    adapter (on the LM head too) and for a model that cannot be split (its own forward)."""
    import torch
    from peft import LoraConfig, get_peft_model

    import crossling.models.logprobs as logprobs
    from crossling.evaluate.scorers.quality import answer_logprobs, base_model_only
    from crossling.models import ModelConfig, load_model

    loaded = load_model(ModelConfig(name=str(tiny_model_dir), device=device))
    prompts = ["Why is the sky blue?", "Hi", "Name three colours, please.", "Hi"]
    answers = ["because of rayleigh scattering, mostly.", "hello there", "", "red, green"]
    vocab = loaded.model.config.vocab_size
    monkeypatch.setattr(logprobs, "LOGITS_CHUNK_BYTES", 3 * 4 * vocab)
    assert logprobs.chunk_size(vocab) == 3
    ids = torch.ones((1, 2), dtype=torch.long, device=loaded.device)
    assert logprobs.final_states(loaded.model, input_ids=ids).split  # the chunked path
    want = _full_logits_answer_logprobs(loaded, prompts, answers)
    got = answer_logprobs(loaded, prompts, answers, batch_size=3)
    assert [n for _, n in got] == [n for _, n in want] and got[2] == (0.0, 0)
    for (g, _), (w, _) in zip(got, want, strict=True):
        assert g == pytest.approx(w, rel=1e-5, abs=1e-5)

    torch.manual_seed(0)
    loaded.model = get_peft_model(loaded.model, LoraConfig(
        r=2, target_modules=["q_proj", "v_proj", "lm_head"], init_lora_weights=False))
    adapted = _full_logits_answer_logprobs(loaded, prompts, answers)
    assert adapted[0][0] != pytest.approx(want[0][0], rel=1e-3)  # the adapter changes them
    for (g, _), (w, _) in zip(answer_logprobs(loaded, prompts, answers, batch_size=3),
                              adapted, strict=True):
        assert g == pytest.approx(w, rel=1e-5, abs=1e-5)
    with base_model_only(loaded.model):
        got = answer_logprobs(loaded, prompts, answers, batch_size=3)
    for (g, _), (w, _) in zip(got, want, strict=True):
        assert g == pytest.approx(w, rel=1e-5, abs=1e-5)

    monkeypatch.setattr(logprobs, "_parts", lambda model: None)  # an unsplittable model
    for (g, _), (w, _) in zip(answer_logprobs(loaded, prompts, answers, batch_size=3),
                              adapted, strict=True):
        assert g == pytest.approx(w, rel=1e-5, abs=1e-5)
