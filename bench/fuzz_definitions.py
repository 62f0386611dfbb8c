"""Coverage-guided fuzzing of the process-definition loader and validator with atheris (libFuzzer),
for long runs outside CI; tests/fuzz/test_fuzz_definitions.py is the bounded, deterministic part.

Run:
    .venv/bin/pip install atheris
    PYTHONPATH=src .venv/bin/python bench/fuzz_definitions.py -max_total_time=600 [CORPUS_DIR ...]

Without a corpus directory, a temporary one is seeded with the shipped templates. Any libFuzzer
option may be given (-jobs=2, -max_len=65536, -dict=…). A crash is any exception other than the
project's DefinitionError, a refusal that does not name the file in one Chinese line per problem,
or an accepted definition the database could not store; libFuzzer then writes the input to
crash-<sha1> in the current directory. Reproduce with: ... bench/fuzz_definitions.py crash-<sha1>
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports():
    import yaml  # noqa: F401  (the pure-Python parser is where most of the branches are)

    from tousu.processes.catalog import template_names, template_path
    from tousu.processes.validation import DefinitionError, load_text

FILE = "fuzzed.yaml"
CJK = re.compile(r"[\u4e00-\u9fff]")


def _storable(value) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            assert "\x00" not in item, "accepted a NUL character"
            item.encode("utf-8")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


def test_one_input(data: bytes) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return  # load_file refuses undecodable bytes before the parser sees them
    try:
        definition = load_text(text, FILE)
    except DefinitionError as exc:
        assert exc.problems
        for problem in exc.problems:
            line = str(problem)
            assert line.startswith(FILE) and "\n" not in line, line
            assert CJK.search(problem.message), line
        return
    assert 1 <= definition.version <= 2**31 - 1
    _storable(definition.model_dump())


def main() -> None:
    argv = list(sys.argv)
    if not any(not arg.startswith("-") for arg in argv[1:]):
        corpus = Path(tempfile.mkdtemp(prefix="tousu-definitions-"))
        for name in template_names():
            shutil.copy(template_path(name), corpus / f"{name}.yaml")
        argv.append(str(corpus))
        print(f"corpus: {corpus} (the shipped templates)", file=sys.stderr)
    if not any(arg.startswith("-max_len=") for arg in argv):
        argv.append("-max_len=65536")
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
