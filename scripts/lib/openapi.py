#!/usr/bin/env python3
"""Writes docs/openapi.json: the paths of Kadende's REST API (the table below, kept beside HTTPServer.swift's
routes) and the schemas of its shapes, read from the public stored properties of Sources/KadendeAPI. With --check it
writes nothing and fails when docs/openapi.json differs from what it would write."""
import json, re, sys, pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCALARS = {"String": {"type": "string"}, "Int": {"type": "integer"}, "Int64": {"type": "integer"},
           "Double": {"type": "number"}, "Bool": {"type": "boolean"}, "Date": {"type": "string", "format": "date-time"},
           "NodeState": {"type": "string", "enum": ["requested", "provisioning", "enrolling", "healthy", "suspect", "unhealthy",
                                                     "terminating", "terminated", "failed"]}}


def schemas():
    """Every `public struct API…` in KadendeAPI with its `public var`s, nested structs named Outer.Inner."""
    out = {}
    for path in sorted((ROOT / "Sources/KadendeAPI").glob("*.swift")):
        stack = []
        for line in path.read_text().splitlines():
            m = re.match(r"(\s*)public struct (\w+)", line)
            if m:
                depth = len(m.group(1)) // 4
                stack = stack[:depth] + [m.group(2)]
                out[".".join(stack)] = []
                continue
            m = re.match(r"(\s*)public (?:var|let) (\w+): ([^={]+?)\s*(?:=.*)?$", line)
            if m and stack:
                depth = len(m.group(1)) // 4 - 1
                owner = ".".join(stack[:depth + 1])
                if owner in out:
                    out[owner].append((m.group(2), m.group(3).strip()))
    return out


def type_schema(t, known, owner):
    optional = t.endswith("?")
    t = t.rstrip("?")
    if t.startswith("[") and ":" in t:
        value = t[1:-1].split(":", 1)[1].strip()
        return {"type": "object", "additionalProperties": type_schema(value, known, owner)[0]}, optional
    if t.startswith("["):
        return {"type": "array", "items": type_schema(t[1:-1], known, owner)[0]}, optional
    if t in SCALARS:
        return dict(SCALARS[t]), optional
    for name in (f"{owner}.{t}", t):
        if name in known:
            return {"$ref": f"#/components/schemas/{name}"}, optional
    return {"description": f"{t} (see docs/)"}, optional  # a model type: GroupSpec, ConfigRevision, …


# Shapes the API sends that are model types, not KadendeAPI structs.
EXTRA = {
    "APIEvent": {"type": "object", "required": ["seq", "at", "cluster", "group", "kind", "reason"], "properties": {
        "seq": {"type": "integer"}, "at": {"type": "string", "format": "date-time"}, "cluster": {"type": "string"},
        "group": {"type": "string"}, "nodeID": {"type": "string"}, "kind": {"type": "string"}, "reason": {"type": "string"}}},
}


def components():
    known = schemas()
    out = dict(EXTRA)
    for name, props in known.items():
        properties, required = {}, []
        for prop, t in props:
            if prop == "description":  # computed (CustomStringConvertible), not encoded
                continue
            s, optional = type_schema(t, known, name)
            properties[prop] = s
            if not optional:
                required.append(prop)
        out[name] = {"type": "object", "properties": properties}
        if required:  # OpenAPI 3.0: a required list holds at least one name
            out[name]["required"] = required
    return out


# method, path, summary, request body (schema name, "yaml", or None), answer (schema, "[schema]", "text", "stream"),
# success status, public
ROUTES = [
    ("get", "/v1/health", "Liveness", None, "object", 200, True),
    ("get", "/v1/openapi.json", "This document", None, "object", 200, True),
    ("post", "/v1/login", "Log in; a session token, shown once", "APILogin", "APITokenGrant", 201, True),
    ("get", "/v1/whoami", "The caller", None, "APIUser", 200, False),
    ("get", "/v1/users", "Users (admins)", None, "[APIUser]", 200, False),
    ("post", "/v1/users", "Create a user (admins)", "APIUserCreate", "APIUser", 201, False),
    ("put", "/v1/users/{name}/roles/{cluster}", "Set a user's role in a cluster (admins)", "APIRole", "APIUser", 200, False),
    ("put", "/v1/users/{name}/password", "Set a password: one's own with the current one, anyone's (admins); ends sessions", "APIPasswordChange", "APIUser", 200, False),
    ("patch", "/v1/users/{name}", "Disable or enable a user (admins)", "APIUserUpdate", "APIUser", 200, False),
    ("delete", "/v1/users/{name}", "Delete a user with their roles and tokens (admins)", None, "APIUser", 200, False),
    ("get", "/v1/tokens", "The caller's tokens (all=true: everyone's, admins)", None, "[APITokenGrant]", 200, False),
    ("post", "/v1/tokens", "Mint an API token, shown once", "APITokenRequest", "APITokenGrant", 201, False),
    ("delete", "/v1/tokens/{id}", "Revoke a token", None, "APITokenGrant", 200, False),
    ("get", "/v1/audit", "The audit log (admins)", None, "[APIAuditEntry]", 200, False),
    ("get", "/v1/clusters", "The clusters the caller may read", None, "[APICluster]", 200, False),
    ("post", "/v1/clusters", "Create a cluster (admins)", "APIClusterCreate", "APICluster", 201, False),
    ("get", "/v1/clusters/{cluster}", "A cluster: members, quota, live nodes, credentials held", None, "APICluster", 200, False),
    ("delete", "/v1/clusters/{cluster}", "Delete an empty cluster with its members and credentials (admins)", None, "APICluster", 200, False),
    ("put", "/v1/clusters/{cluster}/credentials/{provider}", "Store a provider's credentials (admins)", "APICredentials", "APICredentialSummary", 200, False),
    ("delete", "/v1/clusters/{cluster}/credentials/{provider}", "Forget a provider's credentials (admins)", None, "APICluster", 200, False),
    ("put", "/v1/clusters/{cluster}/quota", "Set or lift the node quota (admins)", "APIQuota", "APICluster", 200, False),
    ("get", "/v1/groups", "Groups with node counts", None, "[APIGroup]", 200, False),
    ("post", "/v1/groups", "Apply a group spec (YAML)", "yaml", "APIApplyResult", 200, False),
    ("get", "/v1/groups/{name}", "A group: spec, nodes, safety", None, "APIGroupDetail", 200, False),
    ("delete", "/v1/groups/{name}", "Delete a group", None, "APIGroup", 200, False),
    ("post", "/v1/groups/{name}/scale", "Change the desired size", "APIScale", "APIApplyResult", 200, False),
    ("post", "/v1/groups/{name}/config", "Push a configuration revision (YAML)", "yaml", "APIPushResult", 201, False),
    ("get", "/v1/groups/{name}/config/revisions", "Configuration revisions", None, "[APIConfigRevision]", 200, False),
    ("get", "/v1/groups/{name}/config/revisions/{revision}", "One revision", None, "APIConfigRevision", 200, False),
    ("get", "/v1/groups/{name}/config/status", "Rollout and per-node configuration status", None, "APIConfigStatus", 200, False),
    ("get", "/v1/groups/{name}/config/rollouts", "Recent rollouts", None, "[APIRollout]", 200, False),
    ("post", "/v1/groups/{name}/config/rollback", "Roll back to a revision (to=N)", None, "APIRollout", 201, False),
    ("post", "/v1/groups/{name}/config/rollout/{action}", "Pause, resume or abort the active rollout", None, "APIRollout", 200, False),
    ("get", "/v1/nodes", "Live nodes", None, "[APINode]", 200, False),
    ("get", "/v1/nodes/{id}", "Every health signal of a node", None, "APINodeDetail", 200, False),
    ("delete", "/v1/nodes/{id}", "Terminate a node", None, "APINode", 200, False),
    ("put", "/v1/nodes/{id}/labels", "Set or remove labels", "APILabelChange", "APINode", 200, False),
    ("get", "/v1/events", "Events after a sequence number (long poll with wait)", None, "[APIEvent]", 200, False),
    ("get", "/v1/events/stream", "Events as server-sent events", None, "stream", 200, False),
    ("get", "/metrics", "Prometheus text (admins)", None, "text", 200, False),
]
QUERY = {
    "cluster": {"type": "string"}, "group": {"type": "string"},
    "after": {"type": "integer", "minimum": 0}, "limit": {"type": "integer", "minimum": 1, "maximum": 5000},
    "wait": {"type": "integer", "minimum": 0, "maximum": 60}, "all": {"type": "string", "enum": ["true", "false"]},
    "to": {"type": "integer", "minimum": 1}, "strategy": {"type": "string"}, "bake": {"type": "integer", "minimum": 0, "maximum": 3600},
}
QUERIES = {
    "/v1/groups": ["cluster"], "/v1/groups/{name}": ["cluster"], "/v1/groups/{name}/scale": ["cluster"],
    "/v1/groups/{name}/config": ["cluster"], "/v1/groups/{name}/config/revisions": ["cluster"],
    "/v1/groups/{name}/config/revisions/{revision}": ["cluster"], "/v1/groups/{name}/config/status": ["cluster"],
    "/v1/groups/{name}/config/rollouts": ["cluster"], "/v1/groups/{name}/config/rollback": ["cluster", "to", "strategy", "bake"],
    "/v1/groups/{name}/config/rollout/{action}": ["cluster"], "/v1/nodes": ["cluster", "group"],
    "/v1/events": ["cluster", "group", "after", "limit", "wait"], "/v1/events/stream": ["cluster", "group", "after"],
    "/v1/tokens": ["all"], "/v1/audit": ["after", "limit"],
}


# OpenAPI links: what an answer's fields let a client (and schemathesis' stateful phase) call next.
# (method, path) of the answer → [(name, method, path of the next call, {parameter: runtime expression})]
LINKS = {
    ("post", "/v1/clusters"): [
        ("GetCluster", "get", "/v1/clusters/{cluster}", {"cluster": "$response.body#/name"}),
        ("SetQuota", "put", "/v1/clusters/{cluster}/quota", {"cluster": "$response.body#/name"}),
        ("DeleteCluster", "delete", "/v1/clusters/{cluster}", {"cluster": "$response.body#/name"}),
    ],
    ("post", "/v1/users"): [
        ("SetRole", "put", "/v1/users/{name}/roles/{cluster}", {"name": "$response.body#/name"}),
        ("UpdateUser", "patch", "/v1/users/{name}", {"name": "$response.body#/name"}),
        ("SetPassword", "put", "/v1/users/{name}/password", {"name": "$response.body#/name"}),
        ("DeleteUser", "delete", "/v1/users/{name}", {"name": "$response.body#/name"}),
    ],
    ("post", "/v1/groups"): [
        ("GetGroup", "get", "/v1/groups/{name}", {"name": "$response.body#/group/name", "cluster": "$response.body#/group/cluster"}),
        ("ScaleGroup", "post", "/v1/groups/{name}/scale", {"name": "$response.body#/group/name", "cluster": "$response.body#/group/cluster"}),
        ("PushConfig", "post", "/v1/groups/{name}/config", {"name": "$response.body#/group/name", "cluster": "$response.body#/group/cluster"}),
        ("GroupNodes", "get", "/v1/nodes", {"group": "$response.body#/group/name", "cluster": "$response.body#/group/cluster"}),
        ("DeleteGroup", "delete", "/v1/groups/{name}", {"name": "$response.body#/group/name", "cluster": "$response.body#/group/cluster"}),
    ],
    ("post", "/v1/groups/{name}/config"): [
        ("GetRevision", "get", "/v1/groups/{name}/config/revisions/{revision}",
         {"name": "$request.path.name", "revision": "$response.body#/revision/revision"}),
        ("ConfigStatus", "get", "/v1/groups/{name}/config/status", {"name": "$request.path.name"}),
    ],
    ("get", "/v1/nodes"): [
        ("GetNode", "get", "/v1/nodes/{id}", {"id": "$response.body#/0/id"}),
        ("LabelNode", "put", "/v1/nodes/{id}/labels", {"id": "$response.body#/0/id"}),
    ],
}


# Request bodies that work, for clients to start from and for schemathesis to reach the links above with.
EXAMPLES = {
    ("post", "/v1/groups"): "name: web\nprovider: process\nsize: {desired: 0, min: 0, max: 2}\n",
    ("post", "/v1/groups/{name}/config"): "files:\n  - {path: /etc/app.conf, content: \"workers = 4\\n\"}\n",
    ("post", "/v1/clusters"): {"name": "shop"},
    ("post", "/v1/users"): {"name": "otto", "password": "a long enough password", "admin": False},
}


def operation_id(method, path):
    """`post /v1/groups/{name}/config` → `postGroupsNameConfig`: stable, for links."""
    words = [w.strip("{}") for w in path.split("/") if w and w != "v1"]
    return method + "".join(w[:1].upper() + w[1:] for w in re.split(r"[^A-Za-z0-9]+", "-".join(words)) if w)


def answer(schema):
    if schema == "text":
        return {"text/plain": {"schema": {"type": "string"}}}
    if schema == "stream":
        return {"text/event-stream": {"schema": {"type": "string"}}}
    if schema == "object":
        return {"application/json": {"schema": {"type": "object"}}}
    if schema.startswith("["):
        return {"application/json": {"schema": {"type": "array", "items": {"$ref": f"#/components/schemas/{schema[1:-1]}"}}}}
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}


def document():
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/APIErrorEnvelope"}}}
    paths = {}
    for method, path, summary, body, schema, status, public in ROUTES:
        op = {"summary": summary, "operationId": operation_id(method, path),
              "responses": {str(status): {"description": "done", "content": answer(schema)},
                            "default": {"description": "an error with its code", "content": error}}}
        links = {name: {"operationId": operation_id(m, p), "parameters": params}
                 for name, m, p, params in LINKS.get((method, path), [])}
        if links:
            op["responses"][str(status)]["links"] = links
        params = [{"name": p, "in": "path", "required": True,
                   "schema": {"type": "integer", "minimum": 1} if p == "revision" else {"type": "string"}}
                  for p in re.findall(r"{(\w+)}", path)]
        params += [{"name": q, "in": "query", "required": q == "to", "schema": QUERY[q]} for q in QUERIES.get(path, [])]
        if params:
            op["parameters"] = params
        if body == "yaml":
            op["requestBody"] = {"required": True, "content": {"application/yaml": {"schema": {"type": "string"}}}}
        elif body:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}}}
        if (method, path) in EXAMPLES:
            next(iter(op["requestBody"]["content"].values()))["example"] = EXAMPLES[(method, path)]
        if public:
            op["security"] = []
        paths.setdefault(path, {})[method] = op
    return {
        "openapi": "3.0.3",
        "info": {"title": "Kadende", "version": "1",
                 "description": "Kadende's REST API: groups, nodes, configuration, clusters, users, tokens, audit. See docs/api.md."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}, "schemas": components()},
    }


if __name__ == "__main__":
    text = json.dumps(document(), indent=1, sort_keys=True) + "\n"
    # The coordinator serves the same document from its binary: a Swift file holds it.
    swift = ("// Written by scripts/lib/openapi.py from Sources/KadendeAPI and its route table; do not edit.\n"
             "enum OpenAPIDocument {\n    static let json = #\"\"\"\n" + text + "\n\"\"\"#\n}\n")
    targets = {ROOT / "docs/openapi.json": text, ROOT / "Sources/KadendeHTTP/OpenAPIDocument.swift": swift}
    if "--check" in sys.argv:
        stale = [str(p.relative_to(ROOT)) for p, t in targets.items() if not p.exists() or p.read_text() != t]
        if stale:
            sys.exit(f"{', '.join(stale)} out of date: run python3 scripts/lib/openapi.py")
        print("check passed: docs/openapi.json matches Sources/KadendeAPI and the route table")
    else:
        for p, t in targets.items():
            p.write_text(t)
            print(f"wrote {p}")
