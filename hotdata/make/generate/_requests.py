"""The requests of one fixture, built from its plan: the one place a ``ModelRequest`` is made.

The model, the options and the fixture's system prompt are the plan's (what was fingerprinted
is what is sent): the fixture's system prompt goes first, then the call's own after a blank
line. The seed, or failing one the temperature, moves on with each attempt round of the
generator and each re-ask, so a new round samples new answers and a re-ask does not repeat
the answer it replaces. ``doit preview`` runs the generator in rounds from ``PREVIEW_ROUND`` on,
so its seeds never meet a build's; a preview keeps the build's temperature, as it shows what a
build's first round would write.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._fixture_plan import FixtureInputs
from ..models._seam import ModelRequest

__all__ = ["PREVIEW_ROUND", "RequestBuilder"]

# The first attempt round of ``doit preview``'s samples: a build runs at most `validation_attempts`
# rounds (a handful), so its seeds (``seed + 1000 * round``) stay far below a preview's.
PREVIEW_ROUND = 100_000


class RequestBuilder:
    """Builds the requests of one fixture.

    Args:
        fixture: the fixture's resolved inputs.
        accepted_options: the options the model takes (None: not known, any option is sent).
    """

    def __init__(self, fixture: FixtureInputs, accepted_options: frozenset[str] | None = None) -> None:
        self.model = fixture.model
        self.fixture = fixture.name
        self._options = fixture.options
        self._system = fixture.system
        self._accepted = accepted_options

    def request(
        self,
        prompt: str,
        *,
        attempt: int,
        options: Mapping[str, Any],
        json_schema: Mapping[str, Any] | None = None,
        system: str | None = None,
    ) -> ModelRequest:
        """One request of this fixture: ``options`` from ``options()`` or ``sample_options()``;
        ``system``: the call's own system prompt, sent after the fixture's."""
        return ModelRequest(
            model=self.model,
            prompt=prompt,
            fixture=self.fixture,
            json_schema=json_schema,
            system=self.system(system),
            options=options,
            attempt=attempt,
        )

    def system(self, own: str | None) -> str | None:
        """The system prompt sent: the fixture's, then the call's ``own`` after a blank line.
        Without a fixture's, the call's own as given (so its requests keep their answer keys)."""
        if self._system is None:
            return own
        return f"{self._system}\n\n{own}" if own else self._system

    def options(
        self, round_: int, attempt: int, extra_tokens: int = 0, resample: bool = True
    ) -> dict[str, Any]:
        """The options of ``attempt`` in attempt round ``round_``; ``resample``: a new seed per
        attempt (else the attempt keeps the round's); ``extra_tokens``: room beyond the answer cut
        at the token limit, where the model takes ``max_tokens``."""
        options = dict(self._options)
        # Another seed gives another answer; the same seed would repeat the refused one.
        again = attempt - 1 if resample else 0
        shift = 1000 * round_ + again
        warmer = again if round_ >= PREVIEW_ROUND else shift  # a preview samples as a first round does
        if shift and "seed" in options and isinstance(options["seed"], int):
            options["seed"] += shift
        elif warmer and "temperature" in options and isinstance(options["temperature"], int | float):
            options["temperature"] = min(1.5, float(options["temperature"]) + 0.1 * min(warmer, 5))
        if extra_tokens and (self._accepted is None or "max_tokens" in self._accepted):
            options["max_tokens"] = int(options.get("max_tokens") or 1024) + extra_tokens
        return options

    def sample_options(self, round_: int, attempt: int, part: int = 0) -> dict[str, Any]:
        """The options of one sample: a new seed per attempt, attempt round and ``part`` (one is
        set for a model that takes a seed when the fixture sets none)."""
        options = self.options(round_, attempt, 0, True)
        if (
            (round_ or attempt > 1)
            and "seed" not in options
            and self._accepted is not None
            and "seed" in self._accepted
        ):
            # left to its own seed, a local model draws the same sample on every attempt. The
            # first sample stays as it was asked before seeds were set here, so answers recorded
            # then keep their keys (an accepted answer of such a fixture was always the first).
            options["seed"] = 1000 * round_ + attempt - 1
        if part and isinstance(options.get("seed"), int):
            options["seed"] += 7919 * part
        return options
