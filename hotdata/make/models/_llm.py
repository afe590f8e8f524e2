"""``LlmClient``: models reached through Simon Willison's ``llm`` library, by model id.

Every provider with an ``llm`` plugin works, and any OpenAI-compatible endpoint
through ``extra-openai-models.yaml`` in the ``llm`` user directory (``LLM_USER_PATH``).
Keys come from ``llm``'s key store or the provider's environment variable.

Transient faults (429, 5xx, connection errors, timeouts, garbled bodies) are
retried with exponential backoff and jitter, honouring ``Retry-After``; 401/403
and missing keys fail at once. Error messages pass through ``redact`` so no key
value from the environment or ``llm``'s key store can reach a log or a record.

Every HTTP attempt (not the backoff between attempts) holds a slot of the
(endpoint, model)'s ``AdaptiveLimiter`` (``_limits``), which all fixtures of the
run share; for OpenAI and OpenAI-compatible models the limiter also reads the
``x-ratelimit-*`` headers of every response, through a response hook on the SDK's
HTTP client.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import importlib
import json
import os
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .._config import RetrySettings
from .._errors import ConfigError, ModelError
from .._secrets import redact
from ._limits import AdaptiveLimiter, AttemptResult, RateLimits, current_ticket
from ._seam import ModelCapabilities, ModelReply, ModelRequest

if TYPE_CHECKING:
    from tenacity import RetryCallState

__all__ = ["LlmClient", "ModelLookup", "classify", "endpoint_of", "lookup_model", "open_model"]

OPENAI_API_BASE = "https://api.openai.com/v1"


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


def _headers_of(exc: BaseException) -> Any:
    return getattr(getattr(exc, "response", None), "headers", None)


def _retry_after(exc: BaseException) -> float | None:
    """The wait a refusal asks for: ``retry-after-ms`` (OpenAI's, precise) or ``Retry-After`` seconds."""
    headers = _headers_of(exc)
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        try:
            if value is not None:
                return max(0.0, float(value) * scale)
        except ValueError:
            continue
    return None


def endpoint_of(model: Any) -> str:
    """Where an ``llm`` model's requests go: its ``api_base``, OpenAI's for llm's OpenAI models
    (or ``OPENAI_BASE_URL``, which the SDK reads), else the plugin that serves it."""
    api_base = getattr(model, "api_base", None)
    if api_base:
        return str(api_base).rstrip("/")
    if callable(getattr(model, "get_client", None)):
        return (os.environ.get("OPENAI_BASE_URL") or OPENAI_API_BASE).rstrip("/")
    return f"llm:{type(model).__module__}"


def classify(exc: BaseException, model_id: str) -> BaseException:
    """``_Transient`` for faults worth retrying, else a ``ModelError`` saying what to do."""
    import llm

    if isinstance(exc, ModelError):
        return exc
    if isinstance(exc, llm.errors.ModelError):
        # llm's own error type (a missing key, a plugin's complete message such as the
        # embedded model's crash report): said as it is, whole
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


def open_model(
    model_id: str,
    retries: RetrySettings | None = None,
    plugins: Sequence[str] = (),
    *,
    limits: RateLimits | None = None,
    lookup: ModelLookup | None = None,
) -> LlmClient:
    """The client for ``model_id``: any model an ``llm`` plugin registers (the only way in).

    ``limits``: the build's limiters, so every client of one endpoint and model in the build
    shares one (default: limiters of this client's own). ``lookup``: the build's model lookup,
    so a model is looked up once however many event loops open a client for it."""
    return LlmClient(model_id, retries, limits=limits, lookup=lookup or ModelLookup(plugins))


class ModelLookup:
    """llm's model objects by id, each looked up once per build.

    A lookup asks every llm plugin to register its models again (tens of milliseconds,
    serialized), and each event loop needs a model object of its own (it holds that loop's
    SDK clients), so later loops get a shallow copy of the object found first."""

    def __init__(self, plugins: Sequence[str] = ()) -> None:
        self._plugins = tuple(plugins)
        self._found: dict[str, tuple[Any, Any]] = {}
        self._sdk_clients: dict[tuple[str, Any, bool], Any] = {}

    def find(self, model_id: str) -> tuple[Any, Any]:
        """``(async model, sync model)``, one of them None; ``ModelError`` when no plugin has it."""
        with _OPENING:
            found = self._found.get(model_id)
            if found is None:
                register_plugins(self._plugins)
                found = self._found[model_id] = _look_up(model_id)
        async_model, sync_model = found
        return (  # copies: each holds its own loop's SDK clients
            None if async_model is None else copy.copy(async_model),
            None if sync_model is None else copy.copy(sync_model),
        )

    def sdk_client(self, model_id: str, get_client: Callable[..., Any], key: Any, async_: bool) -> Any:
        """The SDK client llm makes for ``model_id`` and ``key``, made once per build.

        It is never used itself (so never bound to a loop): each loop uses a copy made with
        ``with_options`` and an HTTP client of its own."""
        with _OPENING:
            found = self._sdk_clients.get((model_id, key, async_))
            if found is None:
                found = self._sdk_clients[(model_id, key, async_)] = get_client(key, async_=async_)
        return found


def _look_up(model_id: str) -> tuple[Any, Any]:
    try:
        import llm
    except ImportError:
        raise ModelError(f"model {model_id!r} needs the 'llm' package: pip install -e '.[dev]'") from None
    try:
        return llm.get_async_model(model_id), None
    except llm.UnknownModelError:
        pass
    try:
        return None, llm.get_model(model_id)
    except llm.UnknownModelError:
        raise ModelError(
            f"unknown model {model_id!r}; `llm models` lists the installed ones, "
            "`llm install <plugin>` adds providers, and extra-openai-models.yaml in the "
            "llm user directory adds OpenAI-compatible endpoints"
        ) from None


def lookup_model(model_id: str, plugins: Sequence[str] = ()) -> Any | None:
    """``llm``'s (synchronous) model object for ``model_id``, or None when no plugin has it."""
    import llm

    with _OPENING:
        register_plugins(plugins)
        try:
            return llm.get_model(model_id)
        except llm.UnknownModelError:
            return None


@functools.cache
def _tls_context() -> Any:
    """One TLS context for every HTTP client of the process: loading the CA bundle takes ~40 ms,
    and each event loop needs a client of its own (None: the SDK's HTTP library is not httpx2)."""
    try:
        import httpx2
    except ImportError:
        return None
    return httpx2.create_ssl_context()


class LlmClient:
    """Async models where the plugin provides them; sync models run in a worker thread."""

    def __init__(
        self,
        model_id: str,
        retries: RetrySettings | None = None,
        *,
        limits: RateLimits | None = None,
        lookup: ModelLookup | None = None,
    ) -> None:
        self.model_id = model_id
        self.retries = retries or RetrySettings()
        self._lookup = lookup or ModelLookup()
        self._async, self._sync = self._lookup.find(model_id)
        model = self._async or self._sync
        # an llm model says what it can do in attributes of its own (supports_schema is llm's, the
        # hotdata_ ones are read from plugins that know hotdata, such as the embedded model's):
        # read once here, and declared on the seam from then on
        self.capabilities = ModelCapabilities(
            supports_schema=bool(getattr(model, "supports_schema", False)),
            copies_feedback=bool(getattr(model, "hotdata_copies_feedback", False)),
            reads_no_schema_text=bool(getattr(model, "hotdata_reads_no_schema_text", False)),
            writes_prose_apart=bool(getattr(model, "hotdata_writes_prose_apart", False)),
            option_names=frozenset(getattr(model.Options, "model_fields", {})),
        )
        self.endpoint = endpoint_of(model)
        name = getattr(model, "model_name", None) or model_id
        # the SDK's responses show their rate-limit headers to the limiter: the first request probes them
        reads_headers = callable(getattr(model, "get_client", None)) and not os.environ.get(
            "LLM_OPENAI_SHOW_RESPONSES"
        )
        self.limiter: AdaptiveLimiter = (limits or RateLimits()).limiter(
            self.endpoint, str(name), probe=reads_headers
        )
        self._bound_sdk_retries(self._async or self._sync)

    def _bound_sdk_retries(self, model: Any) -> None:
        # The OpenAI SDK retries twice on its own; our tenacity loop is the one
        # budget, so its clients are made with max_retries=0. And llm builds a new
        # SDK client (a new connection pool and TLS context) for every prompt; one
        # per key is enough. The model object is our own instance (llm builds a new
        # one per lookup), so this touches no one else's state. The client's HTTP
        # client gets a response hook that hands the x-ratelimit headers to the limiter.
        get_client: Callable[..., Any] | None = getattr(model, "get_client", None)
        if get_client is None:
            return
        timeout = self.retries.request_timeout
        clients: dict[tuple[Any, ...], Any] = {}

        def bounded(key: Any = None, *, async_: bool = False) -> Any:
            cache_key = (key, async_)
            client = clients.get(cache_key)
            if client is None:
                http_client = self._observing_http_client(async_)
                if http_client is None:
                    client = get_client(key, async_=async_)  # llm's own (logging) HTTP client
                else:
                    # the SDK client llm makes loads a CA bundle: one per build, copied for each loop
                    client = self._lookup.sdk_client(self.model_id, get_client, key, async_)
                with_options = getattr(client, "with_options", None)
                if with_options is None:
                    client = get_client(key, async_=async_)  # cannot be copied: one per loop
                else:
                    options: dict[str, Any] = {"max_retries": 0, "timeout": timeout}
                    if http_client is not None:
                        options["http_client"] = http_client
                    client = with_options(**options)
                clients[cache_key] = client
            return client

        model.get_client = bounded

    def _observing_http_client(self, async_: bool) -> Any:
        """The SDK's default HTTP client with a hook that shows every response's headers to the
        limiter (None when llm logs responses with a client of its own)."""
        if os.environ.get("LLM_OPENAI_SHOW_RESPONSES"):
            return None
        try:
            import openai
        except ImportError:
            return None
        limiter = self.limiter
        options: dict[str, Any] = {}
        tls = _tls_context()
        if tls is not None:
            options["verify"] = tls
        if async_:

            async def seen_async(response: Any) -> None:
                limiter.observe(current_ticket(), response.headers)

            return openai.DefaultAsyncHttpxClient(event_hooks={"response": [seen_async]}, **options)

        def seen(response: Any) -> None:
            limiter.observe(current_ticket(), response.headers)

        return openai.DefaultHttpxClient(event_hooks={"response": [seen]}, **options)

    async def _once(self, request: ModelRequest) -> ModelReply:
        kwargs: dict[str, Any] = dict(request.options)
        if request.json_schema is not None and self.capabilities.supports_schema:
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
        # tenacity is imported with the first request, never by a build that asks nothing
        from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt
        from tenacity.wait import wait_exponential, wait_random

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
            # the slot is held for the HTTP attempt only, never for the backoff that follows it
            ticket = await self.limiter.acquire()
            outcome: AttemptResult = "error"
            retry_after: float | None = None
            try:
                reply = await asyncio.wait_for(self._once(request), timeout=settings.request_timeout)
                outcome = "ok"
                return reply
            except TimeoutError:
                raise _Transient(
                    f"no answer within request_timeout = {settings.request_timeout:g}s"
                ) from None
            except (ModelError, _Transient):
                raise
            except Exception as exc:
                headers = _headers_of(exc)
                if headers is not None:
                    self.limiter.observe(ticket, headers)
                if _status_of(exc) == 429:
                    outcome, retry_after = "rate_limited", _retry_after(exc)
                raise classify(exc, self.model_id) from None
            finally:
                self.limiter.release(ticket, outcome, retry_after)

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
