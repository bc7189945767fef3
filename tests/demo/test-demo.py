#!/usr/bin/env python3
"""test-demo.py BUILD_DIR SOURCE_DIR - `make run`'s demo (scripts/demo) from
start to Ctrl-C: it must come up (ds01d, the two demo users' containers made
through the proxy and holding GPUs, the dashboard answering, `ds01 status`
printed), and SIGINT must remove everything it created: containers, users,
the demo image when it imported it, ds01d. Needs root and the test Docker
engine (CTest runs it through the docker harness)."""
import json, os, pwd, re, shutil, signal, subprocess, sys, tempfile, time, urllib.request

build, src = sys.argv[1], sys.argv[2]
if os.geteuid() != 0:
    print("test-demo: skipped (needs root)")
    sys.exit(77)
passed = failed = 0


def check(what, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {what} {detail}")


def docker(*args):
    return subprocess.run(["docker", *args], capture_output=True, text=True)


users = ["ds01demo-alice", "ds01demo-bob"]
for u in users:
    check(f"{u} absent before", subprocess.run(["getent", "passwd", u], capture_output=True).returncode != 0)
image_before = docker("image", "inspect", "ds01-demo-busybox:latest").returncode == 0
demo_dir = tempfile.mkdtemp(prefix="ds01-test-demo.")
os.chmod(demo_dir, 0o755)  # the demo users reach the sockets below it
run_dir = os.path.join(demo_dir, "run")
# Users listed in no group of the demo config get its default group.
env = dict(os.environ, DS01_BUILD_DIR=build, DS01_DEMO_DIR=demo_dir, DS01_DEMO_RUN_DIR=run_dir,
           DS01_DEMO_PORT="0",
           DS01_DEMO_USERS=" ".join(users))
p = subprocess.Popen([os.path.join(src, "scripts/demo")], stdout=subprocess.PIPE,
                     stderr=subprocess.STDOUT, text=True, env=env)
out = []
deadline = time.time() + 240
ready = False
for line in p.stdout:
    out.append(line)
    if "Press Ctrl-C" in line:
        ready = True
        break
    if time.time() > deadline:
        break
text = "".join(out)
check("the demo comes up", ready, text[-2000:])

port = None
m = re.search(r"Dashboard:\s+http://127\.0\.0\.1:(\d+)/", text)
check("the dashboard URL is printed", m is not None)
if m:
    port = int(m.group(1))
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
            body = r.read().decode()
            check("the dashboard answers 200 with a page", r.status == 200 and "<html" in body.lower())
    except Exception as e:  # noqa: BLE001
        check("the dashboard answers", False, str(e))
check("ds01 status is printed", "=== ds01 status" in text and "not built" not in text, text[-1500:])
sock = os.path.join(run_dir, "ds01.sock")
pid_file = os.path.join(run_dir, "ds01d.pid")
try:
    daemon_pid = open(pid_file).read().strip()
except OSError:
    daemon_pid = ""
check("ds01d wrote its pid", daemon_pid != "")
st = subprocess.run([os.path.join(build, "src/cli/ds01"), "--socket", sock, "gpu", "status", "--json"],
                    capture_output=True, text=True)
holders = set()
try:
    for s in json.loads(st.stdout).get("slots", []):
        if s.get("user"):
            holders.add(s["user"])
except ValueError:
    pass
for u in users:
    name = f"demo-{u}-notebook"
    ins = docker("inspect", "--format", '{{.State.Running}} {{index .Config.Labels "ds01.user"}}', name)
    check(f"{name} runs, labelled as {u}'s", ins.stdout.strip() == f"true {u}", ins.stdout + ins.stderr)
    check(f"{u} holds a GPU slot", u in holders, st.stdout[:500])

p.send_signal(signal.SIGINT)
rest, _ = p.communicate(timeout=120)
check("SIGINT ends the demo with 130", p.returncode == 130, f"rc {p.returncode}: {rest[-1000:]}")
for u in users:
    check(f"{u} removed", subprocess.run(["getent", "passwd", u], capture_output=True).returncode != 0)
    check(f"demo-{u}-notebook removed", docker("inspect", f"demo-{u}-notebook").returncode != 0)
if not image_before:
    check("the demo image removed", docker("image", "inspect", "ds01-demo-busybox:latest").returncode != 0)
check("ds01d gone", daemon_pid != "" and not os.path.exists(f"/proc/{daemon_pid}"))
check("the run dir removed", not os.path.exists(run_dir))
for u in users:
    left = subprocess.run(["find", "/sys/fs/cgroup", "-type", "d", "-path", f"*/ds01/*/{u}"],
                          capture_output=True, text=True).stdout.strip()
    check(f"no cgroup of {u} left", left == "", left)

if failed:
    print("--- demo output\n" + text + rest)
else:
    shutil.rmtree(demo_dir, ignore_errors=True)
print(f"test-demo: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
