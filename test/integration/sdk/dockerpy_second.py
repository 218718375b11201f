"""docker-py against a Berth socket, the second pass: kill then an immediate reload, health
checks, init, an exec TTY, the swarm endpoints outside a swarm. Prints one JSON object."""
import json
import sys
import time

import docker

sock, image = sys.argv[1], sys.argv[2]
client = docker.DockerClient(base_url=f"unix://{sock}", version="auto", timeout=60)
out = {}

c = client.containers.run(image, ["sleep", "300"], detach=True, name="py-second", init=True,
                          healthcheck={"test": ["CMD-SHELL", "test -e /proc/1"], "interval": 200_000_000, "retries": 2})
try:
    deadline = time.time() + 10
    while time.time() < deadline:
        c.reload()
        if c.attrs["State"].get("Health", {}).get("Status") == "healthy":
            break
        time.sleep(0.1)
    out["health"] = c.attrs["State"]["Health"]["Status"]
    out["init"] = c.attrs["HostConfig"]["Init"]
    out["pid1"] = c.exec_run(["cat", "/proc/1/comm"]).output.decode().strip()
    out["tty"] = c.exec_run(["tty"], tty=True).output.decode().strip()
    c.kill()
    c.reload()
    out["killed"] = [c.status, c.attrs["State"]["ExitCode"]]
finally:
    c.remove(force=True)
try:
    client.nodes.list()
    out["nodes"] = "listed"
except docker.errors.APIError as e:
    out["nodes"] = [e.status_code, e.explanation]
print(json.dumps(out))
