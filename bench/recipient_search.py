"""How fast the mailing form's recipient search answers in a workspace with many clients.

    DEBUG=1 .venv/bin/python bench/recipient_search.py [CLIENTS]

Creates a throwaway workspace with CLIENTS clients (default 100,000), times
the JSON search endpoint through Django's test client (middleware, access
check, query, JSON) for a few typical queries, then drops the workspace.
Uses DATABASE_URL (default: local PostgreSQL).
"""

import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client as DjangoClient  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from tenant_apps.audience.models import Client  # noqa: E402
from tenants.access import set_member_role  # noqa: E402
from tenants.services import create_workspace  # noqa: E402

QUERIES = ["", "anna", "client-0099", "@example.org", "no-such-person"]
REPEAT = 20


def fill(workspace, count):
    with schema_context(workspace.schema_name):
        batch = []
        for n in range(count):
            batch.append(Client(email=f"client-{n:06d}@example.org", full_name=f"Anna Person {n}"))
            if len(batch) == 5000:
                Client.objects.bulk_create(batch)
                batch = []
        Client.objects.bulk_create(batch)


def main(count):
    setup_test_environment()  # lets the test client run against a non-test settings module
    slug = f"bench-{uuid.uuid4().hex[:8]}"
    workspace = create_workspace(name=slug, slug=slug)
    user = get_user_model().objects.create_user(email=f"{slug}@example.com")
    try:
        set_member_role(user, workspace, "editor")
        started = time.perf_counter()
        fill(workspace, count)
        print(f"{count} clients created in {time.perf_counter() - started:.1f} s")
        browser = DjangoClient(HTTP_HOST=workspace.host)
        browser.force_login(user)
        for query in QUERIES:
            timings = []
            for _ in range(REPEAT):
                started = time.perf_counter()
                response = browser.get("/mailings/recipients/", {"q": query})
                timings.append(time.perf_counter() - started)
                assert response.status_code == 200, response.status_code
            found = len(response.json()["results"])
            print(
                f"q={query!r:18} {found:2} results  median {statistics.median(timings) * 1000:5.1f} ms"
                f"  worst {max(timings) * 1000:5.1f} ms"
            )
    finally:
        workspace.delete(force_drop=True)
        user.delete()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
