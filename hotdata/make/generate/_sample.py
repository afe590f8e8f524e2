"""``ctx.sample``: structure drawn on the fixture's seeded rng, with Faker for realistic values.

Every call takes one 64-bit seed from ``ctx.rng`` and draws from a generator seeded with it
(a Faker for people, companies, places and dates; a ``random.Random`` for numbers and
categories), so the order of the calls is the only state: the same fixture name gives the
same values on every run and machine. No model is asked.

Values Faker draws may change with Faker's version, so a fixture that called a Faker-backed
sampler records the version (``used_libraries``); a Faker upgrade then makes exactly those
fixtures stale, with the reason in words. Numbers and categories use only ``random`` and
record nothing.

>>> import random
>>> sample = Sampler(random.Random("fixture/name"))
>>> sample.category({"open": 3, "closed": 1}) in ("open", "closed")
True
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version
from typing import TYPE_CHECKING, Literal, TypeVar, get_args

from ..._duration import parse_ttl
from .._errors import SampleError

if TYPE_CHECKING:
    from faker import Faker

__all__ = ["FAKER", "Address", "Gender", "Person", "Sampler"]

FAKER = "faker"  # the distribution whose version a fixture that sampled with it records
DEFAULT_LOCALE = "en_US"
# Bounded draws (gaussian, poisson) resample a value out of bounds up to this many times,
# then clip it to the nearest bound, so impossible bounds never loop forever.
RESAMPLES = 100

DateLike = date | str
Day = date  # the types under names the samplers date() and datetime() do not shadow
Moment = datetime
Number = int | float
N = TypeVar("N", int, float)
T = TypeVar("T")
K = TypeVar("K", bound=str)  # a category: a str, or a Literal of them, given back as it was typed
C = TypeVar("C", bound=str)
Gender = Literal["female", "male"]
# (subject, object, possessive) by gender; a name of no known gender is "they"
PRONOUNS: dict[Gender | None, tuple[str, str, str]] = {
    "female": ("she", "her", "her"),
    "male": ("he", "him", "his"),
    None: ("they", "them", "their"),
}


@dataclass(frozen=True)
class Person:
    """One coherent person: the name, email and phone belong together."""

    first_name: str
    last_name: str
    email: str  # valid for pydantic's EmailStr: ASCII, made from the name
    phone: str
    locale: str
    # the first name's gender in Faker's lists of the locale; None when a name is in both or neither
    gender: Gender | None = None

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def pronoun(self) -> str:
        """``she``, ``he``, or ``they`` for a name of no known gender."""
        return PRONOUNS[self.gender][0]

    @property
    def pronoun_object(self) -> str:
        """``her``, ``him`` or ``them``."""
        return PRONOUNS[self.gender][1]

    @property
    def possessive(self) -> str:
        """``her``, ``his`` or ``their``."""
        return PRONOUNS[self.gender][2]


@dataclass(frozen=True)
class Address:
    """A postal address of one locale; ``text`` is it on one line."""

    street: str
    city: str
    postcode: str
    country: str
    locale: str

    @property
    def text(self) -> str:
        return f"{self.street}, {self.postcode} {self.city}, {self.country}"


def _ascii_word(text: str) -> str:
    """``Jürgen-Ö'Brien`` -> ``jurgenobrien``: what a name gives an email address."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]", "", plain.lower())


def _first_names(fake: Faker) -> dict[Gender, frozenset[str]]:
    """The locale's female and male first names (empty where Faker keeps no such list)."""
    provider = fake.provider("faker.providers.person")
    return {
        "female": frozenset(getattr(provider, "first_names_female", ())),
        "male": frozenset(getattr(provider, "first_names_male", ())),
    }


def _as_date(value: DateLike, what: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise SampleError(
            f"ctx.sample: {what} {value!r} is not a date; give 'YYYY-MM-DD' or a date"
        ) from None


def _as_datetime(value: datetime | DateLike, what: str) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise SampleError(
            f"ctx.sample: {what} {value!r} is not a datetime; give ISO 8601 ('2024-01-01T09:00') or a datetime"
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _as_timedelta(value: timedelta | str | Number, what: str) -> timedelta:
    try:
        parsed = parse_ttl(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise SampleError(
            f"ctx.sample: {what} {value!r} is not a duration; give e.g. '30m', '2h', '1d' or seconds"
        )
    return parsed


def _check_bounds(low: Number | None, high: Number | None, what: str) -> None:
    if low is not None and high is not None and low > high:
        raise SampleError(f"ctx.sample.{what}: low {low} is above high {high}; swap them")


class Sampler:
    """The samplers of one fixture (``ctx.sample``), drawing on its seeded ``rng``."""

    def __init__(self, rng: random.Random, *, locale: str = DEFAULT_LOCALE) -> None:
        self._rng = rng
        self._locale = locale
        self._fakers: dict[str, Faker] = {}
        self._libraries: dict[str, str] = {}

    @property
    def used_libraries(self) -> dict[str, str]:
        """The libraries whose values the fixture drew, with their versions ({} : none)."""
        return dict(self._libraries)

    def _seed(self) -> int:
        return self._rng.getrandbits(64)

    def _random(self) -> random.Random:
        return random.Random(self._seed())

    def _faker(self, locale: str | None) -> Faker:
        locale = locale or self._locale
        fake = self._fakers.get(locale)
        if fake is None:
            from faker import Faker  # here: a generator that never samples does not import it
            from faker.config import AVAILABLE_LOCALES

            if locale not in AVAILABLE_LOCALES:
                raise SampleError(
                    f"ctx.sample: locale {locale!r} is not one Faker knows; use e.g. 'en_US', 'de_DE'"
                )
            fake = self._fakers[locale] = Faker(locale)
        self._libraries[FAKER] = version(FAKER)
        fake.seed_instance(self._seed())
        return fake

    # people, organisations, things, places

    def person(self, *, locale: str | None = None, gender: Gender | None = None) -> Person:
        """A person of ``locale`` (default en_US): ``.name``, ``.first_name``, ``.last_name``,
        ``.email`` (made from the name, valid for ``EmailStr``), ``.phone``, ``.gender`` and
        ``.pronoun``. ``gender="female"`` or ``"male"`` draws the first name from that list of
        the locale; without it the name is drawn from all, and ``.gender`` is the list it is
        in (``None``, pronoun "they", when it is in both or neither)."""
        if gender is not None and gender not in get_args(Gender):
            raise SampleError(
                f"ctx.sample.person: gender {gender!r} is not 'female' or 'male'; or leave it out"
            )
        fake = self._faker(locale)
        names = _first_names(fake)
        if gender is None:
            first = str(fake.first_name())
            found = [g for g, known in names.items() if first in known]
            drawn: Gender | None = found[0] if len(found) == 1 else None
        elif names[gender]:
            # Faker's own draw, with the list's weights where the locale keeps them (en_US)
            first = str(fake.first_name_female() if gender == "female" else fake.first_name_male())
            drawn = gender
        else:
            raise SampleError(
                f"ctx.sample.person: Faker's locale {locale or self._locale!r} has no {gender} first names; "
                "leave gender out or use another locale (e.g. 'en_US')"
            )
        last = str(fake.last_name())
        # names in a script without ASCII letters (ja_JP, ru_RU) fall back to Faker's romanised user name
        local = ".".join(w for w in (_ascii_word(first), _ascii_word(last)) if w)
        local = local or _ascii_word(str(fake.user_name())) or "user"
        domain = str(fake.free_email_domain())
        return Person(
            first, last, f"{local}@{domain}", str(fake.phone_number()), locale or self._locale, drawn
        )

    def company(self, *, locale: str | None = None) -> str:
        """A company name of ``locale``."""
        return str(self._faker(locale).company())

    def product(self, *, locale: str | None = None) -> str:
        """A product-like name: a capitalised word and a model code (``"Harbor X-204"``)."""
        fake = self._faker(locale)
        word = str(fake.word()).capitalize()
        return f"{word} {fake.random_uppercase_letter()}-{fake.random_int(10, 999)}"

    def email(self, *, locale: str | None = None) -> str:
        """An email address valid for pydantic's ``EmailStr`` (ASCII local part and domain)."""
        fake = self._faker(locale)
        return f"{_ascii_word(str(fake.user_name())) or 'user'}@{fake.free_email_domain()}"

    def phone(self, *, locale: str | None = None) -> str:
        """A phone number as written in ``locale``."""
        return str(self._faker(locale).phone_number())

    def address(self, *, locale: str | None = None) -> Address:
        """A postal address of ``locale``: ``.street``, ``.city``, ``.postcode``, ``.country``, ``.text``."""
        fake = self._faker(locale)
        country = str(fake.current_country()) if hasattr(fake, "current_country") else ""
        return Address(
            str(fake.street_address()),
            str(fake.city()),
            str(fake.postcode()),
            country,
            locale or self._locale,
        )

    def city(self, *, locale: str | None = None) -> str:
        """A city name of ``locale``."""
        return str(self._faker(locale).city())

    def country(self, *, locale: str | None = None) -> str:
        """A country name (in ``locale``'s language where Faker has one)."""
        return str(self._faker(locale).country())

    # time

    def date(self, start: DateLike, end: DateLike) -> Day:
        """A day from ``start`` to ``end``, both included (``"2024-01-01"`` or a ``date``)."""
        first, last = _as_date(start, "start"), _as_date(end, "end")
        if first > last:
            raise SampleError(f"ctx.sample.date: start {first} is after end {last}; swap them")
        return first + timedelta(days=self._random().randint(0, (last - first).days))

    def datetime(self, start: Moment | DateLike, end: Moment | DateLike) -> Moment:
        """A moment from ``start`` to ``end`` (whole seconds, UTC when no zone is given)."""
        first, last = _as_datetime(start, "start"), _as_datetime(end, "end")
        if first > last:
            raise SampleError(f"ctx.sample.datetime: start {first} is after end {last}; swap them")
        seconds = int((last - first).total_seconds())
        return first + timedelta(seconds=self._random().randint(0, seconds))

    def duration(self, low: timedelta | str | Number, high: timedelta | str | Number) -> timedelta:
        """A duration from ``low`` to ``high`` in whole seconds (``"30m"``, ``"2h"``, seconds)."""
        first, last = _as_timedelta(low, "low"), _as_timedelta(high, "high")
        if first > last:
            raise SampleError(f"ctx.sample.duration: low {first} is above high {last}; swap them")
        seconds = int((last - first).total_seconds())
        return first + timedelta(seconds=self._random().randint(0, seconds))

    # categories

    def category(self, weights: Mapping[K, Number] | Sequence[K]) -> K:
        """One key of ``weights`` ({"open": 3, "closed": 1}: open three times as often), or one
        item of a list, all equally likely."""
        keys, values = self._weights(weights, "category")
        return self._random().choices(keys, weights=values)[0]

    def subcategory(self, category: C, options: Mapping[C, Mapping[K, Number] | Sequence[K]]) -> K:
        """One subcategory of ``category``: ``options`` maps each category to its list (or weights)."""
        if category not in options:
            known = ", ".join(repr(k) for k in options)
            raise SampleError(
                f"ctx.sample.subcategory: category {category!r} has no subcategories; known: {known}"
            )
        keys, values = self._weights(options[category], f"subcategory of {category!r}")
        return self._random().choices(keys, weights=values)[0]

    def pick(self, options: Sequence[T], k: int) -> list[T]:
        """``k`` different items of ``options``, in random order (three names of a list of ten)."""
        if not 0 <= k <= len(options):
            raise SampleError(
                f"ctx.sample.pick: k={k} of {len(options)} options; give 0 <= k <= {len(options)}"
            )
        return self._random().sample(list(options), k)

    @staticmethod
    def _weights(weights: Mapping[K, Number] | Sequence[K], what: str) -> tuple[list[K], list[float]]:
        if isinstance(weights, str):
            raise SampleError(
                f"ctx.sample.{what}: give a list or a mapping of weights, not the string {weights!r}"
            )
        if isinstance(weights, Mapping):
            keys, values = list(weights), [float(w) for w in weights.values()]
        else:
            keys, values = list(weights), [1.0] * len(weights)
        if not keys:
            raise SampleError(f"ctx.sample.{what}: nothing to choose from; give at least one option")
        bad = [k for k, w in zip(keys, values, strict=True) if not w >= 0 or math.isinf(w)]
        if bad or sum(values) <= 0:
            raise SampleError(
                f"ctx.sample.{what}: weights must be finite, >= 0 and not all 0 (option {(bad or keys)[0]!r})"
            )
        return keys, values

    # numbers

    def integer(self, low: int, high: int) -> int:
        """A whole number from ``low`` to ``high``, both included, all equally likely."""
        _check_bounds(low, high, "integer")
        return self._random().randint(low, high)

    def uniform(self, low: float, high: float) -> float:
        """A number from ``low`` to ``high``, all equally likely."""
        _check_bounds(low, high, "uniform")
        return self._random().uniform(low, high)

    def gaussian(
        self, mean: float, sd: float, *, low: float | None = None, high: float | None = None
    ) -> float:
        """A normal draw around ``mean``. Out of ``[low, high]`` it is drawn again (up to 100
        times: a truncated normal), then clipped to the nearest bound."""
        _check_bounds(low, high, "gaussian")
        if not sd >= 0:
            raise SampleError(f"ctx.sample.gaussian: sd {sd} is negative; give a standard deviation >= 0")
        rng = self._random()
        return self._bounded(lambda: rng.gauss(mean, sd), low, high)

    def poisson(self, lam: float, *, low: int | None = None, high: int | None = None) -> int:
        """A count with mean ``lam`` (Poisson). Out of ``[low, high]`` it is drawn again (up to
        100 times), then clipped to the nearest bound."""
        _check_bounds(low, high, "poisson")
        if not 0 <= lam < 1e6:
            raise SampleError(f"ctx.sample.poisson: lam {lam} must be >= 0 and below 1e6")
        rng = self._random()
        return self._bounded(lambda: _poisson(rng, lam), low, high)

    @staticmethod
    def _bounded(draw: Callable[[], N], low: N | None, high: N | None) -> N:
        value = draw()
        for _ in range(RESAMPLES):
            if (low is None or value >= low) and (high is None or value <= high):
                return value
            value = draw()
        if low is not None and value < low:
            return low
        if high is not None and value > high:
            return high
        return value


def _poisson(rng: random.Random, lam: float) -> int:
    """Knuth's multiplication method, in chunks of mean <= 30 so ``exp(-lam)`` never underflows."""
    count = 0
    while lam > 0:
        part = min(lam, 30.0)
        lam -= part
        limit, product = math.exp(-part), rng.random()
        while product > limit:
            count += 1
            product *= rng.random()
    return count
