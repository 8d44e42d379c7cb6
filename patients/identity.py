"""Generated (never real) identity numbers for demo data, tests and the benchmark."""

import datetime
import random

from stdnum.cn import ric


def generated_id_number(rng: random.Random, *, county_code: str, birth: datetime.date, male: bool) -> str:
    """A well-formed 居民身份证号: address code, birth date, sequence (odd for men), check digit.
    The sequence is random, so the number belongs to nobody we know of."""
    sequence = rng.randrange(0, 500) * 2 + (1 if male else 0)
    body = f"{county_code[:6]}{birth:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")  # it reads the first 17 characters
