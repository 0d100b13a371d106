package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"

	"github.com/inmor/inmor-serverless/shared/app"
)

// Config is what a deployment chooses, read from CDK context values
// (cdk.json, or `-c key=value` on the command line).
type Config struct {
	// StackName names the CloudFormation stack (context stackName).
	StackName string
	// BuildDir holds the Lambda artifacts, <BuildDir>/<function>/bootstrap,
	// as `make build` writes them (context buildDir).
	BuildDir string
	// AllowedOrigins may call the API from a browser: CORS and the session
	// CSRF origin check (context allowedOrigins, comma-separated).
	AllowedOrigins []string
	// EntityID is the trust anchor's entity id, TA_ENTITY_ID (context
	// entityId). Empty: the API's own URL, a placeholder until you set it.
	EntityID string
	// TrustMarkIssuer is the iss of trust marks (context trustMarkIssuer).
	// Empty: the entity id.
	TrustMarkIssuer string
	// AlarmEmail, when set, subscribes an address to the alarm topic
	// (context alarmEmail).
	AlarmEmail string
	// BreakGlassRoleArn names the one IAM role of the account that may
	// change the key policy of, disable or schedule the deletion of the
	// signing key and the audit log key, and change the audit table's
	// control plane (backups, TTL, settings, resource policy, deletion);
	// deployments that change those run as it (context breakGlassRoleArn).
	// Empty: none of those actions is restricted, and synthesis warns.
	BreakGlassRoleArn string
	// RetainData keeps the resources and auth tables, and the MFA key that
	// seals the auth table's TOTP secrets, when the stack is deleted
	// (context retainData, default true). The audit table and the signing
	// key are always kept.
	RetainData bool
	// MFARequiredForStaff refuses staff sessions opened without a second
	// factor: MFA_REQUIRED_FOR_STAFF of every API function (context
	// mfaRequiredForStaff, default false). API keys are not affected.
	MFARequiredForStaff bool
	// APIRateLimit and APIBurstLimit throttle every route of the stage, in
	// requests per second (contexts apiRateLimit, apiBurstLimit).
	APIRateLimit  float64
	APIBurstLimit float64
	// LoginRateLimit and LoginBurstLimit throttle POST /auth/login, whose
	// password hashing is the most expensive request (contexts
	// loginRateLimit, loginBurstLimit).
	LoginRateLimit  float64
	LoginBurstLimit float64
	// EventsRateLimit and EventsBurstLimit throttle each public federation
	// route (Subordinate Events), so that public traffic cannot use up the
	// admin API's share (contexts eventsRateLimit, eventsBurstLimit).
	EventsRateLimit  float64
	EventsBurstLimit float64
	// LogRetentionDays is how long the functions' logs, the API's access
	// logs (which hold source IPs) and the trail's log files are kept; the
	// log groups and the trail's bucket are kept when the stack is deleted
	// (context logRetentionDays, one of CloudWatch's retention periods).
	LogRetentionDays int
	// Server holds the optional settings of the trust anchor's entity
	// configuration, given to the subordinates function (which signs it):
	// contexts authorityHints (TA_AUTHORITY_HINTS: comma-separated, or a
	// list), trustMarks (TA_TRUST_MARKS: a JSON array, or the array
	// itself), trustMarkIssuers (TA_TRUST_MARK_ISSUERS: a JSON object, or
	// the object itself) and serverExpiryHours (TA_SERVER_EXPIRY_HOURS).
	Server app.ServerSettings
	// EventsTTLHours and EventsInformationURI are the Subordinate Events
	// statements' lifetime and information_uri template, given to the
	// federation function (contexts subordinateEventsTtlHours,
	// subordinateEventsInformationUri).
	EventsTTLHours       string
	EventsInformationURI string
	// WebAuthnRPID is the WebAuthn relying party id, given to the auth
	// function: a custom domain's parent, say (context webAuthnRpId).
	// Empty: the API's host.
	WebAuthnRPID string
	// CheckpointRetentionDays is how long the Object Lock of the bucket
	// of checkpoint copies keeps each one, in compliance mode: no one can
	// delete it or shorten it (context checkpointRetentionDays).
	CheckpointRetentionDays int
}

// logRetentionPeriods are the retention periods CloudWatch Logs accepts, in days.
var logRetentionPeriods = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// roleArn matches the ARN of an IAM role (with its path, if any).
var roleArn = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$`)

// DefaultConfig is the configuration when no context value is given.
func DefaultConfig() Config {
	return Config{
		StackName:        "Inmor",
		BuildDir:         "build",
		RetainData:       true,
		APIRateLimit:     50,
		APIBurstLimit:    100,
		LoginRateLimit:   5,
		LoginBurstLimit:  10,
		EventsRateLimit:  20,
		EventsBurstLimit: 40,

		CheckpointRetentionDays: 400,
		LogRetentionDays:        90,
	}
}

// ConfigFromContext reads the configuration from the app's context.
func ConfigFromContext(app awscdk.App) (Config, error) {
	c := DefaultConfig()
	get := func(key string) string {
		v := app.Node().TryGetContext(&key)
		switch v := v.(type) {
		case nil:
			return ""
		case string:
			return strings.TrimSpace(v)
		case bool:
			return strconv.FormatBool(v)
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64)
		default:
			return strings.TrimSpace(fmt.Sprint(v))
		}
	}
	if v := get("stackName"); v != "" {
		c.StackName = v
	}
	if v := get("buildDir"); v != "" {
		c.BuildDir = v
	}
	c.AllowedOrigins = splitList(get("allowedOrigins"))
	c.EntityID = get("entityId")
	c.TrustMarkIssuer = get("trustMarkIssuer")
	c.AlarmEmail = get("alarmEmail")
	c.BreakGlassRoleArn = get("breakGlassRoleArn")
	if c.BreakGlassRoleArn != "" && !roleArn.MatchString(c.BreakGlassRoleArn) {
		return c, fmt.Errorf("context breakGlassRoleArn: want an IAM role ARN (arn:aws:iam::<account>:role/<name>), got %q", c.BreakGlassRoleArn)
	}
	if v := get("retainData"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("context retainData: %w", err)
		}
		c.RetainData = b
	}
	if v := get("mfaRequiredForStaff"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("context mfaRequiredForStaff: %w", err)
		}
		c.MFARequiredForStaff = b
	}
	for key, into := range map[string]*float64{
		"apiRateLimit": &c.APIRateLimit, "apiBurstLimit": &c.APIBurstLimit,
		"loginRateLimit": &c.LoginRateLimit, "loginBurstLimit": &c.LoginBurstLimit,
		"eventsRateLimit": &c.EventsRateLimit, "eventsBurstLimit": &c.EventsBurstLimit,
	} {
		if v := get(key); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f <= 0 {
				return c, fmt.Errorf("context %s: want a positive number, got %q", key, v)
			}
			*into = f
		}
	}
	if v := get("logRetentionDays"); v != "" {
		days, err := strconv.Atoi(v)
		if err != nil || !slices.Contains(logRetentionPeriods, days) {
			return c, fmt.Errorf("context logRetentionDays: want one of CloudWatch's retention periods %v, got %q", logRetentionPeriods, v)
		}
		c.LogRetentionDays = days
	}
	if v := get("checkpointRetentionDays"); v != "" {
		days, err := strconv.Atoi(v)
		if err != nil || days < 1 || days > 36500 {
			return c, fmt.Errorf("context checkpointRetentionDays: want a number of days from 1 to 36500, got %q", v)
		}
		c.CheckpointRetentionDays = days
	}
	if err := c.readFunctionSettings(app, get); err != nil {
		return c, err
	}
	for _, o := range c.AllowedOrigins {
		if o == "*" || !(strings.HasPrefix(o, "https://") || strings.HasPrefix(o, "http://")) || strings.HasSuffix(o, "/") {
			return c, fmt.Errorf("context allowedOrigins: %q is not an origin (scheme://host[:port], no wildcard, no path)", o)
		}
	}
	return c, nil
}

// hostName matches a DNS name: the WebAuthn relying party id.
var hostName = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)

// readFunctionSettings reads the settings the stack passes on to the
// functions' environment, each checked as the function will read it (its
// error names the context value and the variable).
func (c *Config) readFunctionSettings(cdkApp awscdk.App, get func(string) string) error {
	// asJSON is a context value as JSON: a string as given, else encoded
	// (cdk.json may hold the array or object itself).
	asJSON := func(key string) (string, error) {
		switch v := cdkApp.Node().TryGetContext(&key).(type) {
		case nil:
			return "", nil
		case string:
			return strings.TrimSpace(v), nil
		default:
			b, err := json.Marshal(v)
			return string(b), err
		}
	}
	hints, err := asJSON("authorityHints")
	if err != nil {
		return fmt.Errorf("context authorityHints: %w", err)
	}
	var list []string
	if json.Unmarshal([]byte(hints), &list) == nil {
		hints = strings.Join(list, ",")
	}
	c.Server.AuthorityHints = hints
	if c.Server.TrustMarks, err = asJSON("trustMarks"); err != nil {
		return fmt.Errorf("context trustMarks: %w", err)
	}
	if c.Server.TrustMarkIssuers, err = asJSON("trustMarkIssuers"); err != nil {
		return fmt.Errorf("context trustMarkIssuers: %w", err)
	}
	c.Server.ExpiryHours = get("serverExpiryHours")
	c.EventsTTLHours, c.EventsInformationURI = get("subordinateEventsTtlHours"), get("subordinateEventsInformationUri")
	c.WebAuthnRPID = strings.ToLower(get("webAuthnRpId"))

	for key, one := range map[string]app.ServerSettings{
		"authorityHints": {AuthorityHints: c.Server.AuthorityHints}, "trustMarks": {TrustMarks: c.Server.TrustMarks},
		"trustMarkIssuers": {TrustMarkIssuers: c.Server.TrustMarkIssuers}, "serverExpiryHours": {ExpiryHours: c.Server.ExpiryHours},
	} {
		if _, err := (app.Config{Server: one}).ServerConfig(); err != nil {
			return fmt.Errorf("context %s: %w", key, err)
		}
	}
	if _, err := (app.Config{EventsTTLHours: c.EventsTTLHours}).EventsTTL(); err != nil {
		return fmt.Errorf("context subordinateEventsTtlHours: %w", err)
	}
	if u := c.EventsInformationURI; u != "" && !strings.HasPrefix(u, "https://") {
		return fmt.Errorf("context subordinateEventsInformationUri: want an https URL template ({sub}, {entry}), got %q", u)
	}
	if c.WebAuthnRPID != "" && !hostName.MatchString(c.WebAuthnRPID) {
		return fmt.Errorf("context webAuthnRpId: want a host name (the API's domain or a parent of it), got %q", c.WebAuthnRPID)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
