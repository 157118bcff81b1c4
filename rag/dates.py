"""Month names and date patterns: the one place that knows how dates are written.

Loaders read a document's own date with them; question analysis recognises dates and months
in questions and sentences with the same names.
"""

from __future__ import annotations

import re
from datetime import date

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
FULL_MONTH = "(?:" + "|".join(name.capitalize() for name in MONTHS) + ")"  # "March", as written in prose
_MONTH_NUMBERS = {name[:3]: number for number, name in enumerate(MONTHS, 1)}  # "sep" for Sep, Sept, September
_MONTH = (
    r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
DATE_PATTERNS = (
    re.compile(r"\b(?P<year>(?:19|20)\d\d)[.\-/](?P<month>\d{1,2})[.\-/](?P<day>\d{1,2})\b"),
    re.compile(rf"\b{_MONTH}\s*(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s*(?P<year>(?:19|20)\d\d)\b", re.IGNORECASE),
    re.compile(rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s*{_MONTH}\b[^\n]{{0,30}}?\b(?P<year>(?:19|20)\d\d)\b",
               re.IGNORECASE),
)


def dates_in(line: str) -> list[date]:
    """Every valid calendar date written in ``line`` (``2024.1.30``, ``March 4, 2021``, ``4th March 2021``)."""
    found = []
    for pattern in DATE_PATTERNS:
        for match in pattern.finditer(line):
            month = match.group("month")
            number = int(month) if month.isdigit() else _MONTH_NUMBERS[month.lower()[:3]]
            try:
                found.append(date(int(match.group("year")), number, int(match.group("day"))))
            except ValueError:
                continue
    return found


def has_date(line: str) -> bool:
    return any(pattern.search(line) for pattern in DATE_PATTERNS)
