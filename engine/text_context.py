"""Topic and mood of a piece of prose, for music that goes with it (``--context-file``).

A plain, explainable reading: mood words are counted with the same vocabulary the prompt
analysis uses (``engine.genres.MOODS``) plus everyday words that carry a mood in prose
("celebrate", "warning", "loss"); the topic is the text's most frequent content words.
Deterministic: the same text always gives the same topic and mood.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from engine.errors import PromptError
from engine.genres import MOODS

# Everyday prose words -> the mood names of engine.genres.MOODS.
_PROSE_MOODS: dict[str, tuple[str, ...]] = {
    "happy": ("celebrate", "celebration", "success", "successful", "congratulations", "win", "won",
              "delight", "delighted", "glad", "excited", "exciting", "great", "love", "welcome"),
    "sad": ("loss", "lost", "grief", "sorry", "unfortunately", "miss", "missed", "goodbye", "farewell",
            "death", "died", "lonely"),
    "tense": ("warning", "danger", "dangerous", "risk", "risks", "threat", "error", "errors", "failure",
              "failed", "urgent", "deadline", "crisis", "attack", "fear", "afraid"),
    "peaceful": ("relax", "rest", "sleep", "quiet", "nature", "garden", "meditation", "breathe",
                 "slowly", "morning", "sunset"),
    "uplifting": ("hope", "future", "growth", "improve", "improved", "achieve", "achievement",
                  "progress", "dream", "dreams", "together", "community"),
    "mysterious": ("secret", "secrets", "unknown", "mystery", "hidden", "night", "shadow", "shadows",
                   "strange"),
    "energetic": ("fast", "speed", "race", "sport", "sports", "power", "launch", "action", "run",
                  "running", "workout"),
    "epic": ("hero", "heroes", "battle", "legend", "journey", "empire", "victory", "adventure"),
    "playful": ("fun", "game", "games", "play", "kids", "children", "joke", "silly", "cartoon"),
    "nostalgic": ("remember", "memories", "memory", "childhood", "old", "history", "past", "years"),
}

_STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had has
have having he her here hers herself him himself his how i if in into is it its itself just me more
most my myself no nor not now of off on once only or other our ours ourselves out over own same she
should so some such than that the their theirs them themselves then there these they this those
through to too under until up very was we were what when where which while who whom why will with
would you your yours yourself yourselves one two also may might must shall get got make made like
well much many us let use used using way ways thing things new first last next really even still
just yet within without however therefore thus also said says say every its it's don't can't
""".split())

_WORD = re.compile(r"[a-zA-Z][a-zA-Z'-]+")
MAX_TOPIC_WORDS = 3
MAX_MOODS = 2


@dataclass(frozen=True)
class TextContext:
    topic: tuple[str, ...]
    moods: tuple[str, ...]

    def prompt(self) -> str:
        """A prompt fragment such as 'calm music for a text about gardens and rain'."""
        mood = " and ".join(self.moods) + " " if self.moods else ""
        topic = ", ".join(self.topic[:-1]) + (" and " if len(self.topic) > 1 else "") + self.topic[-1] \
            if self.topic else "the text"
        return f"{mood}music for a text about {topic}"

    def to_dict(self) -> dict:
        return {"topic": list(self.topic), "moods": list(self.moods)}


def _mood_scores(low: str, words: list[str]) -> Counter:
    scores: Counter = Counter()
    for mood in MOODS:
        for alias in mood.aliases:
            scores[mood.name] += 2 * len(re.findall(rf"\b(?:{alias})\b", low))
    counts = Counter(words)
    for name, cues in _PROSE_MOODS.items():
        scores[name] += sum(counts[c] for c in cues)
    return +scores  # drop zero counts


def read_text_context(text: str) -> TextContext:
    """Topic words and up to two moods of ``text``; ``PromptError`` when it has no words."""
    low = text.lower()
    words = [w.strip("'-") for w in _WORD.findall(low)]
    if not words:
        raise PromptError("the context text has no words to read a topic or mood from")
    scores = _mood_scores(low, words)
    # Ties are broken by the order of MOODS, so the reading is stable.
    order = {m.name: i for i, m in enumerate(MOODS)}
    moods = tuple(sorted(scores, key=lambda m: (-scores[m], order.get(m, len(order))))[:MAX_MOODS])
    content = [w for w in words if len(w) > 3 and w not in _STOPWORDS]
    first_seen = {w: i for i, w in reversed(list(enumerate(content)))}
    counted = Counter(content)
    topic = tuple(sorted(counted, key=lambda w: (-counted[w], first_seen[w]))[:MAX_TOPIC_WORDS])
    return TextContext(topic=topic, moods=moods)
