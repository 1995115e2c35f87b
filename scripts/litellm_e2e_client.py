#!/usr/bin/env python3
"""Sends model calls that name a Ferry unified id through a LiteLLM proxy, with the official OpenAI SDK.

    python scripts/litellm_e2e_client.py --base-url http://127.0.0.1:4000 --id file-ferry-... \
        --model openai=gpt-4o-mini --model azure=azure-gpt-4o --pool gpt-4o-balanced --pool-requests 20 \
        [--responses gpt-4o-mini] [--unknown file-ferry-000000000000000000000000]

Prints one JSON object per call on stdout ({"call", "model", "ok", "text" | "status", "error"}), so the caller
(LiteLLMTests.swift, the demo's documentation) can compare them with what each upstream received. Exits 0 when
every call that should succeed did and the unknown id was refused; 1 otherwise.
"""

import argparse
import json
import sys

import openai


def chat_request(model, file_id):
    return {
        "model": model,
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Summarise the attached file."},
                    {"type": "file", "file": {"file_id": file_id}},
                ],
            }
        ],
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True, help="the LiteLLM proxy, e.g. http://127.0.0.1:4000")
    parser.add_argument("--api-key", default="sk-litellm-client", help="the key the proxy expects (any without a master key)")
    parser.add_argument("--id", required=True, help="the unified id to send")
    parser.add_argument("--model", action="append", default=[], help="LABEL=MODEL: one chat call to MODEL")
    parser.add_argument("--pool", help="a model name load-balanced over several deployments")
    parser.add_argument("--pool-requests", type=int, default=20)
    parser.add_argument("--responses", help="one Responses API call to this model")
    parser.add_argument("--unknown", help="an id Ferry does not declare: the call must be refused")
    args = parser.parse_args()

    client = openai.OpenAI(base_url=args.base_url.rstrip("/") + "/v1", api_key=args.api_key, max_retries=0, timeout=60)
    failures = 0

    def emit(record):
        print(json.dumps(record), flush=True)

    def chat(label, model, file_id, expect_ok=True):
        nonlocal failures
        try:
            reply = client.chat.completions.create(**chat_request(model, file_id))
            record = {"call": label, "model": model, "ok": True, "text": reply.choices[0].message.content}
        except openai.APIStatusError as error:
            record = {"call": label, "model": model, "ok": False, "status": error.status_code, "error": str(error)}
        if record["ok"] != expect_ok:
            failures += 1
        emit(record)

    for spec in args.model:
        label, _, model = spec.partition("=")
        chat(label, model, args.id)
    if args.pool:
        for _ in range(args.pool_requests):
            chat("pool", args.pool, args.id)
    if args.responses:
        try:
            reply = client.responses.create(
                model=args.responses,
                input=[
                    {
                        "role": "user",
                        "content": [
                            {"type": "input_text", "text": "Summarise the attached file."},
                            {"type": "input_file", "file_id": args.id},
                        ],
                    }
                ],
            )
            emit({"call": "responses", "model": args.responses, "ok": True, "text": reply.output_text})
        except openai.APIStatusError as error:
            failures += 1
            emit({"call": "responses", "model": args.responses, "ok": False, "status": error.status_code, "error": str(error)})
    if args.unknown:
        model = args.model[0].partition("=")[2] if args.model else args.pool
        chat("unknown", model, args.unknown, expect_ok=False)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
