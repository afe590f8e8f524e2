"""``LlmClient``: models reached through Simon Willison's ``llm`` library, by model id.

Every provider with an ``llm`` plugin works, and any OpenAI-compatible endpoint
through ``extra-openai-models.yaml`` in the ``llm`` user directory (``LLM_USER_PATH``).
Keys come from ``llm``'s key store or the provider's environment variable.

Transient faults (429, 5xx, connection errors, timeouts, garbled bodies) are
retried with exponential backoff and jitter, honouring ``Retry-After``; 401/403
and missing keys fail at once. Error messages pass through ``redact`` so no key
value from the environment or ``llm``'s key store can reach a log or a record.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import threading
from collections.abc import Callable, Sequence
from typing import Any

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_exponential, wait_random

from ._config import RetrySettings
from ._errors import ConfigError, ModelError
from ._model import ModelReply, ModelRequest
from ._secrets import redact

__all__ = ["LlmClient", "classify", "open_model"]


class _Transient(Exception):
    """A failed attempt worth retrying."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    if status is None:
        status = getattr(getattr(exc, "response", None), "status_code", None)
    return status if isinstance(status, int) else None


def _retry_after(exc: BaseException) -> float | None:
    headers = getattr(getattr(exc, "response", None), "headers", None)
    value = headers.get("retry-after") if headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def classify(exc: BaseException, model_id: str) -> BaseException:
    """``_Transient`` for faults worth retrying, else a ``ModelError`` saying what to do."""
    import llm

    if isinstance(exc, ModelError):
        return exc
    if isinstance(exc, llm.errors.NeedsKeyException):
        return ModelError(f"model {model_id}: {redact(str(exc))}")
    status = _status_of(exc)
    name = type(exc).__name__
    message = redact(str(exc))[:300]
    if status in (401, 403):
        return ModelError(
            f"model {model_id}: the provider refused the credentials (HTTP {status}). Set the key with "
            "`llm keys set <provider>` or the provider's environment variable (e.g. OPENAI_API_KEY)"
        )
    if status is not None and (status in (408, 409, 429) or status >= 500):
        return _Transient(f"HTTP {status}: {message}", _retry_after(exc))
    if isinstance(exc, TimeoutError | ConnectionError | json.JSONDecodeError) or any(
        word in name
        for word in ("Timeout", "Connection", "RemoteProtocol", "ReadError", "ResponseValidation")
    ):
        return _Transient(f"{name}: {message}")
    if status is not None:
        return ModelError(f"model {model_id}: HTTP {status}: {message}")
    return ModelError(f"model {model_id}: {name}: {message}")


def finish_reason(response_json: Any) -> str | None:
    """Why the model stopped, from the provider's response body as ``llm`` keeps it."""
    if not isinstance(response_json, dict):
        return None
    choices = response_json.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        reason = choices[0].get("finish_reason")
    else:
        reason = response_json.get("finish_reason") or response_json.get("stop_reason")
    if reason == "max_tokens":  # Anthropic's word for it
        reason = "length"
    return reason if isinstance(reason, str) else None


def register_plugins(modules: Sequence[str]) -> None:
    """Register project-local ``llm`` plugin modules (``llm_plugins`` in ``[tool.hotdata]``).

    The same hook an installed plugin's entry point provides, for modules that live
    in the project (or test doubles that must not be installed for every user).
    """
    import llm

    for name in modules:
        if llm.plugins.pm.get_plugin(name) is not None:
            continue
        try:
            module = importlib.import_module(name)
        except Exception as exc:
            raise ConfigError(
                f"llm_plugins in [tool.hotdata]: cannot import {name!r} ({type(exc).__name__}: {exc})"
            ) from None
        if not hasattr(module, "register_models"):
            raise ConfigError(
                f"llm_plugins in [tool.hotdata]: {name!r} has no register_models hook; an llm plugin "
                "defines `@llm.hookimpl def register_models(register): ...`"
            )
        llm.plugins.pm.register(module, name=name)


# llm loads its plugins lazily and not thread-safely (a second thread can see a half-loaded
# plugin manager); several event loops open clients at once, so opening is serialized.
_OPENING = threading.Lock()


def open_model(model_id: str, retries: RetrySettings | None = None, plugins: Sequence[str] = ()) -> LlmClient:
    """The client for ``model_id``: any model an ``llm`` plugin registers (the only way in)."""
    with _OPENING:
        register_plugins(plugins)
        return LlmClient(model_id, retries)


class LlmClient:
    """Async models where the plugin provides them; sync models run in a worker thread."""

    def __init__(self, model_id: str, retries: RetrySettings | None = None) -> None:
        try:
            import llm
        except ImportError:
            raise ModelError(f"model {model_id!r} needs the 'llm' package: pip install -e '.[dev]'") from None
        self.model_id = model_id
        self.retries = retries or RetrySettings()
        self._async: Any = None
        self._sync: Any = None
        try:
            self._async = llm.get_async_model(model_id)
        except llm.UnknownModelError:
            try:
                self._sync = llm.get_model(model_id)
            except llm.UnknownModelError:
                raise ModelError(
                    f"unknown model {model_id!r}; `llm models` lists the installed ones, "
                    "`llm install <plugin>` adds providers, and extra-openai-models.yaml in the "
                    "llm user directory adds OpenAI-compatible endpoints"
                ) from None
        model = self._async or self._sync
        self.supports_schema = bool(getattr(model, "supports_schema", False))
        # A small model copies re-ask feedback into its answers: such models are resampled instead.
        self.copies_feedback = bool(getattr(model, "hotdata_copies_feedback", False))
        self.option_names = frozenset(getattr(model.Options, "model_fields", {}))
        self._bound_sdk_retries(self._async or self._sync)

    def _bound_sdk_retries(self, model: Any) -> None:
        # The OpenAI SDK retries twice on its own; our tenacity loop is the one
        # budget, so its clients are made with max_retries=0. And llm builds a new
        # SDK client (a new connection pool and TLS context) for every prompt; one
        # per key is enough. The model object is our own instance (llm builds a new
        # one per lookup), so this touches no one else's state.
        get_client: Callable[..., Any] | None = getattr(model, "get_client", None)
        if get_client is None:
            return
        timeout = self.retries.request_timeout
        clients: dict[tuple[Any, ...], Any] = {}

        def bounded(key: Any = None, *, async_: bool = False) -> Any:
            cache_key = (key, async_)
            client = clients.get(cache_key)
            if client is None:
                client = get_client(key, async_=async_)
                with_options = getattr(client, "with_options", None)
                if with_options is not None:
                    client = with_options(max_retries=0, timeout=timeout)
                clients[cache_key] = client
            return client

        model.get_client = bounded

    async def _once(self, request: ModelRequest) -> ModelReply:
        kwargs: dict[str, Any] = dict(request.options)
        if request.json_schema is not None and self.supports_schema:
            kwargs["schema"] = dict(request.json_schema)
        if self._async is not None:
            # not streamed: fixtures need the whole answer, and one JSON body parses faster than SSE chunks
            response = self._async.prompt(request.prompt, system=request.system, stream=False, **kwargs)
            text = await response.text()
            usage = await response.usage()
        else:

            def run() -> tuple[str, Any, Any]:
                response = self._sync.prompt(request.prompt, system=request.system, stream=False, **kwargs)
                return response.text(), response.usage(), response

            text, usage, response = await asyncio.to_thread(run)
        if not text.strip():
            raise _Transient("the model returned an empty answer")
        return ModelReply(
            text=text,
            input_tokens=usage.input,
            output_tokens=usage.output,
            finish_reason=finish_reason(getattr(response, "response_json", None)),
        )

    async def complete(self, request: ModelRequest) -> ModelReply:
        settings = self.retries
        backoff = wait_exponential(
            multiplier=settings.backoff_initial, max=settings.backoff_max
        ) + wait_random(0, settings.backoff_initial)

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            hinted = getattr(exc, "retry_after", None)
            computed: float = backoff(state)
            return max(computed, min(hinted, settings.backoff_max)) if hinted is not None else computed

        async def attempt() -> ModelReply:
            try:
                return await asyncio.wait_for(self._once(request), timeout=settings.request_timeout)
            except TimeoutError:
                raise _Transient(
                    f"no answer within request_timeout = {settings.request_timeout:g}s"
                ) from None
            except (ModelError, _Transient):
                raise
            except Exception as exc:
                raise classify(exc, self.model_id) from None

        try:
            async for try_ in AsyncRetrying(
                stop=stop_after_attempt(settings.max_attempts),
                wait=wait,
                retry=retry_if_exception(lambda e: isinstance(e, _Transient)),
                reraise=True,
            ):
                with try_:
                    return await attempt()
        except _Transient as exc:
            raise ModelError(
                f"model {self.model_id}: gave up after {settings.max_attempts} attempt(s); last error: {exc}. "
                "Check the provider's status, or raise retries.max_attempts / retries.request_timeout"
            ) from None
        raise AssertionError("unreachable: tenacity either returns or raises")
