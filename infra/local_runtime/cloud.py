"""The embedded AWS: a moto server in this process, provisioned from the stack model."""

from __future__ import annotations

import os
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

import boto3
from werkzeug.serving import BaseWSGIServer, make_server

from local_runtime.template import StackModel, refs

REGION = "ap-southeast-3"  # Jakarta
ACCOUNT = "123456789012"  # moto's default account
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_SESSION_TOKEN": "local"}
# Fixed local values (never valid anywhere else) of the secrets the functions name by these
# environment variables, so providers' callbacks can be signed from outside against `make dev`.
# Every other secret gets a random value, as CDK's generated placeholder would be.
LOCAL_SECRET_VALUES = {
    "MIDTRANS_SERVER_KEY_SECRET_ARN": "local-midtrans-server-key",
    "XENDIT_CALLBACK_TOKEN_SECRET_ARN": "local-xendit-callback-token",
    "CHANNEL_SECRETS_ARN": '{"demo-channel": "local-channel-secret"}',
}


class _Serialized:
    """One request at a time: moto's transactions are not atomic under concurrent requests,
    DynamoDB's are. Serializing makes conditional writes and transactions behave as in AWS."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        with self._lock:
            return list(self._app(environ, start_response))


class MotoServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        import logging

        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per AWS call drowns the handlers' logs

        self._server: BaseWSGIServer = make_server(
            host, port, _Serialized(DomainDispatcherApplication(create_backend_app)), threaded=True
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class LocalCloud:
    """Physical names and ARNs of the stack's resources inside moto."""

    model: StackModel
    endpoint: str
    physical: dict[str, dict[str, str]] = field(default_factory=dict)  # logical id -> {Ref, Arn, ...}

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def configure_process(self) -> None:
        """Point every boto3 client of this process (the handlers') at the embedded AWS."""
        os.environ.update(CREDENTIALS)
        os.environ["AWS_ENDPOINT_URL"] = self.endpoint
        os.environ["AWS_DEFAULT_REGION"] = REGION
        os.environ["AWS_REGION"] = REGION
        # Powertools metrics print (EMF) instead of needing CloudWatch.
        os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "perisai-local")
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "false")
        # The embedded AWS serves one call at a time (see _Serialized): under concurrent requests a
        # call waits its turn, which on AWS it never does, so it must not time out and be retried.
        os.environ.setdefault("PERISAI_AWS_READ_TIMEOUT_SECONDS", "60")

    # -- provisioning ---------------------------------------------------------

    def provision(self) -> None:
        for table in self.model.tables:
            self._create_table(table.logical_id, table.properties)
        for logical_id in self.model.keys:
            meta = self.client("kms").create_key(Description=f"local {logical_id}")["KeyMetadata"]
            self.physical[logical_id] = {"Ref": meta["KeyId"], "Arn": meta["Arn"]}
        for logical_id in self.model.buckets:
            name = f"local-{logical_id.lower()}"[:63]
            self.client("s3").create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
            self.physical[logical_id] = {
                "Ref": name,
                "Arn": f"arn:aws:s3:::{name}",
                "RegionalDomainName": f"{name}.s3.{REGION}.amazonaws.com",
            }
        local_values = self.local_secret_values()
        for logical_id, props in self.model.secrets.items():
            secret = self.client("secretsmanager").create_secret(
                Name=f"local/{logical_id}",
                SecretString=local_values.get(logical_id) or secrets.token_urlsafe(48),
                Description=props.get("Description", ""),
            )
            self.physical[logical_id] = {"Ref": secret["ARN"], "Arn": secret["ARN"]}
        for logical_id, props in self.model.queues.items():
            self._create_queue(logical_id, props)
        for logical_id, name in self.model.buses.items():
            arn = self.client("events").create_event_bus(Name=name)["EventBusArn"]
            self.physical[logical_id] = {"Ref": name, "Arn": arn, "Name": name}
        for logical_id in self.model.functions:
            name = f"local-{logical_id}"
            self.physical[logical_id] = {
                "Ref": name,
                "Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
            }
        # Versions and aliases (Ref: their qualified ARN); each function has one published version locally.
        for logical_id, function in self.model.aliases.items():
            resource = self.model.resources[logical_id]
            qualifier = resource["Properties"].get("Name", "1")  # an alias's name, a version's number
            arn = f"{self.physical[function]['Arn']}:{qualifier}"
            self.physical[logical_id] = {"Ref": arn, "Arn": arn, "Version": "1"}

    def local_secret_values(self) -> dict[str, str]:
        """Secret logical id -> its fixed local value (LOCAL_SECRET_VALUES), found through the
        environment variables that name it; two functions naming one secret must agree."""
        found: dict[str, str] = {}
        for function in self.model.functions.values():
            for variable, value in function.environment.items():
                if variable not in LOCAL_SECRET_VALUES:
                    continue
                local = LOCAL_SECRET_VALUES[variable]
                for logical_id in refs(value):
                    if logical_id in self.model.secrets and found.setdefault(logical_id, local) != local:
                        raise ValueError(f"secret {logical_id} is named by two local values")
        return found

    def partition_keys(self) -> dict[str, str]:
        """Table name -> its partition key attribute (IAM's dynamodb:LeadingKeys)."""
        return {
            self.physical[t.logical_id]["Ref"]: next(
                k["AttributeName"] for k in t.properties["KeySchema"] if k["KeyType"] == "HASH"
            )
            for t in self.model.tables
        }

    def _create_table(self, logical_id: str, props: dict[str, Any]) -> None:
        name = f"local-{logical_id}"
        kwargs: dict[str, Any] = {
            "TableName": name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": "PAY_PER_REQUEST",
        }
        if props.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = [
                {k: v for k, v in gsi.items() if k in ("IndexName", "KeySchema", "Projection")}
                for gsi in props["GlobalSecondaryIndexes"]
            ]
        if props.get("StreamSpecification"):
            kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        client = self.client("dynamodb")
        description = client.create_table(**kwargs)["TableDescription"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            client.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        self.physical[logical_id] = {
            "Ref": name,
            "Arn": description["TableArn"],
            "StreamArn": description.get("LatestStreamArn", ""),
        }

    def _create_queue(self, logical_id: str, props: dict[str, Any]) -> None:
        name = f"local-{logical_id}" + (".fifo" if props.get("FifoQueue") else "")
        attributes = {}
        if "VisibilityTimeout" in props:
            attributes["VisibilityTimeout"] = str(props["VisibilityTimeout"])
        url = self.client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
        self.physical[logical_id] = {"Ref": url, "Arn": arn, "QueueName": name, "QueueUrl": url}

    def apply_redrive_policies(self) -> None:
        for logical_id, props in self.model.queues.items():
            redrive = props.get("RedrivePolicy")
            if redrive:
                policy = {
                    "deadLetterTargetArn": self.resolve(redrive["deadLetterTargetArn"]),
                    "maxReceiveCount": redrive["maxReceiveCount"],
                }
                import json

                self.client("sqs").set_queue_attributes(
                    QueueUrl=self.physical[logical_id]["QueueUrl"], Attributes={"RedrivePolicy": json.dumps(policy)}
                )

    # -- references -----------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        """Evaluate the intrinsic functions the stack uses, against local physical ids."""
        if isinstance(value, dict):
            if "Ref" in value:
                ref = value["Ref"]
                pseudo = {
                    "AWS::Region": REGION,
                    "AWS::AccountId": ACCOUNT,
                    "AWS::Partition": "aws",
                    "AWS::URLSuffix": "amazonaws.com",
                }
                if ref in pseudo:
                    return pseudo[ref]
                return self.physical[ref]["Ref"]
            if "Fn::GetAtt" in value:
                logical_id, attribute = value["Fn::GetAtt"]
                return self.physical[logical_id][attribute]
            if "Fn::Join" in value:
                separator, parts = value["Fn::Join"]
                return separator.join(str(self.resolve(p)) for p in parts)
            if "Fn::Select" in value:
                index, items = value["Fn::Select"]
                return self.resolve(items)[int(index)]
            if "Fn::Split" in value:
                separator, text = value["Fn::Split"]
                return str(self.resolve(text)).split(separator)
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def logical_id_of_arn(self, arn: str) -> str | None:
        for logical_id, ids in self.physical.items():
            if ids.get("Arn") == arn:
                return logical_id
        return None
