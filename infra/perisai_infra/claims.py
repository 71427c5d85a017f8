"""Claims: the function's grants and the supporting-documents bucket."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from perisai_infra.data import DataConstruct
from perisai_infra.grants import allow
from perisai_infra.nag import acknowledge


class ClaimsConstruct(Construct):
    def __init__(self, scope: Construct, id_: str, *, data: DataConstruct) -> None:
        super().__init__(scope, id_)
        # Log delivery by bucket policy, not the legacy log-delivery ACL (cfn-lint W3045).
        self.node.set_context("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", True)
        access_logs = s3.Bucket(
            self,
            "DocumentAccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            removal_policy=RemovalPolicy.RETAIN,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(400))],
        )
        acknowledge(access_logs, "AwsSolutions-S1", "This bucket is itself the access-log bucket of the documents.")
        # Claim documents (death certificates, medical bills): private, encrypted, versioned, kept.
        self.documents = s3.Bucket(
            self,
            "ClaimDocuments",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=True,
            removal_policy=RemovalPolicy.RETAIN,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="documents/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    # Decided claims' documents are read rarely after a few months.
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS, transition_after=Duration.days(90)
                        )
                    ],
                    noncurrent_version_expiration=Duration.days(365),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
        )
        self._data = data
        self.stack = Stack.of(self)

    def grant(self, function: lambda_.Alias) -> None:
        data = self._data
        table = data.participants
        # Claims, their guards and counters, the participant it ends and the outbox; the ledger is read by Query.
        allow(
            function,
            ["dynamodb:GetItem", "dynamodb:PutItem"],
            [table.table_arn],
            leading_keys=["PARTICIPANT#*", "CLAIM#*", "HEIRPHONE#*", "AGENTCLAIMS#*", "OUTBOX#*"],
        )
        allow(function, ["dynamodb:UpdateItem"], [table.table_arn], leading_keys=["AGENTCLAIMS#*"])
        # The ledger and a participant's claims; how many claims named an heir phone.
        allow(function, ["dynamodb:Query"], [table.table_arn], leading_keys=["PARTICIPANT#*", "HEIRPHONE#*"])
        allow(
            function,
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
            [data.idempotency.table_arn],
        )
        # Presigned uploads are signed with this role: PutObject under claims/, and the listing of what arrived.
        allow(function, ["s3:PutObject"], [self.documents.arn_for_objects("claims/*")])
        allow(function, ["s3:ListBucket"], [self.documents.bucket_arn])
        acknowledge(
            function.role,  # type: ignore[arg-type]  # Function.role is optional in CDK; fns.add always passes one
            f"AwsSolutions-IAM5[Resource::<{self.stack.get_logical_id(self.documents.node.default_child)}.Arn>/claims/*]",  # type: ignore[arg-type]  # default_child of an L2 bucket is its CfnBucket
            "Each claim's documents are objects under claims/<claim id>/, named when the upload is requested.",
        )
