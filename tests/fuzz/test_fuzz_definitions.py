"""Hostile process definitions (issue #10, point 6): arbitrary bytes, YAML-ish text, structured
mutations of the generic template, line-level mutations (duplicate keys, bad tags, huge numbers) and
alias bombs. Each must be accepted or refused with the project's DefinitionError naming the file,
in Chinese, within a bounded time; through the CLI: exit code 2 and one line per reason, never a
traceback. What is accepted must also be storable (no NUL, valid UTF-8, versions a database holds).

Deterministic: fixed seed (derandomize), no example database, bounded numbers of examples."""

from __future__ import annotations

import contextlib
import copy
import io
import tempfile
import time
from pathlib import Path

import yaml
from fuzz_hostile import CJK, fuzz_settings, hostile_values
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import BaseModel

from tousu.cli import main
from tousu.processes import definition as definition_module
from tousu.processes.catalog import template_path
from tousu.processes.validation import DefinitionError, load_file, load_text

GENERIC_TEXT = template_path("generic").read_text(encoding="utf-8")
GENERIC_LINES = GENERIC_TEXT.splitlines(keepends=True)
TEMPLATE = yaml.safe_load(GENERIC_TEXT)
NAME = "fuzzed.yaml"
SECONDS = 30.0  # one definition, however hostile, is answered within this (a bomb would take hours;
# the bound is loose because CI machines are busy)
MAX_DB_INT = 2**31 - 1  # PositiveIntegerField on PostgreSQL


def _paths(node, prefix=()):
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


PATHS = _paths(TEMPLATE)
KNOWN_KEYS = sorted(
    {
        field.alias or name
        for model in vars(definition_module).values()
        if isinstance(model, type) and issubclass(model, BaseModel)
        for name, field in model.model_fields.items()
    }
)


# --- checks -----------------------------------------------------------------------------------


def _storable(value, where="(根)"):
    """What an accepted definition puts into the database must be storable there."""
    if isinstance(value, str):
        assert "\x00" not in value, f"accepted NUL at {where}"
        value.encode("utf-8")  # raises on lone surrogates
    elif isinstance(value, dict):
        for k, v in value.items():
            _storable(k, where)
            _storable(v, f"{where}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _storable(v, f"{where}[{i}]")


def _check_answer(run, file: str):
    """Run one validation; return the definition or None after checking the refusal's shape."""
    started = time.monotonic()
    try:
        d = run()
    except DefinitionError as exc:
        assert exc.problems, "a DefinitionError without problems"
        for p in exc.problems:
            assert p.file == file, p
            assert str(p).startswith(file), p
            assert CJK.search(p.message), f"not a Chinese message: {p}"
        d = None
    elapsed = time.monotonic() - started
    assert elapsed < SECONDS, f"took {elapsed:.1f} s"
    if d is not None:
        assert 1 <= d.version <= MAX_DB_INT
        _storable(d.model_dump())
    return d


def _validate_text(text: str):
    return _check_answer(lambda: load_text(text, NAME), NAME)


def _validate_bytes(data: bytes):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / NAME
        path.write_bytes(data)
        return _check_answer(lambda: load_file(path), str(path))


def _cli(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / NAME
        path.write_bytes(data)
        out, err = io.StringIO(), io.StringIO()
        started = time.monotonic()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["process", "validate", str(path)])
        assert time.monotonic() - started < SECONDS
        out, err = out.getvalue(), err.getvalue()
        assert "Traceback" not in out + err
        if code == 0:
            assert not err and out.startswith(f"{path}: 通过"), (out, err)
        else:
            assert code == 2, (code, out, err)
            assert not out and err.endswith("\n")
            for line in err.splitlines():  # one reason a line, each naming the file
                assert line.startswith(str(path)), repr(line)
                assert CJK.search(line), repr(line)


# --- generators -------------------------------------------------------------------------------

YAML_TOKENS = [
    ":", ": ", "-", "- ", "[", "]", "{", "}", ",", "&a ", "*a", "*b", "!!str ", "!!int ", "!!binary ",
    "!!python/object:os.system ", "? ", "|", ">", "'", '"', "#", "%YAML 1.1\n", "---\n", "...\n",
    "<<: ", "\n", "\n  ", "\n    ", "\t", "name", "states", "actions", "label", "from", "to",
    "roles", "version", "1", "0x1F", "1e999", ".inf", ".nan", "~", "null", "yes", "2020-13-45",
    "投诉", "\\0", '"\\0"', '"\\ud800"', "\x00", "\ufeff", "\u202e",
]  # fmt: skip

yamlish = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(YAML_TOKENS), max_size=60).map("".join),
    st.lists(st.one_of(st.sampled_from(YAML_TOKENS), st.text(max_size=5)), max_size=40).map(
        "".join
    ),
)

MUTATIONS = ["delete", "replace", "replace", "add_key", "duplicate", "wrap", "empty"]
mutation = st.tuples(
    st.sampled_from(PATHS),
    st.sampled_from(MUTATIONS),
    hostile_values,
    st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=10)),
)


def _mutate(doc, path, op, value, key):
    parent, node = None, doc
    for part in path:
        try:
            parent, node = node, node[part]
        except (KeyError, IndexError, TypeError):
            return doc  # an earlier mutation removed this place
    last = path[-1] if path else None

    def put(new):
        if parent is None:
            return new
        parent[last] = new
        return doc

    if op == "delete":
        if parent is None:
            return {}
        del parent[last]
        return doc
    if op == "replace":
        return put(value)
    if op == "add_key" and isinstance(node, dict):
        node[key] = value
    elif op == "duplicate" and isinstance(node, list) and node:
        node.append(copy.deepcopy(node[len(key) % len(node)]))
    elif op == "wrap":
        return put([node] if len(key) % 2 else {key: node})
    elif op == "empty":
        return put(type(node)() if isinstance(node, dict | list | str) else None)
    return doc


def _dump(doc) -> str:
    try:
        return yaml.dump(doc, Dumper=yaml.CSafeDumper, allow_unicode=True, sort_keys=False)
    except (UnicodeEncodeError, yaml.YAMLError):  # libyaml takes UTF-8 only: lone surrogates
        return yaml.dump(doc, Dumper=yaml.SafeDumper, allow_unicode=False, sort_keys=False)


@st.composite
def mutated_template(draw) -> str:
    doc = copy.deepcopy(TEMPLATE)
    for path, op, value, key in draw(st.lists(mutation, min_size=1, max_size=4)):
        doc = _mutate(doc, path, op, value, key)
    return _dump(doc)


# Raw YAML that a structure cannot be dumped to: what an editor, a careless copy or an attacker types.
YAML_SNIPPETS = [
    "9" * 5000,  # beyond Python's int-from-text limit
    "-" + "9" * 400,
    "2020-13-45",  # a timestamp with an impossible month
    "2026-02-30 25:61:61",
    "!!binary '////'",
    "!!binary '=='",
    "!!python/object/apply:os.system ['true']",
    "!!set {a, b}",
    "!!omap [a: 1, b: 2]",
    "!!timestamp nonsense",
    "!!float .inf",
    ".inf",
    "-.inf",
    ".nan",
    "1e999",
    "0x7fffffffffffffffffff",
    "0o777777777777777777777",
    "*undefined",
    "&x",
    '"\\0"',
    '"a\\x00b"',
    '"\\ud800"',
    '"\\u202egnp.exe"',
    "'<script>alert(1)</script>'",
    '"\'; DROP TABLE cases_complaint; --"',
    "[" * 3000 + "]" * 3000,
    "{a: " * 2000 + "1" + "}" * 2000,
    "[[[[",
    "{a: 1",
    "|\n  多行\n  文本",
    ">-\n  折叠",
    "? [a, b]\n: c",
    "{<<: [1, 2]}",
    "\t1",
    "~",
    "'" + "长" * 20000 + "'",
    "🙂",
    "\ufeff1",
]


@st.composite
def line_mutations(draw) -> str:
    lines = list(GENERIC_LINES)
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["value", "value", "duplicate", "delete", "insert", "indent"]))
        line = lines[i]
        if op == "value" and ":" in line:
            head = line.split(":", 1)[0]
            lines[i] = f"{head}: {draw(st.sampled_from(YAML_SNIPPETS))}\n"
        elif op == "duplicate":  # duplicate keys, duplicate list items
            lines.insert(i, line)
        elif op == "delete":
            del lines[i]
        elif op == "insert":
            key = draw(st.sampled_from(KNOWN_KEYS))
            indent = " " * draw(st.sampled_from([0, 2, 4, 6, 3]))
            lines.insert(i, f"{indent}{key}: {draw(st.sampled_from(YAML_SNIPPETS))}\n")
        elif op == "indent":
            lines[i] = draw(st.sampled_from(["\t", " ", "   "])) + line
    return "".join(lines)


@st.composite
def alias_bombs(draw) -> str:
    """ "Billion laughs": each level a list of `width` references to the level below, the last
    level used where the definition expects a value."""
    levels, width = draw(st.integers(1, 12)), draw(st.integers(2, 12))
    leaf = draw(st.sampled_from(["lol", "{a: 1}", "[1, 2]", "投诉", "{name: x, label: 标签}"]))
    anchors = [f"  - &l0 {leaf}\n"] + [
        f"  - &l{i} [{', '.join([f'*l{i - 1}'] * width)}]\n" for i in range(1, levels)
    ]
    top = f"*l{levels - 1}"
    target = draw(
        st.sampled_from(
            [
                ("flows: [F1, F3, F6, F14]\n", f"flows: {top}\n"),
                ("flows: [F1, F3, F6, F14]\n", f"flows: [{top}, {top}]\n"),
                ("description: 适用于", f"demo_texts: {top}\ndescription: 适用于"),
                ("channels:\n", f"channels: {top}\nx_channels:\n"),
                ("states:\n", f"states: {top}\nx_states:\n"),
                ("    from: [registered]\n", f"    from: {top}\n"),
                ("    roles: [receiver, officer]\n", f"    roles: {top}\n"),
                ("    label: 现场解决\n", f"    label: 现场解决\n    guards: {top}\n"),
                ("    label: 现场解决\n", f"    label: 现场解决\n    form: {top}\n"),
            ]
        )
    )
    anchors_key = draw(st.sampled_from(["x_anchors", "demo_texts"]))
    text = f"{anchors_key}:\n{''.join(anchors)}" + GENERIC_TEXT.replace(*target, 1)
    if anchors_key == "demo_texts" and "demo_texts:" in GENERIC_TEXT:
        text = text.replace("\ndemo_texts:", "\nx_demo_texts:", 1)
    return text


# --- tests ------------------------------------------------------------------------------------


def test_the_template_itself_is_accepted():
    """The base the mutations start from is valid: a refusal of a mutation is the mutation's."""
    assert _validate_text(GENERIC_TEXT) is not None
    assert _validate_text(_dump(copy.deepcopy(TEMPLATE))) is not None


@fuzz_settings(150)
@given(st.binary(max_size=2000))
@example(b"\xff\xfe\x00n\x00a\x00m\x00e")  # UTF-16 with a byte-order mark
@example(b"name: generic\nlabel: \xe6\x8a\x95\xe8\xaf\x89\xc0\xaf\n")  # overlong UTF-8
@example(b"\x00" * 64)
def test_arbitrary_bytes(data):
    _validate_bytes(data)


@fuzz_settings(200)
@given(yamlish)
@example("[" * 10000 + "]" * 10000)  # deep nesting: the parser recurses
@example("{a: " * 5000 + "1" + "}" * 5000)
@example("a:\n" + "".join(" " * i + "- \n" for i in range(1, 700)))  # deep block nesting
@example("version: " + "9" * 5000)  # beyond the int-from-text limit
@example("version: 2020-13-45")  # an impossible timestamp
@example("- &a [*a]")  # a recursive alias
@example("--- a\n--- b\n")
def test_yamlish_text(text):
    _validate_text(text)


@fuzz_settings(60)
@given(mutated_template())
def test_structured_mutations_of_the_generic_template(text):
    _validate_text(text)


@fuzz_settings(50)
@given(line_mutations())
@example(GENERIC_TEXT.replace("    warn_before: 1\n", "    warn_before: .inf\n"))
@example(GENERIC_TEXT.replace("    max_extension: 5\n", "    max_extension: .inf\n"))
@example(GENERIC_TEXT.replace("version: 1\n", f"version: {2**63}\n"))
@example(GENERIC_TEXT.replace("label: 通用投诉处理流程\n", 'label: "通用\\0流程"\n'))
@example(GENERIC_TEXT.replace("label: 通用投诉处理流程\n", 'label: "通用\\ud800流程"\n'))
@example(
    GENERIC_TEXT.replace("  - {code: other, label: 其他,", '  - {code: other, label: "其\\0他",')
)
@example(GENERIC_TEXT.replace("version: 1\n", "version: !!timestamp nonsense\n"))
def test_line_mutations_of_the_generic_template(text):
    _validate_text(text)


@fuzz_settings(15)
@given(alias_bombs())
@example(
    "x_anchors:\n  - &l0 lol\n"
    + "".join(f"  - &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 12))
    + GENERIC_TEXT.replace("flows: [F1, F3, F6, F14]\n", "flows: *l11\n")
)
def test_alias_bombs_are_bounded(text):
    _validate_text(text)


@fuzz_settings(25)
@given(
    st.one_of(
        st.binary(max_size=500),
        yamlish.map(lambda t: t.encode("utf-8", "surrogatepass")),
        mutated_template().map(lambda t: t.encode("utf-8", "surrogatepass")),
        line_mutations().map(lambda t: t.encode("utf-8", "surrogatepass")),
        alias_bombs().map(str.encode),
    )
)
@example(("[" * 10000 + "]" * 10000).encode())
@example(GENERIC_TEXT.replace("    warn_before: 1\n", "    warn_before: .inf\n").encode())
@example(GENERIC_TEXT.replace("version: 1\n", "version: " + "9" * 5000 + "\n").encode())
@example(GENERIC_TEXT.replace("label: 通用投诉处理流程\n", 'label: "a\\nb"\n').encode())
@example(GENERIC_TEXT.encode())
def test_cli_validate_answers_with_exit_code_and_one_line_reasons(data):
    _cli(data)
