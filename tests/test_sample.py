"""`ctx.sample`: structure drawn on the fixture's seeded rng with Faker (issue 24, part 1).

Units: the same seed gives the same values, ranges and bounds hold, weights are honoured,
locales reach Faker, emails validate as pydantic's EmailStr, bad arguments are one-line
``SampleError``s. Then one real `doit` project: the sampled structure in the built fixture,
the same on a rebuild, Faker's version in the fingerprint, and an upgrade as a reason.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from doit_project import Project
from pydantic import EmailStr, TypeAdapter

from hotdata.make import SampleError, Sampler

FAKER_VERSION = version("faker")
LOCALES = ("en_US", "de_DE", "fr_FR", "ja_JP", "ru_RU", "el_GR")


def draws(sample: Sampler) -> list[Any]:
    """One call of every sampler, in a fixed order."""
    person = sample.person(locale="de_DE")
    return [
        person,
        sample.company(),
        sample.product(),
        sample.email(),
        sample.phone(),
        sample.address(locale="fr_FR"),
        sample.city(),
        sample.country(),
        sample.date("2024-01-01", "2024-12-31"),
        sample.datetime("2024-01-01T00:00", "2024-01-02T00:00"),
        sample.duration("30m", "2h"),
        sample.category({"open": 3, "closed": 1}),
        sample.subcategory("bug", {"bug": ["crash", "typo"], "idea": ["ui"]}),
        sample.pick(["a", "b", "c"], 2),
        sample.integer(1, 6),
        sample.uniform(0.0, 1.0),
        sample.gaussian(10.0, 3.0, low=5.0, high=12.0),
        sample.poisson(4.0, low=1, high=6),
    ]


def test_the_same_fixture_name_gives_the_same_values() -> None:
    assert draws(Sampler(random.Random("shop/customers"))) == draws(Sampler(random.Random("shop/customers")))
    assert draws(Sampler(random.Random("shop/customers"))) != draws(Sampler(random.Random("shop/orders")))


def test_the_order_of_calls_is_the_only_state() -> None:
    """A sampler's value depends on how many draws came before it, not on any other Faker state."""
    one, two = Sampler(random.Random("n")), Sampler(random.Random("n"))
    one.company(locale="de_DE")  # another locale, another Faker: still one draw from the rng
    two.integer(0, 9)
    assert one.person().name == two.person().name


def test_faker_is_recorded_only_when_a_faker_sampler_drew() -> None:
    sample = Sampler(random.Random("n"))
    sample.category(["a", "b"])
    sample.gaussian(0.0, 1.0)
    sample.date("2024-01-01", "2024-01-31")
    assert sample.used_libraries == {}
    sample.city()
    assert sample.used_libraries == {"faker": FAKER_VERSION}


def test_dates_datetimes_and_durations_stay_in_their_range() -> None:
    sample = Sampler(random.Random("range"))
    days = {sample.date("2024-02-27", date(2024, 3, 1)) for _ in range(200)}
    assert days == {date(2024, 2, 27), date(2024, 2, 28), date(2024, 2, 29), date(2024, 3, 1)}
    for _ in range(200):
        moment = sample.datetime("2024-01-01T09:00", "2024-01-01T17:00")
        assert datetime(2024, 1, 1, 9, tzinfo=UTC) <= moment <= datetime(2024, 1, 1, 17, tzinfo=UTC)
        assert timedelta(minutes=30) <= sample.duration("30m", 7200) <= timedelta(hours=2)


def test_numbers_stay_within_their_bounds() -> None:
    sample = Sampler(random.Random("bounds"))
    assert {sample.integer(1, 3) for _ in range(100)} == {1, 2, 3}
    for _ in range(300):
        assert 2.0 <= sample.uniform(2.0, 3.0) <= 3.0
        assert 5.0 <= sample.gaussian(10.0, 3.0, low=5.0, high=12.0) <= 12.0
        assert 1 <= sample.poisson(4.0, low=1, high=6) <= 6
    counts = [sample.poisson(200.0) for _ in range(300)]  # large means draw in chunks
    assert 185 < sum(counts) / len(counts) < 215


def test_bounds_out_of_reach_are_clipped_after_resampling() -> None:
    sample = Sampler(random.Random("clip"))
    assert sample.gaussian(0.0, 1.0, low=50.0) == 50.0  # 100 draws all below: the nearest bound
    assert sample.poisson(1.0, low=40) == 40


def test_weights_are_honoured() -> None:
    sample = Sampler(random.Random("weights"))
    counts = Counter(sample.category({"open": 3, "closed": 1, "never": 0}) for _ in range(4000))
    assert counts["never"] == 0
    assert 2.6 < counts["open"] / counts["closed"] < 3.4
    subs = Counter(sample.subcategory("bug", {"bug": {"crash": 1, "typo": 9}}) for _ in range(2000))
    assert set(subs) == {"crash", "typo"} and subs["typo"] > 5 * subs["crash"]
    assert {sample.subcategory("idea", {"idea": ["ui", "api"]}) for _ in range(50)} == {"ui", "api"}


def test_pick_gives_different_items() -> None:
    sample = Sampler(random.Random("pick"))
    for _ in range(50):
        picked = sample.pick(["a", "b", "c", "d"], 3)
        assert len(set(picked)) == 3 and set(picked) <= {"a", "b", "c", "d"}
    assert sample.pick(["a"], 0) == []


def test_locales_reach_faker() -> None:
    sample = Sampler(random.Random("locales"))
    assert sample.person().locale == "en_US"
    german = sample.person(locale="de_DE")
    assert german.locale == "de_DE" and german.name == f"{german.first_name} {german.last_name}"
    japanese = {sample.city(locale="ja_JP") for _ in range(20)}
    assert all(any(ord(ch) > 0x3000 for ch in city) for city in japanese), japanese
    assert sample.address(locale="fr_FR").country == "France"


@pytest.mark.parametrize("locale", ["en_US", "de_DE", "fr_FR", "it_IT"])
def test_a_person_of_a_gender_has_a_first_name_of_that_gender_and_its_pronouns(locale: str) -> None:
    from faker import Faker

    listed = Faker(locale).provider("faker.providers.person")
    female, male = set(listed.first_names_female), set(listed.first_names_male)  # type: ignore[union-attr]
    sample = Sampler(random.Random(locale))
    women = [sample.person(locale=locale, gender="female") for _ in range(40)]
    men = [sample.person(locale=locale, gender="male") for _ in range(40)]
    assert {p.first_name for p in women} <= female and {p.first_name for p in men} <= male
    assert {(p.gender, p.pronoun, p.pronoun_object, p.possessive) for p in women} == {
        ("female", "she", "her", "her")
    }
    assert {(p.gender, p.pronoun, p.pronoun_object, p.possessive) for p in men} == {
        ("male", "he", "him", "his")
    }
    # without a gender the name is drawn from all, and its gender is the list it is in
    anyone = [sample.person(locale=locale) for _ in range(200)]
    genders = Counter(p.gender for p in anyone)
    assert genders["female"] > 40 and genders["male"] > 40, genders
    for p in anyone:
        lists = [g for g, names in (("female", female), ("male", male)) if p.first_name in names]
        assert p.gender == (lists[0] if len(lists) == 1 else None), p
        assert p.pronoun == {"female": "she", "male": "he", None: "they"}[p.gender]


def test_a_person_drawn_without_a_gender_is_the_one_drawn_before_genders_existed() -> None:
    """Leaving gender out draws exactly as before (Faker's first_name), so fixtures built then still verify."""
    person = Sampler(random.Random("support/ticket")).person(locale="de_DE")
    assert (person.name, person.email, person.gender) == ("Roger Zorbach", "roger.zorbach@web.de", "male")


@pytest.mark.parametrize("locale", LOCALES)
def test_emails_are_valid_for_emailstr(locale: str) -> None:
    emails = TypeAdapter(list[EmailStr])
    sample = Sampler(random.Random(locale))
    people = [sample.person(locale=locale) for _ in range(100)]
    found = [p.email for p in people] + [sample.email(locale=locale) for _ in range(100)]
    assert emails.validate_python(found) == found
    assert len(set(found)) > 150  # names with no ASCII letters still give distinct addresses


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.category({}), "ctx.sample.category: nothing to choose from; give at least one option"),
        (lambda s: s.category({"a": -1}), "weights must be finite, >= 0 and not all 0 (option 'a')"),
        (lambda s: s.category("ab"), "give a list or a mapping of weights, not the string 'ab'"),
        (lambda s: s.subcategory("x", {"a": ["b"]}), "category 'x' has no subcategories; known: 'a'"),
        (lambda s: s.date("2024-02-01", "2024-01-01"), "start 2024-02-01 is after end 2024-01-01; swap them"),
        (lambda s: s.date("soon", "2024-01-01"), "start 'soon' is not a date; give 'YYYY-MM-DD' or a date"),
        (lambda s: s.duration("2h", "forever"), "high 'forever' is not a duration; give e.g. '30m'"),
        (lambda s: s.integer(5, 1), "ctx.sample.integer: low 5 is above high 1; swap them"),
        (lambda s: s.gaussian(0.0, -1.0), "sd -1.0 is negative"),
        (lambda s: s.pick(["a", "b"], 3), "ctx.sample.pick: k=3 of 2 options; give 0 <= k <= 2"),
        (lambda s: s.person(locale="xx_XX"), "locale 'xx_XX' is not one Faker knows; use e.g. 'en_US'"),
        (lambda s: s.person(gender="f"), "ctx.sample.person: gender 'f' is not 'female' or 'male'"),
        (lambda s: s.person(locale="lt_LT", gender="male"), "locale 'lt_LT' has no male first names"),
    ],
)
def test_bad_arguments_are_one_line_errors(call: Any, message: str) -> None:
    with pytest.raises(SampleError) as caught:
        call(Sampler(random.Random("bad")))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


SAMPLED = """
from pydantic import BaseModel, EmailStr

from hotdata.make import GenerationContext, fixture

from .schemas import Draft


class Ticket(BaseModel):
    customer: str
    email: EmailStr
    company: str
    opened: str
    kind: str
    area: str
    priority: int
    body: str


@fixture("support/ticket", schema=Ticket, template="note.j2")
async def ticket(ctx: GenerationContext) -> Ticket:
    person = ctx.sample.person(locale="de_DE")
    kind = ctx.sample.category({"bug": 3, "question": 1})
    draft = await ctx.generate(ctx.render(), Draft)
    return Ticket(
        customer=person.name,
        email=person.email,
        company=ctx.sample.company(locale="de_DE"),
        opened=ctx.sample.date("2024-01-01", "2024-12-31").isoformat(),
        kind=kind,
        area=ctx.sample.subcategory(kind, {"bug": ["billing", "login"], "question": ["pricing"]}),
        priority=ctx.sample.poisson(2.0, low=1, high=5),
        body=draft.text,
    )


@fixture("support/counted", schema=Ticket, template="note.j2")
async def counted(ctx: GenerationContext) -> Ticket:
    draft = await ctx.generate(ctx.render(), Draft)
    kind = ctx.sample.category(["bug", "question"])  # numbers and categories only: no Faker
    return Ticket(customer="A. Person", email="a@example.org", company="Acme", opened="2024-01-01",
                  kind=kind, area="-", priority=ctx.sample.integer(1, 5), body=draft.text)
"""


def expected_ticket() -> dict[str, Any]:
    """What the generator's samplers give for the name ``support/ticket``, computed here."""
    sample = Sampler(random.Random("support/ticket"))
    person = sample.person(locale="de_DE")
    kind = sample.category({"bug": 3, "question": 1})
    return {
        "customer": person.name,
        "email": person.email,
        "company": sample.company(locale="de_DE"),
        "opened": sample.date("2024-01-01", "2024-12-31").isoformat(),
        "kind": kind,
        "area": sample.subcategory(kind, {"bug": ["billing", "login"], "question": ["pricing"]}),
        "priority": sample.poisson(2.0, low=1, high=5),
    }


# The local index as a build long ago would leave it: every fixture verified, its files old enough.
WARM_INDEX = """
import json, time

from hotdata.make import load_config
from hotdata.make.plan import FreshIndex, InputResolver, Planner, load_catalog

config = load_config()
catalog = load_catalog(config)
index = FreshIndex(config.state_path, clock_ns=lambda: time.time_ns() + 10**12)
planner = Planner(InputResolver(config), catalog=catalog, index=index)
assert {planner.status(spec).state.value for spec in catalog} == {"fresh"}
index.save()
entries = json.loads(index.path.read_text())["entries"]
print(*sorted(n for n in entries if n.startswith("support/")), entries["support/ticket"]["samplers"])
"""


@pytest.mark.slow
def test_sampled_structure_is_built_stable_and_faker_versioned(tmp_path: Path) -> None:
    project = Project.create(tmp_path)
    project.path("gens/sampled.py").write_text(SAMPLED)
    project.doit("fixtures", check=True)
    data_path = project.path("fixtures/support/ticket.json")
    meta_path = project.path("fixtures/support/ticket.meta.json")
    built = json.loads(data_path.read_text())
    assert {k: v for k, v in built.items() if k != "body"} == expected_ticket()
    record = json.loads(meta_path.read_text())
    assert record["fingerprint"]["samplers"] == {"faker": FAKER_VERSION}
    # a generator that sampled only numbers and categories, and the template's own fixtures,
    # record no samplers: their fingerprints are what they were before ctx.sample
    for name in ("support/counted", "notes/welcome"):
        other = json.loads(project.path(f"fixtures/{name}.meta.json").read_text())
        assert "samplers" not in other["fingerprint"], name

    first = data_path.read_bytes()
    project.doit("fixtures", "force=1", check=True)  # a rebuild: the model is asked again
    assert json.loads(data_path.read_bytes())["customer"] == built["customer"]
    assert {k: v for k, v in json.loads(data_path.read_bytes()).items() if k != "body"} == expected_ticket()
    assert data_path.read_bytes() == first  # the fake model answers the same prompt the same way
    assert {row["state"] for row in project.status().values()} == {"fresh"}

    # a Faker upgrade, installed: a newer faker's metadata first on the path. `doit fixtures`
    # does not trust the local index (warmed as a build hours ago leaves it) for the fixture
    # that sampled with Faker, and only for it
    warmed = subprocess.run(
        [sys.executable, "-c", WARM_INDEX], cwd=project.root, capture_output=True, text=True, check=True
    )
    assert warmed.stdout.split() == ["support/counted", "support/ticket", "['faker']"], warmed.stdout
    newer = tmp_path / "newer"
    (newer / "faker-99.0.0.dist-info").mkdir(parents=True)
    (newer / "faker-99.0.0.dist-info/METADATA").write_text(
        "Metadata-Version: 2.1\nName: Faker\nVersion: 99.0.0\n"
    )
    project.calls()
    proc = project.doit("fixtures", env={"PYTHONPATH": str(newer)}, check=True)
    assert ".  support/ticket generated" in proc.stdout, proc.stdout  # the one that sampled with Faker
    assert "hotdata: 1 generated, 4 up to date, 0 failed" in proc.stdout, proc.stdout
    assert project.calls() == []  # its answers replayed: only the sampled values were drawn again
    assert json.loads(meta_path.read_text())["fingerprint"]["samplers"] == {"faker": "99.0.0"}
    stale = {name: row["reason"] for name, row in project.status().items() if row["state"] != "fresh"}
    assert stale == {"support/ticket": f"faker 99.0.0 -> {FAKER_VERSION}: sampled values may differ"}
    project.doit("fixtures", check=True)
    assert {row["state"] for row in project.status().values()} == {"fresh"}

    # a Faker upgrade, simulated: the record says the values came from an older Faker
    record = json.loads(meta_path.read_text())
    record["fingerprint"]["samplers"]["faker"] = "39.0.0"
    meta_path.write_text(json.dumps(record))
    stale = {name: row["reason"] for name, row in project.status().items() if row["state"] != "fresh"}
    assert stale == {"support/ticket": f"faker 39.0.0 -> {FAKER_VERSION}: sampled values may differ"}
    project.calls()
    project.doit("fixtures", check=True)
    assert json.loads(meta_path.read_text())["fingerprint"]["samplers"] == {"faker": FAKER_VERSION}
    assert {row["state"] for row in project.status().values()} == {"fresh"}


def test_the_readme_lists_every_sampler_once() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("#### Sampling structure: `ctx.sample`", 1)[1].split("\n#", 1)[0]
    listed = re.findall(r"`(\w+)\(", "\n".join(re.findall(r"^\| (.*?) \|", section, re.MULTILINE)))
    public = [n for n in vars(Sampler) if not n.startswith("_") and callable(getattr(Sampler, n))]
    assert sorted(listed) == sorted(public)


def test_an_installed_faker_keys_the_catalog_snapshot(tmp_path: Path) -> None:
    """The no-op `doit fixtures` (catalog snapshot) is keyed on the installed Faker's dist-info
    folder, so a `pip install -U faker` is never mistaken for "nothing changed"."""
    from hotdata.make._snapshot import SAMPLING_DISTRIBUTIONS, installed_distributions

    site, other = tmp_path / "site", tmp_path / "other"
    for folder in ("faker-40.54.0.dist-info", "fakeredis-2.0.dist-info", "faker", "rich-13.dist-info"):
        (site / folder).mkdir(parents=True)
    (other / "Faker-41.0.0.dist-info").mkdir(parents=True)
    places = [str(site), str(other), str(tmp_path / "missing"), str(tmp_path / "x.zip")]
    assert installed_distributions(SAMPLING_DISTRIBUTIONS, places) == [
        str(site / "faker-40.54.0.dist-info"),
        str(other / "Faker-41.0.0.dist-info"),
    ]
    here = installed_distributions(SAMPLING_DISTRIBUTIONS, sys.path)  # this environment's
    assert here and os.path.basename(here[0]).lower() == f"faker-{FAKER_VERSION}.dist-info"
