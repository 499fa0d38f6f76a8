"""What the delivery engine asks of the senders app, per run and per batch claim.

`RunIdentity` is built once per run (per worker): the From address, the
provider (connection settings, its key for the connection pool, breaker and
rate bucket), the DKIM signer (key decrypted and parsed once). `allowance()`
is called before each batch claim: one Lua call to the provider's token bucket
and one statement reserving the workspace's monthly quota.
"""

from dataclasses import dataclass

from django.conf import settings

from . import quotas
from .ratelimit import TokenBucket
from .services import ProviderSpec, from_allowed, from_domain, provider_for, signer_for


@dataclass
class RunIdentity:
    from_email: str
    provider: ProviderSpec
    signer: object | None  # dkim.DkimSigner
    bucket: TokenBucket
    # Why this run may not send at all (its From domain is no longer verified), or "".
    refusal: str = ""

    def sign(self, message: bytes) -> bytes:
        return self.signer.sign(message) if self.signer is not None else message


def identity_for(mailing, schema_name: str) -> RunIdentity:
    from_email = mailing.from_email or settings.DELIVERY_FROM_EMAIL
    provider = provider_for(from_email, schema_name)
    return RunIdentity(
        from_email=from_email,
        provider=provider,
        signer=signer_for(from_email),
        bucket=TokenBucket(provider.key, provider.rate_per_second, provider.rate_per_hour),
        # A domain un-verified since the mailing was saved (record removed, domain deleted): never send
        # unsigned mail in its name.
        refusal="" if from_allowed(from_email) else f"the From domain {from_domain(from_email)} is not verified",
    )


@dataclass
class Allowance:
    count: int  # deliveries this worker may claim now
    wait: float = 0.0  # when count is 0 for the rate: seconds until a token is there
    quota_reached: bool = False


def allowance(identity: RunIdentity, workspace, wanted: int) -> Allowance:
    """How many deliveries to claim now: the provider's rate first, then the month's quota."""
    grant = identity.bucket.take(wanted)
    if grant.granted == 0:
        return Allowance(0, wait=grant.wait)
    reserved = quotas.reserve(workspace, grant.granted)
    identity.bucket.refund(grant.granted - reserved)
    if reserved == 0:
        return Allowance(0, quota_reached=True)
    return Allowance(reserved)


def settle(identity: RunIdentity, workspace, allowed: int, claimed: int, sent: int) -> None:
    """After a batch: tokens for deliveries not claimed go back to the bucket, unsent messages to the quota."""
    identity.bucket.refund(allowed - claimed)
    quotas.release(workspace, allowed - sent)
