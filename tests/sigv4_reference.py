"""The SigV4 signature botocore makes for a request, to judge the dashboard's own (tests/dashboard.rs)."""

import json
import sys

from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

a = json.loads(sys.argv[1])
request = AWSRequest(method=a["method"], url=a["url"], data=a["body"].encode(), headers={"X-Amz-Date": a["date"]})
if a.get("token"):
    request.headers["X-Amz-Security-Token"] = a["token"]
request.context["timestamp"] = a["date"]
credentials = Credentials(a["key"], a["secret"], a.get("token"))
if a.get("presign"):
    # A presigned URL (the WebSocket's $connect): the signature over the query, headers only host.
    request = AWSRequest(method="GET", url=a["url"])
    request.context["timestamp"] = a["date"]
    auth = SigV4QueryAuth(credentials, "execute-api", a["region"], expires=300)
    auth._modify_request_before_signing(request)
else:
    auth = SigV4Auth(credentials, "execute-api", a["region"])
signature = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
print(json.dumps({"signature": signature, "signed_headers": auth.signed_headers(auth.headers_to_sign(request))}))
