package operator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/inmor/inmor-serverless/shared/app"
	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/resource"
	"github.com/inmor/inmor-serverless/shared/storage"
	"github.com/inmor/inmor-serverless/shared/tables"
)

// signingCommands manage the trust anchor's retired keys, which
// POST /api/v1/server/historical_keys signs.
func signingCommands() []command {
	return []command{
		{"signing", "retire", "signing retire --jwk FILE --exp TIME [--revoked-reason R]",
			"Add a retired public key (a JWK file; private members are refused) to the\n" +
				"trust anchor's historical keys, valid until --exp (RFC 3339 or epoch\n" +
				"seconds); with --revoked-reason (unspecified, compromised, superseded) it\n" +
				"is marked revoked now. Retiring the same key again replaces its entry.\n" +
				"Then POST /api/v1/server/historical_keys signs the list. The resources\n" +
				"table is $RESOURCES_TABLE (default " + tables.Resources.DefaultName + ").",
			(*cli).signingRetire},
		{"signing", "list", "signing list",
			"List the retired keys: kid, key type, exp, revocation.",
			(*cli).signingList},
	}
}

// maxJWKFile bounds the key file retire reads.
const maxJWKFile = 64 << 10

// server opens the resources table for the trust anchor's statements; its
// writes are signed with the attribution key the functions read (without
// one they are recorded out-of-band).
func (c *cli) server(ctx context.Context) (resource.Server, error) {
	client, err := c.openDynamoDB(ctx)
	if err != nil {
		return resource.Server{}, err
	}
	key, err := app.AttributionKey.FromEnv(c.getenv)
	if err != nil {
		return resource.Server{}, fmt.Errorf("attribution key: %w", err)
	}
	config := app.ConfigFromEnv(c.getenv)
	store := &dynamo.Resources{Client: client, Table: tables.Resources.Name(c.getenv), AttributionKey: key}
	return resource.Server{Store: store, Config: resource.ServerConfig{EntityID: config.EntityID}}, nil
}

func (c *cli) signingRetire(ctx context.Context, args []string) error {
	f := c.flags("signing", "retire")
	file := f.String("jwk", "", "the retired public key, a JWK file (required)")
	expFlag := f.String("exp", "", "until when signatures of the key stay valid: RFC 3339 or epoch seconds (required)")
	reason := f.String("revoked-reason", "", "mark the key revoked now: "+strings.Join(resource.RevocationReasons, ", "))
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.require("jwk", *file); err != nil {
		return err
	}
	if err := f.require("exp", *expFlag); err != nil {
		return err
	}
	exp, err := parseTimeFlag(*expFlag)
	if err != nil {
		return f.fail("--exp: %v", err)
	}
	key, err := readJWKFile(*file)
	if err != nil {
		return f.fail("--jwk: %v", err)
	}
	var rev *resource.Revocation
	if f.given("revoked-reason") {
		rev = &resource.Revocation{Reason: *reason, At: time.Now().UTC()}
	}
	server, err := c.server(ctx)
	if err != nil {
		return err
	}
	operator, err := c.operatorAttribution(ctx)
	if err != nil {
		return err
	}
	requestID, err := auth.NewSecret()
	if err != nil {
		return err
	}
	a := *operator
	a.RequestID = "cli-" + requestID[:22] // one request: the audit log's replay check
	h, err := server.RetireKey(ctx, key, exp, rev, a)
	if err != nil {
		if e := apperrMessage(err); e != "" {
			return failure(e)
		}
		return err
	}
	last := h.Keys[len(h.Keys)-1]
	fmt.Fprintf(c.stdout, "Retired key %v (exp %s); %d retired key(s) in all.\n", last["kid"], exp.UTC().Format(time.RFC3339), len(h.Keys))
	return nil
}

func (c *cli) signingList(ctx context.Context, args []string) error {
	f := c.flags("signing", "list")
	if err := f.parse(args); err != nil {
		return err
	}
	server, err := c.server(ctx)
	if err != nil {
		return err
	}
	h, err := server.Store.HistoricalKeys(ctx)
	if apperr.Is(apperr.NotFound, err) || err == nil && len(h.Keys) == 0 {
		fmt.Fprintln(c.stdout, "No retired keys.")
		return nil
	}
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "Kid\tType\tExp\tRevoked")
	for _, k := range h.Keys {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", cell(fmt.Sprint(k["kid"])), cell(fmt.Sprint(k["kty"])), epochCell(k["exp"]), revokedCell(k["revoked"]))
	}
	return w.Flush()
}

// parseTimeFlag reads RFC 3339 or epoch seconds.
func parseTimeFlag(s string) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("want RFC 3339 (2027-01-01T00:00:00Z) or epoch seconds, got %q", s)
	}
	return t.UTC(), nil
}

// readJWKFile reads one JWK (a JSON object, numbers kept as written).
func readJWKFile(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) > maxJWKFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxJWKFile)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var key map[string]any
	if err := d.Decode(&key); err != nil || key == nil {
		return nil, fmt.Errorf("%s does not hold a JWK (a JSON object)", path)
	}
	return key, nil
}

// apperrMessage is the message of a refusal worded for the caller, with
// the field it concerns.
func apperrMessage(err error) string {
	var e *apperr.Error
	if !errors.As(err, &e) || e.Message == "" {
		return ""
	}
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// epochCell shows an epoch-seconds value in RFC 3339.
func epochCell(v any) string {
	n, err := storage.Int(v)
	if err != nil {
		return "-"
	}
	return time.Unix(n, 0).UTC().Format(time.RFC3339)
}

// revokedCell shows a revocation: its time and reason, "-" when none.
func revokedCell(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return "-"
	}
	out := epochCell(m["revoked_at"])
	if reason, _ := m["reason"].(string); reason != "" {
		out += " (" + cell(reason) + ")"
	}
	return out
}
