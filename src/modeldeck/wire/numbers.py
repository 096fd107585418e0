"""Integers a request may carry: no more than a JSON number holds exactly.

A JSON reader that parses numbers as IEEE doubles (JavaScript, and schemathesis when it
compares a value with a ``maximum``) cannot tell 2**63 from 2**63 + 191, so a bound past
2**53 - 1 states no limit the document can keep. Bounds stop at :data:`MAX_EXACT`; every store
column (BIGINT) holds more.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

MAX_EXACT = 2**53 - 1
MAX_INT32 = 2**31 - 1  # an INTEGER column
MAX_MILLIS = MAX_EXACT  # a time in epoch milliseconds, or a span of them

Int = Annotated[int, Field(ge=-MAX_EXACT, le=MAX_EXACT)]
Count = Annotated[int, Field(ge=0, le=MAX_EXACT)]
Millis = Annotated[int, Field(ge=0, le=MAX_MILLIS)]
Id = Annotated[int, Field(ge=1, le=MAX_EXACT)]  # a row id the store numbered
