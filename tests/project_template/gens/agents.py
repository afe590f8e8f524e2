from hotdata.make import GenerationContext, fixture

from .schemas import Agent, Draft, Note


@fixture(
    "agents/{archetype}",
    schema=Agent,
    template="agent.j2",
    variants=[{"archetype": "deliberating", "entropy": 0.3}, {"archetype": "crisis", "entropy": 0.9}],
)
async def agent(ctx: GenerationContext, archetype: str, entropy: float) -> Agent:
    return await ctx.generate(ctx.render())


@fixture("notes/welcome", schema=Note, template="note.j2")
async def welcome_note(ctx: GenerationContext) -> Note:
    draft = await ctx.generate(ctx.render(), Draft)
    return Note(title="Welcome aboard", body=draft.text)
