"""The side-by-side diff: lines paired, changed characters marked (CJK without spaces), runs folded."""

from __future__ import annotations

from tracker.web.diffview import CONTEXT, side_by_side


def test_a_one_character_edit_in_chinese_marks_that_character() -> None:
    diff = side_by_side("细胞治疗产品（征求意见稿）\n总则", "细胞治疗产品（正式稿）\n总则")
    [changed, same] = diff.rows
    assert changed.kind == "changed" and same.kind == "same"
    assert [t for t, marked in changed.old if marked] == ["征求意见"]
    assert [t for t, marked in changed.new if marked] == ["正式"]
    assert "".join(t for t, _ in changed.new) == "细胞治疗产品（正式稿）"
    assert (diff.changed, diff.added, diff.removed) == (1, 0, 0)


def test_added_and_removed_lines_and_folded_context() -> None:
    old = "\n".join(f"line {n}" for n in range(40))
    new = old.replace("line 20", "line twenty") + "\nnew last line"
    diff = side_by_side(old, new)
    kinds = [row.kind for row in diff.rows]
    assert kinds.count("fold") == 2 and kinds.count("added") == 1 and kinds.count("changed") == 1
    folds = [row.folded for row in diff.rows if row.kind == "fold"]
    assert folds == [20 - CONTEXT, 40 - 21 - 2 * CONTEXT]
    assert diff.rows[-1].kind == "added" and diff.rows[-1].new == (("new last line", True),)


def test_first_version_is_all_added() -> None:
    diff = side_by_side("", "a\nb")
    assert [row.kind for row in diff.rows] == ["added", "added"] and diff.added == 2
