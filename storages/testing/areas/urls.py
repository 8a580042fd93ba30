"""URLs: ``url()`` of awkward names, fetched with a plain HTTP client."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.core.files.base import ContentFile

from storages.testing.config import ConformanceBase
from storages.testing.helpers import fetch

SPECIAL_NAMES = [
    "with space.txt",
    "ünïcødé/名前.txt",
    "plus+sign.txt",
    "hash#tag.txt",
    "question?mark.txt",
    "per%cent.txt",
    "co:lon.txt",
    "dir/sub dir/a b+c.txt",
]


class URLConformance(ConformanceBase):
    """``url()`` gives a link a browser can use, whatever characters the name holds."""

    @pytest.mark.parametrize("name", SPECIAL_NAMES)
    def test_url_fetches_content(self, storage, name) -> None:
        saved = storage.save(name, ContentFile(name.encode()))
        url = storage.url(saved)
        assert url
        if self.capabilities.url_fetchable:
            status, body = fetch(url)
            assert status == 200, url
            assert body == name.encode()
        else:
            assert url.endswith(quote(saved))
