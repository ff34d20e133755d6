"""InvokeEndpoint through boto3's sagemaker-runtime client, as application code calls a model.

Reads {"endpoint_url": ..., "access_key": ..., "calls": [{InvokeEndpoint parameters}, ...]} on stdin
and prints one JSON result per call: {"ok": {...response fields...}} or {"error": {...}} with the
exception class boto3 raised and the fields of its error response.
"""
import json
import sys

import boto3
from botocore.config import Config

ask = json.load(sys.stdin)
client = boto3.client(
    "sagemaker-runtime",
    endpoint_url=ask["endpoint_url"],
    region_name="us-east-1",
    aws_access_key_id=ask.get("access_key", "testing"),
    aws_secret_access_key="testing",
    config=Config(retries={"max_attempts": 1}),
)
results = []
for call in ask["calls"]:
    if "Body" in call and isinstance(call["Body"], dict):
        call["Body"] = "x" * call["Body"]["repeat"]
    try:
        res = client.invoke_endpoint(**call)
        out = {k: res[k] for k in ("ContentType", "InvokedProductionVariant", "CustomAttributes") if k in res}
        out["Body"] = res["Body"].read().decode()
        results.append({"ok": out})
    except client.exceptions.ClientError as e:
        results.append({
            "error": {
                "class": type(e).__name__,
                "code": e.response["Error"].get("Code"),
                "message": e.response["Error"].get("Message"),
                "status": e.response["ResponseMetadata"]["HTTPStatusCode"],
                "originalStatusCode": e.response.get("OriginalStatusCode"),
                "originalMessage": e.response.get("OriginalMessage"),
            }
        })
print(json.dumps(results))
