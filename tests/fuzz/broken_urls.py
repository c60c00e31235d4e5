from django.urls import path


def boom(request):
    raise RuntimeError("a view that fails")


urlpatterns = [path("boom/", boom)]
