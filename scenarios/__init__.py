"""Scenario files: the user's plan of activity, read into typed values.

Data flows one way through the input side of this package: ``source`` reads
YAML text and keeps each value's line; ``schema`` is the v1 file format as
frozen pydantic models (``jsonschema`` writes it out for editors);
``messages`` turns pydantic's errors into sentences; ``validate`` checks what
a schema cannot (domain rules, the price book, the scenario window) and
returns problems as values; ``loader`` runs them all and raises one
``ScenarioError`` listing every problem of the file; ``schedule`` expands
usage lines into occurrences lazily, for the replay engine.
"""
