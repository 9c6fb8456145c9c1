"""Format and shaping rewards: cheap checks of *how* a policy answers.

Registered through the ``shaping`` entry point (``plugin.py``):

- ``think_format``: the completion follows a tag layout (default ``<think>…</think><answer>…</answer>``);
- ``tag_count``: partial credit per well-formed layout tag, which repeating tags cannot raise;
- ``json_schema``: the answer parses as JSON and validates against a JSON Schema or pydantic model;
- ``length``: length in a target range, or cosine-scaled / Kimi-scaled by another reward's correctness;
- ``overlong``: DAPO's soft overlong punishment on token counts;
- ``repetition``: n-gram repetition penalty for spaced and unspaced scripts (Chinese, Japanese, Thai);
- ``reasoning_steps``: distinct step markers (English and Chinese);
- ``language``: the completion is written in the prompt's language, by Unicode script.

Nothing is imported here, so loading the plugin stays cheap; see ``docs/shaping.md``.
"""
