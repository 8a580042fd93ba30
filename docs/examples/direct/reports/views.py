from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import redirect, render

from .forms import ReportForm
from .models import Report


@permission_required("reports.add_report")
def new_report(request):
    form = ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        return redirect("reports")
    return render(request, "reports/new.html", {"form": form})


@login_required
def report_list(request):
    return render(request, "reports/list.html", {"reports": Report.objects.order_by("-pk")})
