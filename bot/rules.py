"""The keyword rule language (关键词表达式): parse an expression, match an item.

Holds `compile_expr`, the compiled `Matcher`, the `Match` it returns, `Prepared`
(an item's title and body normalised once, shareable by many matchers) and
`RuleSyntaxError`. Matching many rules at once with one automaton is left to
`bot.matching`; which rule applies to which source, levels and hit records are left
to the scanner.

Syntax, from loosest to tightest binding::

    个税 | 社保              OR ("|" or full-width "｜")
    个税 退税  个税&退税  个税+退税
                             AND: whitespace, "&" or "+" (full-width too)
    -招聘   !招聘            NOT, only at the start of a word (COVID-19 is one term)
    (发票 | 税务局) 投诉      parentheses ("()" or full-width "（）")
    "税务 稽查"              a phrase containing spaces ("..." or “...”)
    /退.{0,3}税/             a Python regular expression, case-insensitive
    title:(个税 | 社保)       the group, or a single word, in the title only
    个税~20~退税             both terms at most 20 characters apart, either order

A term is a substring match, case-insensitive on NFKC-normalised text, so full-width
letters and digits match half-width ones (``ＥＴＣ`` matches ``etc``); runs of
whitespace count as one space. Regular expressions, proximity distances and match
positions work on that normalised text too. Every expression, and every ``|``
alternative, needs at least one term to look for: ``-招聘`` alone would match almost
everything.

Errors raise `RuleSyntaxError` with a 0-based `position`; its text shows it 1-based
(``第 5 个字符处：括号没有闭合``).
"""

from __future__ import annotations

import functools
import re
import unicodedata
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from bot.errors import UserError

_OPEN = "(（"
_CLOSE = ")）"
_OR = "|｜"
_AND = "&+＆＋"
_NOT = "-!－！"
_NEAR = "~～"
_QUOTES = {'"': '"', "“": "”"}
_QUOTE_CLOSERS = '"”'
_REGEX = "/"
_SPECIAL = _OPEN + _CLOSE + _OR + _AND + _NEAR + "".join(_QUOTES) + _QUOTE_CLOSERS
_TITLE_PREFIXES = ("title:", "title：", "标题:", "标题：")
_MAX_DEPTH = 16
_MAX_DISTANCE = 1000

TITLE = "title"
TEXT = "text"
_FIELDS = (TITLE, TEXT)

# An occurrence in normalised text: (field index 0 = title / 1 = body, start, end).
Occurrence = tuple[int, int, int]


class RuleSyntaxError(UserError):
    """A keyword expression that cannot be parsed; `reason` is Chinese."""

    def __init__(self, expr: str, position: int, reason: str) -> None:
        super().__init__(
            template="errors/rule_syntax.j2",
            expr=expr,
            position=position,
            reason=reason,
        )
        self.expr = expr
        self.position = position
        self.reason = reason

    def __str__(self) -> str:
        return f"第 {self.position + 1} 个字符处：{self.reason}"


def normalize(text: str) -> str:
    """The form both text and terms are compared in: NFKC, case-folded, one space."""
    if not text.isascii() and not unicodedata.is_normalized("NFKC", text):
        text = _nfkc(text)
    return " ".join(text.casefold().split())


def _nfkc(text: str) -> str:
    """`unicodedata.normalize("NFKC", text)`, several times faster on Chinese text.

    Full NFKC is slow once any character needs it (a full-width comma suffices).
    Replacing each character by its own NFKC form keeps the compatibility
    decomposition of the whole text, so it gives the same result whenever the
    outcome is normalised; otherwise (combining marks) full NFKC finishes the job.
    """
    text = text.translate(_nfkc_table())
    if unicodedata.is_normalized("NFKC", text):
        return text
    return unicodedata.normalize("NFKC", text)


@functools.cache
def _nfkc_table() -> list[int | str]:
    """A `str.translate` table: each Basic Multilingual Plane character's NFKC form
    (itself for most); characters beyond it are left to the final check."""
    table: list[int | str] = list(range(0x10000))
    for code in range(0x10000):
        if 0xD800 <= code < 0xE000:
            continue
        ch = chr(code)
        normal = unicodedata.normalize("NFKC", ch)
        if normal != ch:
            table[code] = normal
    return table


# --- what a match reports ----------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """Why an item matched.

    `terms`: the terms to look for that occur, as written in the rule, in rule
    order (a regular expression shows as ``/.../``). `spans`: ``(field, start,
    end)`` of every occurrence of those terms in the original title or body
    (`field` is ``"title"`` or ``"text"``), sorted, for highlighting.
    """

    terms: tuple[str, ...]
    spans: tuple[tuple[str, int, int], ...]


class Prepared:
    """One item's title and body, normalised once, for any number of matchers.

    `occurrences`, when given, must hold every occurrence of every literal term key
    the matchers will ask about, sorted by field then position (as `bot.matching`
    finds them with one automaton); without it, occurrences are looked up with
    plain substring search on demand. `normalized` saves normalising again.
    """

    def __init__(
        self,
        title: str,
        text: str,
        occurrences: dict[str, list[Occurrence]] | None = None,
        normalized: tuple[str, str] | None = None,
    ) -> None:
        self.originals = (title, text)
        if normalized is None:
            normal_title = normalize(title)
            normal_text = normal_title if text is title else normalize(text)
            normalized = (normal_title, normal_text)
        self.fields = normalized
        self._complete = occurrences is not None
        self._occurrences: dict[str, list[Occurrence]] = occurrences or {}
        self._regex: dict[tuple[re.Pattern[str], bool], list[Occurrence]] = {}
        self._origins: dict[int, list[int]] = {}

    def found_keys(self) -> set[str]:
        """The keys known to occur (all of them when `occurrences` was given)."""
        return {key for key, found in self._occurrences.items() if found}

    def has(self, key: str, title_only: bool) -> bool:
        if self._complete:
            found = self._occurrences.get(key)
            if not found:
                return False
            return not title_only or found[0][0] == 0
        if key in self.fields[0]:
            return True
        return not title_only and key in self.fields[1]

    def occurrences(self, key: str, title_only: bool) -> list[Occurrence]:
        found = self._occurrences.get(key)
        if found is None:
            found = [] if self._complete else self._find(key)
            self._occurrences[key] = found
        if title_only:
            return [occ for occ in found if occ[0] == 0]
        return found

    def regex(self, pattern: re.Pattern[str], title_only: bool) -> list[Occurrence]:
        """Non-empty matches of `pattern` in the normalised fields, cached."""
        cache_key = (pattern, title_only)
        found = self._regex.get(cache_key)
        if found is None:
            found = []
            for index in (0,) if title_only else (0, 1):
                if index == 1 and self.fields[1] is self.fields[0]:
                    break
                found.extend(
                    (index, m.start(), m.end())
                    for m in pattern.finditer(self.fields[index])
                    if m.end() > m.start()
                )
            self._regex[cache_key] = found
        return found

    def has_regex(self, pattern: re.Pattern[str], title_only: bool) -> bool:
        cached = self._regex.get((pattern, title_only))
        if cached is not None:
            return bool(cached)
        fields = (0,) if title_only else (0, 1)
        return any(pattern.search(self.fields[i]) for i in fields)

    def original_span(self, occ: Occurrence) -> tuple[str, int, int]:
        """Map an occurrence in normalised text back to the original field."""
        index, start, end = occ
        origins = self._origins.get(index)
        if origins is None:
            origins = _origin_map(self.originals[index])
            self._origins[index] = origins
        if not origins:
            return (_FIELDS[index], 0, 0)
        last = len(origins) - 1
        return (
            _FIELDS[index],
            origins[min(start, last)],
            origins[min(end - 1, last)] + 1,
        )

    def _find(self, key: str) -> list[Occurrence]:
        found: list[Occurrence] = []
        for index, field in enumerate(self.fields):
            if index == 1 and field is self.fields[0]:
                break
            at = field.find(key)
            while at >= 0:
                found.append((index, at, at + len(key)))
                at = field.find(key, at + 1)
        return found


def _origin_map(text: str) -> list[int]:
    """For each character of `normalize(text)`, the index it came from in `text`.

    Built character by character, so it is exact unless NFKC composes characters
    across positions (rare combining sequences); then spans are approximate.
    """
    owners: list[int] = []
    pending = -1
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch).casefold():
            if c.isspace():
                if owners and pending < 0:
                    pending = i
                continue
            if pending >= 0:
                owners.append(pending)
                pending = -1
            owners.append(i)
    return owners


# --- syntax tree -------------------------------------------------------------------


@dataclass(frozen=True)
class _Term:
    text: str  # as written (NFKC, whitespace collapsed), for terms()
    key: str  # normalised, for matching
    pos: int
    title_only: bool = False

    def test(self, item: Prepared) -> bool:
        return item.has(self.key, self.title_only)

    def positives(self, negated: bool) -> list[_Leaf]:
        return [] if negated else [self]

    def keys(self) -> list[str]:
        return [self.key]

    def cost(self) -> int:
        return 0

    def occurrences(self, item: Prepared) -> list[Occurrence]:
        return item.occurrences(self.key, self.title_only)


@dataclass(frozen=True)
class _Regex:
    text: str  # "/pattern/" as written
    pattern: re.Pattern[str]
    pos: int
    title_only: bool = False

    def test(self, item: Prepared) -> bool:
        return item.has_regex(self.pattern, self.title_only)

    def positives(self, negated: bool) -> list[_Leaf]:
        return [] if negated else [self]

    def keys(self) -> list[str]:
        return []

    def cost(self) -> int:
        return 3

    def occurrences(self, item: Prepared) -> list[Occurrence]:
        return item.regex(self.pattern, self.title_only)


@dataclass(frozen=True)
class _Near:
    left: _Term
    right: _Term
    distance: int
    pos: int

    def test(self, item: Prepared) -> bool:
        left, right = self.left, self.right
        if not (left.test(item) and right.test(item)):
            return False
        others = right.occurrences(item)
        for field, start, end in left.occurrences(item):
            for o_field, o_start, o_end in others:
                if o_field == field and max(o_start - end, start - o_end) <= (
                    self.distance
                ):
                    return True
        return False

    def positives(self, negated: bool) -> list[_Leaf]:
        return [] if negated else [self.left, self.right]

    def keys(self) -> list[str]:
        return [self.left.key, self.right.key]

    def cost(self) -> int:
        return 1


@dataclass(frozen=True)
class _Not:
    child: _Node
    pos: int

    def test(self, item: Prepared) -> bool:
        return not self.child.test(item)

    def positives(self, negated: bool) -> list[_Leaf]:
        return self.child.positives(not negated)

    def keys(self) -> list[str]:
        return self.child.keys()

    def cost(self) -> int:
        return self.child.cost()


@dataclass(frozen=True)
class _And:
    children: tuple[_Node, ...]  # as written
    pos: int
    order: tuple[_Node, ...] = ()  # cheapest first: literal terms before regexes

    def test(self, item: Prepared) -> bool:
        return all(child.test(item) for child in self.order)

    def positives(self, negated: bool) -> list[_Leaf]:
        return [t for child in self.children for t in child.positives(negated)]

    def keys(self) -> list[str]:
        return [k for child in self.children for k in child.keys()]

    def cost(self) -> int:
        return max(child.cost() for child in self.children)


@dataclass(frozen=True)
class _Or:
    children: tuple[_Node, ...]
    pos: int
    order: tuple[_Node, ...] = ()

    def test(self, item: Prepared) -> bool:
        return any(child.test(item) for child in self.order)

    def positives(self, negated: bool) -> list[_Leaf]:
        return [t for child in self.children for t in child.positives(negated)]

    def keys(self) -> list[str]:
        return [k for child in self.children for k in child.keys()]

    def cost(self) -> int:
        return max(child.cost() for child in self.children)


_Leaf = _Term | _Regex
_Node = _Term | _Regex | _Near | _Not | _And | _Or


def _and(children: list[_Node], pos: int) -> _Node:
    if len(children) == 1:
        return children[0]
    ordered = tuple(sorted(children, key=lambda c: c.cost()))
    return _And(tuple(children), pos, ordered)


def _or(children: list[_Node], pos: int) -> _Node:
    if len(children) == 1:
        return children[0]
    ordered = tuple(sorted(children, key=lambda c: c.cost()))
    return _Or(tuple(children), pos, ordered)


# --- the compiled expression -------------------------------------------------------


class Matcher:
    """A compiled expression. `expr` is the source text."""

    def __init__(self, expr: str, root: _Node) -> None:
        self.expr = expr
        self._root = root
        leaves: dict[tuple[str, bool], _Leaf] = {}
        for leaf in root.positives(False):
            leaves.setdefault((leaf.text, leaf.title_only), leaf)
        self._leaves = list(leaves.values())
        self._keys = frozenset(root.keys())

    def __repr__(self) -> str:
        return f"Matcher({self.expr!r})"

    def match(self, title: str, text: str) -> Match | None:
        """Match an item; None when it does not satisfy the expression."""
        return self.match_prepared(Prepared(title, text))

    def match_prepared(self, item: Prepared) -> Match | None:
        """Like `match`, on an item already normalised (shared by many rules)."""
        if not self._root.test(item):
            return None
        terms: list[str] = []
        occurrences: set[Occurrence] = set()
        for leaf in self._leaves:
            found = leaf.occurrences(item)
            if not found:
                continue
            if leaf.text not in terms:
                terms.append(leaf.text)
            occurrences.update(found)
        spans = sorted({item.original_span(occ) for occ in occurrences})
        return Match(tuple(terms), tuple(spans))

    def matches(self, text: str) -> bool:
        """Whether `text`, taken as both title and body, satisfies the expression."""
        return self._root.test(Prepared(text, text))

    def terms(self) -> list[str]:
        """The literal terms to look for (not excluded ones, not regexes), in order,
        without repeats; what a search source sends as its query."""
        seen = dict.fromkeys(
            leaf.text for leaf in self._leaves if isinstance(leaf, _Term)
        )
        return list(seen)

    def explain(self, text: str) -> list[str]:
        """The terms to look for that occur in `text`; empty when it does not match."""
        found = self.match(text, text)
        return list(found.terms) if found else []

    def keys(self) -> frozenset[str]:
        """Every literal key (normalised) the expression tests, excluded ones too."""
        return self._keys

    def requirements(self, weight: Callable[[str], float]) -> list[frozenset[str]]:
        """Necessary conditions: every matching item contains a key of each set.

        Implied by the expression's structure (AND parts, proximity, OR branches
        merged); excluded terms and regexes imply nothing. Where an OR merges its
        branches' conditions, each branch's lowest-`weight` one is used (a
        multi-rule index passes how many rules use a key). Empty when no literal
        key is necessary (a bare regex).
        """
        return _required(self._root, weight) or []


def _required(
    node: _Node, weight: Callable[[str], float]
) -> list[frozenset[str]] | None:
    """Necessary conditions as clauses (each: one of these keys occurs), or None."""
    if isinstance(node, _Term):
        return [frozenset((node.key,))]
    if isinstance(node, _Near):
        return [frozenset((node.left.key,)), frozenset((node.right.key,))]
    if isinstance(node, _Regex | _Not):
        return None
    parts = [_required(child, weight) for child in node.children]
    if isinstance(node, _And):
        clauses = [c for part in parts if part for c in part]
        return clauses or None
    if any(not part for part in parts):
        return None
    union: set[str] = set()
    for part in parts:
        assert part  # checked above
        union.update(min(part, key=lambda c: sum(weight(k) for k in c)))
    return [frozenset(union)]


@functools.lru_cache(maxsize=8192)
def compile_expr(expr: str) -> Matcher:
    """Parse `expr`; raise `RuleSyntaxError` naming the position and the problem.

    Cached by expression text (matchers are immutable, so sharing is safe): config
    checks, the scanner and chat commands may compile the same rule many times.
    """
    parser = _Parser(expr)
    root = parser.parse()
    unanchored = _first_unanchored(root)
    if unanchored is not None:
        raise RuleSyntaxError(
            expr, unanchored.pos, "至少要有一个要找的词（不能只有排除词）"
        )
    return Matcher(expr, root)


def _first_unanchored(node: _Node) -> _Node | None:
    """The part that would let the expression match on exclusions alone, if any."""
    if isinstance(node, _Term | _Regex | _Near):
        return None
    if isinstance(node, _Not):
        return node
    if isinstance(node, _And):
        if any(_first_unanchored(child) is None for child in node.children):
            return None
        return node
    for child in node.children:
        found = _first_unanchored(child)
        if found is not None:
            return found
    return None


# --- tokenizer ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    # "term", "regex", "(", ")", "|", "&", "-", "~", "title", "end"
    kind: str
    pos: int
    text: str = ""
    pattern: re.Pattern[str] | None = None


def _tokenize(expr: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(expr)
    singles = {**dict.fromkeys(_OPEN, "(")}
    singles.update(dict.fromkeys(_CLOSE, ")"))
    singles.update(dict.fromkeys(_OR, "|"))
    singles.update(dict.fromkeys(_AND, "&"))
    singles.update(dict.fromkeys(_NOT, "-"))
    singles.update(dict.fromkeys(_NEAR, "~"))
    while i < n:
        ch = expr[i]
        if ch.isspace():
            i += 1
        elif ch in singles:
            tokens.append(_Token(singles[ch], i))
            i += 1
        elif ch in _QUOTES:
            i = _quoted(expr, i, tokens)
        elif ch in _QUOTE_CLOSERS:
            raise RuleSyntaxError(expr, i, "多了一个右引号，前面没有对应的左引号")
        elif ch == _REGEX:
            i = _regex_token(expr, i, tokens)
        elif prefix := _title_prefix(expr, i):
            tokens.append(_Token("title", i, prefix))
            i += len(prefix)
        else:
            start = i
            while i < n and not expr[i].isspace() and expr[i] not in _SPECIAL:
                i += 1
            tokens.append(
                _Token("term", start, unicodedata.normalize("NFKC", expr[start:i]))
            )
    tokens.append(_Token("end", n))
    return tokens


def _title_prefix(expr: str, i: int) -> str:
    for prefix in _TITLE_PREFIXES:
        if expr[i : i + len(prefix)].casefold() == prefix:
            return expr[i : i + len(prefix)]
    return ""


def _quoted(expr: str, i: int, tokens: list[_Token]) -> int:
    end = _find_any(expr, _QUOTE_CLOSERS, i + 1)
    if end < 0:
        raise RuleSyntaxError(expr, i, "引号没有闭合")
    phrase = " ".join(unicodedata.normalize("NFKC", expr[i + 1 : end]).split())
    if not phrase:
        raise RuleSyntaxError(expr, i, "引号里没有内容")
    tokens.append(_Token("term", i, phrase))
    return end + 1


def _regex_token(expr: str, i: int, tokens: list[_Token]) -> int:
    """Read ``/pattern/`` starting at `i`; ``\\/`` stands for a slash inside."""
    chars: list[str] = []
    origins: list[int] = []  # position in expr of each pattern character
    j = i + 1
    while j < len(expr) and expr[j] != _REGEX:
        if expr[j] == "\\" and j + 1 < len(expr):
            if expr[j + 1] == _REGEX:
                chars.append(_REGEX)
                origins.append(j + 1)
            else:
                chars.extend(expr[j : j + 2])
                origins.extend((j, j + 1))
            j += 2
            continue
        chars.append(expr[j])
        origins.append(j)
        j += 1
    if j >= len(expr):
        raise RuleSyntaxError(expr, i, "正则表达式缺少结尾的 /，应写成 /表达式/")
    source = "".join(chars)
    if not source.strip():
        raise RuleSyntaxError(expr, i, "正则表达式是空的，两个 / 之间要写内容")
    try:
        with warnings.catch_warnings():
            # "Possible nested set" (``[[``): the pattern works as written today;
            # the warning would only reach stderr, bypassing the log.
            warnings.simplefilter("ignore", FutureWarning)
            pattern = re.compile(unicodedata.normalize("NFKC", source), re.IGNORECASE)
    except re.error as exc:
        at = exc.pos if exc.pos is not None else 0
        position = origins[at] if at < len(origins) else j
        raise RuleSyntaxError(expr, position, f"正则表达式无效：{exc.msg}") from None
    except (OverflowError, RecursionError):  # a{99999999999}, thousands of "("
        raise RuleSyntaxError(
            expr, i, "正则表达式过于复杂（重复次数太大或括号嵌套太深）"
        ) from None
    if pattern.search("") is not None:
        raise RuleSyntaxError(
            expr, i, "正则表达式能匹配空文本，任何内容都会命中；请写出必须出现的字"
        )
    tokens.append(_Token("regex", i, expr[i : j + 1], pattern))
    return j + 1


def _find_any(text: str, chars: str, start: int) -> int:
    hits = [i for i in (text.find(c, start) for c in chars) if i >= 0]
    return min(hits, default=-1)


# --- parser ------------------------------------------------------------------------

_STARTS = ("term", "regex", "-", "(", "title")


class _Parser:
    """Recursive descent::

    or      := and ("|" and)*
    and     := unary ("&"? unary)*
    unary   := "-" unary | "title:" unary | primary
    primary := term ("~" number "~" term)? | regex | "(" or ")"
    """

    def __init__(self, expr: str) -> None:
        self.expr = expr
        self.tokens = _tokenize(expr)
        self.i = 0
        self.depth = 0
        self.title_only = False

    def parse(self) -> _Node:
        if self.tokens[0].kind == "end":
            raise RuleSyntaxError(self.expr, 0, "表达式是空的，至少要写一个关键词")
        node = self._or()
        token = self._peek()
        if token.kind == ")":
            raise RuleSyntaxError(
                self.expr, token.pos, "多了一个右括号，前面没有对应的左括号"
            )
        if token.kind != "end":
            raise self._fail(token, "此处需要一个关键词")
        return node

    def _peek(self) -> _Token:
        return self.tokens[self.i]

    def _next(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def _fail(self, token: _Token, reason: str) -> RuleSyntaxError:
        return RuleSyntaxError(self.expr, token.pos, reason)

    def _symbol(self, token: _Token) -> str:
        return self.expr[token.pos : token.pos + max(1, len(token.text))]

    def _or(self) -> _Node:
        start = self._peek()
        if start.kind == "|":
            raise self._fail(
                start, f"“{self._symbol(start)}” 前面缺少关键词，两边都要有词"
            )
        branches = [self._and()]
        while self._peek().kind == "|":
            bar = self._next()
            if self._peek().kind not in _STARTS:
                raise self._fail(
                    bar, f"“{self._symbol(bar)}” 后面缺少关键词，两边都要有词"
                )
            branches.append(self._and())
        return _or(branches, start.pos)

    def _and(self) -> _Node:
        start = self._peek()
        if start.kind not in _STARTS:
            raise self._unexpected(start)
        items: list[_Node] = [self._unary()]
        while True:
            token = self._peek()
            if token.kind == "&":
                self._next()
                if self._peek().kind not in _STARTS:
                    raise self._fail(
                        token, f"“{self._symbol(token)}” 后面缺少关键词，两边都要有词"
                    )
            elif token.kind == "~":
                raise self._fail(token, "~ 前面需要一个关键词，如 A~20~B")
            elif token.kind not in _STARTS:
                break
            items.append(self._unary())
        return _and(items, start.pos)

    def _unexpected(self, token: _Token) -> RuleSyntaxError:
        if token.kind == ")":
            return self._fail(token, "多了一个右括号，前面没有对应的左括号")
        if token.kind == "&":
            return self._fail(
                token, f"“{self._symbol(token)}” 前面缺少关键词，两边都要有词"
            )
        if token.kind == "~":
            return self._fail(token, "~ 前面需要一个关键词，如 A~20~B")
        return self._fail(token, "此处需要一个关键词")

    def _unary(self) -> _Node:
        token = self._next()
        if token.kind == "-":
            if self._peek().kind not in _STARTS:
                raise self._fail(token, f"“{self._symbol(token)}” 后面缺少要排除的词")
            self._enter(token)
            node: _Node = _Not(self._unary(), token.pos)
            self.depth -= 1
            return node
        if token.kind == "title":
            if self._peek().kind not in _STARTS:
                raise self._fail(
                    token,
                    f"“{token.text}” 后面需要关键词或括号，如 title:(个税 | 社保)",
                )
            self._enter(token)
            outer, self.title_only = self.title_only, True
            node = self._unary()
            self.title_only = outer
            self.depth -= 1
            return node
        if token.kind == "term":
            term = self._term(token)
            if self._peek().kind == "~":
                return self._near(term)
            return term
        if token.kind == "regex":
            return self._regex(token)
        return self._group(token)

    def _term(self, token: _Token) -> _Term:
        return _Term(token.text, normalize(token.text), token.pos, self.title_only)

    def _regex(self, token: _Token) -> _Regex:
        assert token.pattern is not None  # set by the tokenizer
        return _Regex(token.text, token.pattern, token.pos, self.title_only)

    def _near(self, left: _Term) -> _Near:
        tilde = self._next()
        number = self._next()
        if (
            number.kind != "term"
            or not number.text.isascii()
            or (not number.text.isdigit())
        ):
            raise self._fail(tilde, "~ 后面需要数字，如 A~20~B")
        distance = int(number.text)
        if distance > _MAX_DISTANCE:
            raise self._fail(number, f"距离 {distance} 太大，最多 {_MAX_DISTANCE} 个字")
        second = self._next()
        if second.kind != "~":
            raise self._fail(number, "数字后面需要 ~，如 A~20~B")
        right = self._next()
        if right.kind != "term":
            raise self._fail(second, "~20~ 这样的距离后面需要一个关键词，如 A~20~B")
        if self._peek().kind == "~":
            raise self._fail(
                self._peek(),
                "~ 只能连接两个词；多个词请分组并用 & 连接，如 A~20~B & B~20~C",
            )
        return _Near(left, self._term(right), distance, left.pos)

    def _group(self, opening: _Token) -> _Node:
        if self._peek().kind == ")":
            raise self._fail(opening, "括号里没有内容")
        if self._peek().kind == "end":  # "个税 (": point at the "(", not past the end
            raise self._fail(opening, "括号没有闭合")
        self._enter(opening)
        node = self._or()
        self.depth -= 1
        if self._peek().kind != ")":
            raise self._fail(opening, "括号没有闭合")
        self._next()
        return node

    def _enter(self, token: _Token) -> None:
        """Count one level of nesting; the limit keeps recursion shallow."""
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self._fail(token, f"括号或排除符号嵌套太深（最多 {_MAX_DEPTH} 层）")
