"""``LlmClient``: models reached through Simon Willison's ``llm`` library, by model id."""

from __future__ import annotations

import asyncio
from typing import Any

from ._errors import ModelError
from ._model import ModelReply, ModelRequest

__all__ = ["LlmClient"]


class LlmClient:
    """Async models where the plugin provides them; sync models run in a worker thread."""

    def __init__(self, model_id: str) -> None:
        try:
            import llm
        except ImportError:
            raise ModelError(
                f"model {model_id!r} needs the 'llm' package: pip install -e '.[dev]' installs it"
            ) from None
        self.model_id = model_id
        self._llm = llm
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
                    "and `llm install <plugin>` adds providers"
                ) from None

    async def complete(self, request: ModelRequest) -> ModelReply:
        model = self._async or self._sync
        kwargs: dict[str, Any] = dict(request.options)
        if request.json_schema is not None and getattr(model, "supports_schema", False):
            kwargs["schema"] = dict(request.json_schema)
        if self._async is not None:
            response = self._async.prompt(request.prompt, system=request.system, **kwargs)
            text = await response.text()
            usage = await response.usage()
        else:

            def run() -> tuple[str, Any]:
                response = self._sync.prompt(request.prompt, system=request.system, **kwargs)
                return response.text(), response.usage()

            text, usage = await asyncio.to_thread(run)
        return ModelReply(text=text, input_tokens=usage.input, output_tokens=usage.output)
