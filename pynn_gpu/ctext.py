"""
C source text read the way the compiler reads it: comments, string and character literals,
words and other characters.

Whoever looks inside C text (the compile cache's key, the checks of a model's snippets)
reads it through these functions, so that a '/*' or '//' inside a string literal stays
text and a quote inside a comment stays comment. A regular expression for comments alone
gets this wrong: given `"/*"`, it would remove the code up to the next '*/'.

A comment or literal that is opened and never closed is an error of the text
(`UnclosedText`, raised by `tokens`): pasted into a kernel, it would swallow the
generated code after it.
"""

import re

# One scan from left to right: whichever of a comment or a literal starts first is taken
# whole, as the compiler does; a line comment goes on over a backslash-newline, as it does
# for the compiler.
_COMMENT = r"/\*.*?\*/|//(?:[^\n\\]|\\.)*"
_LITERAL = r""""(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'"""
_COMMENT_OR_LITERAL = re.compile(rf"(?P<comment>{_COMMENT})|(?P<literal>{_LITERAL})", re.S)
# ... and between them words and single other characters: a snippet's tokens. Where a
# '/*' or a quote is not closed, the whole comment or literal above does not match and
# the opening alone does: an unclosed comment or literal.
_TOKEN = re.compile(rf"(?P<comment>{_COMMENT})|(?P<literal>{_LITERAL})"
                    r"""|(?P<open_comment>/\*)|(?P<open_literal>["'])|\w+|\S""", re.S)


class UnclosedText(ValueError):
    """A comment, string or character literal that is opened and not closed."""


def strip_comments(code: str) -> str:
    """`code` with each comment replaced by a space (which keeps apart the tokens a comment
    separated); literals are left as they are."""
    return _COMMENT_OR_LITERAL.sub(
        lambda match: " " if match.lastgroup == "comment" else match.group(), code)


def _where(code, position):
    line = code.count("\n", 0, position) + 1
    column = position - (code.rfind("\n", 0, position) + 1) + 1
    return f"line {line}, column {column}"


def tokens(code: str) -> list:
    """The tokens of `code`, comments left out: words, literals (each one token) and other
    characters one by one. Raises UnclosedText, saying what and where, for a '/*' with no
    '*/' after it and for a string or character literal not closed on its line."""
    found = []
    for match in _TOKEN.finditer(code):
        kind = match.lastgroup
        if kind == "open_comment":
            raise UnclosedText(f"the comment opened by '/*' at {_where(code, match.start())} "
                               "is never closed by '*/'")
        if kind == "open_literal":
            quote = match.group()
            what = "string" if quote == '"' else "character"
            raise UnclosedText(f"the {what} literal opened by {quote!r} at "
                               f"{_where(code, match.start())} is not closed by {quote!r} "
                               "on its line")
        if kind != "comment":
            found.append(match.group())
    return found
