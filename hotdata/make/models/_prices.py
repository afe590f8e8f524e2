"""What model calls cost, from a maintained price table (the ``genai-prices`` package).

A price is known (US dollars), free (the embedded model runs on this machine), or unknown:
never a guess and never 0 for a model the table does not know. OpenAI bills its Batch API
at half the synchronous price; ``genai-prices`` has no batch rates, so the half is applied
here, and only where the table names OpenAI as the provider.

    >>> price_of("hotdata-local", 3, 1000, 200).describe()
    'free (local model)'
    >>> price_of("no-such-model", 1, 10, 10).describe()
    'unknown'
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal

from .._config import DEFAULT_MODEL

__all__ = ["BATCH_DISCOUNT_PROVIDERS", "Price", "format_usd", "price_of"]

# Providers whose batch API costs half the synchronous price (OpenAI's Batch API: 50% off).
BATCH_DISCOUNT_PROVIDERS = frozenset({"openai"})


@dataclass(frozen=True)
class Price:
    """The price of some calls to one model: ``usd`` is None when unknown (``free``: 0, local)."""

    model: str
    usd: Decimal | None
    free: bool = False
    provider: str | None = None

    @property
    def known(self) -> bool:
        return self.usd is not None

    @property
    def batch_discount(self) -> bool:
        """Whether the provider's batch API is half price."""
        return self.provider in BATCH_DISCOUNT_PROVIDERS

    def halved(self) -> Price:
        """The batch price: half where the provider's batch is half price, else unchanged."""
        if self.usd is None or not self.batch_discount:
            return self
        return Price(self.model, self.usd / 2, self.free, self.provider)

    def describe(self) -> str:
        if self.free:
            return "free (local model)"
        return "unknown" if self.usd is None else format_usd(self.usd)


def format_usd(usd: Decimal) -> str:
    """``$0.0123``: four decimals below a dollar (a fixture often costs a fraction of a cent).

    >>> format_usd(Decimal("0.000042")), format_usd(Decimal("0.0123")), format_usd(Decimal("12.5"))
    ('$0.000042', '$0.0123', '$12.50')
    """
    if usd == 0:
        return "$0"
    if usd >= 1:
        return f"${usd:,.2f}"
    # four decimals, or two significant digits below a hundredth of a cent ($0.000042)
    return f"${usd:.{max(4, 1 - usd.adjusted())}f}"


@functools.cache
def _price_per_request(model: str) -> tuple[Decimal, str] | None:
    """What one call to ``model`` costs before its tokens (most: 0) and the provider the table
    prices it by; None when the table does not know the model."""
    from genai_prices import Usage, calc_price  # here: only an estimate loads the price table

    try:
        calc = calc_price(Usage(input_tokens=0, output_tokens=0), model)
    except LookupError:
        return None
    return Decimal(calc.total_price), calc.provider.id


def price_of(model: str, calls: int, input_tokens: int, output_tokens: int) -> Price:
    """The synchronous price of ``calls`` calls to ``model`` taking these tokens in all."""
    if model == DEFAULT_MODEL:
        return Price(model, Decimal(0), free=True)
    per_request = _price_per_request(model)
    if per_request is None:
        return Price(model, None)
    if calls == 0:
        return Price(model, Decimal(0), provider=per_request[1])
    from genai_prices import Usage, calc_price

    # the table counts one request per calculation: the others' request price is added
    calc = calc_price(Usage(input_tokens=input_tokens, output_tokens=output_tokens), model)
    usd = Decimal(calc.total_price) + (calls - 1) * per_request[0]
    return Price(model, usd, provider=per_request[1])
