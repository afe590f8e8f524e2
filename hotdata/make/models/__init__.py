"""The model seam: how the generate stage reaches a model, and nothing else does.

``_seam`` is what a model is asked and answers (``ModelRequest``, ``ModelReply``) and the
small interface the generate stage talks to (``ModelClient``). ``_llm`` reaches every
model through ``llm``, by model id (the embedded default, providers, test doubles);
``_limits`` paces the requests to one endpoint and model (adaptive concurrency);
``_prices`` says what calls cost (the ``genai-prices`` table; the embedded model is free).
"""

from ._limits import AdaptiveLimiter, AttemptResult, RateLimits, Ticket, current_ticket, parse_reset
from ._llm import LlmClient, ModelLookup, classify, endpoint_of, lookup_model, open_model
from ._prices import BATCH_DISCOUNT_PROVIDERS, Price, format_usd, price_of
from ._seam import ModelCapabilities, ModelClient, ModelReply, ModelRequest

__all__ = [
    "BATCH_DISCOUNT_PROVIDERS",
    "AdaptiveLimiter",
    "AttemptResult",
    "LlmClient",
    "ModelCapabilities",
    "ModelClient",
    "ModelLookup",
    "ModelReply",
    "ModelRequest",
    "Price",
    "RateLimits",
    "Ticket",
    "classify",
    "current_ticket",
    "endpoint_of",
    "format_usd",
    "lookup_model",
    "open_model",
    "parse_reset",
    "price_of",
]
