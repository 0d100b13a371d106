package adminapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/httpapi"
	"github.com/inmor/inmor-serverless/shared/resource"
)

type object = map[string]any

func prop(typ string, extra ...any) object {
	p := object{"type": typ}
	for i := 0; i+1 < len(extra); i += 2 {
		p[extra[i].(string)] = extra[i+1]
	}
	return p
}

func nullable(typ string) object { return object{"type": []string{typ, "null"}} }

func ref(name string) object { return object{"$ref": "#/components/schemas/" + name} }

func page(item string) object {
	return object{"type": "object", "required": []string{"items", "count"}, "properties": object{
		"items": object{"type": "array", "items": ref(item)}, "count": prop("integer"),
	}}
}

var anyObject = object{"type": []string{"object", "null"}}

func auditEntryProperties(withSnapshots bool) object {
	p := object{
		"id": prop("integer"), "timestamp": prop("string", "format", "date-time"),
		"user_id": nullable("integer"), "username": nullable("string"),
		"auth_method":  prop("string", "enum", []string{"session", "api_key", audit.AuthCLI, audit.AuthOutOfBand}),
		"api_key_name": nullable("string"), "tenant": nullable("string"), "ip_address": nullable("string"),
		"user_agent": nullable("string"), "request_id": nullable("string"),
		"action":        prop("string", "enum", Actions),
		"resource_type": prop("string", "enum", resourceTypeNames()),
		"resource_id":   nullable("integer"), "resource_repr": prop("string"),
		"endpoint": nullable("string"), "http_method": nullable("string"),
		"response_code": nullable("integer"), "success": prop("boolean"),
		"diff": anyObject, "event_type": object{"type": []string{"string", "null"}, "enum": append(append([]any{}, toAny(audit.EventTypes)...), nil)},
		"claimed_attribution": object{"type": []string{"object", "null"},
			"description": "The attribution an out-of-band change claimed without proof (its MAC missing or wrong)."},
		"error": object{"type": []string{"string", "null"},
			"description": "A failed request's answer: its message (at most 1 KiB). Absent on entries recorded before failed entries had it."},
	}
	if withSnapshots {
		p["snapshot_before"] = anyObject
		p["snapshot_after"] = anyObject
		p["request"] = object{"type": []string{"object", "null"},
			"description": "What a failed request sent: {query, body}, each when present, secrets redacted ([redacted]), " +
				"large additional claims omitted, at most 8 KiB of JSON (cut parts marked). Absent on entries recorded before failed entries had it."}
		p[audit.LeafHashField] = prop("string", "description", "The entry's leaf hash in the log's Merkle tree (base64 SHA-256); not part of what it hashes.")
	}
	return p
}

func subordinateBody(create bool) object {
	required := []string{"metadata", "forced_metadata", "jwks"}
	props := object{
		"metadata": prop("object"), "forced_metadata": prop("object"), "jwks": ref("JWKS"),
		"required_trustmarks": nullable("string"),
		"valid_for":           prop("integer", "minimum", 1, "maximum", resource.MaxSubordinateValidFor),
		"autorenew":           prop("boolean"), "active": prop("boolean"), "additional_claims": anyObject,
		"suspended": prop("boolean", "description", "With active=false: a suspension rather than a revocation (Subordinate Events)."),
	}
	if create {
		required = append(required, "entityid")
		props["entityid"] = prop("string", "minLength", 1, "maxLength", resource.MaxURLLength)
	}
	return object{"type": "object", "required": required, "properties": props}
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// componentSchemas are the components every route refers to by name (made
// with the document, not at init).
func componentSchemas() object {
	schemas := object{
		"InclusionProof": object{"type": "object", "required": []string{"id", "leaf_index", "leaf_hash", "tree_size", "proof", "checkpoint"}, "properties": object{
			"id": prop("integer"), "leaf_index": prop("integer"), "leaf_hash": prop("string", "description", "Base64 SHA-256 (RFC 6962 leaf hash of the canonical entry)."),
			"tree_size": prop("integer"), "proof": object{"type": "array", "items": prop("string")}, "checkpoint": prop("string"),
		}},
		"ConsistencyProof": object{"type": "object", "required": []string{"from", "to", "proof", "to_checkpoint"}, "properties": object{
			"from": prop("integer"), "to": prop("integer"), "proof": object{"type": "array", "items": prop("string")},
			"from_checkpoint": prop("string"), "to_checkpoint": prop("string"),
		}},
		"TrustMarkType": object{"type": "object", "required": []string{"id", "tmtype", "autorenew", "valid_for", "renewal_time", "active"}, "properties": object{
			"id": prop("integer"), "tmtype": prop("string"), "autorenew": prop("boolean"),
			"valid_for": prop("integer"), "renewal_time": prop("integer"), "active": prop("boolean"),
		}},
		"TrustMarkTypeCreate": object{"type": "object", "required": []string{"tmtype"}, "properties": object{
			"tmtype":       prop("string", "minLength", 1, "maxLength", resource.MaxURLLength),
			"autorenew":    prop("boolean", "default", true),
			"valid_for":    prop("integer", "minimum", 1, "maximum", resource.MaxHours, "default", resource.DefaultValidFor),
			"renewal_time": prop("integer", "minimum", 0, "maximum", resource.MaxHours, "default", resource.DefaultRenewalTime),
			"active":       prop("boolean", "default", true),
		}},
		"TrustMarkTypeUpdate": object{"type": "object", "properties": object{
			"autorenew":    prop("boolean"),
			"valid_for":    prop("integer", "minimum", 1, "maximum", resource.MaxHours),
			"renewal_time": prop("integer", "minimum", 0, "maximum", resource.MaxHours),
			"active":       prop("boolean"),
		}},
		"TrustMarkTypePage": page("TrustMarkType"),
		"TrustMark": object{"type": "object", "required": []string{"id", "tmt_id", "domain", "autorenew", "valid_for", "renewal_time", "active", "mark", "expire_at", "additional_claims"}, "properties": object{
			"id": prop("integer"), "tmt_id": prop("integer"), "domain": prop("string"), "autorenew": prop("boolean"),
			"valid_for": prop("integer"), "renewal_time": prop("integer"), "active": prop("boolean"),
			"mark": nullable("string"), "expire_at": object{"type": []string{"string", "null"}, "format": "date-time"},
			"additional_claims": anyObject,
		}},
		"TrustMarkCreate": object{"type": "object", "required": []string{"tmt", "domain"}, "properties": object{
			"tmt": prop("integer", "minimum", 1), "domain": prop("string", "minLength", 1, "maxLength", resource.MaxURLLength),
			"autorenew": prop("boolean"), "valid_for": prop("integer", "minimum", 1, "maximum", resource.MaxHours),
			"renewal_time": prop("integer", "minimum", 0, "maximum", resource.MaxHours), "active": prop("boolean"),
			"additional_claims": anyObject,
		}},
		"TrustMarkUpdate": object{"type": "object", "properties": object{
			"autorenew": prop("boolean"), "active": prop("boolean"), "additional_claims": anyObject,
		}},
		"TrustMarkDomain": object{"type": "object", "required": []string{"domain"}, "properties": object{"domain": prop("string", "maxLength", resource.MaxURLLength)}},
		"TrustMarkPage":   page("TrustMark"),
		"Subordinate": object{"type": "object", "required": []string{"id", "entityid", "metadata", "forced_metadata", "jwks", "required_trustmarks", "valid_for", "expire_at", "autorenew", "active", "additional_claims"}, "properties": object{
			"id": prop("integer"), "entityid": prop("string"), "metadata": prop("object"), "forced_metadata": prop("object"),
			"jwks": ref("JWKS"), "required_trustmarks": nullable("string"), "valid_for": prop("integer"),
			"expire_at": object{"type": []string{"string", "null"}, "format": "date-time"},
			"autorenew": prop("boolean"), "active": prop("boolean"), "suspended": prop("boolean"), "additional_claims": anyObject,
		}},
		"SubordinateCreate": subordinateBody(true),
		"SubordinateUpdate": subordinateBody(false),
		"SubordinatePage":   page("Subordinate"),
		"FetchConfig": object{"type": "object", "required": []string{"url"}, "properties": object{
			"url": prop("string", "description", "The entity id: an https URL.", "maxLength", resource.MaxURLLength),
		}},
		"FetchedConfig": object{"type": "object", "required": []string{"metadata", "jwks", "jwks_uri", "authority_hints", "trust_marks"}, "properties": object{
			"metadata": prop("object"), "jwks": object{"oneOf": []object{ref("JWKS"), {"type": "null"}}}, "jwks_uri": nullable("string"),
			"authority_hints": object{"type": []string{"array", "null"}, "items": prop("string")},
			"trust_marks":     object{"type": []string{"array", "null"}, "items": prop("object")},
		}},
		"JWKS": object{"type": "object", "required": []string{"keys"}, "properties": object{
			"keys": object{"type": "array", "minItems": 1, "items": object{"type": "object", "required": []string{"kty"}, "properties": object{
				"kty": prop("string", "enum", []string{"RSA", "EC", "OKP"}),
			}}},
		}},
		"AuditLogEntry":       object{"type": "object", "properties": auditEntryProperties(false)},
		"AuditLogEntryDetail": object{"type": "object", "properties": auditEntryProperties(true)},
		"AuditLogPage": object{"type": "object", "required": []string{"items", "count", "count_exact", "next_cursor"}, "properties": object{
			"items": object{"type": "array", "items": ref("AuditLogEntry")}, "count": prop("integer"),
			"count_exact": prop("boolean", "description", "false when count is an upper bound (filters no counter serves)"),
			"next_cursor": nullable("string"),
		}},
		"Message": object{"type": "object", "required": []string{"message", "id"}, "properties": object{
			"message": prop("string"), "id": prop("integer"),
		}},
		"FederationError": object{"type": "object", "required": []string{"error", "error_description"}, "properties": object{
			"error": prop("string", "enum", []string{"invalid_request", "not_found", "server_error"}), "error_description": prop("string"),
		}},
		"EntityStatement": object{"type": "object", "required": []string{"entity_statement"}, "properties": object{
			"entity_statement": prop("string", "description", "The signed entity-statement+jwt."),
		}},
		"User": object{"type": "object", "required": []string{"id", "username", "email", "is_staff", "is_superuser"}, "properties": object{
			"id": prop("integer"), "username": prop("string"), "email": prop("string"), "is_staff": prop("boolean"), "is_superuser": prop("boolean"),
		}},
		"Login": object{"type": "object", "required": []string{"username", "password"}, "properties": object{
			"username": prop("string"), "password": prop("string", "format", "password"),
		}},
		"CSRFToken":    object{"type": "object", "required": []string{"csrf_token"}, "properties": object{"csrf_token": prop("string")}},
		"MessageOnly":  object{"type": "object", "required": []string{"message"}, "properties": object{"message": prop("string")}},
		"Detail":       object{"type": "object", "required": []string{"detail"}, "properties": object{"detail": prop("string")}},
		"Unauthorized": object{"type": "object", "required": []string{"detail"}, "properties": object{"detail": prop("string", "enum", []string{"Unauthorized"})}},
		"ValidationError": object{"type": "object", "required": []string{"detail"}, "properties": object{
			"detail": object{"type": "array", "items": object{"type": "object", "required": []string{"loc", "msg", "type"}, "properties": object{
				"loc": object{"type": "array", "items": object{"type": []string{"string", "integer"}}}, "msg": prop("string"), "type": prop("string"),
			}}},
		}},
	}
	for name, schema := range mfaSchemas() {
		schemas[name] = schema
	}
	return schemas
}

// OpenAPI returns the OpenAPI 3.1 document of every route in Routes but
// the admin view's HTML pages.
func OpenAPI() object {
	paths := object{}
	for _, route := range Routes {
		if route.Page {
			continue
		}
		op := object{"operationId": route.OperationID, "summary": route.Summary, "x-function": route.Function}
		if !route.Public {
			op["security"] = []object{{"apiKey": []string{}}, {"session": []string{}}}
		}
		var params []object
		for _, p := range route.Params {
			schema := object{"type": p.Type}
			if p.Enum != nil {
				schema["enum"] = p.Enum
			}
			if p.Minimum != nil {
				schema["minimum"] = *p.Minimum
			}
			if p.Maximum != nil {
				schema["maximum"] = *p.Maximum
			}
			param := object{"name": p.Name, "in": p.In, "required": p.Required, "schema": schema}
			if p.Description != "" {
				param["description"] = p.Description
			}
			params = append(params, param)
		}
		if params != nil {
			op["parameters"] = params
		}
		if route.Body != "" {
			op["requestBody"] = object{"required": true, "content": object{"application/json": object{"schema": ref(route.Body)}}}
		}
		responses := object{}
		for code, schema := range route.Responses {
			r := object{"description": http.StatusText(code)}
			if schema != "" {
				r["content"] = object{"application/json": object{"schema": ref(schema)}}
			}
			responses[strconv.Itoa(code)] = r
		}
		op["responses"] = responses
		item, _ := paths[route.Path].(object)
		if item == nil {
			item = object{}
			paths[route.Path] = item
		}
		item[strings.ToLower(route.Method)] = op
	}
	return object{
		"openapi": "3.1.0",
		"info": object{
			"title":       "Inmor admin API",
			"version":     "1.0.0",
			"description": "Admin API of an OpenID Federation trust anchor, with an audit log of every change.",
		},
		"paths": paths,
		"components": object{
			"schemas": componentSchemas(),
			"securitySchemes": object{
				"apiKey":  object{"type": "apiKey", "in": "header", "name": "X-API-Key"},
				"session": object{"type": "apiKey", "in": "cookie", "name": "sessionid", "description": "Unsafe methods also need the csrftoken cookie echoed in X-CSRFToken."},
			},
		},
	}
}

var openAPIDocument = sync.OnceValue(func() []byte {
	doc, err := json.Marshal(OpenAPI())
	if err != nil {
		panic(err)
	}
	return doc
})

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	httpapi.WriteRawJSON(w, http.StatusOK, openAPIDocument())
}
