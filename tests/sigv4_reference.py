"""The SigV4 signature botocore makes for a request, to judge the dashboard's own (tests/dashboard.rs)."""

import json
import sys

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

a = json.loads(sys.argv[1])
request = AWSRequest(method=a["method"], url=a["url"], data=a["body"].encode(), headers={"X-Amz-Date": a["date"]})
if a.get("token"):
    request.headers["X-Amz-Security-Token"] = a["token"]
request.context["timestamp"] = a["date"]
auth = SigV4Auth(Credentials(a["key"], a["secret"], a.get("token")), "execute-api", a["region"])
signature = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
print(json.dumps({"signature": signature, "signed_headers": auth.signed_headers(auth.headers_to_sign(request))}))
