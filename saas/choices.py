"""`{% load choices %}`: render flat or grouped form choices the same way.

Django's ChoiceField accepts [(value, label), ...] and
[(group, [(value, label), ...]), ...]; allauth's `element field` template
gets the raw list, so it needs to tell the two apart.
"""

from django import template

register = template.Library()


@register.filter
def grouped(choices):
    """[(group label or None, [(value, label), ...]), ...] from flat or grouped choices."""
    groups, loose = [], []
    for value, label in choices:
        if isinstance(label, list | tuple):
            if loose:
                groups.append((None, loose))
                loose = []
            groups.append((value, list(label)))
        else:
            loose.append((value, label))
    if loose:
        groups.append((None, loose))
    return groups
