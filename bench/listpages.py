"""The provider's share of a converged pass: every list page of the three benchmark endpoints (OpenAI, Azure OpenAI,
Cloud Storage bucket `ferry-bench`, prefix `ferry/`) fetched by a bare client, the three endpoints at once, each as
one chain of pages (OpenAI and Azure: 10,000 files a page, `after` the last id; Cloud Storage: 1,000 objects a page,
the fields Ferry asks for, `nextPageToken`). Nothing is done with a page but find its cursor. Prints the seconds taken.

    python3 bench/listpages.py http://127.0.0.1:PORT
"""
import json
import sys
import threading
import time
import urllib.request

base = sys.argv[1]


def get(url, headers):
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as response:
        return response.read()


def openai_chain(url, headers):
    after = None
    while True:
        body = json.loads(get(url + (f"&after={after}" if after else ""), headers))
        if not body.get("has_more") or not body.get("data"):
            return
        after = body["data"][-1]["id"]


def gcs_chain():
    token = None
    while True:
        url = (f"{base}/storage/v1/b/ferry-bench/o?maxResults=1000&prefix=ferry/"
               "&fields=nextPageToken,items(name,bucket,size,timeCreated,generation,metadata)")
        body = json.loads(get(url + (f"&pageToken={token}" if token else ""), {}))
        token = body.get("nextPageToken")
        if not token:
            return


chains = [
    lambda: openai_chain(f"{base}/v1/files?limit=10000&order=asc", {"Authorization": "Bearer sk-bench"}),
    lambda: openai_chain(f"{base}/openai/files?api-version=2024-10-21&limit=10000&order=asc", {"api-key": "bench"}),
    gcs_chain,
]
started = time.time()
threads = [threading.Thread(target=chain) for chain in chains]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(time.time() - started)
