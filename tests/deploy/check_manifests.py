#!/usr/bin/python3
"""Policy check of mixtape's deployment files (ctest deploy_manifests): the Kubernetes objects
rendered from deploy/k8s against the restricted Pod Security Standard and the operating rules of
issue 14, and deploy/compose.yaml's structure. --self-test breaks copies on purpose and fails
unless every breakage is caught, so the check itself cannot pass vacuously.

  check_manifests.py k8s RENDERED.yaml        (kubectl kustomize output, or --render DIR)
  check_manifests.py k8s --render deploy/k8s  (a minimal kustomize of our own, no kubectl)
  check_manifests.py pods RENDERED.yaml       (only the pod security of each object: the Job)
  check_manifests.py compose deploy/compose.yaml
  check_manifests.py --self-test RENDERED.yaml deploy/compose.yaml
"""
import copy
import os
import sys

import yaml

# Volume types the restricted profile allows.
ALLOWED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                   "persistentVolumeClaim", "projected", "secret"}
KNOWN_API = {
    "Namespace": "v1", "Service": "v1", "ConfigMap": "v1", "Secret": "v1",
    "PersistentVolumeClaim": "v1", "Deployment": "apps/v1", "Job": "batch/v1",
    "HorizontalPodAutoscaler": "autoscaling/v2", "PodDisruptionBudget": "policy/v1",
    "NetworkPolicy": "networking.k8s.io/v1",
}


def render(directory):
    """A small kustomize: resources, namespace, commonLabels and generators (no name hashes)."""
    with open(os.path.join(directory, "kustomization.yaml")) as f:
        k = yaml.safe_load(f)
    objects = []
    for resource in k.get("resources", []):
        with open(os.path.join(directory, resource)) as f:
            objects += [d for d in yaml.safe_load_all(f) if d]
    for gen in k.get("configMapGenerator", []):
        data = dict(item.split("=", 1) for item in gen.get("literals", []))
        objects.append({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": gen["name"]}, "data": data})
    for gen in k.get("secretGenerator", []):
        data = {}
        for item in gen.get("files", []):
            key, path = item.split("=", 1)
            if not os.path.exists(os.path.join(directory, path)):
                raise SystemExit(f"{directory}: {path} is missing (run make-secrets.sh first)")
            data[key] = "(file)"
        objects.append({"apiVersion": "v1", "kind": "Secret",
                        "metadata": {"name": gen["name"]}, "type": gen.get("type", "Opaque"),
                        "data": data})
    images = {i["name"]: i for i in k.get("images", [])}
    for o in objects:
        md = o.setdefault("metadata", {})
        if o["kind"] != "Namespace" and k.get("namespace"):
            md["namespace"] = k["namespace"]
        md.setdefault("labels", {}).update(k.get("commonLabels", {}))
        for c in containers_of(o):
            i = images.get(c.get("image"))
            if i:
                c["image"] = f"{i.get('newName', i['name'])}:{i.get('newTag', 'latest')}"
    return objects


def pod_spec(o):
    if o.get("kind") in ("Deployment", "Job"):
        return o.get("spec", {}).get("template", {}).get("spec", {})
    return None


def containers_of(o):
    spec = pod_spec(o)
    if not spec:
        return []
    return spec.get("containers", []) + spec.get("initContainers", [])


def name_of(o):
    return f"{o.get('kind')}/{o.get('metadata', {}).get('name')}"


def base_name(name):
    """kustomize appends -<10 char hash> to generated names."""
    head, _, tail = name.rpartition("-")
    return head if head and len(tail) == 10 and tail.isalnum() else name


def check_pod_security(o, problems):
    where = name_of(o)
    spec = pod_spec(o)
    psc = spec.get("securityContext", {})
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key):
            problems.append(f"{where}: {key} is set")
    if spec.get("automountServiceAccountToken", True):
        problems.append(f"{where}: automountServiceAccountToken is not false")
    for v in spec.get("volumes", []):
        kinds = set(v) - {"name"}
        if not kinds <= ALLOWED_VOLUMES:
            problems.append(f"{where}: volume {v.get('name')} is of a type the restricted profile forbids ({', '.join(kinds)})")
    for c in containers_of(o):
        cw = f"{where} container {c.get('name')}"
        sc = c.get("securityContext", {})
        non_root = sc.get("runAsNonRoot", psc.get("runAsNonRoot"))
        if non_root is not True:
            problems.append(f"{cw}: runAsNonRoot is not true")
        if sc.get("runAsUser", psc.get("runAsUser")) == 0:
            problems.append(f"{cw}: runAsUser is 0")
        seccomp = sc.get("seccompProfile", psc.get("seccompProfile", {})) or {}
        if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{cw}: seccompProfile is not RuntimeDefault")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{cw}: allowPrivilegeEscalation is not false")
        if sc.get("privileged"):
            problems.append(f"{cw}: privileged")
        caps = sc.get("capabilities", {})
        if "ALL" not in caps.get("drop", []):
            problems.append(f"{cw}: capabilities do not drop ALL")
        if set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
            problems.append(f"{cw}: adds capabilities {caps.get('add')}")
        if sc.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{cw}: readOnlyRootFilesystem is not true")
        for p in c.get("ports", []):
            if p.get("hostPort"):
                problems.append(f"{cw}: hostPort {p['hostPort']}")
        res = c.get("resources", {})
        for part in ("requests", "limits"):
            for r in ("cpu", "memory"):
                if r not in res.get(part, {}):
                    problems.append(f"{cw}: no {part}.{r}")


def check_probes(o, problems):
    for c in pod_spec(o).get("containers", []):
        cw = f"{name_of(o)} container {c.get('name')}"
        ports = {p.get("name") for p in c.get("ports", [])} | {p.get("containerPort") for p in c.get("ports", [])}
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            p = c.get(probe)
            if not p:
                problems.append(f"{cw}: no {probe}")
                continue
            target = p.get("httpGet") or p.get("tcpSocket") or p.get("grpc") or p.get("exec")
            if not target:
                problems.append(f"{cw}: {probe} has no handler")
            elif "port" in target and target["port"] not in ports:
                problems.append(f"{cw}: {probe} uses port {target['port']}, not one the container declares")
        if c.get("readinessProbe", {}).get("httpGet", {}).get("path") not in (None, "/readyz"):
            problems.append(f"{cw}: readinessProbe is not /readyz")


def matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_k8s(objects):
    problems = []
    by_kind = {}
    for o in objects:
        if not isinstance(o, dict) or "kind" not in o or "apiVersion" not in o:
            problems.append(f"an object without kind/apiVersion: {str(o)[:80]}")
            continue
        if not o.get("metadata", {}).get("name"):
            problems.append(f"{o['kind']} without metadata.name")
        want = KNOWN_API.get(o["kind"])
        if want is None:
            problems.append(f"{name_of(o)}: kind not expected here")
        elif o["apiVersion"] != want:
            problems.append(f"{name_of(o)}: apiVersion {o['apiVersion']}, want {want}")
        by_kind.setdefault(o["kind"], []).append(o)
    names = {(o["kind"], base_name(o["metadata"]["name"])) for o in objects if o.get("metadata", {}).get("name")}
    exact = {(o["kind"], o["metadata"]["name"]) for o in objects if o.get("metadata", {}).get("name")}

    namespaces = by_kind.get("Namespace", [])
    if not namespaces or namespaces[0]["metadata"].get("labels", {}).get("pod-security.kubernetes.io/enforce") != "restricted":
        problems.append("Namespace: not labelled pod-security.kubernetes.io/enforce=restricted")
    ns = namespaces[0]["metadata"]["name"] if namespaces else None
    for o in objects:
        if o.get("kind") != "Namespace" and o.get("metadata", {}).get("namespace") != ns:
            problems.append(f"{name_of(o)}: not in namespace {ns}")

    deployments = {base_name(d["metadata"]["name"]): d for d in by_kind.get("Deployment", [])}
    for want in ("reco", "auth"):
        if want not in deployments:
            problems.append(f"Deployment/{want} missing")
    for o in objects:
        if pod_spec(o) is not None:
            check_pod_security(o, problems)
            if o["kind"] == "Deployment":
                check_probes(o, problems)
                sel = o["spec"].get("selector", {}).get("matchLabels", {})
                if not matches(sel, o["spec"]["template"]["metadata"].get("labels", {})):
                    problems.append(f"{name_of(o)}: selector does not match its pod labels")
                ru = o["spec"].get("strategy", {}).get("rollingUpdate", {})
                if o["spec"].get("strategy", {}).get("type") != "RollingUpdate" or ru.get("maxUnavailable") not in (0, "0", "0%"):
                    problems.append(f"{name_of(o)}: rollout may take capacity away (want RollingUpdate, maxUnavailable 0)")
            # Every ConfigMap, Secret and claim a pod names exists.
            spec = pod_spec(o)
            for c in containers_of(o):
                for ref in c.get("envFrom", []):
                    for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                        if key in ref and (kind, ref[key]["name"]) not in exact:
                            problems.append(f"{name_of(o)}: {kind} {ref[key]['name']} does not exist")
                for env in c.get("env", []):
                    skr = env.get("valueFrom", {}).get("secretKeyRef")
                    if skr and ("Secret", skr["name"]) not in exact:
                        problems.append(f"{name_of(o)}: Secret {skr['name']} does not exist")
            for v in spec.get("volumes", []):
                if "secret" in v and ("Secret", v["secret"]["secretName"]) not in exact:
                    problems.append(f"{name_of(o)}: Secret {v['secret']['secretName']} does not exist")
                if "configMap" in v and ("ConfigMap", v["configMap"]["name"]) not in exact:
                    problems.append(f"{name_of(o)}: ConfigMap {v['configMap']['name']} does not exist")
                pvc = v.get("persistentVolumeClaim")
                if pvc and ("PersistentVolumeClaim", pvc["claimName"]) not in exact:
                    problems.append(f"{name_of(o)}: claim {pvc['claimName']} does not exist")

    reco = deployments.get("reco")
    auth = deployments.get("auth")
    reco_labels = reco["spec"]["template"]["metadata"]["labels"] if reco else {}
    auth_labels = auth["spec"]["template"]["metadata"]["labels"] if auth else {}
    services = by_kind.get("Service", [])
    headless = [s for s in services if s["spec"].get("clusterIP") == "None"
                and matches(s["spec"].get("selector"), reco_labels)]
    if not headless:
        problems.append("no headless Service (clusterIP None) selects the reco pods")
    elif not any(p.get("port") == 7100 for p in headless[0]["spec"].get("ports", [])):
        problems.append("the headless Service does not carry port 7100")
    if not any(matches(s["spec"].get("selector"), auth_labels) and s["spec"].get("clusterIP") != "None" for s in services):
        problems.append("no Service selects the auth pods")

    # The fronts resolve the headless name of this namespace.
    config = {}
    for cm in by_kind.get("ConfigMap", []):
        if base_name(cm["metadata"]["name"]) == "auth-config":
            config = cm.get("data", {})
    if headless and ns:
        want = f"tcp://{headless[0]['metadata']['name']}.{ns}.svc.cluster.local:7100"
        if want not in config.get("RECO_ENDPOINTS", "").split(","):
            problems.append(f"auth-config RECO_ENDPOINTS does not name {want}")
    if not config.get("SESSION_KEYS_FILE") and not config.get("SESSION_KEYS"):
        problems.append("auth-config names no session keys")
    for cm in by_kind.get("ConfigMap", []):
        for key in cm.get("data", {}):
            if "SECRET" in key or key == "SESSION_KEYS":
                problems.append(f"{name_of(cm)}: {key} belongs in a Secret")
    if ("Secret", "auth-secrets") not in names:
        problems.append("Secret auth-secrets missing")

    hpas = [h for h in by_kind.get("HorizontalPodAutoscaler", [])
            if h["spec"].get("scaleTargetRef", {}).get("name") == (reco or {}).get("metadata", {}).get("name")]
    if not hpas:
        problems.append("no HorizontalPodAutoscaler targets Deployment reco")
    elif not any(m.get("resource", {}).get("name") == "cpu" for m in hpas[0]["spec"].get("metrics", [])):
        problems.append("the reco HorizontalPodAutoscaler does not scale on cpu")
    for label, pod_labels in (("reco", reco_labels), ("auth", auth_labels)):
        if not any(matches(p["spec"].get("selector", {}).get("matchLabels"), pod_labels)
                   for p in by_kind.get("PodDisruptionBudget", [])):
            problems.append(f"no PodDisruptionBudget covers the {label} pods")

    # Only fronts reach compute's RPC port.
    policies = [p for p in by_kind.get("NetworkPolicy", [])
                if matches(p["spec"].get("podSelector", {}).get("matchLabels"), reco_labels)]
    if not policies:
        problems.append("no NetworkPolicy selects the reco pods")
    for p in policies:
        if "Ingress" not in p["spec"].get("policyTypes", []):
            problems.append(f"{name_of(p)}: not an Ingress policy")
        for rule in p["spec"].get("ingress", []):
            ports = {q.get("port") for q in rule.get("ports", [])}
            if not rule.get("ports"):
                problems.append(f"{name_of(p)}: a rule opens every port")
            if 7100 in ports or "rpc" in ports:
                for peer in rule.get("from", [{}]):
                    if not matches(peer.get("podSelector", {}).get("matchLabels"), auth_labels) or "namespaceSelector" in peer or "ipBlock" in peer:
                        problems.append(f"{name_of(p)}: port 7100 is open to more than the auth pods")
            if not rule.get("from"):
                problems.append(f"{name_of(p)}: a rule admits every source")
    return problems


def check_compose(doc):
    problems = []
    services = doc.get("services", {})
    reco = [n for n, s in services.items() if str(s.get("image", "")).startswith("mixtape-reco")
            and "profiles" not in s]
    fronts = [n for n, s in services.items() if str(s.get("image", "")).startswith("mixtape-auth")]
    if len(reco) < 2:
        problems.append(f"compose: {len(reco)} compute services, want 2")
    if len(fronts) != 1:
        problems.append(f"compose: {len(fronts)} fronts, want 1")
    if "models" not in (doc.get("volumes") or {}):
        problems.append("compose: no models volume")
    for name, s in services.items():
        if s.get("user") != "65532:65532":
            problems.append(f"compose {name}: user is not 65532:65532")
        if s.get("read_only") is not True:
            problems.append(f"compose {name}: root filesystem is not read_only")
        if "ALL" not in s.get("cap_drop", []):
            problems.append(f"compose {name}: cap_drop lacks ALL")
        if not any(str(o).startswith("no-new-privileges") for o in s.get("security_opt", [])):
            problems.append(f"compose {name}: no no-new-privileges")
        if "profiles" not in s:
            test = s.get("healthcheck", {}).get("test", [])
            if not test or test[0] != "CMD":
                problems.append(f"compose {name}: no exec-form healthcheck (the images hold no shell)")
    for name in reco:
        mounts = services[name].get("volumes", [])
        if not any(str(m).startswith("models:") and str(m).endswith(":ro") for m in mounts):
            problems.append(f"compose {name}: does not mount the models volume read-only")
    for name in fronts:
        env = services[name].get("environment", {})
        endpoints = env.get("RECO_ENDPOINTS", "")
        for r in reco:
            if f"tcp://{r}:7100" not in endpoints.split(","):
                problems.append(f"compose {name}: RECO_ENDPOINTS does not list {r}")
        deps = services[name].get("depends_on", {})
        for r in reco:
            if not isinstance(deps, dict) or deps.get(r, {}).get("condition") != "service_healthy":
                problems.append(f"compose {name}: does not wait for {r} to be healthy")
        if "SESSION_KEYS" in env:
            problems.append(f"compose {name}: session keys inline instead of a secret file")
    return problems


def load_all(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def self_test(rendered, compose_path):
    """Each breakage must be reported; the unbroken files must pass."""
    objects = load_all(rendered)
    compose = load_all(compose_path)[0]
    failures = []
    if check_k8s(objects):
        failures.append("the unbroken manifests fail: " + "; ".join(check_k8s(objects)))
    if check_compose(compose):
        failures.append("the unbroken compose file fails: " + "; ".join(check_compose(compose)))

    def dep(objs, name):
        return next(o for o in objs if o["kind"] == "Deployment" and base_name(o["metadata"]["name"]) == name)

    def container(objs, name):
        return pod_spec(dep(objs, name))["containers"][0]

    breakages = {
        "root filesystem writable": lambda o: container(o, "reco")["securityContext"].update(readOnlyRootFilesystem=False),
        "runAsNonRoot off": lambda o: (container(o, "auth")["securityContext"].pop("runAsNonRoot"),
                                       pod_spec(dep(o, "auth"))["securityContext"].pop("runAsNonRoot")),
        "capability added": lambda o: container(o, "reco")["securityContext"]["capabilities"].update(add=["NET_ADMIN"]),
        "no seccomp": lambda o: (container(o, "auth")["securityContext"].pop("seccompProfile"),
                                 pod_spec(dep(o, "auth"))["securityContext"].pop("seccompProfile")),
        "privilege escalation": lambda o: container(o, "reco")["securityContext"].pop("allowPrivilegeEscalation"),
        "hostPath volume": lambda o: pod_spec(dep(o, "reco"))["volumes"].append({"name": "h", "hostPath": {"path": "/"}}),
        "hostNetwork": lambda o: pod_spec(dep(o, "auth")).update(hostNetwork=True),
        "no readiness probe": lambda o: container(o, "reco").pop("readinessProbe"),
        "no startup probe": lambda o: container(o, "auth").pop("startupProbe"),
        "probe on an undeclared port": lambda o: container(o, "reco")["livenessProbe"]["httpGet"].update(port=9999),
        "no cpu limit": lambda o: container(o, "reco")["resources"]["limits"].pop("cpu"),
        "headless Service lost": lambda o: [s["spec"].update(clusterIP="10.0.0.1") for s in o if s["kind"] == "Service"],
        "HPA gone": lambda o: o.remove(next(x for x in o if x["kind"] == "HorizontalPodAutoscaler")),
        "PDB gone": lambda o: [o.remove(x) for x in [x for x in o if x["kind"] == "PodDisruptionBudget"]],
        "RPC port open to all": lambda o: [r.pop("from", None) for p in o if p["kind"] == "NetworkPolicy" for r in p["spec"]["ingress"]],
        "endpoint not the headless name": lambda o: [c["data"].update(RECO_ENDPOINTS="tcp://reco:7100") for c in o if c["kind"] == "ConfigMap" and base_name(c["metadata"]["name"]) == "auth-config"],
        "secret in a ConfigMap": lambda o: [c["data"].update(SPOTIFY_CLIENT_SECRET="x") for c in o if c["kind"] == "ConfigMap"],
        "missing Secret": lambda o: o.remove(next(x for x in o if x["kind"] == "Secret")),
        "rollout drops capacity": lambda o: dep(o, "reco")["spec"]["strategy"]["rollingUpdate"].update(maxUnavailable=1),
        "namespace not restricted": lambda o: next(x for x in o if x["kind"] == "Namespace")["metadata"]["labels"].pop("pod-security.kubernetes.io/enforce"),
        "unknown apiVersion": lambda o: dep(o, "auth").update(apiVersion="extensions/v1beta1"),
    }
    for what, breaker in breakages.items():
        broken = copy.deepcopy(objects)
        breaker(broken)
        if not check_k8s(broken):
            failures.append(f"k8s breakage not caught: {what}")
    compose_breakages = {
        "writable root": lambda d: d["services"]["reco-1"].update(read_only=False),
        "root user": lambda d: d["services"]["auth"].pop("user"),
        "one compute service": lambda d: d["services"].pop("reco-2"),
        "shell healthcheck": lambda d: d["services"]["auth"]["healthcheck"].update(test=["CMD-SHELL", "true"]),
        "model volume writable": lambda d: d["services"]["reco-1"].update(volumes=["models:/var/lib/mixtape/models"]),
        "front misses an instance": lambda d: d["services"]["auth"]["environment"].update(RECO_ENDPOINTS="tcp://reco-1:7100"),
    }
    for what, breaker in compose_breakages.items():
        broken = copy.deepcopy(compose)
        breaker(broken)
        if not check_compose(broken):
            failures.append(f"compose breakage not caught: {what}")
    for f in failures:
        print("check_manifests self-test:", f, file=sys.stderr)
    print(f"check_manifests self-test: {len(breakages)} k8s and {len(compose_breakages)} compose breakages, "
          f"{len(failures)} missed")
    return 1 if failures else 0


def main(argv):
    if len(argv) == 4 and argv[1] == "--self-test":
        return self_test(argv[2], argv[3])
    if len(argv) == 4 and argv[1] == "k8s" and argv[2] == "--render":
        objects = render(argv[3])
    elif len(argv) == 3 and argv[1] == "k8s":
        objects = load_all(argv[2])
    elif len(argv) == 3 and argv[1] == "pods":
        objects = load_all(argv[2])
        problems = []
        for o in objects:
            if pod_spec(o) is not None:
                check_pod_security(o, problems)
        if not any(pod_spec(o) is not None for o in objects):
            problems.append("no object with a pod template")
        for p in problems:
            print("check_manifests:", p, file=sys.stderr)
        print(f"check_manifests: pods of {argv[2]}: {len(problems)} problem(s)")
        return 1 if problems else 0
    elif len(argv) == 3 and argv[1] == "compose":
        problems = check_compose(load_all(argv[2])[0])
        for p in problems:
            print("check_manifests:", p, file=sys.stderr)
        print(f"check_manifests: compose {argv[2]}: {len(problems)} problem(s)")
        return 1 if problems else 0
    else:
        print(__doc__, file=sys.stderr)
        return 2
    problems = check_k8s(objects)
    for p in problems:
        print("check_manifests:", p, file=sys.stderr)
    kinds = sorted({o.get("kind", "?") for o in objects})
    print(f"check_manifests: {len(objects)} objects ({', '.join(kinds)}): {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
