// Package entityconfig fetches an entity's configuration
// (<entity id>/.well-known/openid-federation) and verifies it, for the
// subordinates function: the JWS with go-jose (entity-statement+jwt, a key
// of the given set, iss = sub = the entity id, exp and iat with a leeway),
// the claims' shapes. The fetch goes through a guarded client, since
// callers choose the URL: https only, public addresses only (judged at
// connect time, so DNS rebinding cannot pass), a few https redirects
// through the same guard, a timeout and a body limit. Every failure (but a
// cancelled request) is an apperr.Invalid with Inmor's message.
package entityconfig

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/jwk"
)

// WellKnownPath is appended to an entity id to find its configuration.
const WellKnownPath = "/.well-known/openid-federation"

// JWTType is the typ header of an entity configuration.
const JWTType = "entity-statement+jwt"

// Leeway is the clock skew allowed on exp and iat.
const Leeway = 60 * time.Second

// algorithms are the JWS algorithms an entity configuration may use.
var algorithms = []jose.SignatureAlgorithm{
	jose.ES256, jose.ES384, jose.ES512, jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512, jose.EdDSA,
}

// Options configure a Fetcher. The zero value is the production setting.
type Options struct {
	// InsecureAllow lists prefixes a fetch may reach though they are not
	// public (a test server on loopback). For tests only: production code
	// never sets it.
	InsecureAllow []netip.Prefix
	// RootCAs verify servers' certificates; nil: the system's roots.
	RootCAs *x509.CertPool
	// Timeout bounds one fetch; DefaultTimeout when zero.
	Timeout time.Duration
	// Now is the time claims are judged at; time.Now when nil.
	Now func() time.Time
}

// Fetcher fetches and verifies entity configurations through the guarded
// client. It implements resource.EntityConfigurations.
type Fetcher struct {
	client *http.Client
	now    func() time.Time
}

// New returns a Fetcher.
func New(o Options) *Fetcher {
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &Fetcher{client: newClient(guard{allow: o.InsecureAllow}, o.RootCAs, timeout), now: now}
}

// Fetch fetches entityID's entity configuration and verifies it with keys
// (a JWK Set), or with its own jwks when keys is nil, and returns its
// claims (numbers as json.Number). Every failure is an apperr.Invalid error
// whose message is Inmor's, but for a request the caller cancelled.
func (f *Fetcher) Fetch(ctx context.Context, entityID string, keys map[string]any) (map[string]any, error) {
	token, err := f.get(ctx, entityID)
	if err != nil {
		return nil, err
	}
	return Verify(token, entityID, keys, f.now())
}

// get fetches the configuration's compact JWS.
func (f *Fetcher) get(ctx context.Context, entityID string) (string, error) {
	u, err := url.Parse(strings.TrimSuffix(entityID, "/") + WellKnownPath)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return "", invalid(err, fmt.Sprintf("Could not connect to %s. Please check the URL and ensure the domain exists.", entityID))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", invalid(err, fmt.Sprintf("Failed to reach %s: %v", entityID, err))
	}
	req.Header.Set("Accept", "application/entity-statement+jwt")
	resp, err := f.client.Do(req)
	if err != nil {
		return "", transportError(entityID, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return "", invalid(nil, fmt.Sprintf("No OpenID Federation configuration found at %s%s", entityID, WellKnownPath))
	case resp.StatusCode != http.StatusOK:
		return "", invalid(nil, fmt.Sprintf("Failed to fetch entity configuration: Fetching payload returns %d for %s", resp.StatusCode, entityID))
	case resp.ContentLength > MaxBodyBytes:
		return "", tooLarge(entityID)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodyBytes+1))
	if err != nil {
		return "", transportError(entityID, err)
	}
	if len(body) > MaxBodyBytes {
		return "", tooLarge(entityID)
	}
	return string(bytes.TrimSpace(body)), nil
}

func tooLarge(entityID string) error {
	return invalid(nil, fmt.Sprintf("Failed to reach %s: the response is larger than %d bytes", entityID, MaxBodyBytes))
}

// invalid is a failure the caller is told about (400), with its cause.
func invalid(cause error, message string) error {
	if cause == nil {
		return apperr.E(apperr.Invalid, message)
	}
	return apperr.E(apperr.Invalid, cause, message)
}

// transportError tells a failed request apart as Inmor does: a timeout, a
// connection that could not be made (no such host, refused, an address
// the guard refuses, TLS), or anything else. A request whose caller hung
// up is no failure of the entity: its error is returned as it is.
func transportError(entityID string, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	var (
		netErr   net.Error
		redirect *redirectError
		refusal  *RefusedError
		dnsErr   *net.DNSError
		opErr    *net.OpError
		certErr  *tls.CertificateVerificationError
		recErr   tls.RecordHeaderError
		alertErr tls.AlertError
	)
	switch {
	case errors.As(err, &redirect):
		return invalid(err, fmt.Sprintf("Failed to reach %s: %s", entityID, redirect.reason))
	case errors.As(err, &refusal), errors.As(err, &dnsErr), errors.As(err, &certErr), errors.As(err, &recErr), errors.As(err, &alertErr),
		errors.As(err, &opErr) && opErr.Op == "dial" && !opErr.Timeout():
		return invalid(err, fmt.Sprintf("Could not connect to %s. Please check the URL and ensure the domain exists.", entityID))
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return invalid(err, fmt.Sprintf("Connection to %s timed out. Please try again.", entityID))
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	return invalid(err, fmt.Sprintf("Failed to reach %s: %v", entityID, err))
}

// Messages of configurations that are not what they should be.
const (
	msgNotAJWT       = "Invalid response from server. No valid OpenID Federation JWT found."
	msgSignature     = "Entity configuration signature validation failed."
	msgInvalidPrefix = "Error fetching entity configuration: "
)

// Verify checks an entity configuration, a compact JWS, of entityID: typ
// entity-statement+jwt, signed by a key of keys (a JWK Set; the
// configuration's own jwks when nil; when the header names a kid, a key
// of that kid or of none), iss and sub equal to entityID, exp not past and iat not ahead
// of now (with Leeway), jwks a valid set of public keys, and metadata,
// authority_hints, trust_marks and jwks_uri of their types when present.
// It returns the claims, numbers as json.Number.
func Verify(token, entityID string, keys map[string]any, now time.Time) (map[string]any, error) {
	jws, err := jose.ParseSignedCompact(token, algorithms)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, invalid(err, msgNotAJWT)
	}
	header := jws.Signatures[0].Protected
	claims, err := decodeObject(jws.UnsafePayloadWithoutVerification())
	if err != nil {
		return nil, invalid(err, msgNotAJWT)
	}
	if typ, _ := header.ExtraHeaders[jose.HeaderType].(string); typ != JWTType {
		return nil, invalid(nil, msgInvalidPrefix+fmt.Sprintf("typ is %q, want %q", typ, JWTType))
	}
	if keys == nil {
		if err := jwk.ValidateSet(claims["jwks"]); err != nil {
			return nil, invalid(err, msgInvalidPrefix+"jwks: "+err.Error())
		}
		keys = claims["jwks"].(map[string]any)
	}
	if !verified(jws, header.KeyID, keys) {
		return nil, invalid(nil, msgSignature)
	}
	if err := checkClaims(claims, entityID, now); err != nil {
		return nil, invalid(err, msgInvalidPrefix+err.Error())
	}
	return claims, nil
}

// verified reports whether a key of keys verifies the JWS: a key whose kid
// is kid or that has none, or any key when kid is empty.
func verified(jws *jose.JSONWebSignature, kid string, keys map[string]any) bool {
	list, _ := keys["keys"].([]any)
	for _, k := range list {
		raw, ok := k.(map[string]any)
		if !ok {
			continue
		}
		if id, _ := raw["kid"].(string); kid != "" && id != "" && id != kid {
			continue
		}
		pub, err := jwk.ParsePublic(raw)
		if err != nil {
			continue
		}
		if _, err := jws.Verify(pub); err == nil {
			return true
		}
	}
	return false
}

// checkClaims checks the claims an entity configuration must have, and the
// types of those it may have.
func checkClaims(claims map[string]any, entityID string, now time.Time) error {
	for _, name := range []string{"iss", "sub"} {
		if v, _ := claims[name].(string); v != entityID {
			return fmt.Errorf("%s is %v, want the entity id %s", name, jsonText(claims[name]), entityID)
		}
	}
	exp, err := numericDate(claims, "exp")
	if err != nil {
		return err
	}
	if now.After(exp.Add(Leeway)) {
		return fmt.Errorf("the entity configuration expired at %s", exp.UTC().Format(time.RFC3339))
	}
	iat, err := numericDate(claims, "iat")
	if err != nil {
		return err
	}
	if iat.After(now.Add(Leeway)) {
		return fmt.Errorf("the entity configuration is issued in the future (iat %s)", iat.UTC().Format(time.RFC3339))
	}
	if err := jwk.ValidateSet(claims["jwks"]); err != nil {
		return fmt.Errorf("jwks: %w", err)
	}
	if v, ok := claims["metadata"]; ok {
		if _, isObject := v.(map[string]any); !isObject {
			return errors.New("metadata must be an object")
		}
	}
	if v, ok := claims["jwks_uri"]; ok {
		if _, isString := v.(string); !isString {
			return errors.New("jwks_uri must be a string")
		}
	}
	if v, ok := claims["trust_marks"]; ok {
		if _, isArray := v.([]any); !isArray {
			return errors.New("trust_marks must be an array")
		}
	}
	if v, ok := claims["authority_hints"]; ok {
		hints, isArray := v.([]any)
		for _, h := range hints {
			if _, isString := h.(string); !isString {
				isArray = false
			}
		}
		if !isArray {
			return errors.New("authority_hints must be an array of entity ids")
		}
	}
	return nil
}

// numericDate reads a NumericDate claim (seconds since the epoch, a
// fraction allowed).
func numericDate(claims map[string]any, name string) (time.Time, error) {
	n, ok := claims[name].(json.Number)
	if !ok {
		return time.Time{}, fmt.Errorf("%s is missing or not a number", name)
	}
	f, err := n.Float64()
	if err != nil || f < 0 || f > 1e11 {
		return time.Time{}, fmt.Errorf("%s is not a valid time", name)
	}
	return time.Unix(0, 0).Add(time.Duration(f * float64(time.Second))), nil
}

// jsonText shows a claim's value as JSON, for messages.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil || v == nil {
		return "missing"
	}
	return string(b)
}

// decodeObject decodes one JSON object, numbers as json.Number.
func decodeObject(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, err
	}
	if obj == nil {
		return nil, errors.New("not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON object")
	}
	return obj, nil
}
