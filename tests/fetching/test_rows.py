"""The rows of an agency's list page (tracker.fetching.rows), as triage compares them."""

from __future__ import annotations

from tracker.fetching.rows import changed_rows, list_rows

ROWS = "".join(f'<li><a href="/zdyz/{n}">细胞治疗产品技术指导原则（第{n}号）</a> 2025-09-2{n}</li>' for n in range(5))


def test_an_xhtml_page_that_declares_its_encoding_gives_its_rows() -> None:
    # lxml refuses a decoded str that still declares an encoding: such a page gave no rows at all.
    page = f'<?xml version="1.0" encoding="GB18030"?>\n<html><body><ul>{ROWS}</ul></body></html>'
    rows = list_rows(page, "https://www.cde.org.cn/")
    assert [r.key for r in rows] == [f"https://www.cde.org.cn/zdyz/{n}" for n in range(5)]
    assert rows[0].title == "细胞治疗产品技术指导原则（第0号）"
    newer = page.replace("</ul>", '<li><a href="/zdyz/9">新增指导原则（第9号）</a> 2025-10-01</li></ul>')
    _, added = changed_rows(page, newer, "https://www.cde.org.cn/")
    assert [r.key for r in added] == ["https://www.cde.org.cn/zdyz/9"]
