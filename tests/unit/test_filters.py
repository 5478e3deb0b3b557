"""Metadata filter operators: every operator in the table compiles, and messages list them all."""

from __future__ import annotations

import pytest

from leann_engine.filters import OPERATORS, compile_filter

# A value each operator accepts, and metadata it matches and metadata it rejects.
CASES = {
    "==": ("a", {"k": "a"}, {"k": "b"}),
    "!=": ("a", {"k": "b"}, {"k": "a"}),
    "<": (3, {"k": 2}, {"k": 3}),
    "<=": (3, {"k": 3}, {"k": 4}),
    ">": (3, {"k": 4}, {"k": 3}),
    ">=": (3, {"k": 3}, {"k": 2}),
    "in": (["a", "b"], {"k": "b"}, {"k": "c"}),
    "not_in": (["a", "b"], {"k": "c"}, {"k": "a"}),
    "contains": ("x", {"k": ["x", "y"]}, {"k": ["y"]}),
    "contains_any": (["x", "z"], {"k": ["z"]}, {"k": ["y"]}),
    "contains_all": (["x", "y"], {"k": ["y", "x"]}, {"k": ["x"]}),
    "starts_with": ("ab", {"k": "abc"}, {"k": "cab"}),
    "ends_with": ("bc", {"k": "abc"}, {"k": "bca"}),
    "text_match": ("Kern", {"k": "the Kernel"}, {"k": "the kernel"}),
    "text_match_insensitive": ("KERN", {"k": "the kernel"}, {"k": "the core"}),
    "exists": (True, {"k": 0}, {"j": 0}),
    "is_empty": (True, {"k": ""}, {"k": "x"}),
}


def test_every_operator_has_a_case_and_matches_as_documented():
    assert set(CASES) == set(OPERATORS)
    for op, (value, yes, no) in CASES.items():
        pred = compile_filter({"k": {op: value}})
        assert pred is not None
        assert pred(yes), op
        assert not pred(no), op


def test_unknown_operator_message_lists_every_operator():
    with pytest.raises(ValueError, match="unknown operator 'like'") as e:
        compile_filter({"k": {"like": "a"}})
    listed = str(e.value).split("expected one of ", 1)[1].split(", ")
    assert listed == list(OPERATORS)


@pytest.mark.parametrize("op", ["in", "not_in", "contains_any", "contains_all"])
def test_list_operators_reject_a_bare_string(op):
    with pytest.raises(
        ValueError, match=rf"metadata_filters\['k'\]\['{op}'\] needs a list of values, got str"
    ):
        compile_filter({"k": {op: "abc"}})


@pytest.mark.parametrize(
    ("op", "value", "message"),
    [
        ("<", True, "needs a number or a string, got bool"),
        ("starts_with", 3, "needs a string, got int"),
        ("text_match", None, "needs a string, got NoneType"),
        ("exists", 1, "needs true or false, got 1"),
    ],
)
def test_value_kind_is_checked_once_per_operator(op, value, message):
    with pytest.raises(ValueError, match=message):
        compile_filter({"k": {op: value}})
