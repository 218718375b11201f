"""docker-py (Debian python3-docker) against a Berth socket: pull, run, logs, exec, stats, remove.
Prints one JSON object with what it saw; the Node test asserts on it."""
import json
import sys

import docker

sock, image = sys.argv[1], sys.argv[2]
client = docker.DockerClient(base_url=f"unix://{sock}", version="auto", timeout=60)
out = {"version": client.version()["ApiVersion"]}

repo, tag = image.rsplit(":", 1)
pulled = client.images.pull(repo, tag=tag)
out["pulled"] = pulled.tags

out["run"] = client.containers.run(image, ["sh", "-c", "echo run-out; echo run-err >&2"], remove=True, stderr=True).decode()

c = client.containers.run(image, ["sh", "-c", "echo started; exec sleep 300"], detach=True, name="py-flow", labels={"sdk": "docker-py"})
try:
    c.reload()
    out["status"] = c.status
    for _ in range(100):
        if b"started" in c.logs():
            break
    out["logs"] = c.logs(stdout=True, stderr=True).decode()
    code, output = c.exec_run(["sh", "-c", "echo exec-out; exit 4"])
    out["exec"] = {"code": code, "output": output.decode()}
    stats = c.stats(stream=False)
    out["stats"] = {"memory": stats["memory_stats"].get("usage", 0), "pids": stats["pids_stats"].get("current", 0), "cpu": "cpu_usage" in stats["cpu_stats"]}
    out["listed"] = [x.name for x in client.containers.list(filters={"label": "sdk=docker-py"})]
finally:
    c.remove(force=True)
out["after"] = [x.name for x in client.containers.list(all=True, filters={"label": "sdk=docker-py"})]
print(json.dumps(out))
