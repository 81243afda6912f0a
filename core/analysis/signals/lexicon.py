"""Emotion words per class, and where a class's cue word sits in a text.

The dataset's labels came from the emotion word a tweet contains ("i feel <word>"). The word lists
below are written from the audit guideline's class boundaries (``bench/data/audit_guideline.md``,
"Class boundaries") and everyday synonyms, not from train rows; a word sits in one class only.
:func:`nrc_lexicon` adds the NRC Emotion Lexicon as shipped by the ``nrclex`` package (no "love"
category there; its anticipation, trust, positive, negative and disgust are not used).

>>> [(c.word, c.start, c.by) for c in [find_cue("i didnt feel humiliated at all", "sadness")]]
[('humiliated', 13, 'list')]
>>> find_cue("i feel a bit meh", "joy").word
'meh'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from core.analysis.signals.registry import digest

CLASS_WORDS: dict[str, tuple[str, ...]] = {
    "sadness": (
        "sad", "unhappy", "depressed", "depressing", "miserable", "lonely", "alone", "hopeless", "heartbroken", "hurt",
        "hurting", "ashamed", "guilty", "shame", "shameful", "humiliated", "embarrassed", "stupid", "dumb", "pathetic",
        "worthless", "useless", "regretful", "disappointed", "gloomy", "low", "down", "crushed", "devastated",
        "defeated", "empty", "numb", "awful", "terrible", "bad", "drained", "homesick", "melancholy", "grief", "sorry",
        "inadequate", "inferior", "unwanted", "unloved", "rejected", "abandoned", "neglected", "discouraged", "dull",
        "idiotic", "foolish", "ignorant", "burdened", "ugly", "unimportant", "remorseful", "doomed", "beaten",
        "damaged", "shitty", "crappy", "miserably", "sadness", "lost", "broken", "gutted", "blue", "tearful", "crying",
        "weepy", "heartbreaking", "grieving", "mournful", "dismayed", "troubled", "exhausted", "listless", "groggy",
        "messy", "dirty", "helpless", "vain", "sorrowful", "disheartened", "despair", "despondent",
    ),
    "joy": (
        "happy", "glad", "joyful", "joy", "cheerful", "content", "contented", "calm", "relaxed", "peaceful",
        "relieved", "confident", "proud", "productive", "amused", "satisfied", "fine", "ok", "okay", "good", "great",
        "wonderful", "excited", "thrilled", "delighted", "ecstatic", "pleased", "grateful", "thankful", "blessed",
        "lucky", "hopeful", "optimistic", "energetic", "alive", "refreshed", "comfortable", "successful", "valuable",
        "important", "accepted", "welcome", "free", "playful", "festive", "eager", "smart", "clever", "determined",
        "strong", "useful", "worthwhile", "positive", "inspired", "creative", "divine", "triumphant", "vindicated",
        "assured", "reassured", "secure", "entertained", "fabulous", "awesome", "cool", "beautiful", "glamorous",
        "cute", "respected", "honoured", "honored", "jolly", "cheery", "fantastic", "excellent", "elated", "carefree",
        "cheered", "terrific", "splendid", "brilliant", "superior", "talented", "capable", "fulfilled", "rich",
        "resolved", "sure", "well", "better", "best", "safe", "brave", "fun", "funky", "gorgeous", "pretty",
    ),
    "love": (
        "love", "loved", "loving", "lovely", "affectionate", "tender", "romantic", "passionate", "sentimental",
        "nostalgic", "longing", "caring", "compassionate", "sympathetic", "devoted", "fond", "adoring", "horny",
        "sexy", "sensual", "hot", "naughty", "sweet", "gentle", "generous", "supportive", "accepting", "delicate",
        "beloved", "liked", "nurturing", "faithful", "loyal", "lustful", "amorous", "intimate", "infatuated",
        "smitten", "charmed", "kind", "warm", "tenderness", "affection", "adore", "adored", "cherished", "cherish",
        "sympathy", "hugged", "needy", "flirty", "seductive",
    ),
    "anger": (
        "angry", "anger", "mad", "furious", "irritated", "irritable", "annoyed", "annoying", "frustrated",
        "frustrating", "bitter", "resentful", "offended", "rushed", "pissed", "outraged", "enraged", "hateful",
        "hate", "hatred", "hostile", "cranky", "grumpy", "grouchy", "agitated", "aggravated", "jealous", "envious",
        "greedy", "spiteful", "cold", "rude", "rebellious", "insulted", "wronged", "cheated", "disgusted",
        "disgruntled", "dissatisfied", "stubborn", "impatient", "violent", "dangerous", "vicious", "heartless",
        "selfish", "bothered", "petty", "cynical", "irate", "livid", "provoked", "vexed", "mean", "cruel",
        "ungrateful", "wicked", "obnoxious", "infuriated", "fed", "betrayed", "bitchy", "resentment", "irritation",
        "frustration", "annoyance", "tortured", "distracted", "hated", "heated", "pissy", "snappy", "indignant",
    ),
    "fear": (
        "afraid", "scared", "frightened", "terrified", "anxious", "nervous", "worried", "insecure", "overwhelmed",
        "pressured", "shaky", "uncertain", "unsure", "paranoid", "panicky", "panic", "fearful", "apprehensive",
        "uneasy", "restless", "tense", "stressed", "threatened", "vulnerable", "hesitant", "reluctant", "timid",
        "shy", "intimidated", "doubtful", "confused", "suspicious", "cautious", "distressed", "alarmed", "horrified",
        "petrified", "dread", "disturbed", "unsafe", "jittery", "frantic", "fear", "fears", "anxiety", "worry",
        "scary", "frightening", "terrifying", "insecurity", "agitation", "skeptical", "helplessness", "weak",
        "nervousness", "uncomfortable", "awkward", "doubt", "hysterical", "spooked", "startled", "rattled",
    ),
    "surprise": (
        "surprised", "surprise", "surprising", "amazed", "amazing", "astonished", "astonishing", "shocked",
        "shocking", "stunned", "curious", "impressed", "awed", "dazed", "funny", "weird", "strange", "odd",
        "unexpected", "speechless", "startling", "bewildered", "baffled", "puzzled", "incredible", "unbelievable",
        "wow", "mindblown", "overwhelming", "awestruck", "dumbfounded", "flabbergasted", "intrigued", "wonder",
    ),
}
#: Verbs that introduce the feeling word in the labeller's pattern ("i feel <word>").
FEEL_VERBS = frozenset({"feel", "feels", "felt", "feeling", "feelings", "am", "im", "was", "be", "being", "been",
                        "get", "got", "getting", "become", "became", "seem", "seemed", "made"})
#: Words skipped between a feel-verb and its feeling word.
FILLERS = frozenset({"so", "very", "really", "quite", "pretty", "a", "bit", "little", "kind", "kinda", "sort", "of",
                     "too", "rather", "somewhat", "slightly", "extremely", "incredibly", "totally", "completely",
                     "more", "most", "less", "all", "just", "still", "even", "super", "particularly", "that", "like",
                     "the", "an", "such", "truly", "utterly", "fairly", "terribly", "ever", "almost", "much"})
NEGATORS_INLINE = frozenset({"not", "no", "never", "nt", "dont", "didnt", "wasnt", "isnt", "cant"})
#: Forms of "feel" whose next word (fillers skipped) is a cue where no listed word is found.
FEEL_FORMS = ("feel", "feels", "felt", "feeling")
WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def cue_params() -> dict:
    """What :func:`find_cue` and :func:`word_class` depend on: every word list, hashed (for cache keys)."""
    return {"class_words": digest(CLASS_WORDS), "feel_verbs": digest(FEEL_VERBS), "fillers": digest(FILLERS),
            "negators_inline": digest(NEGATORS_INLINE), "feel_forms": digest(FEEL_FORMS), "word": WORD.pattern}


@dataclass(frozen=True)
class Cue:
    """A cue word: the word, its character offset, its token index, and how it was found."""

    word: str
    start: int
    index: int
    by: str  # "list" (in the class's word list) or "feel" (the word after a feel-verb)


def tokens(text: str) -> list[re.Match]:
    """Lower-case word tokens of ``text`` (letters with an optional apostrophe part)."""
    return list(WORD.finditer(text.lower()))


@lru_cache(maxsize=1)
def word_class() -> dict[str, str]:
    """Word -> class for :data:`CLASS_WORDS`."""
    out: dict[str, str] = {}
    for cls, words in CLASS_WORDS.items():
        for w in words:
            out.setdefault(w, cls)
    return out


def _after_feel(toks: list[re.Match]) -> int | None:
    for i, m in enumerate(toks):
        if m.group() in FEEL_FORMS:
            j = i + 1
            while j < len(toks) and (toks[j].group() in FILLERS or toks[j].group() in NEGATORS_INLINE):
                j += 1
            if j < len(toks):
                return j
    return None


def find_cue(text: str, label: str) -> Cue | None:
    """The word of ``text`` that most likely gave it ``label``.

    The first word of the class's list that follows a feel-verb (skipping fillers), else the class's
    first listed word anywhere, else the word after the first "feel" (skipping fillers), else None.
    """
    toks = tokens(text)
    words = set(CLASS_WORDS.get(label, ()))
    hits = [i for i, m in enumerate(toks) if m.group() in words]
    for i in hits:
        j = i - 1
        while j >= 0 and (toks[j].group() in FILLERS or toks[j].group() in NEGATORS_INLINE):
            j -= 1
        if j >= 0 and toks[j].group() in FEEL_VERBS:
            return Cue(toks[i].group(), toks[i].start(), i, "list")
    if hits:
        return Cue(toks[hits[0]].group(), toks[hits[0]].start(), hits[0], "list")
    j = _after_feel(toks)
    return Cue(toks[j].group(), toks[j].start(), j, "feel") if j is not None else None


@lru_cache(maxsize=1)
def nrc_lexicon() -> dict[str, tuple[str, ...]]:
    """NRC Emotion Lexicon word -> its emotions among the six classes (``nrclex``'s bundled ``nrc_en.json``).

    Empty when ``nrclex`` is not installed. NRC's "love" is absent; the judge adds :data:`CLASS_WORDS`.
    """
    import json
    from importlib import resources

    try:
        raw = json.loads(resources.files("nrclex").joinpath("data/nrc_en.json").read_text(encoding="utf-8"))
    except (ModuleNotFoundError, FileNotFoundError):
        return {}
    keep = set(CLASS_WORDS)
    return {w: tuple(e for e in emos if e in keep) for w, emos in raw.items() if any(e in keep for e in emos)}
