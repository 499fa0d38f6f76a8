"""Segments: every operator, all/any and one level of nesting, hostile values,
workspace isolation, and definitions refused with a message."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from saas.factories import make_client, make_delivery, make_mailing, make_run
from tenant_apps.audience import segments
from tenant_apps.audience.models import Client, CustomField, MailingList, Membership, Segment

pytestmark = pytest.mark.django_db

T = CustomField.Type


@pytest.fixture
def people(in_workspace):
    """Five clients with custom field values of every type, by a short name."""
    CustomField.objects.create(key="city", label="Город", type=T.TEXT)
    CustomField.objects.create(key="age", label="Возраст", type=T.NUMBER)
    CustomField.objects.create(key="born", label="Родился", type=T.DATE)
    CustomField.objects.create(key="vip", label="VIP", type=T.BOOLEAN)
    CustomField.objects.create(key="plan", label="Тариф", type=T.CHOICE, choices=["Базовый", "Про"])
    values = {
        "ann": {"city": "Москва", "age": 30, "born": "1994-05-01", "vip": True, "plan": "Про"},
        "bob": {"city": "Казань", "age": 45.5, "born": "1979-12-31", "vip": False, "plan": "Базовый"},
        "cat": {"city": "Нижний Новгород", "age": 18},
        "dan": {},
        "eve": {"city": "москва-сити", "age": 30},
    }
    return {name: make_client(f"{name}@example.com", fields=fields) for name, fields in values.items()}


def matching(*conditions, match="all"):
    definition = segments.validate_definition({"match": match, "conditions": list(conditions)})
    return sorted(client.email.split("@")[0] for client in segments.segment_preview(definition, limit=100))


def field(key, op, value=None):
    return {"kind": "field", "field": key, "op": op, "value": value}


# --- every operator ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (field("city", "equals", "Москва"), ["ann"]),
        (field("city", "not_equals", "Москва"), ["bob", "cat", "dan", "eve"]),
        (field("city", "contains", "моСКва"), ["ann", "eve"]),
        (field("city", "not_contains", "новгород"), ["ann", "bob", "dan", "eve"]),
        (field("city", "is_empty"), ["dan"]),
        (field("city", "is_not_empty"), ["ann", "bob", "cat", "eve"]),
        (field("age", "equals", "30"), ["ann", "eve"]),
        (field("age", "not_equals", "30"), ["bob", "cat", "dan"]),
        (field("age", "greater", "30"), ["bob"]),
        (field("age", "less", "30,5"), ["ann", "cat", "eve"]),
        (field("age", "is_empty"), ["dan"]),
        (field("born", "equals", "01.05.1994"), ["ann"]),
        (field("born", "before", "1990-01-01"), ["bob"]),
        (field("born", "after", "1979-12-31"), ["ann"]),
        (field("born", "is_not_empty"), ["ann", "bob"]),
        (field("vip", "is_true"), ["ann"]),
        (field("vip", "is_false"), ["bob"]),
        (field("vip", "is_empty"), ["cat", "dan", "eve"]),
        (field("plan", "equals", "Про"), ["ann"]),
        (field("plan", "not_equals", "Про"), ["bob", "cat", "dan", "eve"]),
        ({"kind": "email", "op": "equals", "value": "ANN@example.com"}, ["ann"]),
        ({"kind": "email", "op": "contains", "value": "b@EX"}, ["bob"]),
        ({"kind": "email", "op": "not_contains", "value": "N"}, ["bob", "cat", "eve"]),
    ],
)
def test_each_field_operator_matches_exactly_its_clients(people, condition, expected):
    assert matching(condition) == expected


def test_list_operators_read_the_membership_status(people):
    news = MailingList.objects.create(name="Новости")
    now = timezone.now()
    for name, status in (("ann", "subscribed"), ("bob", "unconfirmed"), ("cat", "unsubscribed")):
        Membership.objects.create(mailing_list=news, client=people[name], status=status, changed_at=now)

    def on_list(op):
        return matching({"kind": "list", "op": op, "list": news.pk})

    assert on_list("subscribed") == ["ann"]
    assert on_list("unconfirmed") == ["bob"]
    assert on_list("unsubscribed") == ["cat"]
    assert on_list("not_subscribed") == ["bob", "cat", "dan", "eve"]


def test_subscription_and_addition_dates_compare_by_day(people):
    news = MailingList.objects.create(name="Новости")
    now = timezone.now()
    Membership.objects.create(mailing_list=news, client=people["ann"], changed_at=now - timedelta(days=10))
    Membership.objects.create(mailing_list=news, client=people["bob"], changed_at=now)
    Client.objects.filter(pk=people["cat"].pk).update(created=now - timedelta(days=400))
    week_ago = (now - timedelta(days=7)).date().isoformat()
    yesterday = (now - timedelta(days=1)).date().isoformat()

    assert matching({"kind": "subscribed_at", "op": "before", "list": news.pk, "value": week_ago}) == ["ann"]
    assert matching({"kind": "subscribed_at", "op": "after", "list": news.pk, "value": week_ago}) == ["bob"]
    assert matching({"kind": "added", "op": "before", "value": week_ago}) == ["cat"]
    assert matching({"kind": "added", "op": "after", "value": yesterday}) == ["ann", "bob", "dan", "eve"]


def test_delivery_history_received_failed_and_never_sent(people):
    spring, autumn = make_mailing("Весна"), make_mailing("Осень")
    spring_run, autumn_run = make_run(spring), make_run(autumn)
    make_delivery(spring_run, "sent", client=people["ann"])
    make_delivery(spring_run, "failed", client=people["bob"])
    make_delivery(autumn_run, "bounced", client=people["cat"])
    make_delivery(autumn_run, "complained", client=people["dan"])

    def history(op, mailing=None):
        return matching({"kind": "history", "op": op, "mailing": mailing.pk if mailing else None})

    assert history("received", spring) == ["ann"]
    assert history("received", autumn) == ["dan"]
    assert history("not_received", spring) == ["bob", "cat", "dan", "eve"]
    assert history("failed") == ["bob", "cat"]
    assert history("failed", spring) == ["bob"]
    assert history("never_sent") == ["bob", "eve"]


def test_a_deleted_clients_deliveries_do_not_empty_not_received(people):
    spring = make_mailing("Весна")
    gone = make_client("gone@example.com")
    make_delivery(make_run(spring), "sent", client=gone)
    gone.delete()

    assert matching({"kind": "history", "op": "not_received", "mailing": spring.pk}) == sorted(people)


# --- all / any and one level of nesting --------------------------------------------------------


def test_all_needs_every_condition_and_any_one_of_them(people):
    moscow, thirty = field("city", "contains", "москва"), field("age", "equals", "30")
    young = field("age", "less", "20")

    assert matching(moscow, thirty, match="all") == ["ann", "eve"]
    assert matching(thirty, young, match="any") == ["ann", "cat", "eve"]
    assert matching(field("vip", "is_true"), young, match="all") == []


def test_a_nested_group_combines_with_its_own_match(people):
    group = {"match": "any", "conditions": [field("city", "equals", "Казань"), field("age", "less", "20")]}

    assert matching(field("city", "is_not_empty"), group, match="all") == ["bob", "cat"]
    assert matching(field("vip", "is_true"), group, match="any") == ["ann", "bob", "cat"]


# --- hostile values --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ['O\'Brien "quoted"', "100%", "a_b", "back\\slash", "'); DROP TABLE audience_client; --", "Ёжик 🦔 ß"],
)
def test_hostile_values_match_literally(in_workspace, value):
    CustomField.objects.create(key="note", label="Заметка", type=T.TEXT)
    exact = make_client("exact@example.com", fields={"note": value})
    inside = make_client("inside@example.com", fields={"note": f"до {value} после"})
    make_client("near@example.com", fields={"note": "100 percent aXb backslash O Brien"})

    def emails(op):
        definition = segments.validate_definition({"match": "all", "conditions": [field("note", op, value)]})
        return sorted(client.email for client in segments.segment_preview(definition, limit=10))

    assert emails("equals") == [exact.email]
    assert emails("contains") == sorted([exact.email, inside.email])
    assert Client.objects.count() == 3


def test_percent_and_underscore_are_not_wildcards(people):
    make_client("under_score@example.com")

    assert matching({"kind": "email", "op": "contains", "value": "_"}) == ["under_score"]
    assert matching({"kind": "email", "op": "contains", "value": "%"}) == []


def test_a_nul_character_is_refused_with_a_message(people):
    for condition in (field("city", "contains", "a\x00b"), {"kind": "email", "op": "contains", "value": "\x00"}):
        with pytest.raises(segments.InvalidDefinition) as refused:
            segments.validate_definition({"match": "all", "conditions": [condition]})
        assert "NUL" in refused.value.messages[0]


def test_an_infinite_id_is_refused_with_a_message_not_a_crash(people):
    """json.loads reads 1e400 as an infinite float (the builder's preview gets raw JSON)."""
    for condition in (
        {"kind": "list", "op": "subscribed", "list": float("inf")},
        {"kind": "history", "op": "received", "mailing": float("-inf")},
    ):
        with pytest.raises(segments.InvalidDefinition) as refused:
            segments.validate_definition({"match": "all", "conditions": [condition]})
        assert "Выберите" in refused.value.messages[0]


def test_a_number_compare_ignores_a_value_stored_under_another_type(people):
    """A field whose type changed keeps old values; comparing them never errors."""
    make_client("text-age@example.com", fields={"age": "тридцать", "born": "not a date"})

    assert matching(field("age", "greater", "0")) == ["ann", "bob", "cat", "eve"]
    assert matching(field("born", "before", "2100-01-01")) == ["ann", "bob"]


# --- workspaces ------------------------------------------------------------------------------


def test_a_segment_never_matches_clients_of_another_workspace(workspace, other_workspace):
    definition = {"match": "all", "conditions": [{"kind": "email", "op": "contains", "value": "@shared.example"}]}
    for each in (workspace, other_workspace):
        with schema_context(each.schema_name):
            make_client(f"{each.slug}@shared.example")

    with schema_context(workspace.schema_name):
        counted = segments.segment_count(segments.validate_definition(definition))
        previewed = [client.email for client in segments.segment_preview(definition)]

    assert (counted.matching, previewed) == (1, ["acme@shared.example"])


def test_a_segment_of_another_workspace_cannot_name_this_ones_list(workspace, other_workspace):
    with schema_context(other_workspace.schema_name):
        theirs = MailingList.objects.create(name=f"Только globex {other_workspace.pk}")
    with schema_context(workspace.schema_name):
        MailingList.objects.filter(pk=theirs.pk).delete()  # make sure the id is free in acme
        with pytest.raises(segments.InvalidDefinition):
            segments.validate_definition(
                {"match": "all", "conditions": [{"kind": "list", "op": "subscribed", "list": theirs.pk}]}
            )


# --- invalid definitions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ("not a dict", "Условия заданы не в том виде"),
        ({"match": "all", "conditions": []}, "Добавьте хотя бы одно условие"),
        ({"match": "some", "conditions": [field("city", "is_empty")]}, "все условия или любое"),
        ({"match": "all", "conditions": [field("nope", "equals", "x")]}, "поле, которого нет"),
        ({"match": "all", "conditions": [field("age", "contains", "3")]}, "Выберите оператор"),
        ({"match": "all", "conditions": [field("age", "greater", "много")]}, "не число"),
        ({"match": "all", "conditions": [field("born", "before", "31.02.2020")]}, "не дата"),
        ({"match": "all", "conditions": [field("plan", "equals", "Люкс")]}, "не один из"),
        ({"match": "all", "conditions": [field("city", "equals", "  ")]}, "Введите значение"),
        ({"match": "all", "conditions": [{"kind": "list", "op": "subscribed", "list": 999999}]}, "Выберите список"),
        ({"match": "all", "conditions": [{"kind": "history", "op": "received"}]}, "Выберите рассылку"),
        ({"match": "all", "conditions": [{"kind": "sql", "op": "raw"}]}, "не в том виде"),
        (
            {"match": "all", "conditions": [{"match": "any", "conditions": [{"match": "all", "conditions": []}]}]},
            "один уровень",
        ),
    ],
)
def test_an_invalid_definition_is_refused_with_a_message(people, definition, message):
    with pytest.raises(segments.InvalidDefinition) as refused:
        segments.validate_definition(definition)

    assert any(message in text for text in refused.value.messages), refused.value.messages


def test_a_refused_definition_changes_nothing(people):
    segment = Segment.objects.create(name="Москва", definition={"match": "all", "conditions": []})

    with pytest.raises(segments.InvalidDefinition):
        segments.save_segment(segment, "Другое имя", {"match": "all", "conditions": [field("x", "equals", "1")]})

    segment.refresh_from_db()
    assert (segment.name, segment.definition) == ("Москва", {"match": "all", "conditions": []})


def test_a_condition_on_a_deleted_field_matches_nobody(people):
    segment = segments.save_segment(Segment(), "Москва", {"match": "any", "conditions": [field("city", "is_empty")]})
    CustomField.objects.filter(key="city").delete()

    assert segments.segment_count(segment).matching == 0


def test_count_counts_matching_and_subscribed(people):
    Client.objects.filter(pk=people["eve"].pk).update(is_subscribed=False)

    counted = segments.segment_count({"match": "all", "conditions": [field("age", "equals", 30)]})

    assert (counted.matching, counted.subscribed) == (2, 1)


def test_the_compiled_sql_carries_values_only_as_parameters(people):
    hostile = "x'; DELETE FROM audience_client; --"
    definition = segments.validate_definition({"match": "all", "conditions": [field("city", "contains", hostile)]})

    sql, params = segments.compile_definition(definition)

    assert hostile not in sql and "city" not in sql
    assert hostile in params.values()


def test_count_of_a_raw_definition_validates_it_first(people):
    with pytest.raises(segments.InvalidDefinition):
        segments.segment_count({"match": "all", "conditions": [{"kind": "__class__", "op": "x"}]})


# --- relative dates -----------------------------------------------------------------------------
# PostgreSQL's now() is the start of the test's transaction, so "today" below is the very day the
# queries count from, whatever the clock does meanwhile.


def database_now():
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        return cursor.fetchone()[0]


def dates_meant_in(zone_name):
    """The workspace's dates are meant in `zone_name`; (its today, the first moment of today-7 there)."""
    workspace = connection.tenant
    workspace.time_zone = zone_name
    workspace.save(update_fields=["time_zone"])
    zone = ZoneInfo(zone_name)
    today = database_now().astimezone(zone).date()
    return today, datetime.combine(today - timedelta(days=7), time.min, tzinfo=zone)


@pytest.fixture
def far_east(people):
    """Vladivostok, UTC+10: its day starts at 14:00 UTC the day before, so UTC days would miss the edges."""
    return dates_meant_in("Asia/Vladivostok")


def relative(kind, op, days, **extra):
    return {"kind": kind, "op": op, "value": days, **extra}


def test_added_within_the_last_days_starts_at_the_first_moment_of_that_day_in_the_workspaces_zone(people, far_east):
    _today, week_start = far_east
    Client.objects.filter(pk=people["ann"].pk).update(created=week_start)
    Client.objects.filter(pk=people["bob"].pk).update(created=week_start - timedelta(microseconds=1))
    Client.objects.filter(pk=people["cat"].pk).update(created=week_start - timedelta(days=400))

    assert matching(relative("added", "within_last_days", 7)) == ["ann", "dan", "eve"]
    assert matching(relative("added", "more_than_days_ago", 7)) == ["bob", "cat"]
    assert matching(relative("added", "more_than_days_ago", 400)) == ["cat"]


def test_subscribed_within_the_last_days_reads_when_the_membership_changed(people, far_east):
    _today, week_start = far_east
    news, other = MailingList.objects.create(name="Новости"), MailingList.objects.create(name="Другой")
    just_before = week_start - timedelta(microseconds=1)
    Membership.objects.create(mailing_list=news, client=people["ann"], changed_at=week_start)
    Membership.objects.create(mailing_list=news, client=people["bob"], changed_at=just_before)
    Membership.objects.create(mailing_list=news, client=people["cat"], changed_at=week_start, status="unsubscribed")
    Membership.objects.create(mailing_list=other, client=people["dan"], changed_at=week_start)

    assert matching(relative("subscribed_at", "within_last_days", 7, list=news.pk)) == ["ann"]
    assert matching(relative("subscribed_at", "more_than_days_ago", 7, list=news.pk)) == ["bob"]


# 25 hours apart: their dates always differ, so days counted in any one zone fail one of them.
@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_a_date_field_within_the_last_days_runs_from_today_minus_n_to_today_in_the_workspaces_zone(people, zone):
    today, _week_start = dates_meant_in(zone)
    for name, day in (("ann", -7), ("bob", -8), ("cat", 0), ("dan", 1)):
        Client.objects.filter(pk=people[name].pk).update(fields={"born": (today + timedelta(days=day)).isoformat()})
    make_client("text@example.com", fields={"born": "not a date"})
    make_client("number@example.com", fields={"born": 20240101})

    assert matching(field("born", "within_last_days", 7)) == ["ann", "cat"]
    assert matching(field("born", "more_than_days_ago", 7)) == ["bob"]
    assert matching(field("born", "within_last_days", "8")) == ["ann", "bob", "cat"]


def test_a_saved_relative_segment_keeps_the_number_of_days_not_a_date(people):
    definition = {"match": "all", "conditions": [relative("added", "within_last_days", " 30 ")]}

    segment = segments.save_segment(Segment(), "Новые", definition)

    segment.refresh_from_db()
    assert segment.definition["conditions"] == [{"kind": "added", "op": "within_last_days", "value": 30}]


def test_relative_dates_travel_as_parameters_and_are_counted_by_the_database(people):
    definition = segments.validate_definition(
        {
            "match": "any",
            "conditions": [relative("added", "within_last_days", 3650), field("born", "more_than_days_ago", 1)],
        }
    )

    sql, params = segments.compile_definition(definition)

    assert "now()" in sql and "3650" not in sql and "born" not in sql
    assert 3650 in params.values() and str(segments.workspace_timezone()) in params.values()


@pytest.mark.parametrize("days", [0, -1, 3651, 7.5, "7.5", "семь", "", None, True, [7]])
@pytest.mark.parametrize(
    "condition",
    [
        lambda days: relative("added", "within_last_days", days),
        lambda days: relative("subscribed_at", "more_than_days_ago", days, list="news"),
        lambda days: field("born", "within_last_days", days),
    ],
)
def test_a_number_of_days_outside_1_to_3650_or_not_whole_is_refused_and_nothing_saved(people, condition, days):
    news = MailingList.objects.create(name="Новости")
    item = condition(days)
    if item.get("list") == "news":
        item["list"] = news.pk
    segment = Segment.objects.create(name="Было", definition={"match": "all", "conditions": []})

    with pytest.raises(segments.InvalidDefinition) as refused:
        segments.save_segment(segment, "Стало", {"match": "all", "conditions": [item]})

    assert any("нужно целое число дней от 1 до 3650" in text for text in refused.value.messages), refused.value.messages
    segment.refresh_from_db()
    assert (segment.name, segment.definition) == ("Было", {"match": "all", "conditions": []})


def test_a_relative_operator_is_refused_for_a_field_that_is_not_a_date(people):
    with pytest.raises(segments.InvalidDefinition) as refused:
        segments.validate_definition({"match": "all", "conditions": [field("age", "within_last_days", 7)]})

    assert "Выберите оператор" in refused.value.messages[0]


def test_the_builder_offers_the_relative_operators_with_their_units(people):
    options = segments.builder_options()

    born = next(item for item in options["fields"] if item["key"] == "born")
    assert {"within_last_days", "more_than_days_ago"} <= set(born["ops"])
    assert {"within_last_days", "more_than_days_ago"} <= set(options["kinds"]["added"]["ops"])
    assert options["ops"]["within_last_days"] == "за последние"
    assert options["units"] == {"within_last_days": "дн.", "more_than_days_ago": "дн. назад"}
