"""The fake OpenAI server: schema-valid answers, rate limits and the Batch API.

The faker is tested as a pure function (pydantic models by seeds); the server through
the real ``openai`` SDK over HTTP. Batch state moves by the server's own controls
(``advance_batches``, ``hold_batches``, ``expire_batch``, ``advance_clock``), never by
sleeping.
"""

from __future__ import annotations

import datetime as dt
import enum
import importlib.util
import json
import re
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Annotated, Any, Literal

import openai
import pytest
from openai.types.chat import ChatCompletion
from pydantic import AnyUrl, BaseModel, Field, HttpUrl, StringConstraints

from hotdata.testing._faker import _WORDS, fake_from_schema
from hotdata.testing._server import FakeOpenAIServer

SEEDS = range(50)
HAS_EMAIL_VALIDATOR = importlib.util.find_spec("email_validator") is not None


# -- models the faker must satisfy ------------------------------------------------------


class Identified(BaseModel):
    id: uuid.UUID
    others: list[uuid.UUID] = Field(min_length=1, max_length=3)


class Money(BaseModel):
    price: Decimal = Field(max_digits=5, decimal_places=2, ge=0)
    discount: Decimal = Field(max_digits=4, decimal_places=1, gt=1, lt=50)
    step: Decimal = Field(multiple_of=Decimal("0.25"))
    tax: Decimal | None = Field(default=None, max_digits=3, decimal_places=0)


class Moments(BaseModel):
    day: dt.date
    at: dt.datetime
    clock: dt.time
    took: dt.timedelta
    maybe: dt.date | None


class Links(BaseModel):
    home: AnyUrl
    docs: HttpUrl
    mirrors: list[AnyUrl] = []


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int = Field(ge=1, le=9)


class Dog(BaseModel):
    kind: Literal["dog"]
    bark: str = Field(min_length=2, max_length=5)


class Bird(BaseModel):
    kind: Literal["bird"]
    wingspan: float = Field(gt=0, lt=2)


class Household(BaseModel):
    pets: list[Annotated[Cat | Dog | Bird, Field(discriminator="kind")]] = Field(min_length=1)
    favourite: Annotated[Cat | Dog, Field(discriminator="kind")]


class Tree(BaseModel):
    label: str
    children: list[Tree] = []
    parent: Tree | None = None


class Codes(BaseModel):
    ticket: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}-[0-9]{4}$")]
    slug: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]+$", min_length=3, max_length=10)]
    inside: Annotated[str, StringConstraints(pattern=r"[A-Z]{3}-[0-9]{4}")]
    version: Annotated[str, StringConstraints(pattern=r"^v\d+\.\d+(\.\d+)?(-(alpha|beta|rc)\d*)?$")]
    colour: Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[1-9]\d{6,14}$")]


class Counts(BaseModel):
    fives: Annotated[int, Field(multiple_of=5, gt=0, lt=1000)]
    tenths: float = Field(multiple_of=0.1, gt=-1, lt=1)
    positive: int = Field(gt=0)
    below: int = Field(lt=-5)
    ratio: float = Field(gt=0, lt=0.001)
    exact: float = Field(ge=3.5, le=3.5)


class Level(enum.IntEnum):
    LOW = 1
    MID = 5
    HIGH = 9


class Choices(BaseModel):
    size: Literal[1, 2, 3]
    level: Level
    mode: Literal["fast", "slow"]
    flag: Literal[True]


class Shapes(BaseModel):
    pair: tuple[int, str]
    triple: tuple[bool, float, Literal["x"]]
    rest: tuple[int, ...]
    tags: set[str] = Field(min_length=3)
    letters: frozenset[Literal["a", "b", "c"]] = Field(min_length=3)
    few: list[int] = Field(min_length=2, max_length=2)


class Mappings(BaseModel):
    counts: dict[str, int]
    scores: dict[Literal["red", "green"], float]
    nested: dict[str, list[int]] = Field(min_length=1)


class Short(BaseModel):
    one: str = Field(max_length=1)
    two: str = Field(min_length=2, max_length=2)
    some: str = Field(min_length=1, max_length=4)
    long: str = Field(min_length=70)


class Address(BaseModel):
    street: str
    city: str = Field(max_length=20)


class Person(BaseModel):
    name: str
    home: Address | None
    past: list[Address] = []
    boss: Person | None = None


def contact_model() -> type[BaseModel]:
    from pydantic import EmailStr  # defining the model needs email-validator

    class Contact(BaseModel):
        email: EmailStr
        cc: list[EmailStr] = []

    return Contact


MODELS: list[Any] = [
    Identified,
    Money,
    Moments,
    Links,
    Household,
    Tree,
    Codes,
    Counts,
    Choices,
    Shapes,
    Mappings,
    Short,
    Person,
    pytest.param(
        contact_model() if HAS_EMAIL_VALIDATOR else None,
        id="Contact",
        marks=pytest.mark.skipif(
            not HAS_EMAIL_VALIDATOR, reason="EmailStr needs the email-validator package"
        ),
    ),
]


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


# -- the faker ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("model", MODELS, ids=lambda m: getattr(m, "__name__", str(m)))
def test_fake_values_validate(model: type[BaseModel], seed: int) -> None:
    value = fake_from_schema(model.model_json_schema(), seed)
    model.model_validate_json(json.dumps(value))
    assert fake_from_schema(model.model_json_schema(), seed) == value


def test_email_is_generated_even_without_email_validator() -> None:
    value = fake_from_schema({"type": "string", "format": "email"}, 3)
    assert re.fullmatch(r"[a-z]+\.[a-z]+@[a-z]+\.example\.com", value)


@pytest.mark.parametrize(
    "pattern",
    [
        r"^[A-Z]{3}-[0-9]{4}$",
        r"^[a-z0-9_-]+$",
        r"[A-Z]{3}-[0-9]{4}",
        r"^(?!^[-+.]*$)[+-]?0*\d*\.?\d*$",
        r"^(foo|bar)+baz?$",
        r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$",
        r"^\w+\s\w+$",
        r"^[\u0041-\u005A]{2}\d?$",
        r"^(?:ab|cd){2,3}[.]x*$",
        r"^\d{3}(-\d{2})?$",
    ],
)
def test_pattern_strings_match(pattern: str) -> None:
    for seed in range(30):
        value = fake_from_schema({"type": "string", "pattern": pattern}, seed)
        assert re.search(pattern, value), (seed, value)
        assert value.isprintable() and value.isascii(), (seed, value)


def test_pattern_strings_read_as_words_when_a_word_fits() -> None:
    values = {fake_from_schema({"type": "string", "pattern": "^[a-z]+$"}, seed) for seed in range(20)}
    assert sum(value in _WORDS for value in values) >= len(values) // 2


def test_strings_are_plain_words() -> None:
    vocabulary = set(_WORDS)
    for seed in range(20):
        for text in strings_in(fake_from_schema(Person.model_json_schema(), seed)):
            assert text.isascii() and text.isprintable(), text
            assert all(word in vocabulary for word in text.split()[:-1]), text


def test_recursive_tree_stays_small() -> None:
    for seed in SEEDS:
        assert len(json.dumps(fake_from_schema(Tree.model_json_schema(), seed))) < 20_000


def test_nested_defs_resolve() -> None:
    schema = {
        "$defs": {
            "Outer": {
                "$defs": {"Inner": {"type": "integer", "enum": [7, 8]}},
                "type": "object",
                "properties": {"inner": {"$ref": "#/$defs/Outer/$defs/Inner"}},
                "required": ["inner"],
            }
        },
        "$ref": "#/$defs/Outer",
    }
    assert fake_from_schema(schema, 1)["inner"] in (7, 8)


def test_recursion_through_required_fields_is_an_error() -> None:
    schema = {
        "$defs": {
            "Loop": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Loop"}}, "required": ["next"]}
        },
        "$ref": "#/$defs/Loop",
    }
    with pytest.raises(ValueError, match="no finite instance"):
        fake_from_schema(schema, 0)


# -- the server over HTTP -------------------------------------------------------------


class Card(BaseModel):
    title: str = Field(max_length=40)
    score: int = Field(ge=0, le=10)
    tags: set[str] = Field(min_length=1)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(seed=5) as srv:
        yield srv


def client_for(server: FakeOpenAIServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url, api_key="sk-test", max_retries=0)


def chat_body(prompt: str, model: type[BaseModel] = Card) -> dict[str, Any]:
    return {
        "model": "fake-gpt",
        "messages": [{"role": "user", "content": prompt}],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": model.model_json_schema()},
        },
    }


@pytest.mark.parametrize("model", [Card, Money, Household, Codes, Shapes], ids=lambda m: m.__name__)
def test_answers_over_http_are_schema_valid(server: FakeOpenAIServer, model: type[BaseModel]) -> None:
    client = client_for(server)
    for n in range(3):
        completion = client.chat.completions.create(**chat_body(f"prompt {n}", model))
        content = completion.choices[0].message.content
        assert content is not None
        model.model_validate_json(content)


def test_rate_limit_refuses_with_openai_headers() -> None:
    with FakeOpenAIServer(rate_limit=2) as server:
        client = client_for(server)
        raw = client.chat.completions.with_raw_response.create(**chat_body("one"))
        assert raw.headers["x-ratelimit-limit-requests"] == "2"
        assert raw.headers["x-ratelimit-remaining-requests"] == "1"
        assert re.fullmatch(r"\d+(\.\d+)?s", raw.headers["x-ratelimit-reset-requests"])
        client.chat.completions.create(**chat_body("two"))
        with pytest.raises(openai.RateLimitError) as refused:
            client.chat.completions.create(**chat_body("three"))
        headers = refused.value.response.headers
        assert 0 < float(headers["retry-after"]) <= 0.5
        assert 0 < int(headers["retry-after-ms"]) <= 500
        assert headers["x-ratelimit-remaining-requests"] == "0"
        assert [r["fault"] for r in server.requests] == [None, None, "rate_limited"]

        server.set_rate_limit(100)
        assert server.rate_limit == 100
        client.chat.completions.create(**chat_body("four"))
        server.set_rate_limit(None)
        plain = client.chat.completions.with_raw_response.create(**chat_body("five"))
        assert "x-ratelimit-limit-requests" not in plain.headers


def test_rate_limit_keeps_injected_faults_for_admitted_requests() -> None:
    with FakeOpenAIServer(rate_limit=1) as server:
        client = client_for(server)
        client.chat.completions.create(**chat_body("one"))
        server.inject("500")
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(**chat_body("two"))
        server.set_rate_limit(None)
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(**chat_body("three"))


# -- the Batch API ----------------------------------------------------------------------


def jsonl(lines: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def batch_line(custom_id: str, prompt: str | None = None) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": chat_body(prompt or f"card for {custom_id}"),
    }


def submit(client: openai.OpenAI, lines: list[dict[str, Any]], **metadata: str) -> Any:
    uploaded = client.files.create(file=("batch.jsonl", jsonl(lines)), purpose="batch")
    return client.batches.create(
        input_file_id=uploaded.id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata=metadata or None,
    )


def read_lines(client: openai.OpenAI, file_id: str | None) -> dict[str, dict[str, Any]]:
    assert file_id is not None
    text = client.files.content(file_id).text
    return {line["custom_id"]: line for line in map(json.loads, text.splitlines())}


def test_batch_round_trip(server: FakeOpenAIServer) -> None:
    client = client_for(server)
    ids = ["a", "b", "c", "d"]
    uploaded = client.files.create(file=("cards.jsonl", jsonl([batch_line(i) for i in ids])), purpose="batch")
    assert (uploaded.object, uploaded.purpose, uploaded.filename) == ("file", "batch", "cards.jsonl")
    assert uploaded.bytes == len(jsonl([batch_line(i) for i in ids]))
    assert client.files.retrieve(uploaded.id).id == uploaded.id

    batch = client.batches.create(
        input_file_id=uploaded.id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata={"run": "round-trip"},
    )
    assert batch.status == "validating"
    assert batch.metadata == {"run": "round-trip"}

    done = client.batches.retrieve(batch.id)
    assert done.status == "completed"
    assert done.request_counts is not None
    assert (done.request_counts.total, done.request_counts.completed, done.request_counts.failed) == (4, 4, 0)
    assert done.error_file_id is None
    assert done.model == "fake-gpt"
    assert done.completed_at is not None and done.in_progress_at is not None

    output = read_lines(client, done.output_file_id)
    assert sorted(output) == ids
    for custom_id, line in output.items():
        assert line["error"] is None and line["response"]["status_code"] == 200
        completion = ChatCompletion.model_validate(line["response"]["body"])
        assert completion.choices[0].message.content is not None
        Card.model_validate_json(completion.choices[0].message.content)

        # the same request answered synchronously: the same object, the same content
        direct = client.chat.completions.create(**batch_line(custom_id)["body"])
        assert completion.model_dump(exclude={"created"}) == direct.model_dump(exclude={"created"})

    assert server.batch_requests_billed == 4
    assert sorted(e.custom_id for e in server.batch_executions) == ids
    assert client.files.retrieve(done.output_file_id or "").purpose == "batch_output"


def test_duplicate_custom_id_fails_validation(server: FakeOpenAIServer) -> None:
    client = client_for(server)
    batch = submit(client, [batch_line("a"), batch_line("b"), batch_line("a", "again")])
    failed = client.batches.retrieve(batch.id)
    assert failed.status == "failed" and failed.failed_at is not None
    assert failed.errors is not None and failed.errors.data is not None
    [error] = failed.errors.data
    assert (error.code, error.line, error.param) == ("duplicate_custom_id", 3, "custom_id")
    assert failed.output_file_id is None
    assert server.batch_executions == [] and server.batch_requests_billed == 0


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b'{"custom_id": "a"\n', "invalid_json_line"),
        (jsonl([{**batch_line("a"), "url": "/v1/embeddings"}]), "url_mismatch"),
        (
            jsonl([{k: v for k, v in batch_line("a").items() if k != "custom_id"}]),
            "missing_required_parameter",
        ),
        (
            jsonl([batch_line("a"), {**batch_line("b"), "body": {**chat_body("x"), "model": "other"}}]),
            "model_mismatch",
        ),
        (b"", "empty_file"),
    ],
)
def test_invalid_input_fails_validation(server: FakeOpenAIServer, content: bytes, code: str) -> None:
    client = client_for(server)
    uploaded = client.files.create(file=("bad.jsonl", content), purpose="batch")
    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    failed = client.batches.retrieve(batch.id)
    assert failed.status == "failed"
    assert failed.errors is not None and failed.errors.data
    assert failed.errors.data[0].code == code


def test_create_refuses_unknown_files_and_endpoints(server: FakeOpenAIServer) -> None:
    client = client_for(server)
    with pytest.raises(openai.BadRequestError, match="input_file_id"):
        client.batches.create(
            input_file_id="file-nope", endpoint="/v1/chat/completions", completion_window="24h"
        )
    uploaded = client.files.create(file=("x.jsonl", jsonl([batch_line("a")])), purpose="batch")
    with pytest.raises(openai.BadRequestError, match="endpoint"):
        client.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h")


def test_partial_failure_and_resubmission(server: FakeOpenAIServer) -> None:
    client = client_for(server)
    server.fail_batch_items(["b"], kind="500")
    server.fail_batch_items(["c"], kind="error")
    server.fail_batch_items(["d"], kind="400")
    batch = submit(client, [batch_line(i) for i in "abcde"])
    done = client.batches.retrieve(batch.id)
    assert done.status == "completed"
    assert done.request_counts is not None
    assert (done.request_counts.completed, done.request_counts.failed) == (2, 3)
    assert sorted(read_lines(client, done.output_file_id)) == ["a", "e"]
    errors = read_lines(client, done.error_file_id)
    assert errors["b"]["response"]["status_code"] == 500 and errors["b"]["error"] is None
    assert errors["b"]["response"]["body"]["error"]["type"] == "server_error"
    assert errors["d"]["response"]["status_code"] == 400
    assert errors["c"]["response"] is None and errors["c"]["error"]["code"] == "server_error"
    assert server.batch_requests_billed == 2

    # listed custom_ids fail once: a resubmission of the failed items succeeds
    retry = submit(client, [batch_line(i) for i in "bcd"])
    redone = client.batches.retrieve(retry.id)
    assert redone.error_file_id is None and sorted(read_lines(client, redone.output_file_id)) == [
        "b",
        "c",
        "d",
    ]
    assert server.batch_requests_billed == 5
    billed = Counter(e.custom_id for e in server.batch_executions if e.billed)
    assert billed == dict.fromkeys("abcde", 1)
    bodies = Counter(e.body_sha256 for e in server.batch_executions if e.billed)
    assert max(bodies.values()) == 1


def test_a_fraction_of_items_fails(server: FakeOpenAIServer) -> None:
    client = client_for(server)
    server.fail_batch_items(0.5, kind="invalid")
    done = client.batches.retrieve(submit(client, [batch_line(f"n{i}") for i in range(40)]).id)
    contents = [
        line["response"]["body"]["choices"][0]["message"]["content"]
        for line in read_lines(client, done.output_file_id).values()
    ]
    invalid = sum(json.loads(c) == {"unexpected": True} for c in contents)
    assert 8 <= invalid <= 32  # "invalid" answers 200 with JSON that fails the schema
    assert server.batch_requests_billed == 40
    server.clear_faults()
    later = client.batches.retrieve(submit(client, [batch_line("z")]).id)
    assert later.request_counts is not None and later.request_counts.completed == 1


def test_expiry_keeps_finished_items(server: FakeOpenAIServer) -> None:
    client = client_for(server)
    server.hold_batches()
    batch = submit(client, [batch_line(i) for i in "abcde"])
    assert client.batches.retrieve(batch.id).status == "in_progress"
    assert server.advance_batches(items=2) == 2
    assert client.batches.retrieve(batch.id).status == "in_progress"
    server.expire_batch(batch.id)

    expired = client.batches.retrieve(batch.id)
    assert expired.status == "expired" and expired.expired_at is not None
    assert expired.request_counts is not None
    assert (expired.request_counts.completed, expired.request_counts.failed) == (2, 3)
    assert sorted(read_lines(client, expired.output_file_id)) == ["a", "b"]
    errors = read_lines(client, expired.error_file_id)
    assert sorted(errors) == ["c", "d", "e"]
    assert {line["error"]["code"] for line in errors.values()} == {"batch_expired"}
    assert all(line["response"] is None for line in errors.values())
    assert server.batch_requests_billed == 2


def test_the_completion_window_runs_out_on_the_servers_clock(server: FakeOpenAIServer) -> None:
    client = client_for(server)
    server.hold_batches()
    batch = submit(client, [batch_line("a")])
    server.advance_clock(24 * 3600)
    assert client.batches.retrieve(batch.id).status == "expired"
    assert server.batch_executions == []


def test_batch_delay_is_counted_on_the_servers_clock() -> None:
    with FakeOpenAIServer(batch_delay=600) as server:
        client = client_for(server)
        batch = submit(client, [batch_line("a")])
        assert client.batches.retrieve(batch.id).status == "in_progress"
        server.advance_clock(599)
        assert client.batches.retrieve(batch.id).status == "in_progress"
        server.advance_clock(1)
        assert client.batches.retrieve(batch.id).status == "completed"


def test_cancel(server: FakeOpenAIServer) -> None:
    client = client_for(server)
    server.hold_batches()
    batch = submit(client, [batch_line(i) for i in "abc"])
    server.advance_batches(items=1)
    cancelling = client.batches.cancel(batch.id)
    assert cancelling.status == "cancelling" and cancelling.cancelling_at is not None
    assert client.batches.retrieve(batch.id).status == "cancelling"
    server.advance_batches()
    cancelled = client.batches.retrieve(batch.id)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at is not None
    assert sorted(read_lines(client, cancelled.output_file_id)) == ["a"]
    errors = read_lines(client, cancelled.error_file_id)
    assert {line["error"]["code"] for line in errors.values()} == {"batch_cancelled"}
    with pytest.raises(openai.ConflictError):
        client.batches.cancel(batch.id)


def test_cancel_without_hold_ends_at_the_next_poll(server: FakeOpenAIServer) -> None:
    client = client_for(server)
    batch = submit(client, [batch_line("a")])
    assert client.batches.cancel(batch.id).status == "cancelling"
    assert client.batches.retrieve(batch.id).status == "cancelled"
    assert server.batch_requests_billed == 0


def test_list_pages_newest_first(server: FakeOpenAIServer) -> None:
    client = client_for(server)
    created = [submit(client, [batch_line("a")], n=str(n)).id for n in range(3)]
    first = client.batches.list(limit=2)
    assert [b.id for b in first.data] == created[::-1][:2]
    assert first.has_more is True
    rest = client.batches.list(limit=2, after=first.data[-1].id)
    assert [b.id for b in rest.data] == created[:1] and rest.has_more is False
    assert [b.id for b in client.batches.list(limit=1)] == created[::-1]  # the SDK follows the cursor
    assert all(b.status == "completed" for b in first.data)


def test_files_delete(server: FakeOpenAIServer) -> None:
    client = client_for(server)
    uploaded = client.files.create(file=("x.jsonl", b"{}\n"), purpose="batch")
    assert client.files.content(uploaded.id).content == b"{}\n"
    deleted = client.files.delete(uploaded.id)
    assert deleted.deleted is True and deleted.id == uploaded.id
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(uploaded.id)


def test_rate_limit_does_not_apply_to_batch_items() -> None:
    with FakeOpenAIServer(rate_limit=1) as server:
        client = client_for(server)
        done = client.batches.retrieve(submit(client, [batch_line(f"n{i}") for i in range(5)]).id)
        assert done.request_counts is not None and done.request_counts.completed == 5


def test_auth_is_recorded_never_stored(server: FakeOpenAIServer) -> None:
    client = client_for(server)
    client.batches.retrieve(submit(client, [batch_line("a")]).id)
    urllib.request.urlopen(f"{server.url}/batches").read()
    assert [r["has_auth"] for r in server.requests] == [True, True, True, False]
    assert [r["method"] for r in server.requests] == ["POST", "POST", "GET", "GET"]
    assert "sk-test" not in json.dumps(server.requests)
