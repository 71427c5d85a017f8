"""The providers' credentials, from Secrets Manager (cached five minutes, on our client)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from perisai import aws
from perisai.errors import DependencyUnavailable

SECRET_MAX_AGE_SECONDS = 300


@cache
def _secrets(client: Any) -> Any:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=client)


class ProviderSecrets:
    def __init__(self, midtrans_arn: str, xendit_arn: str, channels_arn: str) -> None:
        self._midtrans = midtrans_arn
        self._xendit = xendit_arn
        self._channels = channels_arn

    def midtrans_server_key(self) -> str:
        return self._get(self._midtrans)

    def xendit_callback_token(self) -> str:
        return self._get(self._xendit)

    def channel_secret(self, channel_id: str) -> str | None:
        """The channel's HMAC secret, or None for a channel we do not know."""
        try:
            secrets = json.loads(self._get(self._channels))
        except ValueError as exc:
            raise DependencyUnavailable("channel secrets are not a JSON object") from exc
        secret = secrets.get(channel_id) if isinstance(secrets, dict) else None
        return secret if isinstance(secret, str) and secret else None

    def _get(self, arn: str) -> str:
        try:
            return str(_secrets(aws.client("secretsmanager")).get(arn, max_age=SECRET_MAX_AGE_SECONDS))
        except Exception as exc:  # Powertools wraps the client's errors in its own types
            raise DependencyUnavailable("provider secret unavailable") from exc
