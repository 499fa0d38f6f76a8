from django import forms
from django.utils.translation import gettext_lazy as _

from tenant_apps.campaigns.models import Mailing

# Up to this many workspaces the filter is a drop-down; beyond, the workspace's address name is typed.
WORKSPACE_CHOICES_MAX = 200


class WorkspaceChoiceMixin:
    def set_workspace_choices(self, workspaces):
        self.visible = workspaces
        few = list(workspaces[: WORKSPACE_CHOICES_MAX + 1])
        if len(few) <= WORKSPACE_CHOICES_MAX:
            self.fields["workspace"].choices = [("", _("All workspaces"))] + [
                (workspace.slug, f"{workspace.name} ({workspace.slug})") for workspace in few
            ]
        else:
            self.fields["workspace"] = forms.SlugField(
                label=_("Workspace (address name)"), required=False, max_length=63
            )

    def clean_workspace(self):
        slug = self.cleaned_data.get("workspace")
        if not slug:
            return None
        workspace = self.visible.filter(slug=slug).first()
        if workspace is None:
            raise forms.ValidationError(_("No workspace you oversee has this address."))
        return workspace

    def selected_workspace(self):
        """The chosen workspace, or None for every visible one."""
        return self.cleaned_data.get("workspace")


class MailingFilterForm(WorkspaceChoiceMixin, forms.Form):
    workspace = forms.ChoiceField(label=_("Workspace"), required=False)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status"))] + list(Mailing.Status.choices)
    )
    name = forms.CharField(label=_("Name contains"), required=False, max_length=200)

    def __init__(self, *args, workspaces, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_workspace_choices(workspaces)


class ClientSearchForm(WorkspaceChoiceMixin, forms.Form):
    workspace = forms.ChoiceField(label=_("Workspace"), required=False)
    email = forms.CharField(label=_("Email contains"), required=False, max_length=254)

    def __init__(self, *args, workspaces, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_workspace_choices(workspaces)


class UserSearchForm(forms.Form):
    q = forms.CharField(label=_("Email or name contains"), required=False, max_length=254)


class WorkspaceQuotaForm(forms.Form):
    """A workspace's quotas and sending weight; empty quota = the platform default."""

    messages_per_month = forms.IntegerField(
        label=_("Messages per month"),
        required=False,
        min_value=0,
        help_text=_("Empty: the platform default; 0: unlimited."),
    )
    clients_max = forms.IntegerField(
        label=_("Clients at most"),
        required=False,
        min_value=0,
        help_text=_("Empty: the platform default; 0: unlimited."),
    )
    plan_weight = forms.IntegerField(
        label=_("Sending weight"),
        min_value=1,
        max_value=100,
        help_text=_("Share of sending capacity against other workspaces' runs (1 = the default share)."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-control")
