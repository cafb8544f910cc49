"""URL policy: schemes, non-public addresses after resolution, allow lists, every redirect hop."""

from __future__ import annotations

import socket

import pytest

from tests.fetching.localserver import LocalServer, Reply, config, run
from tracker.errors import FetchError
from tracker.fetching import REFUSED_ADDRESS, Fetcher, FetchRequest, FetchResult, UrlPolicy


def resolver(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return resolve


NAMES = {
    "public.example": ["93.184.215.14"],
    "mixed.example": ["93.184.215.14", "10.1.2.3"],
    "intranet.example": ["10.1.2.3"],
    "v6local.example": ["fe80::1"],
    "mapped.example": ["::ffff:127.0.0.1"],
}

CASES = [
    # (allow list, url, error class or None when allowed)
    ((), "https://public.example/page", None),
    ((), "ftp://public.example/file", "unsupported-scheme"),
    ((), "file:///etc/passwd", "unsupported-scheme"),
    ((), "javascript:alert(1)", "unsupported-scheme"),
    ((), "http://[::1", "unsupported-scheme"),
    ((), "http://nowhere.example/", "dns"),
    ((), "http://mixed.example/", "refused-address"),       # every address must pass
    ((), "http://intranet.example/", "refused-address"),
    ((), "http://v6local.example/", "refused-address"),
    ((), "http://mapped.example/", "refused-address"),
    ((), "http://127.0.0.1/", "refused-address"),
    ((), "http://0.0.0.0/", "refused-address"),
    ((), "http://169.254.169.254/latest/meta-data", "refused-address"),
    ((), "http://224.0.0.1/", "refused-address"),
    ((), "http://[::]/", "refused-address"),
    (("intranet.example",), "http://intranet.example/", None),
    (("INTRANET.example",), "http://intranet.example./", None),
    (("10.0.0.0/8",), "http://intranet.example/", None),
    (("10.0.0.0/8",), "http://mixed.example/", None),
    (("10.0.0.0/8",), "http://127.0.0.1/", "refused-address"),
    (("127.0.0.1", "localhost"), "http://127.0.0.1:8080/", None),
]


@pytest.mark.parametrize(("allow", "url", "expected"), CASES)
def test_policy(allow: tuple[str, ...], url: str, expected: str | None) -> None:
    policy = UrlPolicy(allow, resolver(NAMES))

    async def check() -> str | None:
        try:
            await policy.check(url)
        except FetchError as exc:
            return exc.error_class
        return None

    assert run(check()) == expected


def test_redirect_to_a_disallowed_address_is_refused_before_any_connection(server: LocalServer) -> None:
    # A listener on 127.0.0.2 that must never see a connection.
    with socket.socket() as trap:
        trap.bind(("127.0.0.2", 0))
        trap.listen(1)
        trap.setblocking(False)
        target = f"http://127.0.0.2:{trap.getsockname()[1]}/"
        server.route("/jump", Reply(302, {"Location": target}))

        async def go() -> FetchResult:
            async with Fetcher(config(allow_hosts=("localhost",))) as fetcher:
                return await fetcher.fetch(FetchRequest("s", server.url("/jump", host="localhost")))

        result = run(go())
        assert (result.outcome, result.error_class, result.final_url) == ("failed", REFUSED_ADDRESS, target)
        assert server.hits("/jump") == 1
        with pytest.raises(BlockingIOError):
            trap.accept()


def test_loopback_is_refused_without_an_allow_list(server: LocalServer) -> None:
    async def go() -> FetchResult:
        async with Fetcher(config(allow_hosts=())) as fetcher:
            return await fetcher.fetch(FetchRequest("s", server.url("/")))

    assert run(go()).error_class == REFUSED_ADDRESS
    assert server.requests == []


def test_connections_go_to_the_checked_address(server: LocalServer) -> None:
    # A name only our resolver knows: if the transport resolved it again by itself, this would fail.
    server.route("/pinned", Reply(200, {}, b"pinned"))

    async def go() -> FetchResult:
        fetcher = Fetcher(config(allow_hosts=("127.0.0.1",)), resolve=resolver({"pinned.test": ["127.0.0.1"]}))
        async with fetcher:
            return await fetcher.fetch(FetchRequest("s", f"http://pinned.test:{server.port}/pinned"))

    result = run(go())
    assert (result.outcome, result.body) == ("ok", b"pinned")
    assert server.requests[-1].headers["host"] == f"pinned.test:{server.port}"


def test_dns_rebinding_between_check_and_connect_is_refused() -> None:
    answers = iter([["93.184.215.14"], ["127.0.0.2"]])    # public when checked, loopback when connecting

    async def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    with socket.socket() as trap:
        trap.bind(("127.0.0.2", 0))
        trap.listen(1)
        trap.setblocking(False)

        async def go() -> FetchResult:
            async with Fetcher(config(allow_hosts=()), resolve=rebinding) as fetcher:
                return await fetcher.fetch(
                    FetchRequest("s", f"http://rebind.test:{trap.getsockname()[1]}/", respect_robots=False)
                )

        result = run(go())
        assert (result.outcome, result.error_class) == ("failed", REFUSED_ADDRESS)
        with pytest.raises(BlockingIOError):
            trap.accept()
