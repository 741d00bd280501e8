"""Matching many rules at once, and splitting Chinese text into words.

Holds `RuleSet` (every literal term of every rule in one Aho-Corasick automaton, then
a boolean evaluation of only the rules a found term can trigger) and `tokenize`
(jieba word segmentation for the risk scorer and the similarity fingerprint). This is
the only module that imports jieba and the automaton library (``ahocorasick_rs``).
The rule language itself is left to `bot.rules`; which rules apply to which source
and what a match becomes are left to the scanner.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
import warnings
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

import ahocorasick_rs

from bot.rules import Match, Matcher, Occurrence, Prepared, normalize

if TYPE_CHECKING:
    import jieba

logger = logging.getLogger(__name__)


class RuleSet:
    """Named compiled rules, matched together; the order given is kept.

    The cost per item that matches nothing does not grow with the number of rules:
    the item is scanned once by the automaton, and only rules whose trigger was
    found are considered. A rule's trigger is its most selective necessary
    condition (`Matcher.requirements`; keys used by fewer rules count as more
    selective); its other necessary conditions are then checked with set
    operations, and only a rule passing them all is evaluated in full. Rules with
    no literal key to trigger on (a bare regex) are evaluated for every item.
    """

    def __init__(self, rules: list[tuple[str, Matcher]]) -> None:
        self._rules = list(rules)
        usage: Counter[str] = Counter()
        for _, matcher in self._rules:
            usage.update(matcher.keys())
        self._keys = sorted(usage)
        self._automaton = (
            ahocorasick_rs.AhoCorasick(
                self._keys, matchkind=ahocorasick_rs.MATCHKIND_STANDARD
            )
            if self._keys
            else None
        )
        self._triggered: dict[str, list[int]] = {}
        self._always: list[int] = []
        # Per rule, the necessary conditions other than its trigger, most selective
        # first: checked with set operations before the rule is evaluated.
        self._checks: list[list[frozenset[str]]] = []
        for index, (name, matcher) in enumerate(self._rules):
            clauses = sorted(
                matcher.requirements(usage.__getitem__),
                key=lambda c: (sum(usage[k] for k in c), len(c)),
            )
            if not clauses:
                self._always.append(index)
                self._checks.append([])
                logger.debug("rule evaluated for every item rule=%s", name)
                continue
            for key in clauses[0]:
                self._triggered.setdefault(key, []).append(index)
            self._checks.append(list(dict.fromkeys(clauses[1:])))
        logger.info(
            "rule set compiled rules=%d keys=%d always_evaluated=%d",
            len(self._rules),
            len(self._keys),
            len(self._always),
        )

    def __len__(self) -> int:
        return len(self._rules)

    @property
    def key_count(self) -> int:
        """How many distinct literal keys the automaton holds."""
        return len(self._keys)

    @property
    def always_evaluated(self) -> list[str]:
        """Names of the rules evaluated for every item (no literal trigger)."""
        return [self._rules[i][0] for i in self._always]

    def prepare(self, title: str, text: str) -> Prepared:
        """Normalise an item and find every key of every rule in it, in one pass."""
        normal_title = normalize(title)
        normal_text = normalize(text)
        found: dict[str, list[Occurrence]] = {}
        if self._automaton is not None:
            # Fields joined by "\n", which normalised text and keys never contain,
            # so no key is found across the boundary.
            offset = len(normal_title) + 1
            keys = self._keys
            for pattern, start, end in self._automaton.find_matches_as_indexes(
                normal_title + "\n" + normal_text, overlapping=True
            ):
                if start < offset:
                    occurrence = (0, start, end)
                else:
                    occurrence = (1, start - offset, end - offset)
                found.setdefault(keys[pattern], []).append(occurrence)
        return Prepared(title, text, found, normalized=(normal_title, normal_text))

    def match(self, title: str, text: str) -> list[tuple[str, Match]]:
        """(rule name, match) for every rule the item satisfies, in rule order."""
        item = self.prepare(title, text)
        found = item.found_keys()
        candidates = set(self._always)
        for key in found:
            candidates.update(self._triggered.get(key, ()))
        results: list[tuple[str, Match]] = []
        for index in sorted(candidates):
            if any(clause.isdisjoint(found) for clause in self._checks[index]):
                continue
            name, matcher = self._rules[index]
            match = matcher.match_prepared(item)
            if match is not None:
                results.append((name, match))
        return results


# --- word segmentation -------------------------------------------------------------

_jieba_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None
_added_words: set[str] = set()


def tokenize(text: str, extra_words: Iterable[str] = ()) -> list[str]:
    """Split `text` into words with jieba, on normalised text (NFKC, lower case).

    `extra_words` (rule terms, say) join the dictionary first, so they are never
    split. Whitespace and punctuation-only tokens are dropped. jieba loads its
    dictionary on the first call (about a second), silently.
    """
    tokenizer = _jieba()
    words = [normalize(w) for w in extra_words]
    with _jieba_lock:
        for word in words:
            if word and word not in _added_words:
                tokenizer.add_word(word)
                _added_words.add(word)
    normal = unicodedata.normalize("NFKC", text).casefold()
    return [
        token for token in tokenizer.lcut(normal) if any(ch.isalnum() for ch in token)
    ]


def _jieba() -> jieba.Tokenizer:
    global _tokenizer
    with _jieba_lock:
        if _tokenizer is None:
            with warnings.catch_warnings():
                # jieba imports pkg_resources, which warns about this project's
                # namespace package and about its own deprecation.
                warnings.simplefilter("ignore")
                import jieba

            jieba.setLogLevel(logging.WARNING)  # its own handler prints to stderr
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            _tokenizer = tokenizer
            logger.info("jieba dictionary loaded words=%d", len(tokenizer.FREQ))
        return _tokenizer
