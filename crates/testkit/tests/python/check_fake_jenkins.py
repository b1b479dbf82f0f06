"""Drives fake-jenkins with python-jenkins, a real Jenkins client nobody here wrote.

Usage: check_fake_jenkins.py URL USER TOKEN VERSION JOB
Exits 0 when every call behaved as python-jenkins expects of a real Jenkins; prints what it saw.
Waits are bounded (the stand-in runs its job in about a second of real time).
"""
import sys
import time
from importlib.metadata import version as dist_version

import jenkins

url, user, token, version, job = sys.argv[1:6]
server = jenkins.Jenkins(url, username=user, password=token, timeout=10)


def check(cond, what):
    if not cond:
        print("FAIL: " + what, file=sys.stderr)
        sys.exit(1)
    print("ok: " + what)


me = server.get_whoami()  # GET me/api/json (after GET crumbIssuer/api/json)
check(me["id"] == user, "get_whoami id is %r" % me["id"])

seen = server.get_version()  # GET / and read X-Jenkins
check(seen == version, "get_version is %r" % seen)

qid = server.build_job(job, {"BASE_DIGEST": "sha256:py", "CAUSE": "manual"})  # Location -> id
check(isinstance(qid, int) and qid > 0, "build_job returned queue id %r" % qid)

number = None
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    item = server.get_queue_item(qid)
    check(item["id"] == qid, "get_queue_item id")
    if item.get("executable"):
        number = item["executable"]["number"]
        break
    time.sleep(0.2)
check(number is not None, "queue item got an executable")

info = None
while time.monotonic() < deadline:
    info = server.get_build_info(job, number)
    if not info["building"]:
        break
    time.sleep(0.2)
check(info["result"] == "SUCCESS", "get_build_info result is %r" % info["result"])
params = {p["name"]: p["value"] for a in info["actions"] for p in a.get("parameters", [])}
check(params.get("BASE_DIGEST") == "sha256:py", "build parameters %r" % params)

console = server.get_build_console_output(job, number)
check(console.rstrip().endswith("Finished: SUCCESS"), "console output ends with Finished: SUCCESS")

bad = jenkins.Jenkins(url, username=user, password="not-the-token", timeout=10)
try:
    bad.get_whoami()
    check(False, "bad credentials must raise")
except jenkins.JenkinsException as e:
    check("401" in str(e), "bad credentials raise JenkinsException with 401: %s" % str(e).splitlines()[0])

try:
    server.build_job(job.rsplit("/", 1)[0] + "/no-such-job", {"A": "1"})
    check(False, "missing job must raise")
except jenkins.NotFoundException:
    check(True, "build_job on a missing job raises NotFoundException")

try:
    server.get_job_info("no-such-folder/no-such-job")
    check(False, "get_job_info on a missing job must raise")
except jenkins.JenkinsException as e:
    check("does not exist" in str(e), "get_job_info on a missing job: %s" % e)

# Folders: python-jenkins asks for nested trees (jobs[url,color,name,jobs[...]]) and, where a
# level was cut off (children without url), asks the folder itself.
folder = job.rsplit("/", 1)[0]
top = [j["fullname"] for j in server.get_jobs()]
check(folder in top and job not in top, "get_jobs() lists the folder, not its jobs: %r" % top)
deep = [j["fullname"] for j in server.get_jobs(folder_depth=1)]
check(job in deep, "get_jobs(folder_depth=1) sees the folder's job: %r" % deep)
cut = [j["fullname"] for j in server.get_jobs(folder_depth=1, folder_depth_per_request=1)]
check(job in cut, "get_jobs(folder_depth_per_request=1) fetches the cut-off level: %r" % cut)
listed = server.get_info()["jobs"]
check(all(set(j) <= {"_class", "name", "url", "color"} for j in listed),
      "get_info() without tree shows items at depth 0 only: %r" % listed)

print("python-jenkins %s agrees with fake-jenkins" % dist_version("python-jenkins"))
