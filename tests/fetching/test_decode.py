"""Chinese and Japanese pages served with and without a charset: the text must come out exactly."""

from __future__ import annotations

import codecs

import pytest

from tests.fetching.localserver import LocalServer, Reply, config, run
from tracker.errors import FetchError
from tracker.fetching import UNDECODABLE, Fetcher, FetchRequest, FetchResult, decode, normalise

ZH = ("国家药品监督管理局关于发布细胞治疗产品生产质量管理指南（试行）的通告。为规范细胞治疗产品的生产，"
      "保证产品质量，国家药监局组织制定了本指南，现予发布，自发布之日起施行。")
ZH_WIDE = ZH + "䶮㐀"                 # characters GB18030 has and GBK/GB2312 do not
JA = ("再生医療等製品の承認申請に関する留意事項について。厚生労働省医薬局医療機器審査管理課長通知。"
      "本通知は、再生医療等製品の品質、有効性及び安全性の確保を目的とする。")
JA_WIDE = JA + "①髙"                 # characters cp932 has and strict Shift_JIS does not

# (id, text, codec used to encode, Content-Type header or None, <meta> charset or None)
PAGES = [
    ("gb18030-header", ZH_WIDE, "gb18030", "text/html; charset=GB18030", None),
    ("gb2312-label-gb18030-bytes", ZH_WIDE, "gb18030", "text/html; charset=gb2312", None),
    ("gbk-meta-only", ZH, "gbk", "text/html", "GBK"),
    ("gb18030-no-charset", ZH, "gb18030", "text/html", None),
    ("gb18030-no-header-at-all", ZH, "gb18030", None, None),
    ("shift-jis-header", JA_WIDE, "cp932", "text/html; charset=Shift_JIS", None),
    ("shift-jis-meta-only", JA_WIDE, "cp932", "text/html", "shift_jis"),
    ("shift-jis-no-charset", JA, "shift_jis", "text/html", None),
    ("euc-jp-header", JA, "euc_jp", "text/html; charset=EUC-JP", None),
    ("euc-jp-no-charset", JA, "euc_jp", "text/html", None),
    ("utf-8-no-charset", ZH + JA, "utf-8", "text/html", None),
    ("header-lies-utf-8", ZH, "gb18030", "text/html; charset=utf-8", None),
]


@pytest.mark.parametrize(("name", "text", "codec", "content_type", "meta"), PAGES, ids=[p[0] for p in PAGES])
def test_page_text_comes_out_exactly(
    server: LocalServer, name: str, text: str, codec: str, content_type: str | None, meta: str | None
) -> None:
    head = f'<meta charset="{meta}">' if meta else ""
    page = f"<html><head>{head}<title>x</title></head><body><p>{text}</p></body></html>".encode(codec)
    server.route("/page", Reply(200, {"Content-Type": content_type} if content_type else {}, page))

    async def go() -> FetchResult:
        async with Fetcher(config()) as fetcher:
            return await fetcher.fetch(FetchRequest("s", server.url("/page")))

    result = run(go())
    assert result.outcome == "ok"
    assert normalise("html", result.body, result.headers) == text


def test_byte_order_mark_wins() -> None:
    body = codecs.BOM_UTF8 + "<p>细胞</p>".encode()
    assert decode(body, "text/html; charset=shift_jis") == "<p>细胞</p>"


def test_xml_declaration_is_read() -> None:
    body = f'<?xml version="1.0" encoding="EUC-JP"?><doc>{JA}</doc>'.encode("euc_jp")
    assert decode(body) == body.decode("euc_jp")


def test_garbage_is_undecodable() -> None:
    with pytest.raises(FetchError) as raised:
        decode(bytes(range(256)) * 4)
    assert raised.value.error_class == UNDECODABLE
