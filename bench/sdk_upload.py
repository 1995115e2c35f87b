#!/usr/bin/env python3
"""Uploads files with the official OpenAI Python SDK, N at a time (the SDK contender of bench/uploads.sh).

    python sdk_upload.py BASE_URL API_KEY N LIST_FILE

LIST_FILE holds one path per line. Uses AsyncOpenAI.files.create(file=open(path, "rb"), purpose="user_data")
under an asyncio.Semaphore(N): one client, its default connection pool and retry policy. Prints the number of
files uploaded and exits 1 if any upload failed.
"""

import asyncio
import sys

from openai import AsyncOpenAI


async def main(base_url: str, api_key: str, width: int, paths: list[str]) -> int:
    client = AsyncOpenAI(base_url=base_url, api_key=api_key)
    semaphore = asyncio.Semaphore(width)
    failures: list[str] = []

    async def upload(path: str) -> None:
        async with semaphore:
            try:
                with open(path, "rb") as handle:
                    await client.files.create(file=handle, purpose="user_data")
            except Exception as error:  # noqa: BLE001 - reported, counted, and the run fails
                failures.append(f"{path}: {error}")

    await asyncio.gather(*(upload(path) for path in paths))
    await client.close()
    print(f"uploaded {len(paths) - len(failures)} of {len(paths)} files")
    for failure in failures[:5]:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    base, key, n, listing = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    with open(listing) as f:
        files = [line.strip() for line in f if line.strip()]
    sys.exit(asyncio.run(main(base, key, n, files)))
