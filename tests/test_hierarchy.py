"""The one agency-subtree walk shared by search filters, upload scopes and the ratios."""

from sohoa.core.hierarchy import subtree

ROWS = [("P", None), ("D2", "P"), ("D1", "P"), ("C1", "D1"), ("X", None)]


def test_subtree_is_the_root_and_everything_below_it_in_pre_order():
    assert subtree(ROWS, "P") == ["P", "D1", "C1", "D2"]
    assert subtree(ROWS, "D1") == ["D1", "C1"]
    assert subtree(ROWS, "unknown") == ["unknown"]


def test_a_cycle_ends():
    assert subtree([("A", "B"), ("B", "A")], "A") == ["A", "B"]
