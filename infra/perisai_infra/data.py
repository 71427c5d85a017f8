"""Tables, the NIK encryption key, the NIK index secret and the payment providers' credentials."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_backup as backup
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from perisai_infra.nag import acknowledge

S = dynamodb.AttributeType.STRING


def _table(
    scope: Construct,
    id_: str,
    *,
    pk: str,
    sk: str | None,
    ttl: str | None,
    stream: bool = False,
) -> dynamodb.Table:
    table = dynamodb.Table(
        scope,
        id_,
        partition_key=dynamodb.Attribute(name=pk, type=S),
        sort_key=dynamodb.Attribute(name=sk, type=S) if sk else None,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption=dynamodb.TableEncryption.AWS_MANAGED,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        deletion_protection=True,
        removal_policy=RemovalPolicy.RETAIN,
        time_to_live_attribute=ttl,
        stream=dynamodb.StreamViewType.NEW_IMAGE if stream else None,
    )
    return table


# What the jobs read from the by_due_month index (perisai.reminders.models.DueEntry).
DUE_INDEX_ATTRIBUTES = (
    "participant_id",
    "partner_id",
    "status",
    "phone",
    "sms_opt_out",
    "first_dues_month",
    "covered_through",
    "next_dues_month",
)

# What a payer's statement reads from the by_payer_month index (a ledger entry's statement fields).
STATEMENT_INDEX_ATTRIBUTES = (
    "participant_id",
    "month",
    "total",
    "payer_type",
    "payer_id",
    "order_id",
    "order_months",
    "provider",
    "reference",
    "paid_at",
    "regency",
    "masked_name",
)


class DataConstruct(Construct):
    def __init__(self, scope: Construct, id_: str) -> None:
        super().__init__(scope, id_)

        # Single table for everything keyed by participant: profile, NIK uniqueness item,
        # contribution ledger (DUES#YYYY-MM), payment orders and the event outbox.
        # Its stream carries outbox items to the event bus.
        self.participants = _table(self, "ParticipantsTable", pk="pk", sk="sk", ttl="expires_at", stream=True)
        # A partner's participants, newest first (partner views, coverage reports).
        self.participants.add_global_secondary_index(
            index_name="by_partner",
            partition_key=dynamodb.Attribute(name="gsi1pk", type=S),
            sort_key=dynamodb.Attribute(name="gsi1sk", type=S),
            projection_type=dynamodb.ProjectionType.KEYS_ONLY,
        )
        # Sparse, write-sharded index of who owes which dues month (DUE#YYYY-MM#shard, sorted by
        # status#id): the reminder and lapse jobs query one status of one month shard by shard
        # instead of scanning. It carries what a reminder run decides on, so a run reads no profile.
        self.participants.add_global_secondary_index(
            index_name="by_due_month",
            partition_key=dynamodb.Attribute(name="gsi2pk", type=S),
            sort_key=dynamodb.Attribute(name="gsi2sk", type=S),
            projection_type=dynamodb.ProjectionType.INCLUDE,
            non_key_attributes=list(DUE_INDEX_ATTRIBUTES),
        )
        # An agent's recruits by enrollment date (agent cohorts and retention).
        self.participants.add_global_secondary_index(
            index_name="by_agent",
            partition_key=dynamodb.Attribute(name="gsi3pk", type=S),
            sort_key=dynamodb.Attribute(name="gsi3sk", type=S),
            projection_type=dynamodb.ProjectionType.KEYS_ONLY,
        )

        # Sparse: the ledger entries a sponsor or a local government paid, by payer and dues month
        # (PAYERDUES#<payer>#<YYYY-MM>, sorted by participant): a payer's monthly statement.
        self.participants.add_global_secondary_index(
            index_name="by_payer_month",
            partition_key=dynamodb.Attribute(name="gsi4pk", type=S),
            sort_key=dynamodb.Attribute(name="gsi4sk", type=S),
            projection_type=dynamodb.ProjectionType.INCLUDE,
            non_key_attributes=list(STATEMENT_INDEX_ATTRIBUTES),
        )

        self.partners = _table(self, "PartnersTable", pk="pk", sk="sk", ttl=None)
        # Powertools idempotency records (key: partner + Idempotency-Key).
        self.idempotency = _table(self, "IdempotencyTable", pk="id", sk=None, ttl="expiration")

        # Point-in-time recovery covers 35 days; AWS Backup keeps longer history in a vault
        # that survives the stack (and a mistaken table deletion).
        vault = backup.BackupVault(self, "Vault", removal_policy=RemovalPolicy.RETAIN)
        plan = backup.BackupPlan.daily_monthly1_year_retention(self, "BackupPlan", vault)
        selection = plan.add_selection(
            "Tables",
            resources=[
                backup.BackupResource.from_dynamo_db_table(t)
                for t in (self.participants, self.partners, self.idempotency)
            ],
        )
        acknowledge(
            selection,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]",
            "AWS Backup's own service-role policy: the documented way to let Backup snapshot these tables.",
        )

        self.nik_key = kms.Key(
            self,
            "NikKey",
            description="Envelope encryption of participants' NIK",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
            pending_window=Duration.days(30),
        )
        self.nik_hmac_secret = secretsmanager.Secret(
            self,
            "NikHmacSecret",
            description="HMAC key that turns a NIK into its index key (never the NIK in clear)",
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=64, exclude_punctuation=True),
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.nik_hmac_secret,
            "AwsSolutions-SMG4",
            "Rotating the NIK index key means re-keying every NIK index item; it is a planned "
            "operation (docs/RUNBOOK.md), not an automatic rotation.",
        )

        # The payment providers' credentials. The providers issue them (and rotate them in their own
        # dashboards); operators put the values after deploy (docs/RUNBOOK.md). CDK generates a random
        # placeholder, so nothing verifies against a known value until the real one is put.
        self.midtrans_server_key = _provider_secret(
            self,
            "MidtransServerKey",
            "Midtrans server key: verifies signature_key on Midtrans HTTP notifications",
        )
        self.xendit_callback_token = _provider_secret(
            self,
            "XenditCallbackToken",
            "Xendit callback verification token: compared with the x-callback-token header of Xendit callbacks",
        )
        self.channel_secrets = _provider_secret(
            self,
            "ChannelSecrets",
            'Direct channels\' HMAC secrets, a JSON object {"<channel id>": "<secret>"} (Pos, BRILink, bank agents)',
            # Valid JSON from the start: an object with a random entry no channel id can name.
            template='{"placeholder": ""}',
            key="placeholder",
        )

    @property
    def provider_secrets(self) -> tuple[secretsmanager.Secret, ...]:
        return (self.midtrans_server_key, self.xendit_callback_token, self.channel_secrets)


def _provider_secret(
    scope: Construct, id_: str, description: str, *, template: str | None = None, key: str | None = None
) -> secretsmanager.Secret:
    secret = secretsmanager.Secret(
        scope,
        id_,
        description=description,
        generate_secret_string=secretsmanager.SecretStringGenerator(
            password_length=64,
            exclude_punctuation=True,
            secret_string_template=template,
            generate_string_key=key,
        ),
        removal_policy=RemovalPolicy.RETAIN,
    )
    acknowledge(
        secret,
        "AwsSolutions-SMG4",
        "Issued by the payment provider or channel and rotated in its own dashboard or agreement, not by a "
        "Lambda rotation function: operators put the new value (docs/RUNBOOK.md).",
    )
    return secret
