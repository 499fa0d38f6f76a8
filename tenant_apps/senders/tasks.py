"""huey tasks of the senders app: the provider connection test and the daily DNS check."""

import logging

from django_tenants.utils import get_tenant_model, schema_context
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from . import services
from .models import SendingDomain, SmtpProvider

log = logging.getLogger(__name__)


@db_task()
def test_provider_connection(schema_name, provider_id):
    with schema_context(schema_name):
        provider = SmtpProvider.objects.filter(pk=provider_id).first()
        if provider is not None:
            services.run_connection_test(provider)


@db_task()
def check_domain_now(schema_name, domain_id):
    with schema_context(schema_name):
        domain = SendingDomain.objects.filter(pk=domain_id).first()
        if domain is not None:
            services.verify_domain(domain)


@db_periodic_task(crontab(minute="17", hour="3"))
def verify_domains_daily():
    """Every day: look every workspace's sending domains up again (a record removed un-verifies it)."""
    schemas = get_tenant_model().objects.exclude(schema_name="public").values_list("schema_name", flat=True)
    for schema_name in schemas:
        verify_workspace_domains(schema_name)


@db_task()
def verify_workspace_domains(schema_name):
    with schema_context(schema_name):
        services.verify_every_domain()
