"""Putting untrusted text (entry names, captions, meta fields, error messages) into Markdown safely.

Streamlit renders Markdown in ``st.markdown``, ``st.caption``, ``st.error`` and friends (never raw
HTML unless asked, which this app never does). Markdown itself can still turn user text into
links, images, emphasis, LaTeX or coloured spans, so every user-provided string that goes into a
Markdown element passes through :func:`md_escape`; tables and ``st.text`` show text as is.
"""

from __future__ import annotations

import re
import string

_SPECIAL = re.compile("([" + re.escape(string.punctuation) + "])")


def md_escape(text: object) -> str:
    r"""``text`` with every ASCII punctuation character backslash-escaped (CommonMark renders
    ``\X`` as a literal ``X`` for any punctuation ``X``), on one line.

    >>> md_escape("<img src=x onerror=alert(1)> *bold* [a](b)")
    '\\<img src\\=x onerror\\=alert\\(1\\)\\> \\*bold\\* \\[a\\]\\(b\\)'
    """
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def short_hash(value: object, n: int = 12) -> str:
    """The first ``n`` characters of a hash, or ``—`` when there is none."""
    return "—" if value is None or value != value or not str(value) else str(value)[:n]
