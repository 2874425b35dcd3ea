"""Helpers for lead-lookup plugins (CRMs): a sync SDK call within a time budget.

A lookup must never hold up the call: past its budget the call goes on without CRM
context, and the report's notes say why.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .calls import CallContext

T = TypeVar("T")
logger = logging.getLogger("voicekit.lookups")


class LookupAbandoned(Exception):
    """The lookup ran out of time or failed; the call's notes already say why."""


async def lookup_within_budget(
    call: CallContext,
    source: str,
    find: Callable[..., T],
    *args: Any,
    budget: float,
    errors: tuple[type[Exception], ...] = (Exception,),
    **kwargs: Any,
) -> T:
    """Run the blocking ``find(*args, timeout=budget + 1, **kwargs)`` in a thread and
    return its result.

    Raises :class:`LookupAbandoned` when it takes more than ``budget`` seconds or raises
    one of ``errors``, after adding a note like ``"hubspot: lookup timed out after 1.5 s;
    continuing without CRM context"`` to ``call`` (the error text must not carry secrets).
    Other exceptions propagate.

    The HTTP timeout handed to ``find`` (budget + 1 s) only makes the abandoned thread
    finish soon after; ``asyncio.wait_for`` enforces the budget.
    """
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(find, *args, timeout=budget + 1.0, **kwargs), timeout=budget
        )
    except (asyncio.TimeoutError, TimeoutError):
        call.note(f"{source}: lookup timed out after {budget:g} s; continuing without CRM context")
        raise LookupAbandoned(source) from None
    except errors as exc:
        logger.warning("%s lookup failed: %s", source, exc)
        call.note(f"{source}: lookup failed ({exc}); continuing without CRM context")
        raise LookupAbandoned(source) from None
