"""NIK protection: a keyed hash for the index, KMS envelope encryption for the record."""

from __future__ import annotations

import hashlib
import hmac
from functools import cache, cached_property
from typing import Any

from perisai import aws
from perisai.errors import DependencyUnavailable
from perisai.observability import logger

SECRET_MAX_AGE_SECONDS = 300


@cache
def _secrets(client: Any) -> Any:
    # On our client (shared session, standard retries, short timeouts): Powertools' default
    # provider would build a second boto3 session on the first request (about 40 ms) and wait
    # up to 60 s on a stalled connection.
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=client)


class KmsNikProtector:
    def __init__(self, key_arn: str, hmac_secret_arn: str) -> None:
        self._key_arn = key_arn
        self._secret_arn = hmac_secret_arn

    def index_key(self, nik: str) -> str:
        return hmac.new(self._hmac_key(), nik.encode(), hashlib.sha256).hexdigest()

    def encrypt(self, nik: str, participant_id: str) -> str:
        try:
            return str(self._masking.encrypt(nik, purpose="participant-nik", participant_id=participant_id))
        except Exception as exc:  # the encryption SDK wraps KMS errors in its own types
            raise DependencyUnavailable("NIK encryption unavailable") from exc

    def prepare(self) -> None:
        """Import the Encryption SDK and build its provider now (SnapStart priming), not on the
        first request; makes no AWS call."""
        _ = self._masking

    def refresh_index_key(self) -> None:
        """Fetch the index key now (after a SnapStart restore); a failure is left to the next request."""
        try:
            _secrets(aws.client("secretsmanager")).get(
                self._secret_arn, max_age=SECRET_MAX_AGE_SECONDS, force_fetch=True
            )
        except Exception:  # noqa: BLE001  # the request path fetches it again and answers 503 if it must
            logger.warning("NIK index key not fetched after restore; the next request fetches it")

    def _hmac_key(self) -> bytes:
        try:
            secret = _secrets(aws.client("secretsmanager")).get(self._secret_arn, max_age=SECRET_MAX_AGE_SECONDS)
        except Exception as exc:
            raise DependencyUnavailable("NIK index key unavailable") from exc
        return str(secret).encode()

    @cached_property
    def _masking(self) -> Any:
        # Deferred: the encryption SDK is the heaviest import and only enrollment needs it.
        from aws_lambda_powertools.utilities.data_masking import DataMasking
        from aws_lambda_powertools.utilities.data_masking.provider.kms.aws_encryption_sdk import (
            AWSEncryptionSDKProvider,
        )

        return DataMasking(provider=AWSEncryptionSDKProvider(keys=[self._key_arn]))
