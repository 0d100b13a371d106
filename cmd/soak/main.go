// Command soak is `make soak`: a benchmark, not a test, of the local stack
// under a long day's work. It starts a local stack with a moto of its own,
// sends audited writes of all three resource types through the gateway from
// a single client, and prints moto's memory at start and end, the write
// latency and the change→entry lag of the first and the last writes, and
// the total time.
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/auditstream"
	"github.com/inmor/inmor-serverless/shared/localstack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("soak", flag.ContinueOnError)
	flags.SetOutput(stderr)
	writes := flags.Int("writes", 5000, "audited writes to send")
	window := flags.Int("window", 500, "writes in the first and the last window compared")
	settle := flags.Duration("settle", time.Minute, "how long to wait for the last entries after the last write")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *writes < 1 || *window < 1 || *window > *writes {
		return fmt.Errorf("want 1 <= -window (%d) <= -writes (%d)", *window, *writes)
	}
	dir, err := os.MkdirTemp("", "soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	slog.SetDefault(quiet) // the functions log each request to the default logger
	audited := newAuditClock()
	stack, err := localstack.Start(ctx, localstack.Options{
		Getenv: func(name string) string {
			switch name {
			case "SIGNING_KEY_FILE":
				return filepath.Join(dir, "signing-key.json")
			case "AUDIT_LOG_KEY_FILE":
				return filepath.Join(dir, "audit-log-key")
			case "ATTRIBUTION_KEY_FILE":
				return filepath.Join(dir, "attribution-key")
			case "MFA_KEY_FILE":
				return filepath.Join(dir, "mfa-key")
			case "AUDIT_CHECKPOINT_BUCKET":
				return "inmor-checkpoints-soak-" + filepath.Base(dir)
			}
			return ""
		},
		Out:    io.Discard,
		Logger: quiet,
		Audit:  audited.wrap,
	})
	if err != nil {
		return err
	}
	defer stack.Stop()
	moto := stack.Moto()
	rssStart, err := moto.RSS()
	if err != nil {
		return err
	}

	client := &soakClient{base: stack.URL, key: stack.APIKey, http: &http.Client{Timeout: time.Minute}}
	workload, err := newWorkload()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "soak: %d audited writes of TrustMarkType, TrustMark and Subordinate through the local gateway, one client\n", *writes)
	latency := make([]time.Duration, *writes)
	done := make([]time.Time, *writes)
	start := time.Now()
	for i := range *writes {
		if err := ctx.Err(); err != nil {
			return err
		}
		method, path, body := workload.next(i)
		sent := time.Now()
		status, answer, err := client.do(ctx, method, path, body, i)
		if err != nil {
			return fmt.Errorf("write %d (%s %s): %w", i, method, path, err)
		}
		done[i] = time.Now()
		latency[i] = done[i].Sub(sent)
		if status != http.StatusOK && status != http.StatusCreated {
			return fmt.Errorf("write %d (%s %s): %d %s", i, method, path, status, answer)
		}
		if err := workload.created(i, answer); err != nil {
			return fmt.Errorf("write %d (%s %s): %w", i, method, path, err)
		}
		if (i+1)%*window == 0 {
			rss, _ := moto.RSS()
			fmt.Fprintf(stderr, "  %5d writes  %6.1f s  moto RSS %s  p99 latency of the last %d: %s\n",
				i+1, time.Since(start).Seconds(), megabytes(rss), *window, percentile(latency[i+1-*window:i+1], 99))
		}
	}
	if missing := audited.wait(ctx, *writes, *settle); missing > 0 {
		return fmt.Errorf("%d writes had no audit entry %s after the last write", missing, *settle)
	}
	total := time.Since(start)
	rssEnd, err := moto.RSS()
	if err != nil {
		return err
	}

	lag := audited.lags(done)
	first, last := func(d []time.Duration) []time.Duration { return d[:*window] }, func(d []time.Duration) []time.Duration { return d[len(d)-*window:] }
	fmt.Fprintf(stdout, "moto RSS           start %s   end %s   growth %s\n", megabytes(rssStart), megabytes(rssEnd), megabytes(rssEnd-rssStart))
	report := func(name string, d []time.Duration) (firstP99, lastP99 time.Duration) {
		firstP99, lastP99 = percentile(first(d), 99), percentile(last(d), 99)
		fmt.Fprintf(stdout, "%-18s first %d: p50 %s  p99 %s   last %d: p50 %s  p99 %s\n", name,
			*window, percentile(first(d), 50), firstP99, *window, percentile(last(d), 50), lastP99)
		return firstP99, lastP99
	}
	latencyFirst, latencyLast := report("write latency", latency)
	lagFirst, lagLast := report("change→entry lag", lag)
	fmt.Fprintf(stdout, "total              %.1f s (%.0f writes/s)\n", total.Seconds(), float64(*writes)/total.Seconds())
	fmt.Fprintf(stdout, "goals              RSS growth <= 300 MB: %s; last p99 within 2x of first: latency %s, lag %s; lag p99 < 1 s: %s\n",
		verdict(rssEnd-rssStart <= 300<<20), verdict(latencyLast <= 2*latencyFirst), verdict(lagLast <= 2*lagFirst),
		verdict(lagFirst < time.Second && lagLast < time.Second))
	return nil
}

// soakClient sends the writes, each with a User-Agent naming its index, so
// the audit clock can tell which write an entry records.
type soakClient struct {
	base, key string
	http      *http.Client
}

func (c *soakClient) do(ctx context.Context, method, path string, body any, index int) (int, []byte, error) {
	var reader io.Reader
	if body != nil {
		encoded, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		reader = bytes.NewReader(encoded)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, reader)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("X-API-Key", c.key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent(index))
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	return resp.StatusCode, answer, err
}

func userAgent(index int) string { return fmt.Sprintf("soak/%d", index) }

// auditClock records when each write's audit entry was appended: the
// moment the audit function's append transaction returned.
type auditClock struct {
	mu      sync.Mutex
	at      map[int]time.Time
	changed chan struct{}
}

func newAuditClock() *auditClock {
	return &auditClock{at: map[int]time.Time{}, changed: make(chan struct{}, 1)}
}

// wrap is localstack.Options.Audit: the same audit handler, with its
// journal timed.
func (a *auditClock) wrap(next localstack.StreamHandler) localstack.StreamHandler {
	h, ok := next.(auditstream.Handler)
	if !ok {
		panic(fmt.Sprintf("soak: the local stack's audit handler is a %T, not an auditstream.Handler", next))
	}
	h.Journal = timedJournal{Journal: h.Journal, clock: a}
	return h
}

// timedJournal records the time of each appended entry of a soak write.
type timedJournal struct {
	audit.Journal
	clock *auditClock
}

func (j timedJournal) Append(ctx context.Context, e *audit.Entry) (bool, error) {
	appended, err := j.Journal.Append(ctx, e)
	if err != nil || !appended || e.UserAgent == nil {
		return appended, err
	}
	var index int
	if _, scanErr := fmt.Sscanf(*e.UserAgent, "soak/%d", &index); scanErr == nil {
		j.clock.record(index, time.Now())
	}
	return appended, err
}

func (a *auditClock) record(index int, at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, seen := a.at[index]; !seen {
		a.at[index] = at
	}
	select {
	case a.changed <- struct{}{}:
	default:
	}
}

// wait waits until n writes have entries, at most timeout; it returns how
// many have none.
func (a *auditClock) wait(ctx context.Context, n int, timeout time.Duration) int {
	deadline := time.After(timeout)
	for {
		a.mu.Lock()
		missing := n - len(a.at)
		a.mu.Unlock()
		if missing <= 0 {
			return 0
		}
		select {
		case <-a.changed:
		case <-deadline:
			return missing
		case <-ctx.Done():
			return missing
		}
	}
}

// lags returns, per write, the time from its answer to its entry (0 when
// the entry was written before the answer arrived).
func (a *auditClock) lags(done []time.Time) []time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	lags := make([]time.Duration, len(done))
	for i, d := range done {
		lags[i] = max(a.at[i].Sub(d), 0)
	}
	return lags
}

// workload is the sequence of writes: rounds of eight, each creating a
// TrustMarkType, a TrustMark and a Subordinate and changing each of them
// (update, renew), so every kind of audited write recurs and the tables
// grow as a day of use would grow them.
type workload struct {
	jwks                  map[string]any
	typeID, markID, subID int64
}

func newWorkload() (*workload, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	point, err := key.PublicKey.Bytes()
	if err != nil {
		return nil, err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	return &workload{jwks: map[string]any{"keys": []any{map[string]any{
		"kty": "EC", "crv": "P-256", "x": b64(point[1:33]), "y": b64(point[33:]), "kid": "soak-1", "use": "sig",
	}}}}, nil
}

func (w *workload) next(i int) (method, path string, body any) {
	round := i / 8
	switch i % 8 {
	case 0:
		return http.MethodPost, "/api/v1/trustmarktypes", map[string]any{"tmtype": fmt.Sprintf("https://soak.example.org/trust-marks/%d", round)}
	case 1:
		return http.MethodPut, fmt.Sprintf("/api/v1/trustmarktypes/%d", w.typeID), map[string]any{"renewal_time": round % 48}
	case 2:
		return http.MethodPost, "/api/v1/trustmarks", map[string]any{"tmt": w.typeID, "domain": fmt.Sprintf("https://rp%d.soak.example.org", round)}
	case 3:
		return http.MethodPost, fmt.Sprintf("/api/v1/trustmarks/%d/renew", w.markID), nil
	case 4:
		return http.MethodPut, fmt.Sprintf("/api/v1/trustmarks/%d", w.markID), map[string]any{"additional_claims": map[string]any{"ref": fmt.Sprintf("soak-%d", round)}}
	case 5:
		return http.MethodPost, "/api/v1/subordinates", w.subordinate(round, "entityid", fmt.Sprintf("https://op%d.soak.example.org", round))
	case 6:
		return http.MethodPost, fmt.Sprintf("/api/v1/subordinates/%d", w.subID), w.subordinate(round+1, "", "")
	default:
		return http.MethodPost, fmt.Sprintf("/api/v1/subordinates/%d/renew", w.subID), nil
	}
}

// subordinate is a Subordinate body of about 3 KB, the size of a real
// OpenID Provider's metadata; version changes its metadata.
func (w *workload) subordinate(version int, field, value string) map[string]any {
	host := fmt.Sprintf("https://op%d.soak.example.org", version)
	body := map[string]any{
		"metadata": map[string]any{
			"openid_provider": map[string]any{
				"issuer": host, "authorization_endpoint": host + "/authorize", "token_endpoint": host + "/token",
				"userinfo_endpoint": host + "/userinfo", "jwks_uri": host + "/jwks", "registration_endpoint": host + "/register",
				"scopes_supported":                      []any{"openid", "profile", "email", "address", "phone", "offline_access"},
				"response_types_supported":              []any{"code", "id_token", "code id_token"},
				"grant_types_supported":                 []any{"authorization_code", "refresh_token", "client_credentials"},
				"subject_types_supported":               []any{"public", "pairwise"},
				"id_token_signing_alg_values_supported": []any{"ES256", "RS256", "PS256", "EdDSA"},
				"claims_supported":                      []any{"sub", "iss", "aud", "exp", "iat", "name", "given_name", "family_name", "email", "email_verified", "address", "phone_number"},
				"organization_name":                     fmt.Sprintf("Soak Test Organisation %d", version),
				"contacts":                              []any{"ops@soak.example.org", "security@soak.example.org"},
				"policy_uri":                            host + "/policy", "tos_uri": host + "/tos", "logo_uri": host + "/logo.png",
			},
			"federation_entity": map[string]any{
				"organization_name": fmt.Sprintf("Soak Test Organisation %d", version), "homepage_uri": host,
				"federation_fetch_endpoint": host + "/fetch", "federation_list_endpoint": host + "/list",
			},
		},
		"forced_metadata": map[string]any{"openid_provider": map[string]any{"grant_types_supported": []any{"authorization_code"}}},
		"jwks":            w.jwks,
	}
	if field != "" {
		body[field] = value
	}
	return body
}

// created records the id a create answered.
func (w *workload) created(i int, answer []byte) error {
	var ids *int64
	switch i % 8 {
	case 0:
		ids = &w.typeID
	case 2:
		ids = &w.markID
	case 5:
		ids = &w.subID
	default:
		return nil
	}
	var resource struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(answer, &resource); err != nil || resource.ID == 0 {
		return fmt.Errorf("no id in %s", answer)
	}
	*ids = resource.ID
	return nil
}

func percentile(d []time.Duration, p int) time.Duration {
	sorted := slices.Clone(d)
	slices.Sort(sorted)
	index := (len(sorted)*p + 99) / 100
	return sorted[max(index-1, 0)].Round(100 * time.Microsecond)
}

func megabytes(bytes int64) string { return fmt.Sprintf("%.1f MB", float64(bytes)/(1<<20)) }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}
