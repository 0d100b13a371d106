// Package adminapi is the admin API's surface: the table of every route (which
// function serves it, its parameters and schemas), the handlers of each
// function, and the OpenAPI document generated from the same table.
package adminapi

import (
	"fmt"
	"net/http"

	"github.com/inmor/inmor-serverless/shared/function"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/httpapi"
	"github.com/inmor/inmor-serverless/shared/resource"
)

// BasePath prefixes every API path.
const BasePath = "/api/v1"

// AdminPath prefixes the pages of the read-only admin view, at the
// Django admin's addresses so that bookmarks keep working.
const AdminPath = "/admin"

// Operation ids of the admin view's pages (Route.Page), which package
// adminui serves.
const (
	PageAdminRoot     = "adminRoot"
	PageAdminIndex    = "adminIndex"
	PageLogin         = "adminLogin"
	PageLoginSubmit   = "adminLoginSubmit"
	PageLogout        = "adminLogout"
	PageLogoutConfirm = "adminLogoutConfirm"
	PageAuditLogList  = "adminAuditLogList"
	PageAuditLogEntry = "adminAuditLogEntry"
	PageStatic        = "adminStatic"
)

// AdminAuditLogPath is the admin view's list of audit entries; an entry is
// at AdminAuditLogPath + "{id}/change/".
const AdminAuditLogPath = AdminPath + "/auditlog/auditlogentry/"

// Param is a path or query parameter.
type Param struct {
	Name        string
	In          string // "path" or "query"
	Type        string // "integer", "string" or "boolean"
	Description string
	Required    bool
	Enum        []string
	Minimum     *int
	Maximum     *int
}

// Route is one endpoint of the API.
type Route struct {
	Method      string
	Path        string
	Function    string
	OperationID string
	Summary     string
	// Public routes need no authentication.
	Public bool
	// Page routes serve the HTML pages of the admin view: they check the
	// session themselves (a login form, not a JSON 401), and the OpenAPI
	// document, which describes the JSON API, leaves them out.
	Page bool
	// AuditRead routes may be called with an audit:read key; every other
	// authenticated route needs the admin scope.
	AuditRead bool
	// Operation is set on state-changing routes: their failures are
	// recorded in the audit log, against ResourceType.
	Operation    resource.Operation
	ResourceType resource.Type
	Params       []Param
	// Body names the schema of the JSON body, "" for none.
	Body string
	// Responses maps each status to the schema of its body.
	Responses map[int]string
}

// Pages are the handlers of the admin view's routes (Route.Page), by
// operation id.
type Pages map[string]http.HandlerFunc

// Key is the route's API Gateway route key, e.g. "GET /api/v1/auditlog".
func (r Route) Key() string { return r.Method + " " + r.Path }

func intPtr(n int) *int { return &n }

var (
	idParam     = Param{Name: "id", In: "path", Type: "integer", Required: true, Minimum: intPtr(1)}
	limitParam  = Param{Name: "limit", In: "query", Type: "integer", Description: "Page size.", Minimum: intPtr(1), Maximum: intPtr(httpapi.MaxLimit)}
	offsetParam = Param{Name: "offset", In: "query", Type: "integer", Description: "Items to skip.", Minimum: intPtr(0), Maximum: intPtr(httpapi.MaxOffset)}
	// auditOffsetParam is offset on the audit log, whose deep pages use cursors.
	auditOffsetParam = Param{Name: "offset", In: "query", Type: "integer", Description: "Entries to skip; use cursor beyond.", Minimum: intPtr(0), Maximum: intPtr(MaxAuditOffset)}
)

// resourceTypeNames are the audited resource types: the resources
// table's, then the auth table's.
func resourceTypeNames() []string {
	names := make([]string, len(resource.Types))
	for i, t := range resource.Types {
		names[i] = string(t)
	}
	return append(names, audit.AuthResourceTypes...)
}

// Actions lists the audit actions a filter accepts.
var Actions = []string{audit.ActionCreate, audit.ActionUpdate, audit.ActionDelete}

// Common error responses of authenticated routes.
func withErrors(ok map[int]string, statuses ...int) map[int]string {
	out := map[int]string{http.StatusUnauthorized: "Unauthorized", http.StatusInternalServerError: "Detail"}
	for code, schema := range ok {
		out[code] = schema
	}
	for _, code := range statuses {
		switch code {
		case http.StatusUnprocessableEntity:
			out[code] = "ValidationError"
		case http.StatusRequestEntityTooLarge:
			out[code] = "Detail"
		default:
			out[code] = "Message"
		}
	}
	return out
}

// Routes lists every route the API serves.
var Routes = []Route{
	{
		Method: http.MethodPost, Path: BasePath + "/trustmarktypes", Function: function.TrustMarkTypes,
		OperationID: "createTrustMarkType", Operation: resource.OpCreate, ResourceType: resource.TypeTrustMarkType, Summary: "Create a TrustMarkType; an existing tmtype answers 403 with the existing type.",
		Body:      "TrustMarkTypeCreate",
		Responses: withErrors(map[int]string{201: "TrustMarkType", 403: "TrustMarkType"}, 413, 422),
	},
	{
		Method: http.MethodGet, Path: BasePath + "/trustmarktypes", Function: function.TrustMarkTypes,
		OperationID: "listTrustMarkTypes", Summary: "List TrustMarkTypes by id.",
		Params:    []Param{limitParam, offsetParam},
		Responses: withErrors(map[int]string{200: "TrustMarkTypePage"}, 422),
	},
	{
		Method: http.MethodGet, Path: BasePath + "/trustmarktypes/", Function: function.TrustMarkTypes,
		OperationID: "getTrustMarkTypeByTMType", Summary: "Find a TrustMarkType by tmtype (query parameter, or a JSON body {tmtype} as Inmor clients send).",
		Params:    []Param{{Name: "tmtype", In: "query", Type: "string", Description: "The tmtype URL."}},
		Responses: withErrors(map[int]string{200: "TrustMarkType"}, 404, 422),
	},
	{
		Method: http.MethodGet, Path: BasePath + "/trustmarktypes/{id}", Function: function.TrustMarkTypes,
		OperationID: "getTrustMarkType", Summary: "Get a TrustMarkType.",
		Params:    []Param{idParam},
		Responses: withErrors(map[int]string{200: "TrustMarkType"}, 404, 422),
	},
	{
		Method: http.MethodPut, Path: BasePath + "/trustmarktypes/{id}", Function: function.TrustMarkTypes,
		OperationID: "updateTrustMarkType", Operation: resource.OpUpdate, ResourceType: resource.TypeTrustMarkType, Summary: "Update a TrustMarkType; written only when at least one field is given.",
		Params: []Param{idParam}, Body: "TrustMarkTypeUpdate",
		Responses: withErrors(map[int]string{200: "TrustMarkType"}, 404, 409, 413, 422),
	},
	{
		Method: http.MethodPost, Path: BasePath + "/trustmarks", Function: function.TrustMarks,
		OperationID: "createTrustMark", Operation: resource.OpCreate, ResourceType: resource.TypeTrustMark,
		Summary:   "Issue a trust mark; omitted values come from its type. An existing (tmt, domain) answers 403 with the existing mark.",
		Body:      "TrustMarkCreate",
		Responses: withErrors(map[int]string{201: "TrustMark", 403: "TrustMark"}, 400, 404, 413, 422),
	},
	{
		Method: http.MethodGet, Path: BasePath + "/trustmarks", Function: function.TrustMarks,
		OperationID: "listTrustMarks", Summary: "List trust marks by id.",
		Params:    []Param{limitParam, offsetParam},
		Responses: withErrors(map[int]string{200: "TrustMarkPage"}, 422),
	},
	{
		Method: http.MethodPost, Path: BasePath + "/trustmarks/list", Function: function.TrustMarks,
		OperationID: "listTrustMarksByDomain", Summary: "List the trust marks of a domain (\"\" lists all).",
		Params: []Param{limitParam, offsetParam}, Body: "TrustMarkDomain",
		Responses: withErrors(map[int]string{200: "TrustMarkPage"}, 413, 422),
	},
	{
		Method: http.MethodGet, Path: BasePath + "/trustmarks/{id}", Function: function.TrustMarks,
		OperationID: "getTrustMark", Summary: "Get a trust mark.",
		Params:    []Param{idParam},
		Responses: withErrors(map[int]string{200: "TrustMark"}, 404, 422),
	},
	{
		Method: http.MethodPost, Path: BasePath + "/trustmarks/{id}/renew", Function: function.TrustMarks,
		OperationID: "renewTrustMark", Operation: resource.OpRenew, ResourceType: resource.TypeTrustMark,
		Summary:   "Re-sign an active trust mark with a new iat and exp.",
		Params:    []Param{idParam},
		Responses: withErrors(map[int]string{200: "TrustMark"}, 400, 404, 409, 422),
	},
	{
		Method: http.MethodPut, Path: BasePath + "/trustmarks/{id}", Function: function.TrustMarks,
		OperationID: "updateTrustMark", Operation: resource.OpUpdate, ResourceType: resource.TypeTrustMark,
		Summary: "Update a trust mark: active=false revokes it, active=true re-issues it, changed additional_claims re-sign it; omitted fields are kept.",
		Params:  []Param{idParam}, Body: "TrustMarkUpdate",
		Responses: withErrors(map[int]string{200: "TrustMark"}, 404, 409, 413, 422),
	},
	{
		Method: http.MethodPost, Path: BasePath + "/subordinates", Function: function.Subordinates,
		OperationID: "createSubordinate", Operation: resource.OpCreate, ResourceType: resource.TypeSubordinate,
		Summary:   "Register a subordinate and sign its statement. An existing entityid answers 403 with the existing subordinate.",
		Body:      "SubordinateCreate",
		Responses: withErrors(map[int]string{201: "Subordinate", 403: "Subordinate"}, 400, 413, 422),
	},
	{
		Method: http.MethodGet, Path: BasePath + "/subordinates", Function: function.Subordinates,
		OperationID: "listSubordinates", Summary: "List subordinates by id.",
		Params:    []Param{limitParam, offsetParam},
		Responses: withErrors(map[int]string{200: "SubordinatePage"}, 422),
	},
	{
		Method: http.MethodGet, Path: BasePath + "/subordinates/{id}", Function: function.Subordinates,
		OperationID: "getSubordinate", Summary: "Get a subordinate.",
		Params:    []Param{idParam},
		Responses: withErrors(map[int]string{200: "Subordinate"}, 404, 422),
	},
	{
		// Before POST /subordinates/{id}: the first route that matches serves.
		Method: http.MethodPost, Path: BasePath + "/subordinates/fetch-config", Function: function.Subordinates,
		OperationID: "fetchSubordinateConfig",
		Summary:     "Fetch an entity's configuration (<url>/.well-known/openid-federation) and verify it with its own jwks (a read: nothing is stored).",
		Body:        "FetchConfig",
		Responses:   withErrors(map[int]string{200: "FetchedConfig"}, 400, 413, 422),
	},
	{
		Method: http.MethodPost, Path: BasePath + "/subordinates/{id}", Function: function.Subordinates,
		OperationID: "updateSubordinate", Operation: resource.OpUpdate, ResourceType: resource.TypeSubordinate,
		Summary: "Update a subordinate (metadata, forced_metadata and jwks required; omitted optional fields are kept) and re-sign its statement.",
		Params:  []Param{idParam}, Body: "SubordinateUpdate",
		Responses: withErrors(map[int]string{200: "Subordinate"}, 400, 404, 409, 413, 422),
	},
	{
		Method: http.MethodPost, Path: BasePath + "/subordinates/{id}/renew", Function: function.Subordinates,
		OperationID: "renewSubordinate", Operation: resource.OpRenew, ResourceType: resource.TypeSubordinate,
		Summary:   "Re-sign an active subordinate's statement with a new iat and exp.",
		Params:    []Param{idParam},
		Responses: withErrors(map[int]string{200: "Subordinate"}, 400, 404, 409, 422),
	},
	{
		Method: http.MethodPost, Path: BasePath + "/server/entity", Function: function.Subordinates,
		OperationID: "createServerEntity", Operation: resource.OpCreate, ResourceType: resource.TypeServerEntity,
		Summary:   "Sign the trust anchor's entity configuration (no body) and store it as the latest.",
		Responses: withErrors(map[int]string{201: "EntityStatement"}),
	},
	{
		Method: http.MethodGet, Path: BasePath + "/server/entity", Function: function.Subordinates,
		OperationID: "getServerEntity", Summary: "The trust anchor's latest signed entity configuration.",
		Responses: withErrors(map[int]string{200: "EntityStatement"}, 404),
	},
	{
		Method: http.MethodPost, Path: BasePath + "/server/historical_keys", Function: function.Subordinates,
		OperationID: "createHistoricalKeys", Operation: resource.OpUpdate, ResourceType: resource.TypeHistoricalKeys,
		Summary:   "Sign the trust anchor's retired keys (no body; inmorctl signing retire adds them) into a jwk-set+jwt and store it.",
		Responses: withErrors(map[int]string{201: "Message"}, 404),
	},
	{
		Method: http.MethodGet, Path: BasePath + "/auditlog", Function: function.AuditQuery,
		OperationID: "listAuditLog", AuditRead: true, Summary: "List audit entries, newest first.",
		Params: []Param{
			limitParam, auditOffsetParam,
			{Name: "resource_type", In: "query", Type: "string", Enum: resourceTypeNames()},
			{Name: "action", In: "query", Type: "string", Enum: Actions},
			{Name: "event_type", In: "query", Type: "string", Enum: audit.EventTypes},
			{Name: "tenant", In: "query", Type: "string", Description: "Superusers: one tenant's entries; anyone else sees only their own tenant."},
			{Name: "auth_method", In: "query", Type: "string", Enum: AuthMethods},
			{Name: "success", In: "query", Type: "boolean"},
			{Name: "username", In: "query", Type: "string"},
			{Name: "resource_id", In: "query", Type: "integer", Minimum: intPtr(1), Description: "With resource_type: one resource's history."},
			{Name: "since", In: "query", Type: "string", Description: "ISO 8601; entries at or after it."},
			{Name: "until", In: "query", Type: "string", Description: "ISO 8601; entries before it."},
			{Name: "q", In: "query", Type: "string", Description: "Case-insensitive substring of resource_repr (for a failed create, the one its body named), username, endpoint or error."},
			{Name: "cursor", In: "query", Type: "string", Description: "The next_cursor of the previous page (instead of offset)."},
		},
		Responses: withErrors(map[int]string{200: "AuditLogPage"}, 422),
	},
	// Before /auditlog/{id}: the first route that matches serves.
	{
		Method: http.MethodGet, Path: BasePath + "/auditlog/checkpoint", Function: function.AuditQuery,
		OperationID: "getAuditLogCheckpoint", AuditRead: true,
		Summary:   "The latest signed checkpoint of the log's Merkle tree (a C2SP tlog-checkpoint note, text/plain).",
		Responses: withErrors(map[int]string{200: ""}, 404),
	},
	{
		Method: http.MethodGet, Path: BasePath + "/auditlog/consistency", Function: function.AuditQuery,
		OperationID: "proveAuditLogGrowth", AuditRead: true,
		Summary: "Prove that the tree of size to extends the tree of size from.",
		Params: []Param{
			{Name: "from", In: "query", Type: "integer", Required: true, Minimum: intPtr(1), Description: "The older tree size."},
			{Name: "to", In: "query", Type: "integer", Minimum: intPtr(1), Description: "The newer tree size (that of a stored checkpoint); the latest by default."},
		},
		Responses: withErrors(map[int]string{200: "ConsistencyProof"}, 404, 422),
	},
	{
		Method: http.MethodGet, Path: BasePath + "/auditlog/{id}/proof", Function: function.AuditQuery,
		OperationID: "proveAuditLogEntry", AuditRead: true,
		Summary: "Prove that an entry is in the tree of a checkpoint.",
		Params: []Param{idParam,
			{Name: "size", In: "query", Type: "integer", Minimum: intPtr(1), Description: "The tree size (that of a stored checkpoint); the latest by default."},
		},
		Responses: withErrors(map[int]string{200: "InclusionProof"}, 404, 422),
	},
	{
		Method: http.MethodGet, Path: BasePath + "/auditlog/{id}", Function: function.AuditQuery,
		OperationID: "getAuditLogEntry", AuditRead: true, Summary: "Get one audit entry with its snapshots.",
		Params:    []Param{idParam},
		Responses: withErrors(map[int]string{200: "AuditLogEntryDetail"}, 404, 422),
	},
	{
		Method: http.MethodPost, Path: BasePath + "/auth/login", Function: function.Auth,
		OperationID: "login", Summary: "Log in: sets the sessionid and csrftoken cookies; a user with a second factor gets an MFA challenge instead (then POST /auth/login/mfa).", Public: true,
		Body:      "Login",
		Responses: map[int]string{200: "LoginResult", 401: "MessageOnly", 413: "Detail", 422: "ValidationError", 429: "MessageOnly", 500: "Detail"},
	},
	{
		Method: http.MethodPost, Path: BasePath + "/auth/logout", Function: function.Auth,
		OperationID: "logout", Summary: "Log out: the session is revoked server-side.", Public: true,
		Responses: map[int]string{200: "MessageOnly", 500: "Detail"},
	},
	{
		Method: http.MethodGet, Path: BasePath + "/auth/me", Function: function.Auth,
		OperationID: "me", Summary: "The user of the session.", Public: true,
		Responses: map[int]string{200: "User", 401: "MessageOnly", 500: "Detail"},
	},
	{
		Method: http.MethodGet, Path: BasePath + "/auth/csrf", Function: function.Auth,
		OperationID: "csrf", Summary: "A CSRF token; also sets the csrftoken cookie.", Public: true,
		Responses: map[int]string{200: "CSRFToken", 500: "Detail"},
	},
	{
		Method: http.MethodPost, Path: BasePath + "/auth/reauthenticate", Function: function.Auth,
		OperationID: "reauthenticate", Summary: "Confirm the session user's password: a new session (new cookies) that may change second factors for 5 minutes.", Public: true,
		Body:      "Reauthenticate",
		Responses: map[int]string{200: "MessageOnly", 401: "MessageOnly", 403: "Detail", 413: "Detail", 422: "ValidationError", 429: "MessageOnly", 500: "Detail"},
	},
	// Second factors (package mfa): the login's second step, and the
	// session user's own enrolment (session and CSRF checked by the handlers).
	{
		Method: http.MethodPost, Path: BasePath + "/auth/login/mfa", Function: function.Auth,
		OperationID: "loginMFA", Summary: "The second step of a login: the challenge and a TOTP code, a recovery code or a security key's assertion; sets the cookies.", Public: true,
		Body:      "LoginMFA",
		Responses: map[int]string{200: "User", 401: "MessageOnly", 413: "Detail", 422: "ValidationError", 429: "MessageOnly", 500: "Detail"},
	},
	{
		Method: http.MethodPost, Path: BasePath + "/auth/login/mfa/webauthn", Function: function.Auth,
		OperationID: "loginWebAuthn", Summary: "The security key's options (navigator.credentials.get) for a login's second step, by its challenge, which stays unused.", Public: true,
		Body:      "LoginWebAuthn",
		Responses: map[int]string{200: "WebAuthnLoginOptions", 401: "MessageOnly", 413: "Detail", 422: "ValidationError", 500: "Detail"},
	},
	{
		Method: http.MethodGet, Path: BasePath + "/auth/mfa", Function: function.Auth,
		OperationID: "mfaStatus", Summary: "The session user's second factors.", Public: true,
		Responses: map[int]string{200: "MFAStatus", 401: "MessageOnly", 500: "Detail"},
	},
	{
		Method: http.MethodPost, Path: BasePath + "/auth/mfa/totp", Function: function.Auth,
		OperationID: "beginTOTP", Summary: "Start enrolling an authenticator app: a new key (shown once), its otpauth URI and QR code.", Public: true,
		Responses: map[int]string{200: "TOTPEnrolment", 400: "Message", 401: "MessageOnly", 403: "Detail", 500: "Detail"},
	},
	{
		Method: http.MethodPost, Path: BasePath + "/auth/mfa/totp/confirm", Function: function.Auth,
		OperationID: "confirmTOTP", Summary: "Finish enrolling with a code from the app; answers the recovery codes (shown once) when there were none.", Public: true,
		Body:      "TOTPConfirm",
		Responses: map[int]string{200: "RecoveryCodes", 400: "Message", 401: "MessageOnly", 403: "Detail", 413: "Detail", 422: "ValidationError", 500: "Detail"},
	},
	{
		Method: http.MethodDelete, Path: BasePath + "/auth/mfa/totp", Function: function.Auth,
		OperationID: "removeTOTP", Summary: "Remove the authenticator app and the recovery codes.", Public: true,
		Responses: map[int]string{200: "MessageOnly", 400: "Message", 401: "MessageOnly", 403: "Detail", 500: "Detail"},
	},
	{
		Method: http.MethodPost, Path: BasePath + "/auth/mfa/recovery-codes", Function: function.Auth,
		OperationID: "regenerateRecoveryCodes", Summary: "Replace the recovery codes with ten new ones (shown once).", Public: true,
		Responses: map[int]string{200: "RecoveryCodes", 400: "Message", 401: "MessageOnly", 403: "Detail", 500: "Detail"},
	},
	{
		Method: http.MethodPost, Path: BasePath + "/auth/mfa/webauthn", Function: function.Auth,
		OperationID: "beginWebAuthn", Summary: "Start registering a security key or passkey: the options of navigator.credentials.create (10 minutes).", Public: true,
		Responses: map[int]string{200: "WebAuthnOptions", 401: "MessageOnly", 403: "Detail", 500: "Detail"},
	},
	{
		Method: http.MethodPost, Path: BasePath + "/auth/mfa/webauthn/finish", Function: function.Auth,
		OperationID: "finishWebAuthn", Summary: "Finish the registration with the browser's credential; answers the recovery codes (shown once) when there were none.", Public: true,
		Body:      "WebAuthnRegistration",
		Responses: map[int]string{200: "RecoveryCodes", 400: "Message", 401: "MessageOnly", 403: "Detail", 413: "Detail", 422: "ValidationError", 500: "Detail"},
	},
	{
		Method: http.MethodDelete, Path: BasePath + "/auth/mfa/webauthn/{id}", Function: function.Auth,
		OperationID: "removeWebAuthn", Summary: "Remove a security key or passkey.", Public: true,
		Params:    []Param{{Name: "id", In: "path", Type: "string", Required: true, Description: "The credential id (base64url)."}},
		Responses: map[int]string{200: "MessageOnly", 400: "Message", 401: "MessageOnly", 403: "Detail", 500: "Detail"},
	},
	{
		Method: http.MethodGet, Path: BasePath + "/openapi.json", Function: function.AuditQuery,
		OperationID: "openapi", Summary: "This OpenAPI document.", Public: true,
		Responses: map[int]string{200: ""},
	},
	// The federation endpoints: public, outside /api/v1.
	{
		Method: http.MethodGet, Path: SubordinateEventsPath, Function: function.Federation, Public: true,
		OperationID: "getSubordinateEvents",
		Summary:     "A subordinate's events (OpenID Federation Subordinate Events): a signed entity-events-statement+jwt.",
		Params:      []Param{{Name: "sub", In: "query", Type: "string", Required: true, Description: "The subordinate's entity id."}},
		Responses:   map[int]string{200: "", 400: "FederationError", 404: "FederationError", 500: "FederationError"},
	},
	{
		Method: http.MethodPost, Path: SubordinateEventsPath, Function: function.Federation, Public: true,
		OperationID: "postSubordinateEvents",
		Summary:     "The same, with sub in a form body (application/x-www-form-urlencoded).",
		Responses:   map[int]string{200: "", 400: "FederationError", 404: "FederationError", 500: "FederationError"},
	},
	// The admin view: read-only HTML pages for staff sessions.
	// Write methods on the list and the entry answer 405.
	{
		Method: http.MethodGet, Path: AdminPath, Function: function.AuditQuery, Page: true,
		OperationID: PageAdminRoot, Summary: "Redirect to the audit log list.",
	},
	{
		Method: http.MethodGet, Path: AdminPath + "/", Function: function.AuditQuery, Page: true,
		OperationID: PageAdminIndex, Summary: "Redirect to the audit log list.",
	},
	{
		Method: http.MethodGet, Path: AdminPath + "/login/", Function: function.AuditQuery, Page: true,
		OperationID: PageLogin, Summary: "The login form.",
	},
	{
		Method: http.MethodPost, Path: AdminPath + "/login/", Function: function.AuditQuery, Page: true,
		OperationID: PageLoginSubmit, Summary: "Log in (form post with the CSRF token); throttled as the API's login.",
	},
	{
		Method: http.MethodPost, Path: AdminPath + "/login/mfa/", Function: function.AuditQuery, Page: true,
		OperationID: PageLoginMFA, Summary: "The login's second step (form post of a TOTP or recovery code with the challenge); throttled as the login.",
	},
	{
		Method: http.MethodGet, Path: AdminPath + "/mfa/", Function: function.AuditQuery, Page: true,
		OperationID: PageMFA, Summary: "The staff user's second factors.",
	},
	{
		Method: http.MethodPost, Path: AdminPath + "/mfa/totp/", Function: function.AuditQuery, Page: true,
		OperationID: PageMFABeginTOTP, Summary: "Start setting up an authenticator app: its key and QR code, shown once.",
	},
	{
		Method: http.MethodPost, Path: AdminPath + "/mfa/totp/confirm/", Function: function.AuditQuery, Page: true,
		OperationID: PageMFAConfirmTOTP, Summary: "Confirm the authenticator app with a code; shows the recovery codes once.",
	},
	{
		Method: http.MethodPost, Path: AdminPath + "/mfa/totp/remove/", Function: function.AuditQuery, Page: true,
		OperationID: PageMFARemoveTOTP, Summary: "Remove the authenticator app and the recovery codes.",
	},
	{
		Method: http.MethodPost, Path: AdminPath + "/mfa/recovery-codes/", Function: function.AuditQuery, Page: true,
		OperationID: PageMFARecoveryCodes, Summary: "Replace the recovery codes; shows the new ones once.",
	},
	{
		Method: http.MethodPost, Path: AdminPath + "/mfa/reauthenticate/", Function: function.AuditQuery, Page: true,
		OperationID: PageMFAReauthenticate, Summary: "Confirm the password: a new session that may change second factors for 5 minutes.",
	},
	{
		Method: http.MethodPost, Path: AdminPath + "/mfa/webauthn/remove/", Function: function.AuditQuery, Page: true,
		OperationID: PageMFARemoveWebAuthn, Summary: "Remove a security key or passkey.",
	},
	{
		Method: http.MethodGet, Path: AdminPath + "/logout/", Function: function.AuditQuery, Page: true,
		OperationID: PageLogoutConfirm, Summary: "A form to log out.",
	},
	{
		Method: http.MethodPost, Path: AdminPath + "/logout/", Function: function.AuditQuery, Page: true,
		OperationID: PageLogout, Summary: "Log out (form post with the CSRF token).",
	},
	{
		Method: http.MethodGet, Path: AdminAuditLogPath, Function: function.AuditQuery, Page: true,
		OperationID: PageAuditLogList, Summary: "The audit log: filters, search, cursor paging.",
	},
	{
		Method: http.MethodGet, Path: AdminAuditLogPath + "{id}/change/", Function: function.AuditQuery, Page: true,
		OperationID: PageAuditLogEntry, Summary: "One audit entry: every field, the diff and both snapshots.",
	},
	{
		Method: http.MethodGet, Path: AdminPath + "/static/{file}", Function: function.AuditQuery, Page: true,
		OperationID: PageStatic, Summary: "The admin view's stylesheet.",
	},
}

// RoutesOf returns the routes a function serves.
func RoutesOf(function string) []Route {
	var out []Route
	for _, r := range Routes {
		if r.Function == function {
			out = append(out, r)
		}
	}
	return out
}

// requireScope answers 403 when the caller's key scope does not allow the route.
func requireScope(route Route, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.PrincipalFrom(r.Context())
		scopeAllows := p.Scope == auth.ScopeAdmin || route.AuditRead && p.Scope == auth.ScopeAuditRead
		// Only staff manage the federation; anyone else reads the audit
		// log (as their tenant allows) and nothing more. Inmor lets any user
		// do anything.
		staffOnly := !route.AuditRead && !p.IsStaff && !p.IsSuperuser
		if !scopeAllows || staffOnly {
			httpapi.WriteError(w, r, apperr.E(apperr.Op("api.requireScope"), apperr.Forbidden))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// newFunctionHandler builds the router of one function from the route table
// and the function's handlers by operation id. Authenticated routes check
// the key scope; the failures of state-changing routes are recorded as
// attempts, and so are their refusals of an identified caller (a session
// write that failed the CSRF check). A route without a handler, or a
// handler without a route, is a programming error and panics at start.
func newFunctionHandler(function string, authn httpapi.Authenticator, attempts resource.AttemptRecorder, handlers map[string]http.HandlerFunc) http.Handler {
	rt := &httpapi.Router{}
	used := 0
	for _, route := range RoutesOf(function) {
		h, ok := handlers[route.OperationID]
		if !ok {
			panic(fmt.Sprintf("api: no handler for %s (%s)", route.OperationID, route.Key()))
		}
		used++
		var handler http.Handler = h
		if !route.Public && !route.Page {
			handler = requireScope(route, handler)
			var refused httpapi.RefusalHandler
			if route.Operation != "" {
				handler = recordFailures(attempts, route, handler)
				refused = refusalRecorder(attempts, route)
			}
			handler = httpapi.AuthenticatedOrRefused(authn, handler, refused)
		}
		rt.Handle(route.Method, route.Path, handler)
	}
	if used != len(handlers) {
		panic(fmt.Sprintf("api: %s has handlers for operations that are not in the route table", function))
	}
	return httpapi.AccessLog(rt)
}
