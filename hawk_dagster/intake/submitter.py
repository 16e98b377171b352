"""Who submitted a config dropped into a configs folder: a ``# hawk-submitted-by: "<subject>"`` line.

The API server writes configs on its callers' behalf, so the sensor (another process, maybe another machine) must
learn the submitter from the file itself. The server always replaces whatever such line a body had with the
authenticated subject, so a caller cannot claim to be someone else; a config dropped by hand without the line is
recorded as submitted by the sensor's user, as before. In a shared deployment only the server and the operators
may write the configs folder (the chart's IAM and RBAC), which is what makes the line trustworthy.
"""

from __future__ import annotations

import json
import re
from typing import Final

SUBMITTED_BY_COMMENT: Final = "hawk-submitted-by"
RESUMED_AT_COMMENT: Final = "hawk-resumed-at"
"""A resume request's mark: a new line means new content, so the sensor starts the scan's cells again."""

_LINE = re.compile(rf"^#[ \t]*{SUBMITTED_BY_COMMENT}:[ \t]*(.*?)[ \t]*$", re.MULTILINE)
_ANY_MARK = re.compile(rf"^#[ \t]*({SUBMITTED_BY_COMMENT}|{RESUMED_AT_COMMENT}):.*(\r?\n|$)", re.MULTILINE)


def submitted_by(text: str) -> str | None:
    """The subject a config's first ``# hawk-submitted-by:`` line names (JSON-quoted), or None."""
    match = _LINE.search(text)
    if match is None:
        return None
    try:
        value = json.loads(match.group(1))
    except ValueError:
        return None
    return value if isinstance(value, str) and value else None


def with_marks(text: str, subject: str, *, resumed_at: str | None = None) -> str:
    """The config with any submitter or resume lines it had replaced by ``subject``'s (and ``resumed_at``'s),
    prepended; nothing else changes."""
    stripped = _ANY_MARK.sub("", text)
    header = f"# {SUBMITTED_BY_COMMENT}: {json.dumps(subject)}\n"
    if resumed_at is not None:
        header += f"# {RESUMED_AT_COMMENT}: {resumed_at}\n"
    return header + stripped
