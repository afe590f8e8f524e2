"""Generators of the first project: vet visits, bike repair orders, conference talks."""
