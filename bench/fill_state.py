#!/usr/bin/env python3
"""Fills a Ferry state database (already created and migrated by the 'ferry' binary) with a large, realistic
status: N desired files, each placed on two endpoints (OpenAI: gpt-4o + gpt-4o-mini; Azure: azure-gpt-4o), with
owned and observed remote files, a few files out of sync or failed, 50 runs and request statistics.

    python3 bench/fill_state.py STATE.sqlite [--files 10000]

Only for benchmarks: it writes the tables directly, replacing whatever status they held.
"""

import argparse
import hashlib
import json
import sqlite3
import time

OPENAI = "openai|http://127.0.0.1:8089/v1|env:OPENAI_API_KEY"
AZURE = "azure|http://127.0.0.1:8090|env:AZURE_API_KEY"
ENDPOINTS = [
    (OPENAI, "openai", "openai http://127.0.0.1:8089/v1 (env:OPENAI_API_KEY)", "http://127.0.0.1:8089/v1",
     ["gpt-4o", "gpt-4o-mini"], "file-"),
    (AZURE, "azure", "azure http://127.0.0.1:8090 (env:AZURE_API_KEY)", "http://127.0.0.1:8090",
     ["azure-gpt-4o"], "assistant-"),
]


def unified_id(name):
    """Same derivation as FerryCore's UnifiedID.make(for:)."""
    return "file-ferry-" + hashlib.sha256(("ferry.unified-id.v1\0" + name).encode()).hexdigest()[:24]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("state")
    parser.add_argument("--files", type=int, default=10_000)
    args = parser.parse_args()

    db = sqlite3.connect(args.state)
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = {"desired_files", "placements", "owned_files", "observed_files", "endpoints", "runs",
               "placement_errors", "request_stats", "snapshots"} - tables
    if missing:
        raise SystemExit(f"{args.state} is not a migrated Ferry state database (missing {sorted(missing)})")

    now = int(time.time())
    with db:
        for table in ["desired_files", "placements", "owned_files", "observed_files", "endpoints",
                      "placement_errors", "request_stats", "runs", "run_events", "intents"]:
            db.execute(f"DELETE FROM {table}")
        desired, placements, owned, observed, errors = [], [], [], [], []
        for index in range(args.files):
            name = f"docs/section-{index // 100:03d}/page-{index:05d}.md"
            purpose = "assistants" if index % 5 else "user_data"
            filename = f"page-{index:05d}.md"
            size = 1000 + index % 9000
            digest = hashlib.sha256(name.encode()).hexdigest()
            desired.append((name, unified_id(name), name, size, digest, purpose, filename,
                            json.dumps(["azure-gpt-4o", "gpt-4o", "gpt-4o-mini"]), json.dumps({"team": "docs"}),
                            "Delete", "FileSet"))
            for endpoint_id, _, _, _, models, prefix in ENDPOINTS:
                remote_id = f"{prefix}{index:08d}{'a' if endpoint_id == OPENAI else 'z'}"
                created = now - 86_400 + index
                state, pending, detail, remote = "in-sync", None, None, remote_id
                if index % 50 == 7 and endpoint_id == AZURE:
                    state, pending, detail, remote = "out-of-sync", "create", None, None
                    errors.append((name, endpoint_id, "create", "HTTP 429 Too Many Requests (retries exhausted)",
                                   now - 60, 3))
                elif index % 50 == 13:
                    state, pending, detail = "out-of-sync", "replace", "content changed"
                elif index % 100 == 21:
                    state = "processing"
                placements.append((name, endpoint_id, ",".join(models), state, remote, pending, detail))
                if remote is not None:
                    owned.append((endpoint_id, remote_id, name, unified_id(name), digest, size, filename, purpose,
                                  created, "Delete", now))
                    observed.append((endpoint_id, remote_id, filename, size, purpose, created, "processed", None))
        for endpoint_id, _, _, _, _, prefix in ENDPOINTS:
            for extra in range(25):  # files someone else uploaded
                observed.append((endpoint_id, f"{prefix}unmanaged-{extra:03d}", f"notes-{extra}.txt", 10,
                                 "user_data", now - 999_999, "processed", None))
        db.executemany(
            "INSERT INTO desired_files (name, unified_id, source_path, bytes, digest, purpose, filename, target_models,"
            " labels, deletion_policy, declared_by) VALUES (?,?,?,?,?,?,?,?,?,?,?)", desired)
        db.executemany(
            "INSERT INTO placements (file, endpoint_id, models, state, remote_id, pending_action, detail)"
            " VALUES (?,?,?,?,?,?,?)", placements)
        db.executemany(
            "INSERT INTO owned_files (endpoint_id, remote_id, file, unified_id, digest, bytes, filename, purpose,"
            " created_at, deletion_policy, recorded_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)", owned)
        db.executemany(
            "INSERT INTO observed_files (endpoint_id, remote_id, filename, bytes, purpose, created_at, status,"
            " status_details) VALUES (?,?,?,?,?,?,?,?)", observed)
        db.executemany(
            "INSERT INTO placement_errors (file, endpoint_id, action, message, at, attempts) VALUES (?,?,?,?,?,?)",
            errors)
        # What Ferry writes with its snapshot since migration v7: each placement's unified id and file name, and each
        # declared file's placements counted by state.
        db.execute(
            "UPDATE placements SET"
            " unified_id = (SELECT d.unified_id FROM desired_files d WHERE d.name = placements.file),"
            " filename = (SELECT d.filename FROM desired_files d WHERE d.name = placements.file)")
        db.execute(
            "UPDATE desired_files SET"
            " placements = (SELECT COUNT(*) FROM placements p WHERE p.file = desired_files.name),"
            " placements_in_sync = (SELECT COUNT(*) FROM placements p WHERE p.file = desired_files.name"
            " AND p.state = 'in-sync'),"
            " placements_processing = (SELECT COUNT(*) FROM placements p WHERE p.file = desired_files.name"
            " AND p.state = 'processing')")
        for endpoint_id, kind, display, base, _, _ in ENDPOINTS:
            listed = sum(1 for row in observed if row[0] == endpoint_id)
            db.execute(
                "INSERT INTO endpoints (id, kind, display_name, base_url, observed_at, listed, pages, error,"
                " last_success_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (endpoint_id, kind, display, base, now - 30, listed, listed // 10_000 + 1, None, now - 30))
        for run in range(50):
            started = now - 3600 * (50 - run)
            db.execute(
                "INSERT INTO runs (command, started_at, finished_at, outcome, summary, applied, failed, requests)"
                " VALUES (?,?,?,?,?,?,?,?)",
                ("reconcile", started, started + 12.5 + run % 7, "converged" if run % 10 else "not-converged",
                 f"{run % 4} created, 0 replaced, 0 deleted.", run % 4, 0 if run % 10 else 1, 3 + run % 4))
        for endpoint_id, *_ in ENDPOINTS:
            for operation, requests, latency in [("list", 500, 61.5), ("create", 20_000, 2400.0), ("delete", 40, 3.2)]:
                db.execute(
                    "INSERT INTO request_stats (endpoint_id, operation, requests, failures, retries, latency_seconds)"
                    " VALUES (?,?,?,?,?,?)", (endpoint_id, operation, requests, 3, 12, latency))
        db.execute("UPDATE snapshots SET updated_at = ? WHERE name = 'plan'", (now - 30,))
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    print(f"Filled {args.state}: {len(desired)} files, {len(placements)} placements, {len(owned)} owned, "
          f"{len(observed)} observed, {len(errors)} failed placements")


if __name__ == "__main__":
    main()
