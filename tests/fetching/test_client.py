"""The Fetcher against a real local HTTP server: outcomes, conditional GETs, limits, retries."""

from __future__ import annotations

import gzip
import hashlib
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from itertools import pairwise

import httpx

from tests.fetching.localserver import Drop, LocalServer, Reply, Seen, config, run
from tracker.fetching import (
    BLOCKED,
    DNS,
    HTTP_STATUS,
    REDIRECT,
    TIMEOUT,
    TLS,
    TOO_LARGE,
    TRUNCATED,
    UNSUPPORTED_SCHEME,
    FetchConfig,
    Fetcher,
    FetchRequest,
    FetchResult,
    normalise,
)

HTML = "text/html; charset=utf-8"


def fetch(server: LocalServer, path: str, cfg: FetchConfig | None = None, **request: object) -> FetchResult:
    async def go() -> FetchResult:
        async with Fetcher(cfg or config()) as fetcher:
            return await fetcher.fetch(FetchRequest("src", server.url(path), **request))  # type: ignore[arg-type]

    return run(go())


def test_ok_page_has_body_headers_and_user_agent(server: LocalServer) -> None:
    server.route("/p", Reply(200, {"Content-Type": HTML, "ETag": '"v1"'}, b"<p>Hello</p>"))
    result = fetch(server, "/p")
    assert (result.outcome, result.status, result.body) == ("ok", 200, b"<p>Hello</p>")
    assert result.headers["etag"] == '"v1"' and result.etag == '"v1"'
    assert result.attempts == 1 and result.error_class is None and result.final_url == server.url("/p")
    assert server.requests[-1].headers["user-agent"] == "tracker/0.1.0 (+mailto:tests@localhost)"


def test_changing_page_changes_text_and_static_page_does_not(server: LocalServer) -> None:
    versions = iter([b"<p>Version one</p>", b"<p>Version two</p>"])
    server.route("/changing", lambda _s: Reply(200, {"Content-Type": HTML}, next(versions)))
    server.route("/static", Reply(200, {"Content-Type": HTML}, b"<div><p>Same  text</p>\n</div>"))

    def text(path: str) -> str:
        result = fetch(server, path)
        return normalise("html", result.body, result.headers)

    assert text("/changing") != text("/changing")
    assert text("/static") == text("/static") == "Same text"


def test_only_a_timestamp_changes_and_the_ignore_pattern_hides_it(server: LocalServer) -> None:
    stamps = iter(["2024-05-01 10:00:00", "2024-05-02 11:30:59"])
    server.route("/stamped", lambda _s: Reply(
        200, {"Content-Type": HTML}, f"<p>Rules</p><p>Page generated {next(stamps)}</p>".encode()))
    ignore = [r"Page generated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d"]
    first, second = fetch(server, "/stamped"), fetch(server, "/stamped")
    assert normalise("html", first.body, first.headers) != normalise("html", second.body, second.headers)
    assert normalise("html", first.body, first.headers, ignore=ignore) == "Rules"
    assert normalise("html", second.body, second.headers, ignore=ignore) == "Rules"


def test_304_via_etag(server: LocalServer) -> None:
    def handler(seen: Seen) -> Reply:
        if seen.headers.get("if-none-match") == '"abc"':
            return Reply(304, {"ETag": '"abc"'})
        return Reply(200, {"ETag": '"abc"', "Content-Type": HTML}, b"<p>x</p>")

    server.route("/e", handler)
    first = fetch(server, "/e")
    again = fetch(server, "/e", etag=first.etag)
    assert first.outcome == "ok"
    assert (again.outcome, again.status, again.body, again.error_class) == ("not_modified", 304, b"", None)


def test_304_via_last_modified(server: LocalServer) -> None:
    stamp = "Wed, 01 May 2024 10:00:00 GMT"

    def handler(seen: Seen) -> Reply:
        if seen.headers.get("if-modified-since") == stamp:
            return Reply(304)
        return Reply(200, {"Last-Modified": stamp, "Content-Type": HTML}, b"<p>x</p>")

    server.route("/lm", handler)
    first = fetch(server, "/lm")
    again = fetch(server, "/lm", last_modified=first.last_modified)
    assert first.outcome == "ok" and again.outcome == "not_modified"


def test_a_304_nobody_asked_for_is_a_failure(server: LocalServer) -> None:
    server.route("/odd", Reply(304))
    result = fetch(server, "/odd")
    assert (result.outcome, result.error_class) == ("failed", HTTP_STATUS)


def test_500_is_a_failure_never_content(server: LocalServer) -> None:
    server.route("/boom", Reply(500, {"Content-Type": HTML}, b"<h1>Internal error</h1>" + b"x" * 500))
    result = fetch(server, "/boom")
    assert (result.outcome, result.status, result.error_class, result.body) == ("failed", 500, HTTP_STATUS, b"")
    assert result.error == "HTTP 500 Internal Server Error"


def test_404_is_not_retried(server: LocalServer) -> None:
    result = fetch(server, "/missing", config(retries=2))
    assert (result.error_class, result.status, result.attempts) == (HTTP_STATUS, 404, 1)
    assert server.hits("/missing") == 1


def test_500_is_retried_with_backoff_then_fails(server: LocalServer) -> None:
    server.route("/flaky", Reply(503, {}, b"down"))
    result = fetch(server, "/flaky", config(retries=2))
    assert (result.outcome, result.attempts) == ("failed", 3)
    assert server.hits("/flaky") == 3


def test_429_with_retry_after_is_honoured_then_succeeds(server: LocalServer) -> None:
    calls: list[float] = []

    def handler(_seen: Seen) -> Reply:
        calls.append(time.monotonic())
        if len(calls) == 1:
            return Reply(429, {"Retry-After": "1"}, b"slow down")
        return Reply(200, {"Content-Type": HTML}, b"<p>fine</p>")

    server.route("/limited", handler)
    result = fetch(server, "/limited", config(retries=2))
    assert (result.outcome, result.attempts) == ("ok", 2)
    assert calls[1] - calls[0] >= 0.95
    assert result.elapsed >= 0.95


def test_hanging_response_times_out(server: LocalServer) -> None:
    def hang(_seen: Seen) -> Reply:
        server.sleep(3)
        return Reply(200, {}, b"late")

    server.route("/hang", hang)
    started = time.monotonic()
    result = fetch(server, "/hang")
    assert (result.outcome, result.error_class) == ("failed", TIMEOUT)
    assert time.monotonic() - started < 2


def test_body_that_stalls_midway_times_out(server: LocalServer) -> None:
    def stall() -> Iterator[bytes]:
        yield b"<p>start"
        server.sleep(3)
        yield b"</p>"

    server.route("/stall", Reply(200, {"Content-Type": HTML}, stall()))
    result = fetch(server, "/stall")
    assert result.error_class == TIMEOUT


def test_trickling_body_hits_the_attempt_deadline(server: LocalServer) -> None:
    def trickle() -> Iterator[bytes]:
        for _ in range(40):          # 40 x 0.1 s: every read is in time, the whole is not
            yield b"."
            server.sleep(0.1)

    server.route("/trickle", Reply(200, {}, trickle()))
    started = time.monotonic()
    result = fetch(server, "/trickle", config(attempt_timeout=1.0))
    assert result.error_class == TIMEOUT
    assert time.monotonic() - started < 2.5


def test_slow_but_in_time_response_is_fine(server: LocalServer) -> None:
    def slow(_seen: Seen) -> Reply:
        server.sleep(0.2)
        return Reply(200, {"Content-Type": HTML}, b"<p>eventually</p>")

    server.route("/slow", slow)
    assert fetch(server, "/slow").outcome == "ok"


def test_redirects_are_followed_and_final_url_reported(server: LocalServer) -> None:
    server.route("/old", Reply(301, {"Location": "/mid"}))
    server.route("/mid", Reply(302, {"Location": server.url("/new")}))
    server.route("/new", Reply(200, {"Content-Type": HTML}, b"<p>moved</p>"))
    result = fetch(server, "/old")
    assert (result.outcome, result.url, result.final_url) == ("ok", server.url("/old"), server.url("/new"))


def test_redirect_loop_is_an_error(server: LocalServer) -> None:
    server.route("/a", Reply(302, {"Location": "/b"}))
    server.route("/b", Reply(302, {"Location": "/a"}))
    result = fetch(server, "/a")
    assert (result.outcome, result.error_class) == ("failed", REDIRECT)
    assert "loop" in (result.error or "")
    assert server.hits("/a") == 1 and server.hits("/b") == 1


def test_too_many_redirects(server: LocalServer) -> None:
    for n in range(10):
        server.route(f"/r{n}", Reply(302, {"Location": f"/r{n + 1}"}))
    result = fetch(server, "/r0", config(max_redirects=3))
    assert result.error_class == REDIRECT and server.hits("/r4") == 0


def test_redirect_to_another_scheme_is_refused(server: LocalServer) -> None:
    server.route("/ftp", Reply(302, {"Location": "ftp://127.0.0.1/file"}))
    assert fetch(server, "/ftp").error_class == UNSUPPORTED_SCHEME


def test_body_over_the_cap_with_content_length(server: LocalServer) -> None:
    server.route("/big", Reply(200, {}, b"x" * 5000))
    result = fetch(server, "/big", config(max_bytes=1000))
    assert (result.outcome, result.error_class, result.body) == ("failed", TOO_LARGE, b"")


def test_body_over_the_cap_without_content_length(server: LocalServer) -> None:
    def endless() -> Iterator[bytes]:
        for _ in range(1000):        # bounded: 1000 x 1 KiB
            yield b"y" * 1024

    server.route("/stream", Reply(200, {}, endless()))
    result = fetch(server, "/stream", config(max_bytes=10_000))
    assert result.error_class == TOO_LARGE


def test_gzip_bomb_is_cut_off_quickly(server: LocalServer) -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"\0" * (1 << 20)
    bomb = b"".join(packer.compress(chunk) for _ in range(200)) + packer.flush()   # 200 MiB of zeros
    assert len(bomb) < 300_000
    server.route("/bomb", Reply(200, {"Content-Encoding": "gzip", "Content-Type": HTML}, bomb))
    started = time.monotonic()
    result = fetch(server, "/bomb", config(max_bytes=1_000_000))
    assert result.error_class == TOO_LARGE
    assert time.monotonic() - started < 2


def test_gzip_body_is_decompressed(server: LocalServer) -> None:
    server.route("/gz", Reply(200, {"Content-Encoding": "gzip"}, gzip.compress(b"<p>packed</p>")))
    result = fetch(server, "/gz")
    assert (result.outcome, result.body) == ("ok", b"<p>packed</p>")
    assert "gzip" in server.requests[-1].headers["accept-encoding"]


def test_truncated_body_is_a_failure(server: LocalServer) -> None:
    def cut() -> Iterator[bytes]:
        yield b"a" * 100
        raise Drop

    server.route("/cut", Reply(200, {"Content-Length": "1000"}, cut()))
    result = fetch(server, "/cut")
    assert (result.outcome, result.error_class) == ("failed", TRUNCATED)
    # Says what happened, not only where (it once read "connection dropped during the body:").
    detail = (result.error or "").removeprefix("connection dropped during the body: ")
    assert detail and detail[0].isalpha() and "(" in detail, result.error


def test_a_connection_reset_says_so(tmp_path: object) -> None:
    """A server that resets the connection mid-body (RST, not FIN): once shown only as "ReadError"."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1000\r\n\r\n" + b"a" * 100)
        time.sleep(0.2)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    async def go() -> FetchResult:
        async with Fetcher(config()) as fetcher:
            return await fetcher.fetch(FetchRequest("src", f"http://127.0.0.1:{port}/reset"))

    try:
        result = run(go())
    finally:
        thread.join(5)
        listener.close()
    assert (result.outcome, result.error_class) == ("failed", TRUNCATED)
    assert "the server reset the connection" in (result.error or ""), result.error


def test_412_is_blocked(server: LocalServer) -> None:
    page = b"<html><head><meta id='x' r='m'><script>$_ts=window['$_ts'];</script></head></html>"
    server.route("/nmpa", Reply(412, {"Content-Type": "text/html"}, page))
    result = fetch(server, "/nmpa")
    assert (result.outcome, result.status, result.error_class) == ("failed", 412, BLOCKED)


def test_202_javascript_challenge_is_blocked(server: LocalServer) -> None:
    page = b"<html><body><script>var a=1;document.cookie='x='+a;location.reload();</script></body></html>"
    server.route("/cde", Reply(202, {"Content-Type": "text/html"}, page))
    result = fetch(server, "/cde")
    assert (result.outcome, result.status, result.error_class) == ("failed", 202, BLOCKED)


def test_200_waf_challenge_page_is_blocked_not_content(server: LocalServer) -> None:
    page = (b"<html><head><title>Just a moment...</title></head>"
            b"<body><script src='/cdn-cgi/challenge-platform/x.js'></script></body></html>")
    server.route("/waf", Reply(200, {"Content-Type": "text/html"}, page))
    result = fetch(server, "/waf")
    assert (result.error_class, result.body) == (BLOCKED, b"")


def test_a_body_already_accepted_as_content_is_not_scanned_again(server: LocalServer) -> None:
    page = (b"<html><head><title>Just a moment...</title></head>"
            b"<body><script src='/cdn-cgi/challenge-platform/x.js'></script></body></html>")
    server.route("/waf", Reply(200, {"Content-Type": "text/html"}, page))
    known = fetch(server, "/waf", known_content=hashlib.sha256(page).hexdigest())
    assert (known.outcome, known.body_hash) == ("ok", hashlib.sha256(page).hexdigest())   # hashed once, kept
    assert fetch(server, "/waf", known_content=hashlib.sha256(b"other").hexdigest()).error_class == BLOCKED
    server.route("/412", Reply(412, {"Content-Type": "text/html"}, page))  # a status is judged whatever the body
    assert fetch(server, "/412", known_content=hashlib.sha256(page).hexdigest()).error_class == BLOCKED


def test_a_body_its_caller_screens_is_not_scanned_here(server: LocalServer) -> None:
    page = (b"<html><head><title>Just a moment...</title></head>"
            b"<body><script src='/cdn-cgi/challenge-platform/x.js'></script></body></html>")
    server.route("/waf", Reply(200, {"Content-Type": "text/html"}, page))
    assert (fetch(server, "/waf", screen=False).outcome, fetch(server, "/waf").error_class) == ("ok", BLOCKED)
    server.route("/412", Reply(412, {"Content-Type": "text/html"}, page))  # a status is judged whatever the body
    assert fetch(server, "/412", screen=False).error_class == BLOCKED


def test_fetch_many_yields_every_result(server: LocalServer) -> None:
    for n in range(6):
        server.route(f"/m{n}", Reply(200, {}, str(n).encode()))

    async def go() -> list[FetchResult]:
        async with Fetcher(config()) as fetcher:
            requests = [FetchRequest(f"s{n}", server.url(f"/m{n}")) for n in range(6)]
            return [r async for r in fetcher.fetch_many(requests)]

    results = run(go())
    assert sorted(r.source_id for r in results) == [f"s{n}" for n in range(6)]
    assert all(r.body == r.source_id[1:].encode() for r in results)


def test_per_host_concurrency_never_exceeds_the_limit(server: LocalServer) -> None:
    def slow(_seen: Seen) -> Reply:
        server.sleep(0.15)
        return Reply(200, {}, b"ok")

    server.route("/busy", slow)

    async def go() -> list[FetchResult]:
        async with Fetcher(config(per_host=2, concurrency=16)) as fetcher:
            requests = [FetchRequest(f"s{n}", server.url(f"/busy?n={n}")) for n in range(8)]
            return [r async for r in fetcher.fetch_many(requests)]

    results = run(go())
    assert all(r.ok for r in results) and len(results) == 8
    assert server.max_in_flight["/busy"] == 2


def test_host_delay_spaces_requests(server: LocalServer) -> None:
    starts: list[float] = []

    def stamp(_seen: Seen) -> Reply:
        starts.append(time.monotonic())
        return Reply(200, {}, b"ok")

    server.route("/d", stamp)

    async def go() -> None:
        async with Fetcher(config(host_delay=0.2)) as fetcher:
            async for _ in fetcher.fetch_many(FetchRequest("s", server.url(f"/d?{n}")) for n in range(3)):
                pass

    run(go())
    gaps = [b - a for a, b in pairwise(starts)]
    assert len(gaps) == 2 and min(gaps) >= 0.18


def test_connection_refused_is_a_result_not_an_exception() -> None:
    import socket

    with socket.socket() as sock:    # a port that was free a moment ago: nobody listens on it
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    async def go() -> FetchResult:
        async with Fetcher(config()) as fetcher:
            return await fetcher.fetch(FetchRequest("s", f"http://127.0.0.1:{port}/"))

    result = run(go())
    assert (result.outcome, result.error_class) == ("failed", "connect")
    assert result.error and "\n" not in result.error


def test_retry_after_above_the_cap_is_capped(server: LocalServer) -> None:
    answers = iter([Reply(503, {"Retry-After": "86400"}, b"maintenance"), Reply(200, {}, b"back")])
    server.route("/maint", lambda _s: next(answers))
    started = time.monotonic()
    result = fetch(server, "/maint", config(retries=1, max_retry_after=0.2))
    assert (result.outcome, result.attempts) == ("ok", 2)
    assert time.monotonic() - started < 2


def test_bad_urls_are_results_not_exceptions() -> None:
    async def go() -> list[FetchResult]:
        async with Fetcher(config()) as fetcher:
            return [await fetcher.fetch(FetchRequest("s", url)) for url in ("not a url", "ftp://127.0.0.1/x", "http://[::1")]

    assert [r.error_class for r in run(go())] == [UNSUPPORTED_SCHEME] * 3


def test_unknown_host_is_dns() -> None:
    async def no_such_host(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async def go() -> FetchResult:
        async with Fetcher(config(), resolve=no_such_host) as fetcher:
            return await fetcher.fetch(FetchRequest("s", "https://no-such-host.invalid/"))

    result = run(go())
    assert (result.outcome, result.error_class) == ("failed", DNS)


def test_tls_failure_is_tls(server: LocalServer) -> None:
    async def go() -> FetchResult:
        async with Fetcher(config()) as fetcher:    # https to a plain-HTTP server: the handshake fails
            return await fetcher.fetch(FetchRequest("s", server.url("/").replace("http://", "https://")))

    assert run(go()).error_class == TLS


def test_403_with_cloudflare_challenge_header_is_blocked(server: LocalServer) -> None:
    server.route("/cf", Reply(403, {"cf-mitigated": "challenge", "Content-Type": "text/html"}, b"<html></html>"))
    assert fetch(server, "/cf").error_class == BLOCKED


def test_plain_403_is_http_status(server: LocalServer) -> None:
    server.route("/forbidden", Reply(403, {"Content-Type": "text/html"}, b"<h1>Forbidden</h1><p>You may not.</p>"))
    result = fetch(server, "/forbidden")
    assert (result.error_class, result.status) == (HTTP_STATUS, 403)


def test_custom_transport_is_used(server: LocalServer) -> None:
    server.route("/t", Reply(200, {}, b"via transport"))
    transport = httpx.AsyncHTTPTransport(retries=0)

    async def go() -> FetchResult:
        async with Fetcher(config(), transport=transport) as fetcher:
            return await fetcher.fetch(FetchRequest("s", server.url("/t")))

    assert run(go()).body == b"via transport"


def test_a_real_page_that_mentions_a_marker_is_content(server: LocalServer) -> None:
    text = (
        "<p>Our site is protected by Cloudflare; you may see 'Just a moment...' at times.</p>"
        + "<p>Guidance text.</p>" * 80
    )
    server.route("/real", Reply(200, {"Content-Type": HTML}, f"<html><body>{text}</body></html>".encode()))
    assert fetch(server, "/real").outcome == "ok"


def test_accept_header_follows_the_kind(server: LocalServer) -> None:
    server.route("/doc", Reply(200, {}, b"%PDF"))
    fetch(server, "/doc", kind="pdf")
    assert server.requests[-1].headers["accept"].startswith("application/pdf")


def test_fetch_many_yields_results_as_they_complete(server: LocalServer) -> None:
    def slow(_seen: Seen) -> Reply:
        server.sleep(0.4)
        return Reply(200, {}, b"slow")

    server.route("/slowest", slow)
    server.route("/quick", Reply(200, {}, b"quick"))

    async def go() -> list[str]:
        async with Fetcher(config()) as fetcher:
            requests = [FetchRequest("slow", server.url("/slowest")), FetchRequest("quick", server.url("/quick"))]
            return [r.source_id async for r in fetcher.fetch_many(requests)]

    assert run(go()) == ["quick", "slow"]
