"""robots.txt: obeyed per host (protego), kept per origin until it expires, Crawl-delay honoured,
opt-out per request."""

from __future__ import annotations

import time

from tests.fetching.localserver import LocalServer, Reply, config, run
from tracker.fetching import ROBOTS, Fetcher, FetchRequest, FetchResult
from tracker.fetching.robots import RobotsStore

RULES = b"User-agent: *\nDisallow: /private/\n\nUser-agent: otherbot\nDisallow: /public\n"
OUR_GROUP = b"User-agent: *\nDisallow: /\n\nUser-agent: tracker\nDisallow: /no-tracker\n"


def fetch_all(server: LocalServer, *requests: FetchRequest) -> list[FetchResult]:
    async def go() -> list[FetchResult]:
        async with Fetcher(config()) as fetcher:
            return [await fetcher.fetch(r) for r in requests]

    return run(go())


def test_disallowed_path_is_not_fetched_and_robots_is_read_once(server: LocalServer) -> None:
    server.route("/robots.txt", Reply(200, {"Content-Type": "text/plain"}, RULES))
    server.route("/private/x", Reply(200, {}, b"secret"))
    server.route("/public", Reply(200, {}, b"fine"))
    private, public = fetch_all(
        server, FetchRequest("a", server.url("/private/x")), FetchRequest("c", server.url("/public"))
    )
    assert (private.outcome, private.error_class) == ("failed", ROBOTS)
    assert public.outcome == "ok"
    assert server.hits("/private/x") == 0
    assert server.hits("/robots.txt") == 1


def test_a_group_naming_tracker_wins_over_the_star_group(server: LocalServer) -> None:
    server.route("/robots.txt", Reply(200, {}, OUR_GROUP))
    server.route("/no-tracker", Reply(200, {}, b"not for us"))
    server.route("/other", Reply(200, {}, b"fine"))
    ours, other = fetch_all(
        server, FetchRequest("b", server.url("/no-tracker")), FetchRequest("c", server.url("/other"))
    )
    assert ours.error_class == ROBOTS and other.outcome == "ok"


def test_request_may_opt_out_of_robots(server: LocalServer) -> None:
    server.route("/robots.txt", Reply(200, {}, b"User-agent: *\nDisallow: /\n"))
    server.route("/page", Reply(200, {}, b"fine"))
    (result,) = fetch_all(server, FetchRequest("a", server.url("/page"), respect_robots=False))
    assert result.outcome == "ok" and server.hits("/robots.txt") == 0


def test_missing_robots_allows_everything(server: LocalServer) -> None:
    server.route("/page", Reply(200, {}, b"fine"))
    (result,) = fetch_all(server, FetchRequest("a", server.url("/page")))
    assert result.outcome == "ok" and server.hits("/robots.txt") == 1


def test_robots_answering_5xx_disallows_for_now(server: LocalServer) -> None:
    server.route("/robots.txt", Reply(503, {}, b"busy"))
    server.route("/page", Reply(200, {}, b"fine"))
    first, second = fetch_all(server, FetchRequest("a", server.url("/page")), FetchRequest("a", server.url("/page")))
    assert first.error_class == second.error_class == ROBOTS
    assert server.hits("/page") == 0 and server.hits("/robots.txt") == 2   # not cached


def test_wildcards_and_the_longest_match_decide_as_rfc_9309_says(server: LocalServer) -> None:
    # urllib.robotparser reads neither: it takes the first matching line and no wildcards.
    server.route("/robots.txt", Reply(200, {}, b"User-agent: *\nDisallow: /*.pdf$\nAllow: /public/*.pdf$\n"))
    for path in ("/doc.pdf", "/public/doc.pdf", "/doc.pdfx"):
        server.route(path, Reply(200, {}, b"x"))
    pdf, public, other = fetch_all(
        server, *(FetchRequest("a", server.url(p)) for p in ("/doc.pdf", "/public/doc.pdf", "/doc.pdfx"))
    )
    assert pdf.error_class == ROBOTS and public.outcome == other.outcome == "ok"


def test_robots_rules_are_kept_across_fetchers_until_they_expire(server: LocalServer) -> None:
    server.route("/robots.txt", Reply(200, {}, RULES))
    server.route("/page", Reply(200, {}, b"fine"))
    now = [0.0]
    store = RobotsStore(clock=lambda: now[0])

    def one_fetcher() -> FetchResult:
        async def go() -> FetchResult:
            async with Fetcher(config(robots_ttl=3600.0), robots=store) as fetcher:
                return await fetcher.fetch(FetchRequest("a", server.url("/page")))
        return run(go())

    assert one_fetcher().outcome == one_fetcher().outcome == "ok"
    assert server.hits("/robots.txt") == 1        # the second batch asked nobody
    now[0] = 3601.0
    assert one_fetcher().outcome == "ok" and server.hits("/robots.txt") == 2


def test_crawl_delay_raises_the_per_host_delay(server: LocalServer) -> None:
    server.route("/robots.txt", Reply(200, {}, b"User-agent: *\nCrawl-delay: 0.3\n"))
    server.route("/page", Reply(200, {}, b"fine"))

    async def go(host_delay: float) -> float:
        async with Fetcher(config(host_delay=host_delay), robots=RobotsStore()) as fetcher:
            started = time.monotonic()
            for _ in range(3):
                assert (await fetcher.fetch(FetchRequest("a", server.url("/page")))).outcome == "ok"
            return time.monotonic() - started

    assert run(go(0.0)) >= 0.6                    # the site's 0.3 s, twice
    assert run(go(0.5)) >= 1.0                    # ours, when larger
