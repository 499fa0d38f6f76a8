from django.shortcuts import render


def home(request):
    """The public landing page. Anyone may see it."""
    return render(request, "public/home.html")
