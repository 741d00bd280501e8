"""The keyword rule language (关键词表达式): parse an expression, match text against it.

Holds `compile_expr`, the compiled `Matcher` and `RuleSyntaxError`. Which rule
applies to which source, levels and hit records are left to the scanner.

Syntax, from loosest to tightest binding::

    个税 | 社保            OR: either side ("|" or full-width "｜")
    个税 退税              AND: terms separated by whitespace must all occur
    -招聘   !招聘          NOT: the term (or group) must not occur
    (发票 | 税务局) 投诉    parentheses group ("()" or full-width "（）")
    "税务 稽查"            a phrase containing spaces ("..." or “...”)

Examples: ``个税 退税 -招聘``, ``(发票 | 税务局) (投诉 | 举报)``, ``"税务 稽查"``.

A term is a substring match, case-insensitive on NFKC-normalised text, so full-width
letters and digits match half-width ones (``ＥＴＣ`` matches ``etc``); runs of
whitespace count as one space. ``-`` or ``!`` only negates at the start of a word
(``COVID-19`` is one term). Every expression, and every ``|`` alternative, needs at
least one term to look for: ``-招聘`` alone would match almost everything.

Errors raise `RuleSyntaxError` with a 0-based `position`; its text shows it 1-based
(``第 5 个字符处：括号没有闭合``).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from bot.errors import UserError

_OPEN = "(（"
_CLOSE = ")）"
_OR = "|｜"
_NOT = "-!－！"
_QUOTES = {'"': '"', "“": "”"}
_QUOTE_CLOSERS = '"”'
_SPECIAL = _OPEN + _CLOSE + _OR + "".join(_QUOTES) + _QUOTE_CLOSERS
_MAX_DEPTH = 16


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
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


# --- syntax tree -------------------------------------------------------------------


@dataclass(frozen=True)
class _Term:
    text: str  # as written (NFKC, whitespace collapsed), for terms()
    key: str  # normalised, for matching
    pos: int

    def test(self, text: str) -> bool:
        return self.key in text

    def positives(self, negated: bool) -> list[_Term]:
        return [] if negated else [self]


@dataclass(frozen=True)
class _Not:
    child: _Node
    pos: int

    def test(self, text: str) -> bool:
        return not self.child.test(text)

    def positives(self, negated: bool) -> list[_Term]:
        return self.child.positives(not negated)


@dataclass(frozen=True)
class _And:
    children: tuple[_Node, ...]
    pos: int

    def test(self, text: str) -> bool:
        return all(child.test(text) for child in self.children)

    def positives(self, negated: bool) -> list[_Term]:
        return [t for child in self.children for t in child.positives(negated)]


@dataclass(frozen=True)
class _Or:
    children: tuple[_Node, ...]
    pos: int

    def test(self, text: str) -> bool:
        return any(child.test(text) for child in self.children)

    def positives(self, negated: bool) -> list[_Term]:
        return [t for child in self.children for t in child.positives(negated)]


_Node = _Term | _Not | _And | _Or


class Matcher:
    """A compiled expression. `expr` is the source text."""

    def __init__(self, expr: str, root: _Node) -> None:
        self.expr = expr
        self._root = root
        seen: dict[str, _Term] = {}
        for term in root.positives(False):
            seen.setdefault(term.key, term)
        self._positives = list(seen.values())

    def __repr__(self) -> str:
        return f"Matcher({self.expr!r})"

    def matches(self, text: str) -> bool:
        """Whether `text` satisfies the expression."""
        return self._root.test(normalize(text))

    def terms(self) -> list[str]:
        """The terms to look for (not the excluded ones), in order, without repeats."""
        return [term.text for term in self._positives]

    def explain(self, text: str) -> list[str]:
        """The terms to look for that occur in `text`; empty when it does not match."""
        normal = normalize(text)
        if not self._root.test(normal):
            return []
        return [term.text for term in self._positives if term.test(normal)]


def compile_expr(expr: str) -> Matcher:
    """Parse `expr`; raise `RuleSyntaxError` naming the position and the problem."""
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
    if isinstance(node, _Term):
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


# --- tokenizer and parser ----------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # "term", "(", ")", "|", "-", "end"
    pos: int
    text: str = ""


def _tokenize(expr: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(expr)
    while i < n:
        ch = expr[i]
        if ch.isspace():
            i += 1
        elif ch in _OPEN:
            tokens.append(_Token("(", i))
            i += 1
        elif ch in _CLOSE:
            tokens.append(_Token(")", i))
            i += 1
        elif ch in _OR:
            tokens.append(_Token("|", i))
            i += 1
        elif ch in _NOT:
            tokens.append(_Token("-", i))
            i += 1
        elif ch in _QUOTES:
            end = _find_any(expr, _QUOTE_CLOSERS, i + 1)
            if end < 0:
                raise RuleSyntaxError(expr, i, "引号没有闭合")
            phrase = " ".join(unicodedata.normalize("NFKC", expr[i + 1 : end]).split())
            if not phrase:
                raise RuleSyntaxError(expr, i, "引号里没有内容")
            tokens.append(_Token("term", i, phrase))
            i = end + 1
        elif ch in _QUOTE_CLOSERS:
            raise RuleSyntaxError(expr, i, "多了一个右引号，前面没有对应的左引号")
        else:
            start = i
            while i < n and not expr[i].isspace() and expr[i] not in _SPECIAL:
                i += 1
            tokens.append(
                _Token("term", start, unicodedata.normalize("NFKC", expr[start:i]))
            )
    tokens.append(_Token("end", n))
    return tokens


def _find_any(text: str, chars: str, start: int) -> int:
    hits = [i for i in (text.find(c, start) for c in chars) if i >= 0]
    return min(hits, default=-1)


class _Parser:
    """Recursive descent: or := and ("|" and)*; and := unary+; unary := "-" unary
    | primary; primary := term | "(" or ")"."""

    def __init__(self, expr: str) -> None:
        self.expr = expr
        self.tokens = _tokenize(expr)
        self.i = 0
        self.depth = 0

    def parse(self) -> _Node:
        if self.tokens[0].kind == "end":
            raise RuleSyntaxError(self.expr, 0, "表达式是空的，至少要写一个关键词")
        node = self._or()
        token = self._peek()
        if token.kind == ")":
            raise RuleSyntaxError(
                self.expr, token.pos, "多了一个右括号，前面没有对应的左括号"
            )
        return node

    def _peek(self) -> _Token:
        return self.tokens[self.i]

    def _next(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def _fail(self, token: _Token, reason: str) -> RuleSyntaxError:
        return RuleSyntaxError(self.expr, token.pos, reason)

    def _or(self) -> _Node:
        start = self._peek()
        if start.kind == "|":
            raise self._fail(
                start, f"“{self.expr[start.pos]}” 前面缺少关键词，两边都要有词"
            )
        branches = [self._and()]
        while self._peek().kind == "|":
            bar = self._next()
            if self._peek().kind in ("|", ")", "end"):
                raise self._fail(
                    bar, f"“{self.expr[bar.pos]}” 后面缺少关键词，两边都要有词"
                )
            branches.append(self._and())
        return branches[0] if len(branches) == 1 else _Or(tuple(branches), start.pos)

    def _and(self) -> _Node:
        start = self._peek()
        items: list[_Node] = []
        while self._peek().kind in ("term", "-", "("):
            items.append(self._unary())
        if not items:  # only a stray ")" can get here
            raise self._fail(start, "多了一个右括号，前面没有对应的左括号")
        return items[0] if len(items) == 1 else _And(tuple(items), start.pos)

    def _unary(self) -> _Node:
        token = self._next()
        if token.kind == "-":
            if self._peek().kind not in ("term", "-", "("):
                raise self._fail(token, f"“{self.expr[token.pos]}” 后面缺少要排除的词")
            self._enter(token)
            node = _Not(self._unary(), token.pos)
            self.depth -= 1
            return node
        if token.kind == "term":
            return _Term(token.text, normalize(token.text), token.pos)
        return self._group(token)

    def _group(self, opening: _Token) -> _Node:
        if self._peek().kind == ")":
            raise self._fail(opening, "括号里没有内容")
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
