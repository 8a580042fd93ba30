from django.http import HttpResponse
from django.shortcuts import render

from tests.direct_app.forms import UploadForm


def page(request):
    form = UploadForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        upload = form.save()
        return HttpResponse(f'<p id="saved" data-pk="{upload.pk}">Saved {upload.file.name}</p>')
    return render(request, "direct_app/page.html", {"form": form})
