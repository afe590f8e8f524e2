"""This repository's fixture catalog: schemas, generator functions and prompt templates."""
