// Written by scripts/lib/openapi.py from Sources/KadendeAPI and its route table; do not edit.
enum OpenAPIDocument {
    static let json = #"""
{
 "components": {
  "schemas": {
   "APIAgentArtifact": {
    "properties": {
     "arch": {
      "type": "string"
     },
     "path": {
      "type": "string"
     },
     "sha256": {
      "type": "string"
     },
     "size": {
      "type": "integer"
     },
     "version": {
      "type": "string"
     }
    },
    "required": [
     "version",
     "arch",
     "sha256",
     "size",
     "path"
    ],
    "type": "object"
   },
   "APIApplyResult": {
    "properties": {
     "changed": {
      "type": "boolean"
     },
     "group": {
      "$ref": "#/components/schemas/APIGroup"
     }
    },
    "required": [
     "group",
     "changed"
    ],
    "type": "object"
   },
   "APIAuditEntry": {
    "properties": {
     "action": {
      "type": "string"
     },
     "actor": {
      "type": "string"
     },
     "at": {
      "format": "date-time",
      "type": "string"
     },
     "cluster": {
      "type": "string"
     },
     "outcome": {
      "type": "string"
     },
     "seq": {
      "type": "integer"
     },
     "source": {
      "type": "string"
     },
     "target": {
      "type": "string"
     }
    },
    "required": [
     "seq",
     "at",
     "actor",
     "action",
     "outcome"
    ],
    "type": "object"
   },
   "APICluster": {
    "properties": {
     "createdAt": {
      "format": "date-time",
      "type": "string"
     },
     "credentials": {
      "items": {
       "$ref": "#/components/schemas/APICredentialSummary"
      },
      "type": "array"
     },
     "groups": {
      "type": "integer"
     },
     "liveNodes": {
      "type": "integer"
     },
     "members": {
      "items": {
       "$ref": "#/components/schemas/APIMember"
      },
      "type": "array"
     },
     "name": {
      "type": "string"
     },
     "nodeQuota": {
      "type": "integer"
     }
    },
    "required": [
     "name",
     "createdAt",
     "liveNodes",
     "groups",
     "members",
     "credentials"
    ],
    "type": "object"
   },
   "APIClusterCreate": {
    "properties": {
     "name": {
      "type": "string"
     }
    },
    "required": [
     "name"
    ],
    "type": "object"
   },
   "APIConfigRevision": {
    "properties": {
     "cluster": {
      "type": "string"
     },
     "config": {
      "description": "ConfigRevision (see docs/)"
     },
     "createdAt": {
      "format": "date-time",
      "type": "string"
     },
     "digest": {
      "type": "string"
     },
     "group": {
      "type": "string"
     },
     "message": {
      "type": "string"
     },
     "revision": {
      "type": "integer"
     }
    },
    "required": [
     "cluster",
     "group",
     "revision",
     "digest",
     "createdAt",
     "config"
    ],
    "type": "object"
   },
   "APIConfigStatus": {
    "properties": {
     "cluster": {
      "type": "string"
     },
     "currentRevision": {
      "type": "integer"
     },
     "group": {
      "type": "string"
     },
     "latestRevision": {
      "type": "integer"
     },
     "nodes": {
      "items": {
       "$ref": "#/components/schemas/APINodeConfig"
      },
      "type": "array"
     },
     "rollout": {
      "$ref": "#/components/schemas/APIRollout"
     }
    },
    "required": [
     "cluster",
     "group",
     "nodes"
    ],
    "type": "object"
   },
   "APICredentialSummary": {
    "properties": {
     "provider": {
      "type": "string"
     },
     "summary": {
      "type": "string"
     },
     "updatedAt": {
      "format": "date-time",
      "type": "string"
     }
    },
    "required": [
     "provider",
     "summary",
     "updatedAt"
    ],
    "type": "object"
   },
   "APICredentials": {
    "properties": {
     "values": {
      "additionalProperties": {
       "type": "string"
      },
      "type": "object"
     }
    },
    "required": [
     "values"
    ],
    "type": "object"
   },
   "APIErrorBody": {
    "properties": {
     "code": {
      "type": "string"
     },
     "line": {
      "type": "integer"
     },
     "message": {
      "type": "string"
     },
     "path": {
      "type": "string"
     }
    },
    "required": [
     "code",
     "message"
    ],
    "type": "object"
   },
   "APIErrorEnvelope": {
    "properties": {
     "error": {
      "$ref": "#/components/schemas/APIErrorBody"
     }
    },
    "required": [
     "error"
    ],
    "type": "object"
   },
   "APIEvent": {
    "properties": {
     "at": {
      "format": "date-time",
      "type": "string"
     },
     "cluster": {
      "type": "string"
     },
     "group": {
      "type": "string"
     },
     "kind": {
      "type": "string"
     },
     "nodeID": {
      "type": "string"
     },
     "reason": {
      "type": "string"
     },
     "seq": {
      "type": "integer"
     }
    },
    "required": [
     "seq",
     "at",
     "cluster",
     "group",
     "kind",
     "reason"
    ],
    "type": "object"
   },
   "APIGroup": {
    "properties": {
     "cluster": {
      "type": "string"
     },
     "deleted": {
      "type": "boolean"
     },
     "healthy": {
      "type": "integer"
     },
     "name": {
      "type": "string"
     },
     "nodes": {
      "additionalProperties": {
       "type": "integer"
      },
      "type": "object"
     },
     "provider": {
      "type": "string"
     },
     "revision": {
      "type": "integer"
     },
     "size": {
      "description": "GroupSpec.Size (see docs/)"
     }
    },
    "required": [
     "cluster",
     "name",
     "revision",
     "provider",
     "size",
     "deleted",
     "nodes",
     "healthy"
    ],
    "type": "object"
   },
   "APIGroupDetail": {
    "properties": {
     "group": {
      "$ref": "#/components/schemas/APIGroup"
     },
     "nodes": {
      "items": {
       "$ref": "#/components/schemas/APINode"
      },
      "type": "array"
     },
     "safety": {
      "$ref": "#/components/schemas/APISafety"
     },
     "spec": {
      "description": "GroupSpec (see docs/)"
     }
    },
    "required": [
     "group",
     "spec",
     "nodes"
    ],
    "type": "object"
   },
   "APILabelChange": {
    "properties": {
     "remove": {
      "items": {
       "type": "string"
      },
      "type": "array"
     },
     "set": {
      "additionalProperties": {
       "type": "string"
      },
      "type": "object"
     }
    },
    "required": [
     "set",
     "remove"
    ],
    "type": "object"
   },
   "APILogin": {
    "properties": {
     "password": {
      "type": "string"
     },
     "user": {
      "type": "string"
     }
    },
    "required": [
     "user",
     "password"
    ],
    "type": "object"
   },
   "APIMember": {
    "properties": {
     "role": {
      "type": "string"
     },
     "user": {
      "type": "string"
     }
    },
    "required": [
     "user",
     "role"
    ],
    "type": "object"
   },
   "APINode": {
    "properties": {
     "address": {
      "type": "string"
     },
     "cluster": {
      "type": "string"
     },
     "connected": {
      "type": "boolean"
     },
     "createdAt": {
      "format": "date-time",
      "type": "string"
     },
     "group": {
      "type": "string"
     },
     "id": {
      "type": "string"
     },
     "instanceID": {
      "type": "string"
     },
     "labels": {
      "additionalProperties": {
       "type": "string"
      },
      "type": "object"
     },
     "lastHeartbeat": {
      "format": "date-time",
      "type": "string"
     },
     "reason": {
      "type": "string"
     },
     "since": {
      "format": "date-time",
      "type": "string"
     },
     "state": {
      "enum": [
       "requested",
       "provisioning",
       "enrolling",
       "healthy",
       "suspect",
       "unhealthy",
       "terminating",
       "terminated",
       "failed"
      ],
      "type": "string"
     },
     "verdict": {
      "type": "string"
     },
     "verdictReason": {
      "type": "string"
     }
    },
    "required": [
     "id",
     "cluster",
     "group",
     "state",
     "reason",
     "since",
     "createdAt",
     "connected"
    ],
    "type": "object"
   },
   "APINodeConfig": {
    "properties": {
     "desired": {
      "type": "integer"
     },
     "id": {
      "type": "string"
     },
     "labels": {
      "additionalProperties": {
       "type": "string"
      },
      "type": "object"
     },
     "lastFailure": {
      "description": "Ack (see docs/)"
     },
     "message": {
      "type": "string"
     },
     "outcome": {
      "type": "string"
     },
     "reportedAt": {
      "format": "date-time",
      "type": "string"
     },
     "revision": {
      "type": "integer"
     },
     "rollout": {
      "type": "string"
     },
     "state": {
      "enum": [
       "requested",
       "provisioning",
       "enrolling",
       "healthy",
       "suspect",
       "unhealthy",
       "terminating",
       "terminated",
       "failed"
      ],
      "type": "string"
     },
     "steps": {
      "items": {
       "description": "StepResult (see docs/)"
      },
      "type": "array"
     }
    },
    "required": [
     "id",
     "state",
     "labels"
    ],
    "type": "object"
   },
   "APINodeDetail": {
    "properties": {
     "agentRestartRequested": {
      "format": "date-time",
      "type": "string"
     },
     "connected": {
      "type": "boolean"
     },
     "convictedAt": {
      "format": "date-time",
      "type": "string"
     },
     "events": {
      "items": {
       "description": "NodeEvent (see docs/)"
      },
      "type": "array"
     },
     "external": {
      "items": {
       "description": "ProbeResult (see docs/)"
      },
      "type": "array"
     },
     "heartbeats": {
      "$ref": "#/components/schemas/APINodeDetail.Heartbeats"
     },
     "node": {
      "$ref": "#/components/schemas/APINode"
     },
     "probeViewStale": {
      "type": "boolean"
     },
     "probes": {
      "items": {
       "description": "ProbeResult (see docs/)"
      },
      "type": "array"
     },
     "provider": {
      "type": "string"
     },
     "verdict": {
      "type": "string"
     },
     "verdictReason": {
      "type": "string"
     }
    },
    "required": [
     "node",
     "heartbeats",
     "connected",
     "provider",
     "probes",
     "probeViewStale",
     "external",
     "verdict",
     "verdictReason",
     "events"
    ],
    "type": "object"
   },
   "APINodeDetail.Heartbeats": {
    "properties": {
     "ceilingSeconds": {
      "type": "number"
     },
     "deviationSeconds": {
      "type": "number"
     },
     "intervalSeconds": {
      "type": "number"
     },
     "last": {
      "format": "date-time",
      "type": "string"
     },
     "meanIntervalSeconds": {
      "type": "number"
     },
     "phi": {
      "type": "number"
     },
     "phiThreshold": {
      "type": "number"
     },
     "samples": {
      "type": "integer"
     },
     "silenceSeconds": {
      "type": "number"
     }
    },
    "required": [
     "silenceSeconds",
     "phi",
     "phiThreshold",
     "samples",
     "intervalSeconds",
     "ceilingSeconds"
    ],
    "type": "object"
   },
   "APIPasswordChange": {
    "properties": {
     "currentPassword": {
      "type": "string"
     },
     "password": {
      "type": "string"
     }
    },
    "required": [
     "password"
    ],
    "type": "object"
   },
   "APIPushResult": {
    "properties": {
     "revision": {
      "$ref": "#/components/schemas/APIConfigRevision"
     },
     "rollout": {
      "$ref": "#/components/schemas/APIRollout"
     }
    },
    "required": [
     "revision",
     "rollout"
    ],
    "type": "object"
   },
   "APIQuota": {
    "properties": {
     "nodes": {
      "type": "integer"
     }
    },
    "type": "object"
   },
   "APIRole": {
    "properties": {
     "role": {
      "type": "string"
     }
    },
    "type": "object"
   },
   "APIRollout": {
    "properties": {
     "createdAt": {
      "format": "date-time",
      "type": "string"
     },
     "id": {
      "type": "integer"
     },
     "kind": {
      "type": "string"
     },
     "policy": {
      "description": "RolloutPolicy (see docs/)"
     },
     "previous": {
      "type": "integer"
     },
     "progress": {
      "$ref": "#/components/schemas/APIRolloutProgress"
     },
     "reason": {
      "type": "string"
     },
     "revision": {
      "type": "integer"
     },
     "state": {
      "type": "string"
     },
     "status": {
      "type": "string"
     },
     "target": {
      "type": "string"
     },
     "updatedAt": {
      "format": "date-time",
      "type": "string"
     }
    },
    "required": [
     "id",
     "revision",
     "kind",
     "state",
     "reason",
     "target",
     "policy",
     "createdAt",
     "updatedAt"
    ],
    "type": "object"
   },
   "APIRolloutProgress": {
    "properties": {
     "applying": {
      "type": "integer"
     },
     "baking": {
      "type": "integer"
     },
     "done": {
      "type": "integer"
     },
     "failed": {
      "type": "integer"
     },
     "pending": {
      "type": "integer"
     },
     "targeted": {
      "type": "integer"
     }
    },
    "required": [
     "targeted",
     "done",
     "applying",
     "baking",
     "failed",
     "pending"
    ],
    "type": "object"
   },
   "APISafety": {
    "properties": {
     "backoffUntil": {
      "format": "date-time",
      "type": "string"
     },
     "breaker": {
      "type": "string"
     },
     "budget": {
      "type": "integer"
     },
     "budgetWindowSeconds": {
      "type": "number"
     },
     "crashLoopStreak": {
      "type": "integer"
     },
     "held": {
      "type": "string"
     },
     "reasons": {
      "items": {
       "type": "string"
      },
      "type": "array"
     },
     "replacementsInWindow": {
      "type": "integer"
     }
    },
    "required": [
     "replacementsInWindow",
     "budget",
     "budgetWindowSeconds",
     "crashLoopStreak",
     "reasons"
    ],
    "type": "object"
   },
   "APIScale": {
    "properties": {
     "desired": {
      "type": "integer"
     }
    },
    "required": [
     "desired"
    ],
    "type": "object"
   },
   "APITokenGrant": {
    "properties": {
     "createdAt": {
      "format": "date-time",
      "type": "string"
     },
     "expiresAt": {
      "format": "date-time",
      "type": "string"
     },
     "id": {
      "type": "string"
     },
     "kind": {
      "type": "string"
     },
     "lastUsedAt": {
      "format": "date-time",
      "type": "string"
     },
     "name": {
      "type": "string"
     },
     "revokedAt": {
      "format": "date-time",
      "type": "string"
     },
     "token": {
      "type": "string"
     },
     "user": {
      "type": "string"
     }
    },
    "required": [
     "id",
     "user",
     "name",
     "kind",
     "createdAt"
    ],
    "type": "object"
   },
   "APITokenRequest": {
    "properties": {
     "expiresIn": {
      "type": "number"
     },
     "name": {
      "type": "string"
     }
    },
    "required": [
     "name"
    ],
    "type": "object"
   },
   "APIUser": {
    "properties": {
     "admin": {
      "type": "boolean"
     },
     "createdAt": {
      "format": "date-time",
      "type": "string"
     },
     "disabled": {
      "type": "boolean"
     },
     "name": {
      "type": "string"
     },
     "roles": {
      "additionalProperties": {
       "type": "string"
      },
      "type": "object"
     }
    },
    "required": [
     "name",
     "admin",
     "disabled",
     "roles",
     "createdAt"
    ],
    "type": "object"
   },
   "APIUserCreate": {
    "properties": {
     "admin": {
      "type": "boolean"
     },
     "name": {
      "type": "string"
     },
     "password": {
      "type": "string"
     }
    },
    "required": [
     "name",
     "password"
    ],
    "type": "object"
   },
   "APIUserUpdate": {
    "properties": {
     "disabled": {
      "type": "boolean"
     }
    },
    "required": [
     "disabled"
    ],
    "type": "object"
   }
  },
  "securitySchemes": {
   "bearer": {
    "scheme": "bearer",
    "type": "http"
   }
  }
 },
 "info": {
  "description": "Kadende's REST API: groups, nodes, configuration, clusters, users, tokens, audit. See docs/api.md.",
  "title": "Kadende",
  "version": "1"
 },
 "openapi": "3.0.3",
 "paths": {
  "/metrics": {
   "get": {
    "operationId": "getMetrics",
    "responses": {
     "200": {
      "content": {
       "text/plain": {
        "schema": {
         "type": "string"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "Prometheus text (admins)"
   }
  },
  "/v1/audit": {
   "get": {
    "operationId": "getAudit",
    "parameters": [
     {
      "in": "query",
      "name": "after",
      "required": false,
      "schema": {
       "minimum": 0,
       "type": "integer"
      }
     },
     {
      "in": "query",
      "name": "limit",
      "required": false,
      "schema": {
       "maximum": 5000,
       "minimum": 1,
       "type": "integer"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "items": {
          "$ref": "#/components/schemas/APIAuditEntry"
         },
         "type": "array"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "The audit log (admins)"
   }
  },
  "/v1/clusters": {
   "get": {
    "operationId": "getClusters",
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "items": {
          "$ref": "#/components/schemas/APICluster"
         },
         "type": "array"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "The clusters the caller may read"
   },
   "post": {
    "operationId": "postClusters",
    "requestBody": {
     "content": {
      "application/json": {
       "example": {
        "name": "shop"
       },
       "schema": {
        "$ref": "#/components/schemas/APIClusterCreate"
       }
      }
     },
     "required": true
    },
    "responses": {
     "201": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APICluster"
        }
       }
      },
      "description": "done",
      "links": {
       "DeleteCluster": {
        "operationId": "deleteClustersCluster",
        "parameters": {
         "cluster": "$response.body#/name"
        }
       },
       "GetCluster": {
        "operationId": "getClustersCluster",
        "parameters": {
         "cluster": "$response.body#/name"
        }
       },
       "SetQuota": {
        "operationId": "putClustersClusterQuota",
        "parameters": {
         "cluster": "$response.body#/name"
        }
       }
      }
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "Create a cluster (admins)"
   }
  },
  "/v1/clusters/{cluster}": {
   "delete": {
    "operationId": "deleteClustersCluster",
    "parameters": [
     {
      "in": "path",
      "name": "cluster",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APICluster"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "Delete an empty cluster with its members and credentials (admins)"
   },
   "get": {
    "operationId": "getClustersCluster",
    "parameters": [
     {
      "in": "path",
      "name": "cluster",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APICluster"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "A cluster: members, quota, live nodes, credentials held"
   }
  },
  "/v1/clusters/{cluster}/credentials/{provider}": {
   "delete": {
    "operationId": "deleteClustersClusterCredentialsProvider",
    "parameters": [
     {
      "in": "path",
      "name": "cluster",
      "required": true,
      "schema": {
       "type": "string"
      }
     },
     {
      "in": "path",
      "name": "provider",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APICluster"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "Forget a provider's credentials (admins)"
   },
   "put": {
    "operationId": "putClustersClusterCredentialsProvider",
    "parameters": [
     {
      "in": "path",
      "name": "cluster",
      "required": true,
      "schema": {
       "type": "string"
      }
     },
     {
      "in": "path",
      "name": "provider",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "requestBody": {
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/APICredentials"
       }
      }
     },
     "required": true
    },
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APICredentialSummary"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "Store a provider's credentials (admins)"
   }
  },
  "/v1/clusters/{cluster}/quota": {
   "put": {
    "operationId": "putClustersClusterQuota",
    "parameters": [
     {
      "in": "path",
      "name": "cluster",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "requestBody": {
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/APIQuota"
       }
      }
     },
     "required": true
    },
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APICluster"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "Set or lift the node quota (admins)"
   }
  },
  "/v1/events": {
   "get": {
    "operationId": "getEvents",
    "parameters": [
     {
      "in": "query",
      "name": "cluster",
      "required": false,
      "schema": {
       "type": "string"
      }
     },
     {
      "in": "query",
      "name": "group",
      "required": false,
      "schema": {
       "type": "string"
      }
     },
     {
      "in": "query",
      "name": "after",
      "required": false,
      "schema": {
       "minimum": 0,
       "type": "integer"
      }
     },
     {
      "in": "query",
      "name": "limit",
      "required": false,
      "schema": {
       "maximum": 5000,
       "minimum": 1,
       "type": "integer"
      }
     },
     {
      "in": "query",
      "name": "wait",
      "required": false,
      "schema": {
       "maximum": 60,
       "minimum": 0,
       "type": "integer"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "items": {
          "$ref": "#/components/schemas/APIEvent"
         },
         "type": "array"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "Events after a sequence number (long poll with wait)"
   }
  },
  "/v1/events/stream": {
   "get": {
    "operationId": "getEventsStream",
    "parameters": [
     {
      "in": "query",
      "name": "cluster",
      "required": false,
      "schema": {
       "type": "string"
      }
     },
     {
      "in": "query",
      "name": "group",
      "required": false,
      "schema": {
       "type": "string"
      }
     },
     {
      "in": "query",
      "name": "after",
      "required": false,
      "schema": {
       "minimum": 0,
       "type": "integer"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "text/event-stream": {
        "schema": {
         "type": "string"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "Events as server-sent events"
   }
  },
  "/v1/groups": {
   "get": {
    "operationId": "getGroups",
    "parameters": [
     {
      "in": "query",
      "name": "cluster",
      "required": false,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "items": {
          "$ref": "#/components/schemas/APIGroup"
         },
         "type": "array"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "Groups with node counts"
   },
   "post": {
    "operationId": "postGroups",
    "parameters": [
     {
      "in": "query",
      "name": "cluster",
      "required": false,
      "schema": {
       "type": "string"
      }
     }
    ],
    "requestBody": {
     "content": {
      "application/yaml": {
       "example": "name: web\nprovider: process\nsize: {desired: 0, min: 0, max: 2}\n",
       "schema": {
        "type": "string"
       }
      }
     },
     "required": true
    },
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIApplyResult"
        }
       }
      },
      "description": "done",
      "links": {
       "DeleteGroup": {
        "operationId": "deleteGroupsName",
        "parameters": {
         "cluster": "$response.body#/group/cluster",
         "name": "$response.body#/group/name"
        }
       },
       "GetGroup": {
        "operationId": "getGroupsName",
        "parameters": {
         "cluster": "$response.body#/group/cluster",
         "name": "$response.body#/group/name"
        }
       },
       "GroupNodes": {
        "operationId": "getNodes",
        "parameters": {
         "cluster": "$response.body#/group/cluster",
         "group": "$response.body#/group/name"
        }
       },
       "PushConfig": {
        "operationId": "postGroupsNameConfig",
        "parameters": {
         "cluster": "$response.body#/group/cluster",
         "name": "$response.body#/group/name"
        }
       },
       "ScaleGroup": {
        "operationId": "postGroupsNameScale",
        "parameters": {
         "cluster": "$response.body#/group/cluster",
         "name": "$response.body#/group/name"
        }
       }
      }
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "Apply a group spec (YAML)"
   }
  },
  "/v1/groups/{name}": {
   "delete": {
    "operationId": "deleteGroupsName",
    "parameters": [
     {
      "in": "path",
      "name": "name",
      "required": true,
      "schema": {
       "type": "string"
      }
     },
     {
      "in": "query",
      "name": "cluster",
      "required": false,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIGroup"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "Delete a group"
   },
   "get": {
    "operationId": "getGroupsName",
    "parameters": [
     {
      "in": "path",
      "name": "name",
      "required": true,
      "schema": {
       "type": "string"
      }
     },
     {
      "in": "query",
      "name": "cluster",
      "required": false,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIGroupDetail"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "A group: spec, nodes, safety"
   }
  },
  "/v1/groups/{name}/config": {
   "post": {
    "operationId": "postGroupsNameConfig",
    "parameters": [
     {
      "in": "path",
      "name": "name",
      "required": true,
      "schema": {
       "type": "string"
      }
     },
     {
      "in": "query",
      "name": "cluster",
      "required": false,
      "schema": {
       "type": "string"
      }
     }
    ],
    "requestBody": {
     "content": {
      "application/yaml": {
       "example": "files:\n  - {path: /etc/app.conf, content: \"workers = 4\\n\"}\n",
       "schema": {
        "type": "string"
       }
      }
     },
     "required": true
    },
    "responses": {
     "201": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIPushResult"
        }
       }
      },
      "description": "done",
      "links": {
       "ConfigStatus": {
        "operationId": "getGroupsNameConfigStatus",
        "parameters": {
         "name": "$request.path.name"
        }
       },
       "GetRevision": {
        "operationId": "getGroupsNameConfigRevisionsRevision",
        "parameters": {
         "name": "$request.path.name",
         "revision": "$response.body#/revision/revision"
        }
       }
      }
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "Push a configuration revision (YAML)"
   }
  },
  "/v1/groups/{name}/config/revisions": {
   "get": {
    "operationId": "getGroupsNameConfigRevisions",
    "parameters": [
     {
      "in": "path",
      "name": "name",
      "required": true,
      "schema": {
       "type": "string"
      }
     },
     {
      "in": "query",
      "name": "cluster",
      "required": false,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "items": {
          "$ref": "#/components/schemas/APIConfigRevision"
         },
         "type": "array"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "Configuration revisions"
   }
  },
  "/v1/groups/{name}/config/revisions/{revision}": {
   "get": {
    "operationId": "getGroupsNameConfigRevisionsRevision",
    "parameters": [
     {
      "in": "path",
      "name": "name",
      "required": true,
      "schema": {
       "type": "string"
      }
     },
     {
      "in": "path",
      "name": "revision",
      "required": true,
      "schema": {
       "minimum": 1,
       "type": "integer"
      }
     },
     {
      "in": "query",
      "name": "cluster",
      "required": false,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIConfigRevision"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "One revision"
   }
  },
  "/v1/groups/{name}/config/rollback": {
   "post": {
    "operationId": "postGroupsNameConfigRollback",
    "parameters": [
     {
      "in": "path",
      "name": "name",
      "required": true,
      "schema": {
       "type": "string"
      }
     },
     {
      "in": "query",
      "name": "cluster",
      "required": false,
      "schema": {
       "type": "string"
      }
     },
     {
      "in": "query",
      "name": "to",
      "required": true,
      "schema": {
       "minimum": 1,
       "type": "integer"
      }
     },
     {
      "in": "query",
      "name": "strategy",
      "required": false,
      "schema": {
       "type": "string"
      }
     },
     {
      "in": "query",
      "name": "bake",
      "required": false,
      "schema": {
       "maximum": 3600,
       "minimum": 0,
       "type": "integer"
      }
     }
    ],
    "responses": {
     "201": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIRollout"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "Roll back to a revision (to=N)"
   }
  },
  "/v1/groups/{name}/config/rollout/{action}": {
   "post": {
    "operationId": "postGroupsNameConfigRolloutAction",
    "parameters": [
     {
      "in": "path",
      "name": "name",
      "required": true,
      "schema": {
       "type": "string"
      }
     },
     {
      "in": "path",
      "name": "action",
      "required": true,
      "schema": {
       "type": "string"
      }
     },
     {
      "in": "query",
      "name": "cluster",
      "required": false,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIRollout"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "Pause, resume or abort the active rollout"
   }
  },
  "/v1/groups/{name}/config/rollouts": {
   "get": {
    "operationId": "getGroupsNameConfigRollouts",
    "parameters": [
     {
      "in": "path",
      "name": "name",
      "required": true,
      "schema": {
       "type": "string"
      }
     },
     {
      "in": "query",
      "name": "cluster",
      "required": false,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "items": {
          "$ref": "#/components/schemas/APIRollout"
         },
         "type": "array"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "Recent rollouts"
   }
  },
  "/v1/groups/{name}/config/status": {
   "get": {
    "operationId": "getGroupsNameConfigStatus",
    "parameters": [
     {
      "in": "path",
      "name": "name",
      "required": true,
      "schema": {
       "type": "string"
      }
     },
     {
      "in": "query",
      "name": "cluster",
      "required": false,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIConfigStatus"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "Rollout and per-node configuration status"
   }
  },
  "/v1/groups/{name}/scale": {
   "post": {
    "operationId": "postGroupsNameScale",
    "parameters": [
     {
      "in": "path",
      "name": "name",
      "required": true,
      "schema": {
       "type": "string"
      }
     },
     {
      "in": "query",
      "name": "cluster",
      "required": false,
      "schema": {
       "type": "string"
      }
     }
    ],
    "requestBody": {
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/APIScale"
       }
      }
     },
     "required": true
    },
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIApplyResult"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "Change the desired size"
   }
  },
  "/v1/health": {
   "get": {
    "operationId": "getHealth",
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "security": [],
    "summary": "Liveness"
   }
  },
  "/v1/login": {
   "post": {
    "operationId": "postLogin",
    "requestBody": {
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/APILogin"
       }
      }
     },
     "required": true
    },
    "responses": {
     "201": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APITokenGrant"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "security": [],
    "summary": "Log in; a session token, shown once"
   }
  },
  "/v1/nodes": {
   "get": {
    "operationId": "getNodes",
    "parameters": [
     {
      "in": "query",
      "name": "cluster",
      "required": false,
      "schema": {
       "type": "string"
      }
     },
     {
      "in": "query",
      "name": "group",
      "required": false,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "items": {
          "$ref": "#/components/schemas/APINode"
         },
         "type": "array"
        }
       }
      },
      "description": "done",
      "links": {
       "GetNode": {
        "operationId": "getNodesId",
        "parameters": {
         "id": "$response.body#/0/id"
        }
       },
       "LabelNode": {
        "operationId": "putNodesIdLabels",
        "parameters": {
         "id": "$response.body#/0/id"
        }
       }
      }
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "Live nodes"
   }
  },
  "/v1/nodes/{id}": {
   "delete": {
    "operationId": "deleteNodesId",
    "parameters": [
     {
      "in": "path",
      "name": "id",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APINode"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "Terminate a node"
   },
   "get": {
    "operationId": "getNodesId",
    "parameters": [
     {
      "in": "path",
      "name": "id",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APINodeDetail"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "Every health signal of a node"
   }
  },
  "/v1/nodes/{id}/labels": {
   "put": {
    "operationId": "putNodesIdLabels",
    "parameters": [
     {
      "in": "path",
      "name": "id",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "requestBody": {
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/APILabelChange"
       }
      }
     },
     "required": true
    },
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APINode"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "Set or remove labels"
   }
  },
  "/v1/openapi.json": {
   "get": {
    "operationId": "getOpenapiJson",
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "security": [],
    "summary": "This document"
   }
  },
  "/v1/tokens": {
   "get": {
    "operationId": "getTokens",
    "parameters": [
     {
      "in": "query",
      "name": "all",
      "required": false,
      "schema": {
       "enum": [
        "true",
        "false"
       ],
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "items": {
          "$ref": "#/components/schemas/APITokenGrant"
         },
         "type": "array"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "The caller's tokens (all=true: everyone's, admins)"
   },
   "post": {
    "operationId": "postTokens",
    "parameters": [
     {
      "in": "query",
      "name": "all",
      "required": false,
      "schema": {
       "enum": [
        "true",
        "false"
       ],
       "type": "string"
      }
     }
    ],
    "requestBody": {
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/APITokenRequest"
       }
      }
     },
     "required": true
    },
    "responses": {
     "201": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APITokenGrant"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "Mint an API token, shown once"
   }
  },
  "/v1/tokens/{id}": {
   "delete": {
    "operationId": "deleteTokensId",
    "parameters": [
     {
      "in": "path",
      "name": "id",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APITokenGrant"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "Revoke a token"
   }
  },
  "/v1/users": {
   "get": {
    "operationId": "getUsers",
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "items": {
          "$ref": "#/components/schemas/APIUser"
         },
         "type": "array"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "Users (admins)"
   },
   "post": {
    "operationId": "postUsers",
    "requestBody": {
     "content": {
      "application/json": {
       "example": {
        "admin": false,
        "name": "otto",
        "password": "a long enough password"
       },
       "schema": {
        "$ref": "#/components/schemas/APIUserCreate"
       }
      }
     },
     "required": true
    },
    "responses": {
     "201": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIUser"
        }
       }
      },
      "description": "done",
      "links": {
       "DeleteUser": {
        "operationId": "deleteUsersName",
        "parameters": {
         "name": "$response.body#/name"
        }
       },
       "SetPassword": {
        "operationId": "putUsersNamePassword",
        "parameters": {
         "name": "$response.body#/name"
        }
       },
       "SetRole": {
        "operationId": "putUsersNameRolesCluster",
        "parameters": {
         "name": "$response.body#/name"
        }
       },
       "UpdateUser": {
        "operationId": "patchUsersName",
        "parameters": {
         "name": "$response.body#/name"
        }
       }
      }
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "Create a user (admins)"
   }
  },
  "/v1/users/{name}": {
   "delete": {
    "operationId": "deleteUsersName",
    "parameters": [
     {
      "in": "path",
      "name": "name",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIUser"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "Delete a user with their roles and tokens (admins)"
   },
   "patch": {
    "operationId": "patchUsersName",
    "parameters": [
     {
      "in": "path",
      "name": "name",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "requestBody": {
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/APIUserUpdate"
       }
      }
     },
     "required": true
    },
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIUser"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "Disable or enable a user (admins)"
   }
  },
  "/v1/users/{name}/password": {
   "put": {
    "operationId": "putUsersNamePassword",
    "parameters": [
     {
      "in": "path",
      "name": "name",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "requestBody": {
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/APIPasswordChange"
       }
      }
     },
     "required": true
    },
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIUser"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "Set a password: one's own with the current one, anyone's (admins); ends sessions"
   }
  },
  "/v1/users/{name}/roles/{cluster}": {
   "put": {
    "operationId": "putUsersNameRolesCluster",
    "parameters": [
     {
      "in": "path",
      "name": "name",
      "required": true,
      "schema": {
       "type": "string"
      }
     },
     {
      "in": "path",
      "name": "cluster",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "requestBody": {
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/APIRole"
       }
      }
     },
     "required": true
    },
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIUser"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "Set a user's role in a cluster (admins)"
   }
  },
  "/v1/whoami": {
   "get": {
    "operationId": "getWhoami",
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIUser"
        }
       }
      },
      "description": "done"
     },
     "default": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIErrorEnvelope"
        }
       }
      },
      "description": "an error with its code"
     }
    },
    "summary": "The caller"
   }
  }
 },
 "security": [
  {
   "bearer": []
  }
 ],
 "servers": [
  {
   "url": "/"
  }
 ]
}

"""#
}
