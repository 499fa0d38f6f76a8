from allauth.account.models import EmailAddress


def mark_email_verified(user):
    """Record the user's email as verified and primary (for users made by commands)."""
    EmailAddress.objects.filter(user=user).exclude(email__iexact=user.email).update(primary=False)
    address, _ = EmailAddress.objects.get_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )
    if not (address.verified and address.primary):
        address.verified = address.primary = True
        address.save(update_fields=["verified", "primary"])
