"""Upload through a FileField, then print and fetch the URLs a page would use."""

import urllib.request

from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand

from example.gallery.models import Photo


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - local demo server
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


class Command(BaseCommand):
    help = "Upload two photos with the same name and fetch every URL."

    def handle(self, *args, **options) -> None:
        for title in ("first", "second"):
            photo = Photo(title=title)
            photo.image.save("holiday.svg", ContentFile(f"<svg><!-- {title} --></svg>".encode()))
            status, body = fetch(photo.image.url)
            self.stdout.write(f"uploaded {photo.image.name!r} ({photo.image.size} bytes)")
            self.stdout.write(f"  signed url: {photo.image.url[:110]}...")
            self.stdout.write(f"  fetched: HTTP {status}, {body.decode()!r}")
        dirs, files = default_storage.listdir(Photo.objects.first().image.name.rsplit("/", 1)[0])
        self.stdout.write(f"media listing: {sorted(files)}")
        for name in ("gallery/site.css", "gallery/logo.svg", "gallery/app.js"):
            url = staticfiles_storage.url(name)
            status, body = fetch(url)
            self.stdout.write(f"static {name} -> {url}  HTTP {status}, {len(body)} bytes")
        upload_url = default_storage.url("incoming/direct.txt", http_method="PUT")
        request = urllib.request.Request(
            upload_url,
            data=b"sent straight to S3",
            method="PUT",
            headers={"Content-Type": "application/octet-stream"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            self.stdout.write(
                f"presigned PUT: HTTP {response.status}; stored: "
                f"{default_storage.open('incoming/direct.txt').read()!r}"
            )
