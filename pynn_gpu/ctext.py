"""
C source text read the way the compiler reads it: comments, string and character literals,
words and other characters.

Whoever looks inside C text (the compile cache's key, the checks of a model's snippets)
reads it through these functions, so that a '/*' or '//' inside a string literal stays
text and a quote inside a comment stays comment. A regular expression for comments alone
gets this wrong: given `"/*"`, it would remove the code up to the next '*/'.
"""

import re

# One scan from left to right: whichever of a comment or a literal starts first is taken
# whole, as the compiler does.
_COMMENT = r"/\*.*?\*/|//[^\n]*"
_LITERAL = r""""(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'"""
_COMMENT_OR_LITERAL = re.compile(rf"(?P<comment>{_COMMENT})|(?P<literal>{_LITERAL})", re.S)
# ... and between them words and single other characters: a snippet's tokens
_TOKEN = re.compile(rf"(?P<comment>{_COMMENT})|(?P<literal>{_LITERAL})|\w+|\S", re.S)


def strip_comments(code: str) -> str:
    """`code` with each comment replaced by a space (which keeps apart the tokens a comment
    separated); literals are left as they are."""
    return _COMMENT_OR_LITERAL.sub(
        lambda match: " " if match.lastgroup == "comment" else match.group(), code)


def tokens(code: str) -> list:
    """The tokens of `code`, comments left out: words, literals (each one token) and other
    characters one by one."""
    return [match.group() for match in _TOKEN.finditer(code)
            if match.lastgroup != "comment"]
