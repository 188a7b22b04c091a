"""Stage 1, parse: PxL source to a checked Python AST.

PxL is Python syntax. Pixie's parser (a libpypa fork) accepts one missing comma before a keyword
argument in a call; CPython does not, so on that specific syntax error we insert the comma and
retry, remembering where, so reported columns still point into the user's text.
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass, field

from .errors import CompilerError, ErrorDetail

__all__ = ["ParsedModule", "parse_pxl", "position_of"]

# A script with more repairs than this is not "one missing comma here and there".
_MAX_COMMA_REPAIRS = 16
_EXPR_END_TOKENS = {tokenize.NAME, tokenize.NUMBER, tokenize.STRING}
_EXPR_END_OPS = {")", "]", "}"}


@dataclass(frozen=True)
class ParsedModule:
    tree: ast.Module
    source: str
    # (line, column0) of every comma we inserted, in the repaired text.
    inserted_commas: tuple[tuple[int, int], ...] = field(default=())

    def position(self, node: ast.AST) -> tuple[int, int]:
        """1-based (line, column) of ``node`` in the original source."""
        line = getattr(node, "lineno", 0)
        col0 = getattr(node, "col_offset", 0)
        shift = sum(1 for ln, c in self.inserted_commas if ln == line and c < col0)
        return line, col0 - shift + 1


def position_of(module: ParsedModule | None, node: ast.AST | None) -> tuple[int, int]:
    if module is None or node is None:
        return 0, 0
    return module.position(node)


def _find_missing_comma(source: str, err: SyntaxError) -> tuple[int, int] | None:
    """Where to insert a comma: after the token that precedes ``name=`` inside the error span."""
    if "forgot a comma" not in (err.msg or ""):
        return None
    start = (err.lineno or 0, (err.offset or 1) - 1)
    end = (err.end_lineno or start[0], (err.end_offset or 1) - 1)
    try:
        tokens = [
            t
            for t in tokenize.generate_tokens(io.StringIO(source).readline)
            if t.type not in (tokenize.NL, tokenize.COMMENT, tokenize.NEWLINE, tokenize.INDENT)
        ]
    except (tokenize.TokenError, SyntaxError):
        return None
    for i in range(1, len(tokens) - 1):
        name, eq, prev = tokens[i], tokens[i + 1], tokens[i - 1]
        if not (start <= name.start <= end):
            continue
        if name.type != tokenize.NAME or eq.string != "=":
            continue
        if prev.type in _EXPR_END_TOKENS or prev.string in _EXPR_END_OPS:
            return prev.end
    return None


def _insert(source: str, at: tuple[int, int]) -> str:
    lines = source.splitlines(keepends=True)
    line, col = at
    text = lines[line - 1]
    lines[line - 1] = text[:col] + "," + text[col:]
    return "".join(lines)


def _parse_with_repairs(source: str) -> tuple[ast.Module, str, tuple[tuple[int, int], ...]]:
    text = source
    inserted: list[tuple[int, int]] = []
    first_error: SyntaxError | None = None
    for _ in range(_MAX_COMMA_REPAIRS + 1):
        try:
            return ast.parse(text, mode="exec"), text, tuple(inserted)
        except (RecursionError, MemoryError):
            raise CompilerError("syntax error: the script nests too deeply", 1, 1) from None
        except SyntaxError as err:
            first_error = first_error or err
            where = _find_missing_comma(text, err)
            if where is None:
                break
            text = _insert(text, where)
            inserted.append(where)
    assert first_error is not None
    # Report the first error, as the user wrote it (before any repair).
    line, column = first_error.lineno or 0, first_error.offset or 0
    if first_error.msg in (
        "unexpected indent",
        "unindent does not match any outer indentation level",
    ):
        # CPython points into the indentation; the caret belongs on the statement it shifts.
        lines = source.splitlines()
        if 0 < line <= len(lines):
            text = lines[line - 1]
            column = len(text) - len(text.lstrip()) + 1
    raise CompilerError(f"syntax error: {first_error.msg}", line, column) from None


_ALLOWED_STMTS = (
    ast.Import,
    ast.ImportFrom,
    ast.Expr,
    ast.Assign,
    ast.FunctionDef,
    ast.Return,
    ast.Pass,
)
_ALLOWED_EXPRS = (
    ast.Attribute,
    ast.BinOp,
    ast.BoolOp,
    ast.Call,
    ast.Compare,
    ast.Dict,
    ast.List,
    ast.Name,
    ast.Constant,
    ast.Subscript,
    ast.Tuple,
    ast.UnaryOp,
    ast.keyword,
    ast.arguments,
    ast.arg,
    ast.Load,
    ast.Store,
    ast.operator,
    ast.unaryop,
    ast.cmpop,
    ast.boolop,
    ast.alias,
)

_STMT_NAMES = {
    ast.If: "if statements",
    ast.For: "for loops",
    ast.While: "while loops",
    ast.Try: "try statements",
    ast.ClassDef: "class definitions",
    ast.AugAssign: "augmented assignment (+= etc.)",
    ast.With: "with statements",
    ast.Lambda: "lambda expressions",
    ast.IfExp: "conditional expressions (a if c else b)",
    ast.ListComp: "list comprehensions",
    ast.DictComp: "dict comprehensions",
    ast.SetComp: "set comprehensions",
    ast.GeneratorExp: "generator expressions",
    ast.JoinedStr: "f-strings",
    ast.Starred: "starred expressions",
    ast.AnnAssign: "annotated assignment",
    ast.Delete: "del statements",
    ast.Global: "global statements",
    ast.Nonlocal: "nonlocal statements",
    ast.Await: "await",
    ast.AsyncFunctionDef: "async functions",
    ast.Set: "set literals",
    ast.Slice: "slices",
    ast.NamedExpr: "assignment expressions (:=)",
}


class _Checker(ast.NodeVisitor):
    def __init__(self, module: ParsedModule) -> None:
        self.module = module
        self.errors: list[ErrorDetail] = []
        self._function_depth = 0

    def _error(self, node: ast.AST, message: str) -> None:
        line, col = self.module.position(node)
        self.errors.append(ErrorDetail(message, line, col))

    def generic_visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.Module):
            super().generic_visit(node)
            return
        if not isinstance(node, (*_ALLOWED_STMTS, *_ALLOWED_EXPRS)):
            what = _STMT_NAMES.get(type(node), type(node).__name__)
            self._error(node, f"{what} are not supported in PxL")
            return
        if isinstance(node, ast.Return) and self._function_depth == 0:
            self._error(node, "'return' outside a function")
            return
        if isinstance(node, ast.FunctionDef):
            self._function_depth += 1
            try:
                super().generic_visit(node)
            finally:
                self._function_depth -= 1
            return
        if isinstance(node, ast.Assign) and len(node.targets) != 1:
            self._error(node, "only single-target assignment is supported in PxL")
            return
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Tuple | ast.List):
            self._error(node, "tuple unpacking assignment is not supported in PxL")
            return
        if isinstance(node, ast.Compare) and len(node.ops) != 1:
            self._error(node, "chained comparisons are not supported in PxL")
            return
        if isinstance(node, ast.Compare) and isinstance(
            node.ops[0], ast.In | ast.NotIn | ast.Is | ast.IsNot
        ):
            self._error(node, "'in' and 'is' comparisons are not supported in PxL")
            return
        if isinstance(node, ast.Constant) and not isinstance(
            node.value, bool | int | float | str | type(None)
        ):
            self._error(node, f"{type(node.value).__name__} literals are not supported in PxL")
            return
        super().generic_visit(node)


def parse_pxl(source: str) -> ParsedModule:
    """Parse and check that only PxL's subset of Python is used; all violations are reported."""
    tree, _text, inserted = _parse_with_repairs(source)
    module = ParsedModule(tree, source, inserted)
    checker = _Checker(module)
    checker.visit(tree)
    if checker.errors:
        raise CompilerError.from_details(checker.errors)
    return module
