"""Read integrity: every byte right, or a clear error, whatever the network does to a reply.

HTTP lets a server, or a proxy or CDN in between, answer a ranged GET with ``200`` and the
whole object, and a connection can end before the body does. A backend joins by giving the
suite its server's address and a way to build the storage against another endpoint; the
suite puts a :class:`~storages.testing.http_proxy.HTTPFaultProxy` in between:

    class TestS3ReadIntegrity(ReadIntegrity):
        @pytest.fixture
        def proxied_backend(self, s3_server):
            return ProxiedBackend(
                port=s3_server.port,
                config=lambda proxy: BackendConfig(PATH, options(endpoint_url=proxy.url)),
            )

The storage is built with its default settings (read-ahead included), and the object is
large enough to make its reads go through the read-ahead.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.base import ContentFile

from storages.files import ReadAhead
from storages.testing.areas.memory import SLACK, read_limit
from storages.testing.helpers import peak_memory
from storages.testing.http_proxy import HTTPFaultProxy
from storages.testing.suite import BackendConfig

__all__ = ["ProxiedBackend", "ReadIntegrity"]

MB = 1024 * 1024


@dataclass
class ProxiedBackend:
    """Where a backend's HTTP server listens, and its storage's config given a proxy in front."""

    port: int
    #: ``config(proxy)``: the storage's BackendConfig with its endpoint at ``proxy.url``
    #: (or ``proxy.port``).
    config: Callable[[HTTPFaultProxy], BackendConfig]
    host: str = "127.0.0.1"
    #: ``(cert, key)`` when the server speaks HTTPS: the proxy then serves HTTPS with them.
    tls: tuple[str, str] | None = None
    #: The provider returns a whole-object checksum with a read of a small object (S3's
    #: single-part ETag, GCS crc32c, Azure Content-MD5, Dropbox content_hash): a full read
    #: of one that arrives corrupted must fail.
    whole_checksum: bool = True


def _multipart_size(storage: Any) -> int:
    """A size that takes several read-ahead parts with the storage's own settings."""
    value = getattr(storage, "read_ahead", None)
    config = ReadAhead.coerce(
        value if value is not None else getattr(storage, "default_read_ahead", None)
    )
    if not config.enabled:
        return 3 * MB + 12345
    return max(config.threshold, 2 * config.part_size) + 2 * config.part_size + 12345


def _outcome(read: Callable[[], bytes]) -> tuple[bytes | None, BaseException | None]:
    try:
        return read(), None
    except Exception as exc:  # an error is an acceptable outcome; wrong bytes are not
        return None, exc


class ReadIntegrity:
    """Reads through a proxy that ignores ``Range`` or cuts bodies: right bytes or an error."""

    @pytest.fixture
    def proxied_backend(self) -> ProxiedBackend:  # pragma: no cover - each backend overrides it
        raise NotImplementedError("a backend's test class provides proxied_backend")

    @pytest.fixture
    def proxy(self, proxied_backend: ProxiedBackend) -> Iterator[HTTPFaultProxy]:
        backend = proxied_backend
        with HTTPFaultProxy(
            backend.host, backend.port, tls=backend.tls, target_tls=backend.tls is not None
        ) as proxy:
            yield proxy

    @pytest.fixture
    def proxied(self, proxied_backend: ProxiedBackend, proxy: HTTPFaultProxy) -> Any:
        return proxied_backend.config(proxy).make()

    @pytest.fixture
    def stored(self, proxied: Any) -> tuple[str, bytes]:
        """A multi-part-sized object saved through the proxy (before any mode is on)."""
        # random bytes: a repeating pattern would hide a part read from the wrong offset
        data = random.Random(17).randbytes(_multipart_size(proxied))
        name = proxied.save("integrity/big.bin", ContentFile(data))
        return name, data

    def _check(self, got: bytes | None, error: BaseException | None, expected: bytes) -> None:
        if error is None:
            assert got is not None and len(got) == len(expected)
            assert hashlib.sha256(got).hexdigest() == hashlib.sha256(expected).hexdigest(), (
                "wrong bytes, no error"
            )
        else:
            assert str(error), f"an error without a message: {error!r}"

    def test_read_when_range_is_ignored(self, proxied, proxy, stored):
        name, data = stored
        proxy.set(ignore_range=True)
        got, error = _outcome(lambda: proxied.open(name).read())
        self._check(got, error, data)

    def test_chunks_when_range_is_ignored(self, proxied, proxy, stored):
        name, data = stored
        proxy.set(ignore_range=True)

        def read() -> bytes:
            with proxied.open(name) as f:
                return b"".join(f.chunks(MB))

        got, error = _outcome(read)
        self._check(got, error, data)

    def test_seek_and_read_when_range_is_ignored(self, proxied, proxy, stored):
        name, data = stored
        proxy.set(ignore_range=True)
        size = len(data)
        for offset, count in [(size // 2 + 7, 1000), (size - 5000, 5000), (3 * MB + 1, 2 * MB)]:

            def read(offset: int = offset, count: int = count) -> bytes:
                with proxied.open(name) as f:
                    f.seek(offset)
                    return f.read(count)

            got, error = _outcome(read)
            self._check(got, error, data[offset : offset + count])

    def test_read_when_range_is_ignored_stays_bounded(self, proxied, proxy):
        """The fallback to one stream holds no more than a read may (``read_bound()``, the
        read-ahead window, plus slack), never the whole object: the object is larger than that
        limit by 16 MB."""
        limit = read_limit(proxied)
        data = random.Random(23).randbytes(limit + 16 * MB)
        expected = hashlib.sha256(data).hexdigest()
        name = proxied.save("integrity/bounded.bin", ContentFile(data))
        del data
        proxied.exists(name)  # the client is made before anything is measured
        proxy.set(ignore_range=True)

        def read() -> str:
            digest = hashlib.sha256()
            with proxied.open(name) as f:
                for chunk in f.chunks(MB):
                    digest.update(chunk)
            return digest.hexdigest()

        with peak_memory() as peak:
            got, error = _outcome(read)
        if error is None:
            assert got == expected, "wrong bytes, no error"
        else:
            assert str(error), f"an error without a message: {error!r}"
        assert peak["peak"] < limit, (
            f"a read through a server that ignores Range peaked at {peak['peak'] / MB:.1f} MB; "
            f"the read bound is {(limit - SLACK) / MB:.1f} MB (+{SLACK // MB} MB slack)"
        )

    def test_truncated_body_is_an_error(self, proxied, proxy, stored):
        name, _ = stored
        for cut in (4096, 300_000):  # every reply is cut, the first one and the ranged ones
            proxy.set(truncate_after=cut)
            # which exception is the SDK's choice; that there is one is the point
            with pytest.raises(Exception) as info, proxied.open(name) as f:  # noqa: PT011
                b"".join(f.chunks(MB))
            assert str(info.value)
            with pytest.raises(Exception) as info:  # noqa: PT011
                proxied.open(name).read()
            assert str(info.value)

    def test_corrupted_whole_read_is_an_error(self, proxied_backend, proxied, proxy):
        if not proxied_backend.whole_checksum:
            pytest.skip("the provider returns no whole-object checksum with a read")
        data = random.Random(5).randbytes(200_000)
        name = proxied.save("integrity/checked.bin", ContentFile(data))
        proxy.set(corrupt_at=150_000)
        with pytest.raises(OSError, match="corrupted"):
            proxied.open(name).read()
        with pytest.raises(OSError, match="corrupted"), proxied.open(name) as f:
            b"".join(f.chunks(64 * 1024))

    def test_read_to_the_end_releases_the_connection(self, proxied, proxy):
        """``open(name).read()`` without close(): the connection goes back to the pool."""
        name = proxied.save("integrity/small.txt", ContentFile(b"x" * 2048))
        proxied.open(name).read()  # warm: credentials, first connection
        before = proxy.connections
        errors: list[BaseException] = []

        def reads() -> None:
            try:
                for _ in range(25):
                    assert proxied.open(name).read() == b"x" * 2048
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=reads) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        # 200 reads on 8 threads: each thread's connection is reused, not one per read
        assert proxy.connections - before <= 40, proxy.connections - before

    def test_short_lived_threads_reuse_connections(self, proxied, proxy):
        """A thread per request (runserver, a thread pool that recycles its threads): 40 reads,
        each in a new thread after the previous one ended, reuse the connections."""
        name = proxied.save("integrity/small.txt", ContentFile(b"y" * 2048))
        proxied.open(name).read()
        before = proxy.connections
        results: list[bytes] = []
        for _ in range(40):
            thread = threading.Thread(target=lambda: results.append(proxied.open(name).read()))
            thread.start()
            thread.join()
        assert results == [b"y" * 2048] * 40
        assert proxy.connections - before <= 10, proxy.connections - before
