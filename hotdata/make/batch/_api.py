"""The provider side of batch mode: OpenAI's Batch API through the ``openai`` SDK.

OpenAI and OpenAI-compatible chat models configured for ``llm`` (llm's own OpenAI
models and entries of ``extra-openai-models.yaml``) are batchable. Their SDK client
comes from the ``llm`` model itself (``get_client``), so the endpoint, the key
(``llm keys``, the model's ``api_key_name`` or the provider's environment variable)
and any extra headers are resolved exactly as for a synchronous request; the key is
never logged or stored. Each line of a batch is the body the synchronous path would
send, built by ``llm``'s own ``build_messages`` / ``build_kwargs``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._errors import ModelError
from .._secrets import redact
from ..models._llm import finish_reason, lookup_model
from ..models._seam import ModelReply, ModelRequest

__all__ = [
    "CHAT_URL",
    "BatchResults",
    "ItemResult",
    "OpenAIBatches",
    "RemoteBatch",
    "batchable_model",
    "chat_body",
    "describe_error",
    "is_gone",
]

CHAT_URL = "/v1/chat/completions"
METADATA_KEY = "hotdata_batch"
# Batches created this long before the run that submitted them recorded its start are not searched.
_FIND_MARGIN = 3600
# Items that never ran: the batch ended first (the fake says batch_cancelled, as the API does not).
NOT_RUN = frozenset({"batch_expired", "batch_cancelled"})


def describe_error(exc: BaseException) -> str:
    """One line for a failed SDK call, with no key in it."""
    status = getattr(exc, "status_code", None)
    where = f"HTTP {status}: " if isinstance(status, int) else ""
    return f"{type(exc).__name__}: {where}{redact(str(exc))[:300]}"


def is_gone(exc: BaseException) -> bool:
    """The provider answered that it has no such batch or file (HTTP 404): it is not coming back."""
    return getattr(exc, "status_code", None) == 404


def batchable_model(model_id: str, plugins: Sequence[str] = ()) -> Any | None:
    """The ``llm`` model behind ``model_id`` when hotdata can batch it, else None.

    Batchable: llm's OpenAI chat models and OpenAI-compatible chat endpoints (not the
    Responses API models, not legacy completion models, not other plugins' models).
    """
    try:
        from llm.default_plugins.openai_models import AsyncChat, Chat, Completion
    except ImportError:
        return None
    model = lookup_model(model_id, plugins)
    if isinstance(model, Chat | AsyncChat) and not isinstance(model, Completion):
        return model
    return None


def chat_body(model: Any, request: ModelRequest) -> dict[str, Any]:
    """The ``/v1/chat/completions`` body the synchronous path sends for ``request``, by llm's own
    code (``LlmClient`` passes the options and, to models that take it, the schema)."""
    import llm

    options = {k: v for k, v in request.options.items() if k != "key"}
    schema = dict(request.json_schema) if request.json_schema is not None and model.supports_schema else None
    make_prompt: Any = llm.Prompt  # untyped in llm
    prompt = make_prompt(
        request.prompt, model=model, system=request.system, schema=schema, options=model.Options(**options)
    )
    image_detail = getattr(prompt.options, "image_detail", None)
    messages = model.build_messages(prompt, None, image_detail=image_detail)
    kwargs = model.build_kwargs(prompt, False)
    return {"model": model.model_name or model.model_id, "messages": messages, "stream": False, **kwargs}


@dataclass(frozen=True)
class RemoteBatch:
    """What the provider says about one batch."""

    id: str
    status: str
    created_at: int
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: tuple[str, ...] = ()
    local_id: str | None = None  # the job it was created for (its metadata), when the provider says
    input_file_id: str | None = None


@dataclass(frozen=True)
class ItemResult:
    """One item of a finished batch: an answer, or why there is none."""

    reply: ModelReply | None = None
    error: str | None = None
    ran: bool = True  # False: the batch ended (expired, cancelled) before this item ran


@dataclass(frozen=True)
class BatchResults:
    """What a finished batch's result files say, by custom_id, and the result files the provider
    no longer has (each with why): their items' answers or errors are lost."""

    items: Mapping[str, ItemResult]
    lost: tuple[str, ...] = ()


def _remote(batch: Any) -> RemoteBatch:
    errors = getattr(getattr(batch, "errors", None), "data", None) or []
    said = tuple(
        f"{getattr(e, 'code', None) or 'error'}: {getattr(e, 'message', '')}"
        + (f" (line {e.line})" if getattr(e, "line", None) else "")
        for e in errors
    )
    metadata = getattr(batch, "metadata", None) or {}
    local_id = metadata.get(METADATA_KEY) if isinstance(metadata, Mapping) else None
    return RemoteBatch(
        id=str(batch.id),
        status=str(batch.status),
        created_at=int(batch.created_at or 0),
        output_file_id=batch.output_file_id,
        error_file_id=batch.error_file_id,
        errors=said,
        local_id=local_id if isinstance(local_id, str) else None,
        input_file_id=getattr(batch, "input_file_id", None),
    )


def _reply(body: Mapping[str, Any]) -> ItemResult:
    """An answer from a ``chat.completion`` body, as ``llm`` reads a synchronous one."""
    try:
        text = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return ItemResult(error="the answer has no message content")
    if not isinstance(text, str) or not text.strip():
        return ItemResult(error="the model returned an empty answer")
    usage = body.get("usage") or {}
    return ItemResult(
        ModelReply(
            text=text,
            input_tokens=usage.get("prompt_tokens"),
            output_tokens=usage.get("completion_tokens"),
            finish_reason=finish_reason(body),
        )
    )


def _failed(line: Mapping[str, Any]) -> ItemResult:
    response = line.get("response") or {}
    error = line.get("error") or {}
    if response:
        body = response.get("body") or {}
        message = (body.get("error") or {}).get("message") or "no message"
        return ItemResult(error=f"HTTP {response.get('status_code')}: {message}")
    code = str(error.get("code") or "error")
    return ItemResult(error=f"{code}: {error.get('message') or 'no message'}", ran=code not in NOT_RUN)


class OpenAIBatches:
    """The Files and Batches endpoints of one OpenAI(-compatible) endpoint."""

    def __init__(self, client: Any, model: Any) -> None:
        self.client = client
        self.model = model
        self.endpoint = str(client.base_url).rstrip("/")

    @classmethod
    def for_model(
        cls, model_id: str, endpoint: str | None = None, plugins: Sequence[str] = ()
    ) -> OpenAIBatches:
        """The batches of ``model_id``'s endpoint (or ``endpoint``, where an earlier run sent them),
        with the model's credentials as ``llm`` resolves them."""
        import llm

        model = batchable_model(model_id, plugins)
        if model is None:
            raise ModelError(
                f"model {model_id} cannot be batched: hotdata batches OpenAI and OpenAI-compatible chat "
                "models configured for llm"
            )
        try:
            client = model.get_client(None, async_=False)
        except llm.errors.NeedsKeyException as exc:
            raise ModelError(f"model {model_id}: {redact(str(exc))}") from None
        configured = str(client.base_url).rstrip("/")
        if endpoint is not None and endpoint.rstrip("/") != configured:
            # the endpoint comes from a job file, which anyone can edit: the model's key goes only where
            # llm sends it
            raise ModelError(
                f"its batch went to {endpoint}, but model {model_id} is configured for {configured}; "
                "hotdata sends the model's key to its configured endpoint only: point the model back "
                "at that endpoint to collect the batch, or remove the job file"
            )
        return cls(client.with_options(max_retries=3, timeout=300.0), model)

    def body(self, request: ModelRequest) -> dict[str, Any]:
        """The line's body: what the synchronous path sends (``chat_body``)."""
        return chat_body(self.model, request)

    def upload(self, data: bytes, filename: str) -> str:
        uploaded = self.client.files.create(file=(filename, data), purpose="batch")
        return str(uploaded.id)

    def create(self, file_id: str, local_id: str) -> RemoteBatch:
        batch = self.client.batches.create(
            input_file_id=file_id,
            endpoint=CHAT_URL,
            completion_window="24h",
            metadata={METADATA_KEY: local_id},
        )
        return _remote(batch)

    def find(self, local_id: str, since: float | None) -> RemoteBatch | None:
        """The batch created for ``local_id`` (by a run that stopped before saving its id, or one
        whose job file cannot be read), if any; ``since``: when its job was saved, if known."""
        for batch in self.client.batches.list(limit=100):  # newest first; the SDK follows the cursor
            if (batch.metadata or {}).get(METADATA_KEY) == local_id:
                return _remote(batch)
            if since is not None and batch.created_at < since - _FIND_MARGIN:
                return None
        return None

    def retrieve(self, batch_id: str) -> RemoteBatch:
        return _remote(self.client.batches.retrieve(batch_id))

    def _lines(self, file_id: str | None) -> list[dict[str, Any]]:
        if not file_id:
            return []
        text = self.client.files.content(file_id).text
        lines = []
        for line in text.splitlines():
            with contextlib.suppress(ValueError):  # a line that is not JSON names no item: it is unrun
                value = json.loads(line) if line.strip() else None
                if isinstance(value, dict):
                    lines.append(value)
        return lines

    def outcomes(self, remote: RemoteBatch) -> BatchResults:
        """Every item the batch's output and error files mention, by custom_id; a file the provider
        no longer has (HTTP 404) is named in ``lost``, any other failure raises."""
        found: dict[str, ItemResult] = {}
        lost: list[str] = []
        for what, file_id in (("output", remote.output_file_id), ("error", remote.error_file_id)):
            try:
                lines = self._lines(file_id)
            except Exception as exc:
                if not is_gone(exc):
                    raise
                lost.append(f"its {what} file {file_id} ({describe_error(exc)})")
                continue
            for line in lines:
                custom_id = str(line.get("custom_id"))
                response = line.get("response") or {}
                if not isinstance(response, Mapping):
                    found[custom_id] = ItemResult(error="the provider's result line has no response object")
                elif response.get("status_code") == 200 and not line.get("error"):
                    found[custom_id] = _reply(response.get("body") or {})
                else:
                    found[custom_id] = _failed(line)
        return BatchResults(found, tuple(lost))

    def input_keys(self, remote: RemoteBatch) -> set[str]:
        """The custom_ids of the batch's input file: the request keys it holds."""
        if not remote.input_file_id:
            raise ModelError(f"the provider names no input file for batch {remote.id}")
        return {str(line.get("custom_id")) for line in self._lines(remote.input_file_id)}
