"""Fetch a source's bytes: local files, or http(s) with the guards a crawler owes its hosts.

Timeouts, a size cap, a redirect limit (each hop checked), a descriptive User-Agent,
conditional requests (ETag / Last-Modified), a politeness delay per host and retries with
backoff on timeouts and 5xx answers. Addresses in private ranges are refused unless allowed,
so a config file cannot be used to reach internal services.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from digest.core.errors import IngestError
from digest.settings import IngestSettings

_RETRY_STATUS = {500, 502, 503, 504, 429}


@dataclass(frozen=True)
class Fetched:
    """What a fetch gave: the body (None when the server said 304), and validators to keep."""

    location: str
    content: bytes | None
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None

    @property
    def not_modified(self) -> bool:
        """True when the server answered 304: nothing new since the last fetch."""
        return self.content is None


def is_url(location: str) -> bool:
    """True for http(s) URLs; everything else is read as a local path or file: URL."""
    return urlsplit(location).scheme.lower() in {"http", "https"}


def local_path(location: str) -> Path:
    """The path a plain path or a file: URL stands for."""
    parts = urlsplit(location)
    if parts.scheme.lower() == "file":
        return Path(unquote(parts.path))
    if parts.scheme and len(parts.scheme) > 1:  # one letter is a Windows drive
        raise IngestError(
            f"{location}: unsupported URL scheme {parts.scheme!r}",
            hint="use an http(s) URL, a file: URL or a path",
        )
    return Path(location).expanduser()


def read_local(location: str, max_bytes: int) -> Fetched:
    """A local file's bytes, refusing files over the size cap."""
    path = local_path(location)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise IngestError(
                f"{location}: {size} bytes is over the {max_bytes}-byte cap",
                hint="raise ingest.max_bytes if the file is genuine",
            )
        return Fetched(str(path), path.read_bytes())
    except OSError as exc:
        raise IngestError(f"{location}: cannot be read: {exc.strerror}") from None


def check_host(url: str, allow_private: bool) -> None:
    """Refuse non-http(s) URLs and, unless allowed, hosts that resolve to private addresses."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise IngestError(f"{url}: only http and https URLs can be fetched")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise IngestError(f"{url}: host {parts.hostname!r} not found ({exc.strerror})") from None
    for info in infos:
        addr = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not addr.is_global:
            raise IngestError(
                f"{url}: {parts.hostname} resolves to the non-public address {addr}",
                hint="set ingest.allow_private = true to fetch from local or internal hosts",
            )


class Fetcher:
    """One HTTP client for a run, remembering when each host was last asked."""

    def __init__(
        self,
        settings: IngestSettings,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._sleep = sleep
        self._monotonic = monotonic
        # When each host may next be asked; shared by the threads of a concurrent run.
        self._next_slot: dict[str, float] = {}
        self._slots = threading.Lock()
        self._client = httpx.Client(
            timeout=settings.timeout,
            follow_redirects=False,  # followed by hand so each hop's host is checked
            headers={"User-Agent": settings.user_agent},
            transport=transport,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch(
        self, location: str, etag: str | None = None, last_modified: str | None = None
    ) -> Fetched:
        """The body at `location` (URL, file: URL or path); None content on 304."""
        if not is_url(location):
            return read_local(location, self.settings.max_bytes)
        attempt = 0
        while True:
            try:
                return self._follow(location, etag, last_modified)
            except _Retryable as exc:
                if attempt >= self.settings.retries:
                    raise IngestError(
                        f"{location}: {exc} (after {attempt + 1} attempt(s))",
                        hint="the server may be down; the next run tries again",
                    ) from None
                self._sleep(self.settings.backoff * 2**attempt)
                attempt += 1

    def _follow(self, url: str, etag: str | None, last_modified: str | None) -> Fetched:
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        for _hop in range(self.settings.max_redirects + 1):
            check_host(current, self.settings.allow_private)
            self._be_polite(current)
            try:
                with self._client.stream("GET", current, headers=headers) as resp:
                    if resp.status_code == 304:
                        return Fetched(current, None, etag, last_modified)
                    if resp.status_code in {301, 302, 303, 307, 308}:
                        target = resp.headers.get("location")
                        if not target:
                            raise IngestError(f"{current}: redirect without a Location header")
                        current = urljoin(current, target)
                        continue
                    if resp.status_code in _RETRY_STATUS:
                        raise _Retryable(f"HTTP {resp.status_code} {resp.reason_phrase}")
                    if resp.status_code >= 400:
                        raise IngestError(
                            f"{current}: HTTP {resp.status_code} {resp.reason_phrase}",
                            hint="check the source's location",
                        )
                    body = self._read_capped(resp, current)
                    return Fetched(
                        str(resp.url),
                        body,
                        resp.headers.get("etag"),
                        resp.headers.get("last-modified"),
                        resp.headers.get("content-type"),
                    )
            except httpx.TimeoutException:
                raise _Retryable(f"timed out after {self.settings.timeout:g} s") from None
            except httpx.TransportError as exc:
                raise _Retryable(f"connection failed: {exc}") from None
        raise IngestError(
            f"{url}: more than {self.settings.max_redirects} redirects (a redirect loop?)",
            hint="check the source's location, or raise ingest.max_redirects",
        )

    def _read_capped(self, resp: httpx.Response, url: str) -> bytes:
        cap = self.settings.max_bytes
        declared = resp.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > cap:
            raise IngestError(f"{url}: {declared} bytes is over the {cap}-byte cap")
        chunks: list[bytes] = []
        size = 0
        for chunk in resp.iter_bytes():
            size += len(chunk)
            if size > cap:
                raise IngestError(
                    f"{url}: response is over the {cap}-byte cap",
                    hint="raise ingest.max_bytes if the source is genuine",
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def _be_polite(self, url: str) -> None:
        """Wait for this host's next free slot: requests to one host stay `politeness_delay`
        apart however many threads fetch; other hosts are not held up."""
        host = urlsplit(url).netloc.lower()
        with self._slots:
            now = self._monotonic()
            slot = max(now, self._next_slot.get(host, now))
            self._next_slot[host] = slot + self.settings.politeness_delay
        if slot > now:
            self._sleep(slot - now)


class _Retryable(Exception):
    """A failure worth another try: a timeout, a dropped connection or a 5xx answer."""
