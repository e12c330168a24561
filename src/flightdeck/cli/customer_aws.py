"""Customer-side commands run with the customer's own AWS credentials; their credential
and connection problems become one line saying what to do."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flightdeck.cli.errors import CliError


@contextmanager
def customer_credential_errors(profile: str | None) -> Iterator[None]:
    import botocore.exceptions

    who = f"profile {profile!r}" if profile else "your default AWS credentials"
    try:
        yield
    except botocore.exceptions.ProfileNotFound:
        raise CliError(
            f"there is no AWS profile named {profile!r}; list yours with "
            "`aws configure list-profiles`"
        ) from None
    except botocore.exceptions.NoCredentialsError:
        raise CliError(
            f"no AWS credentials found for {who}; pass --profile, or run `aws configure` "
            "(or `aws sso login`)"
        ) from None
    except (botocore.exceptions.SSOError, botocore.exceptions.TokenRetrievalError):
        raise CliError(
            f"the SSO session for {who} has expired; run `aws sso login"
            f"{' --profile ' + profile if profile else ''}` and try again"
        ) from None
    except botocore.exceptions.EndpointConnectionError as exc:
        raise CliError(f"could not reach AWS at {exc.kwargs.get('endpoint_url')}") from None
