"""Drives the service's OGC API - Processes with OWSLib (Debian's python3-owslib; run with /usr/bin/python3).

OWSLib 0.27 reads the landing page, the process list and a process description itself; it has no execute call yet,
so execution, polling and the download go through OWSLib's own HTTP helpers (owslib.util.http_post / http_get).

argv: base URL, bearer token, process id, JSON execute inputs, Idempotency-Key, path for the downloaded result.
Prints one JSON document: what the client saw.
"""
import json
import sys
import time

from owslib.ogcapi.processes import Processes
from owslib.util import http_get, http_post

url, token, process_id, inputs, key, out = sys.argv[1:7]
headers = {"Authorization": f"Bearer {token}"}

api = Processes(url, headers=headers)
listed = [p["id"] for p in api.processes()["processes"]]
description = api.process(process_id)

created = http_post(
    f"{url}/processes/{process_id}/execution",
    request={"inputs": json.loads(inputs)},
    headers={**headers, "Prefer": "respond-async", "Idempotency-Key": key},
    timeout=60,
)
location = created.headers["Location"]
statuses = [created.json()["status"]]
deadline = time.time() + 180
while statuses[-1] in ("accepted", "running") and time.time() < deadline:
    time.sleep(0.5)
    statuses.append(http_get(location, headers=headers, timeout=30).json()["status"])
final = http_get(location, headers=headers, timeout=30).json()
results = [link["href"] for link in final.get("links", []) if link["rel"].endswith("/results")]
downloaded = http_get(results[0], headers=headers, timeout=60) if results else None
if downloaded is not None:
    with open(out, "wb") as f:
        f.write(downloaded.content)

print(json.dumps({
    "landing_links": [link["rel"] for link in api.links],
    "processes": listed,
    "described": {"id": description["id"], "inputs": sorted(description["inputs"]), "outputs": sorted(description["outputs"])},
    "created_status": created.status_code,
    "location": location,
    "statuses": statuses,
    "final": final,
    "result_status": downloaded.status_code if downloaded is not None else None,
    "result_type": downloaded.headers.get("Content-Type") if downloaded is not None else None,
}))
