package localstack_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/inmor/inmor-serverless/shared/localstack"
)

const subEntityID = "https://rp.example.org"

// subKeys are keys generated once for the subordinate tests.
var subKeys struct {
	once sync.Once
	ec   *ecdsa.PrivateKey
	ec2  *ecdsa.PrivateKey
	rsa  *rsa.PrivateKey
	ed   ed25519.PublicKey
}

func loadSubKeys(t *testing.T) {
	t.Helper()
	var err error
	subKeys.once.Do(func() {
		if subKeys.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			return
		}
		if subKeys.ec2, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			return
		}
		if subKeys.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return
		}
		subKeys.ed, _, err = ed25519.GenerateKey(rand.Reader)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// explicitNull marks a body field to send as JSON null.
type explicitNull struct{}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// ecJWK is the public JWK of an EC P-256 key (with d when private).
func ecJWK(t *testing.T, k *ecdsa.PrivateKey, kid string, private bool) map[string]any {
	t.Helper()
	point, err := k.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{"kty": "EC", "crv": "P-256", "x": b64url(point[1:33]), "y": b64url(point[33:]), "kid": kid, "use": "sig"}
	if private {
		d, err := k.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		m["d"] = b64url(d)
	}
	return m
}

func rsaJWK(k *rsa.PublicKey, kid string) map[string]any {
	return map[string]any{"kty": "RSA", "n": b64url(k.N.Bytes()), "e": b64url(big.NewInt(int64(k.E)).Bytes()), "kid": kid, "alg": "RS256"}
}

func edJWK(k ed25519.PublicKey, kid string) map[string]any {
	return map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64url(k), "kid": kid}
}

// allKeys is a JWK Set of one EC, one RSA and one Ed25519 public key.
func allKeys(t *testing.T) map[string]any {
	t.Helper()
	loadSubKeys(t)
	return map[string]any{"keys": []any{ecJWK(t, subKeys.ec, "ec-1", false), rsaJWK(&subKeys.rsa.PublicKey, "rsa-1"), edJWK(subKeys.ed, "ed-1")}}
}

// subordinateBody is a valid create body; fields override (nil removes).
func subordinateBody(t *testing.T, fields map[string]any) map[string]any {
	t.Helper()
	body := map[string]any{
		"entityid":        subEntityID,
		"metadata":        map[string]any{"openid_relying_party": map[string]any{"client_name": "RP", "redirect_uris": []any{"https://rp.example.org/cb"}}},
		"forced_metadata": map[string]any{"openid_relying_party": map[string]any{"grant_types": []any{"authorization_code"}}},
		"jwks":            allKeys(t),
	}
	for k, v := range fields {
		if v == nil {
			delete(body, k)
		} else {
			body[k] = v
		}
	}
	return body
}

// storedStatement reads the stored (not shown) statement of a subordinate.
func storedStatement(t *testing.T, s *localstack.Stack, id int) string {
	t.Helper()
	v, ok := storedItem(t, s, "Subordinate", id)["statement"].(*types.AttributeValueMemberS)
	if !ok || v.Value == "" {
		t.Fatalf("subordinate %d has no stored statement", id)
	}
	return v.Value
}

// assertStatement verifies the stored statement of a subordinate as the API
// shows it (sub), and returns its claims.
func assertStatement(t *testing.T, s *localstack.Stack, sub map[string]any) map[string]any {
	t.Helper()
	header, claims := verifyJWT(t, s, storedStatement(t, s, int(sub["id"].(float64))))
	assertHeader(t, s, header, "entity-statement+jwt")
	assertFields(t, "claim", claims, map[string]any{"iss": defaultIssuer, "sub": sub["entityid"], "metadata": sub["forced_metadata"], "jwks": sub["jwks"]})
	assertTimes(t, claims, int64(sub["valid_for"].(float64)), sub["expire_at"])
	extra, _ := sub["additional_claims"].(map[string]any)
	for k, v := range extra {
		if compactJSON(t, claims[k]) != compactJSON(t, v) {
			t.Errorf("claim %s = %v, want the additional claim %v", k, claims[k], v)
		}
	}
	if len(claims) != 6+len(extra) {
		t.Errorf("claims %v: want iss, sub, iat, exp, metadata, jwks and the additional claims %v only", claims, extra)
	}
	return claims
}

func TestSubordinateCreateSignsAStatement(t *testing.T) {
	s := startStack(t)
	cases := []struct {
		name string
		body map[string]any
		want map[string]any
	}{
		{
			name: "defaults",
			body: subordinateBody(t, map[string]any{"required_trustmarks": "https://example.org/tm/member"}),
			want: map[string]any{"valid_for": 8760, "autorenew": true, "active": true, "additional_claims": nil, "required_trustmarks": "https://example.org/tm/member"},
		},
		{
			name: "given values",
			body: subordinateBody(t, map[string]any{"entityid": "https://op.example.org", "valid_for": 24, "autorenew": false,
				"additional_claims": map[string]any{"source_endpoint": "https://ta.example.org/fetch", "constraints": map[string]any{"max_path_length": 1}}}),
			want: map[string]any{"valid_for": 24, "autorenew": false, "active": true, "required_trustmarks": nil,
				"additional_claims": map[string]any{"source_endpoint": "https://ta.example.org/fetch", "constraints": map[string]any{"max_path_length": 1}}},
		},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sub := created(t, s, "/api/v1/subordinates", mustJSON(t, c.body))
			if _, shown := sub["statement"]; shown {
				t.Errorf("the response shows the statement: %v", sub)
			}
			assertFields(t, "created", sub, c.want)
			assertFields(t, "created", sub, map[string]any{"id": i + 1, "entityid": c.body["entityid"], "metadata": c.body["metadata"],
				"forced_metadata": c.body["forced_metadata"], "jwks": c.body["jwks"]})
			assertStatement(t, s, sub)
			if got := getJSON(t, s, fmt.Sprintf("/api/v1/subordinates/%d", i+1)); compactJSON(t, got) != compactJSON(t, sub) {
				t.Errorf("GET answers %v, create answered %v", got, sub)
			}
			list := getJSON(t, s, "/api/v1/subordinates")
			if list["count"] != float64(i+1) {
				t.Errorf("list count %v after %d creates", list["count"], i+1)
			}
		})
	}
}

func TestSubordinateFailures(t *testing.T) {
	s := startStack(t)
	loadSubKeys(t)
	existing := created(t, s, "/api/v1/subordinates", mustJSON(t, subordinateBody(t, nil)))
	log := newAuditCounter(t, s)

	good := ecJWK(t, subKeys.ec2, "k", false)
	with := func(k, v string) map[string]any {
		m := map[string]any{}
		for kk, vv := range good {
			m[kk] = vv
		}
		m[k] = v
		return m
	}
	// A point off the curve: the right size, y changed.
	yBytes, _ := base64.RawURLEncoding.DecodeString(good["y"].(string))
	yBytes[len(yBytes)-1] ^= 1
	offCurve := with("y", b64url(yBytes))
	keys := func(ks ...any) map[string]any { return map[string]any{"keys": ks} }
	huge := map[string]any{"blob": strings.Repeat("x", 33<<10)}

	type failure struct {
		name   string
		fields map[string]any
		check  func(t *testing.T, r response)
	}
	invalid := func(field string) func(t *testing.T, r response) {
		return func(t *testing.T, r response) { assertValidation(t, r, field) }
	}
	bodyFailures := []failure{
		{"private EC key", map[string]any{"jwks": keys(ecJWK(t, subKeys.ec2, "k", true))}, invalid("jwks")},
		{"private member among public keys", map[string]any{"jwks": keys(good, with("p", "AQAB"))}, invalid("jwks")},
		{"empty keys", map[string]any{"jwks": keys()}, invalid("jwks")},
		{"no keys member", map[string]any{"jwks": map[string]any{}}, invalid("jwks")},
		{"keys not an array", map[string]any{"jwks": map[string]any{"keys": "k"}}, invalid("jwks")},
		{"key not an object", map[string]any{"jwks": keys("k")}, invalid("jwks")},
		{"bad base64", map[string]any{"jwks": keys(with("x", "!!not-base64!!"))}, invalid("jwks")},
		{"EC point not on the curve", map[string]any{"jwks": keys(offCurve)}, invalid("jwks")},
		{"unknown kty", map[string]any{"jwks": keys(with("kty", "XYZ"))}, invalid("jwks")},
		{"jwks not an object", map[string]any{"jwks": []any{good}}, invalid("jwks")},
		{"missing metadata", map[string]any{"metadata": nil}, invalid("metadata")},
		{"missing forced_metadata", map[string]any{"forced_metadata": nil}, invalid("forced_metadata")},
		{"missing jwks", map[string]any{"jwks": nil}, invalid("jwks")},
		{"metadata null", map[string]any{"metadata": explicitNull{}}, invalid("metadata")},
		{"jwks null", map[string]any{"jwks": explicitNull{}}, invalid("jwks")},
		{"empty member name in metadata", map[string]any{"metadata": map[string]any{"": "x"}}, invalid("metadata")},
		{"nested empty member name", map[string]any{"forced_metadata": map[string]any{"openid_relying_party": map[string]any{"": 1}}}, invalid("forced_metadata")},
		{"empty member name in a key", map[string]any{"jwks": keys(with("", "x"))}, invalid("jwks")},
		{"metadata over 32 KiB", map[string]any{"metadata": huge}, invalid("")},
		{"valid_for not an integer", map[string]any{"valid_for": "long"}, invalid("valid_for")},
		{"valid_for zero", map[string]any{"valid_for": 0}, invalid("valid_for")},
		{"additional claims set iss", map[string]any{"additional_claims": map[string]any{"iss": "https://evil"}}, invalid("additional_claims")},
		{"additional claims set jwks", map[string]any{"additional_claims": map[string]any{"jwks": keys(good)}}, invalid("additional_claims")},
		{"valid_for above the system default", map[string]any{"valid_for": 9000}, func(t *testing.T, r response) {
			assertMessage(t, r, 400, "valid_for is greater than allowed by system default 8760.")
		}},
	}
	type request struct {
		name, method, path, body string
		check                    func(t *testing.T, r response)
		action                   string
		resourceID               any
	}
	var requests []request
	for _, f := range bodyFailures {
		fields := map[string]any{"entityid": "https://new.example.org"}
		for k, v := range f.fields {
			fields[k] = v
		}
		body := subordinateBody(t, fields)
		for k, v := range body {
			if _, ok := v.(explicitNull); ok {
				body[k] = nil
			}
		}
		requests = append(requests, request{"create: " + f.name, "POST", "/api/v1/subordinates", mustJSON(t, body), f.check, "CREATE", nil})
		delete(body, "entityid")
		requests = append(requests, request{"update: " + f.name, "POST", "/api/v1/subordinates/1", mustJSON(t, body), f.check, "UPDATE", 1.0})
	}
	notFound := func(t *testing.T, r response) { assertAppError(t, r, 404, "Subordinate could not be found.", 42) }
	update := subordinateBody(t, nil)
	delete(update, "entityid")
	requests = append(requests,
		request{"create: missing entityid", "POST", "/api/v1/subordinates", mustJSON(t, subordinateBody(t, map[string]any{"entityid": nil})), invalid("entityid"), "CREATE", nil},
		request{"create: bad JSON", "POST", "/api/v1/subordinates", `{"entityid":`, invalid(""), "CREATE", nil},
		request{"create: existing entityid", "POST", "/api/v1/subordinates", mustJSON(t, subordinateBody(t, map[string]any{"valid_for": 5, "metadata": map[string]any{}})), func(t *testing.T, r response) {
			mustStatus(t, r, 403)
			if got := compactJSON(t, r.JSON(t)); got != compactJSON(t, existing) {
				t.Errorf("403 body %s, want the existing subordinate %s", got, compactJSON(t, existing))
			}
		}, "CREATE", nil},
		request{"update of a missing id", "POST", "/api/v1/subordinates/42", mustJSON(t, update), notFound, "UPDATE", 42.0},
		request{"renew of a missing id", "POST", "/api/v1/subordinates/42/renew", "", notFound, "UPDATE", 42.0},
	)
	for _, c := range requests {
		t.Run(c.name, func(t *testing.T) {
			r := call(t, s, c.method, c.path, c.body)
			c.check(t, r)
			e := log.one(t)
			if e == nil {
				return
			}
			assertFailedEntry(t, e, "Subordinate", c.action, c.method, c.path, r.Status, c.resourceID)
			d := auditDetail(t, s, e)
			if d["snapshot_before"] != nil || d["snapshot_after"] != nil {
				t.Errorf("a failed entry has snapshots: %v", d)
			}
		})
	}
	t.Run("reads record nothing", func(t *testing.T) {
		assertAppError(t, call(t, s, http.MethodGet, "/api/v1/subordinates/42", ""), 404, "Subordinate could not be found.", 42)
		getJSON(t, s, "/api/v1/subordinates")
		log.none(t)
	})
	if got := getJSON(t, s, "/api/v1/subordinates/1"); compactJSON(t, got) != compactJSON(t, existing) {
		t.Errorf("refused requests changed the subordinate: %v, was %v", got, existing)
	}
	if list := getJSON(t, s, "/api/v1/subordinates"); list["count"] != 1.0 {
		t.Errorf("%v subordinates stored, want 1", list["count"])
	}
}

func TestSubordinateUpdateAndRenew(t *testing.T) {
	s := startStack(t)
	loadSubKeys(t)
	first := created(t, s, "/api/v1/subordinates", mustJSON(t, subordinateBody(t, map[string]any{
		"valid_for": 24, "autorenew": false, "required_trustmarks": "https://example.org/tm/member",
		"additional_claims": map[string]any{"source_endpoint": "https://ta.example.org/fetch"},
	})))
	firstStatement := storedStatement(t, s, 1)

	newKeys := map[string]any{"keys": []any{ecJWK(t, subKeys.ec2, "ec-2", false)}}
	r := call(t, s, http.MethodPost, "/api/v1/subordinates/1", mustJSON(t, map[string]any{
		"metadata":        map[string]any{"openid_relying_party": map[string]any{"client_name": "RP 2"}},
		"forced_metadata": map[string]any{"federation_entity": map[string]any{"organization_name": "Org"}},
		"jwks":            newKeys,
	}))
	mustStatus(t, r, http.StatusOK)
	updated := r.JSON(t)
	if _, shown := updated["statement"]; shown {
		t.Errorf("the response shows the statement: %v", updated)
	}
	assertFields(t, "updated", updated, map[string]any{
		"id": 1, "entityid": subEntityID,
		"metadata":        map[string]any{"openid_relying_party": map[string]any{"client_name": "RP 2"}},
		"forced_metadata": map[string]any{"federation_entity": map[string]any{"organization_name": "Org"}},
		"jwks":            newKeys,
		// omitted optional fields keep their values
		"valid_for": 24, "autorenew": false, "active": true, "required_trustmarks": "https://example.org/tm/member",
		"additional_claims": map[string]any{"source_endpoint": "https://ta.example.org/fetch"},
	})
	if storedStatement(t, s, 1) == firstStatement {
		t.Error("the statement was not re-signed")
	}
	before := assertStatement(t, s, updated)
	if got := getJSON(t, s, "/api/v1/subordinates/1"); compactJSON(t, got) != compactJSON(t, updated) {
		t.Errorf("GET answers %v, update answered %v", got, updated)
	}
	if first["expire_at"] == updated["expire_at"] && storedStatement(t, s, 1) == firstStatement {
		t.Error("the update did not re-sign")
	}

	t.Run("given optional fields are applied", func(t *testing.T) {
		// entityid is not part of an update: it is ignored.
		body := subordinateBody(t, map[string]any{"entityid": "https://other.example.org", "valid_for": 48, "autorenew": true, "required_trustmarks": "https://example.org/tm/other", "additional_claims": map[string]any{"k": "v"}})
		r := call(t, s, http.MethodPost, "/api/v1/subordinates/1", mustJSON(t, body))
		mustStatus(t, r, http.StatusOK)
		m := r.JSON(t)
		assertFields(t, "updated", m, map[string]any{"entityid": subEntityID, "valid_for": 48, "autorenew": true, "required_trustmarks": "https://example.org/tm/other", "additional_claims": map[string]any{"k": "v"}, "jwks": body["jwks"]})
		before = assertStatement(t, s, m)
		updated = m
	})

	t.Run("renew", func(t *testing.T) {
		time.Sleep(1100 * time.Millisecond)
		statement := storedStatement(t, s, 1)
		r := call(t, s, http.MethodPost, "/api/v1/subordinates/1/renew", "")
		mustStatus(t, r, http.StatusOK)
		renewed := r.JSON(t)
		if storedStatement(t, s, 1) == statement {
			t.Fatal("renew did not re-sign the statement")
		}
		after := assertStatement(t, s, renewed)
		if intClaim(t, after, "iat") <= intClaim(t, before, "iat") || intClaim(t, after, "exp") <= intClaim(t, before, "exp") {
			t.Errorf("renewed iat/exp %v/%v, before %v/%v", after["iat"], after["exp"], before["iat"], before["exp"])
		}
		for k := range before {
			if k != "iat" && k != "exp" && compactJSON(t, after[k]) != compactJSON(t, before[k]) {
				t.Errorf("renew changed claim %s: %v -> %v", k, before[k], after[k])
			}
		}
		for k := range updated {
			if k != "expire_at" && compactJSON(t, renewed[k]) != compactJSON(t, updated[k]) {
				t.Errorf("renew changed %s: %v -> %v", k, updated[k], renewed[k])
			}
		}
		if renewed["expire_at"] == updated["expire_at"] {
			t.Errorf("expire_at did not move: %v", renewed["expire_at"])
		}
	})

	t.Run("renew of an inactive subordinate", func(t *testing.T) {
		body := subordinateBody(t, map[string]any{"entityid": nil, "active": false})
		r := call(t, s, http.MethodPost, "/api/v1/subordinates/1", mustJSON(t, body))
		mustStatus(t, r, http.StatusOK)
		inactive := r.JSON(t)
		if inactive["active"] != false {
			t.Fatalf("update did not deactivate: %v", inactive)
		}
		log := newAuditCounter(t, s)
		assertAppError(t, call(t, s, http.MethodPost, "/api/v1/subordinates/1/renew", ""), 400, "Cannot renew an inactive subordinate.", 1)
		if e := log.one(t); e != nil {
			assertFailedEntry(t, e, "Subordinate", "UPDATE", "POST", "/api/v1/subordinates/1/renew", 400, 1.0)
		}
		if got := getJSON(t, s, "/api/v1/subordinates/1"); compactJSON(t, got) != compactJSON(t, inactive) {
			t.Errorf("a refused renew changed the subordinate: %v, was %v", got, inactive)
		}
	})
}

func TestConcurrentIdenticalSubordinateCreatesMakeOne(t *testing.T) {
	s := startStack(t)
	const n = 8
	statuses := make([]int, n)
	ids := make([]any, n)
	body := mustJSON(t, subordinateBody(t, nil))
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := call(t, s, http.MethodPost, "/api/v1/subordinates", body)
			statuses[i] = r.Status
			ids[i] = r.JSON(t)["id"]
		}(i)
	}
	wg.Wait()
	createdN := 0
	for i, st := range statuses {
		switch st {
		case http.StatusCreated:
			createdN++
		case http.StatusForbidden:
		default:
			t.Errorf("request %d: status %d", i, st)
		}
		if ids[i] != ids[0] {
			t.Errorf("request %d answered id %v, request 0 id %v", i, ids[i], ids[0])
		}
	}
	if createdN != 1 {
		t.Fatalf("%d creates succeeded, want exactly 1 (%v)", createdN, statuses)
	}
	if list := getJSON(t, s, "/api/v1/subordinates"); list["count"] != 1.0 {
		t.Errorf("%v subordinates stored, want 1", list["count"])
	}
	p := settle(t, s)
	if p.Count != n {
		t.Fatalf("%d entries, want one CREATE and %d failed attempts", p.Count, n-1)
	}
	for _, e := range p.Items {
		if e["success"] == true {
			if e["event_type"] != "registration" || e["resource_id"] != ids[0] {
				t.Errorf("success entry %v", e)
			}
		} else {
			assertFailedEntry(t, e, "Subordinate", "CREATE", "POST", "/api/v1/subordinates", 403, nil)
		}
	}
}
