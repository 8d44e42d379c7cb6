"""Parsing request parameters: a malformed value is a client error (400 or "not found"), never a
500 from the database."""

MAX_ID = 2**63 - 1  # bigint


def parse_id(value) -> int | None:
    """A primary key from a parameter, or None for anything that is not one (missing, text, a
    negative or out-of-range number, NUL bytes): a lookup with None finds nothing."""
    if value is None:
        return None
    text = str(value).strip()
    if not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None
