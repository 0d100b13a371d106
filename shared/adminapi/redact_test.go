package adminapi

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"

	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/httpapi"
	"github.com/inmor/inmor-serverless/shared/resource"
)

// TestRecordedRequestRedacts: one case per redaction rule, in the body at
// any depth and in the query.
func TestRecordedRequestRedacts(t *testing.T) {
	bigClaim := strings.Repeat("x", MaxClaimBytes)
	cases := []struct {
		name  string
		query url.Values
		body  string
		want  string
	}{
		{"password", nil, `{"username":"alice","password":"hunter2"}`, `{"body":{"password":"[redacted]","username":"alice"}}`},
		{"names are matched without case, - as _", nil, `{"PassWord":"a","Api-Key":"b","X-API-KEY":"c"}`,
			`{"body":{"Api-Key":"[redacted]","PassWord":"[redacted]","X-API-KEY":"[redacted]"}}`},
		{"key-like names", nil, `{"key":1,"apikey":2,"api_key":3,"secret":4,"token":5,"authorization":6,"private_key":7,"client_secret":8,"access_token":9,"refresh_token":10,"id_token":11,"csrfmiddlewaretoken":12}`,
			`{"body":{"access_token":"[redacted]","api_key":"[redacted]","apikey":"[redacted]","authorization":"[redacted]","client_secret":"[redacted]","csrfmiddlewaretoken":"[redacted]","id_token":"[redacted]","key":"[redacted]","private_key":"[redacted]","refresh_token":"[redacted]","secret":"[redacted]","token":"[redacted]"}}`},
		{"key-like suffixes", nil, `{"new_password":"a","signing_key":"b","webhook_secret":"c","bearer_token":"d"}`,
			`{"body":{"bearer_token":"[redacted]","new_password":"[redacted]","signing_key":"[redacted]","webhook_secret":"[redacted]"}}`},
		{"names that only look alike are kept", nil, `{"keys":[],"token_endpoint":"https://op/token","jwks_uri":"u","monkey":"m","tokens_issued":1}`,
			`{"body":{"jwks_uri":"u","keys":[],"monkey":"m","token_endpoint":"https://op/token","tokens_issued":1}}`},
		{"a secret object or list is replaced whole", nil, `{"secret":{"a":1},"token":[1,2]}`, `{"body":{"secret":"[redacted]","token":"[redacted]"}}`},
		{"secrets at depth", nil, `{"metadata":{"openid_relying_party":{"client_secret":"s","client_id":"c"}},"list":[{"password":"p"}]}`,
			`{"body":{"list":[{"password":"[redacted]"}],"metadata":{"openid_relying_party":{"client_id":"c","client_secret":"[redacted]"}}}}`},
		{"private members of an EC key", nil, `{"jwks":{"keys":[{"kty":"EC","crv":"P-256","x":"X","y":"Y","d":"D"}]}}`,
			`{"body":{"jwks":{"keys":[{"crv":"P-256","d":"[redacted]","kty":"EC","x":"X","y":"Y"}]}}}`},
		{"private members of an RSA key", nil, `{"jwks":{"keys":[{"kty":"RSA","n":"N","e":"AQAB","d":"1","p":"2","q":"3","dp":"4","dq":"5","qi":"6","oth":[{"r":"7"}]}]}}`,
			`{"body":{"jwks":{"keys":[{"d":"[redacted]","dp":"[redacted]","dq":"[redacted]","e":"AQAB","kty":"RSA","n":"N","oth":"[redacted]","p":"[redacted]","q":"[redacted]","qi":"[redacted]"}]}}}`},
		{"a symmetric key", nil, `{"jwks":{"keys":[{"kty":"oct","k":"K"}]}}`, `{"body":{"jwks":{"keys":[{"k":"[redacted]","kty":"oct"}]}}}`},
		{"a JWK anywhere", nil, `{"metadata":{"openid_provider":{"jwks":{"keys":[{"kty":"OKP","crv":"Ed25519","x":"X","d":"D"}]}}}}`,
			`{"body":{"metadata":{"openid_provider":{"jwks":{"keys":[{"crv":"Ed25519","d":"[redacted]","kty":"OKP","x":"X"}]}}}}}`},
		{"d, p, q outside a JWK are kept", nil, `{"d":"1","p":"2","q":"3"}`, `{"body":{"d":"1","p":"2","q":"3"}}`},
		{"large additional claims are omitted, small ones kept", nil, `{"additional_claims":{"big":"` + bigClaim + `","small":"s"}}`,
			fmt.Sprintf(`{"body":{"additional_claims":{"big":"[omitted: %d bytes]","small":"s"}}}`, MaxClaimBytes+2)},
		{"a claim of exactly 1 KiB is kept", nil, `{"additional_claims":{"c":"` + bigClaim[:MaxClaimBytes-2] + `"}}`,
			`{"body":{"additional_claims":{"c":"` + bigClaim[:MaxClaimBytes-2] + `"}}}`},
		{"additional claims that are not an object", nil, `{"additional_claims":"` + bigClaim + `"}`,
			fmt.Sprintf(`{"body":{"additional_claims":"[omitted: %d bytes]"}}`, MaxClaimBytes+2)},
		{"secrets inside additional claims", nil, `{"additional_claims":{"password":"p"}}`, `{"body":{"additional_claims":{"password":"[redacted]"}}}`},
		{"query", url.Values{"token": {"t"}, "tmtype": {"https://x"}, "k": {"1", "2"}}, ``,
			`{"query":{"k":["1","2"],"tmtype":"https://x","token":"[redacted]"}}`},
		{"a body that is not JSON", nil, `password=hunter2`, `{"body":"[not JSON: 16 bytes]"}`},
		{"two JSON values", nil, `{} {}`, `{"body":"[not JSON: 5 bytes]"}`},
		{"not UTF-8", nil, "\"\xff\"", `{"body":"[not JSON: 3 bytes]"}`},
		{"a JSON value that is not an object", nil, `[1,"a"]`, `{"body":[1,"a"]}`},
		{"numbers as written", nil, `{"valid_for":1.50e3}`, `{"body":{"valid_for":1.50e3}}`},
		{"nothing", nil, `  `, ``},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := recordedRequest(c.query, []byte(c.body))
			if got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
	t.Run("a body over the API's bound", func(t *testing.T) {
		got := recordedRequest(nil, []byte(strings.Repeat("x", httpapi.MaxBodyBytes+1)))
		if want := fmt.Sprintf(`{"body":"[not recorded: over %d bytes]"}`, httpapi.MaxBodyBytes); got != want {
			t.Errorf("got %s", got)
		}
	})
}

// TestRecordedRequestIsBounded: whatever the body, the request is valid
// JSON of at most MaxRequestBytes, cut the same way each time, with what
// fits kept and what was cut marked.
func TestRecordedRequestIsBounded(t *testing.T) {
	long := strings.Repeat("<é>", 5000)
	cases := []struct {
		name, body string
		contains   []string
	}{
		{"a long string", `{"tmtype":"` + long + `"}`, []string{`"tmtype":"\u003cé\u003e`, `…"`}},
		{"many members", manyMembers(2000), []string{`"m0000":"v"`, `"[truncated]":"`}},
		{"a long list", `{"jwks":{"keys":[` + strings.Repeat(`{"kty":"EC","x":"`+strings.Repeat("x", 100)+`"},`, 200) + `{}]}}`,
			[]string{`{"kty":"EC","x":"xxx`, ` more items]"`}},
		{"deep nesting", strings.Repeat(`{"a":`, 5000) + `"x"` + strings.Repeat(`}`, 5000), []string{`{"a":{"a":`}},
		{"a long number", `{"n":` + strings.Repeat("9", 10000) + `}`, []string{`"n":"[truncated]"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := recordedRequest(nil, []byte(c.body))
			if len(got) > MaxRequestBytes || !json.Valid([]byte(got)) {
				t.Fatalf("%d bytes, valid %v: %.300s", len(got), json.Valid([]byte(got)), got)
			}
			for _, s := range c.contains {
				if !strings.Contains(got, s) {
					t.Errorf("%.400s\nlacks %s", got, s)
				}
			}
			if again := recordedRequest(nil, []byte(c.body)); again != got {
				t.Error("cut differently the second time")
			}
		})
	}
	t.Run("random bodies", func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		for i := range 200 {
			body, _ := json.Marshal(randomValue(r, 0))
			got := recordedRequest(url.Values{"q": {"x"}}, body)
			if len(got) > MaxRequestBytes || !json.Valid([]byte(got)) {
				t.Fatalf("body #%d: %d bytes, valid %v", i, len(got), json.Valid([]byte(got)))
			}
		}
	})
}

func manyMembers(n int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"m%04d":"v"`, i)
	}
	b.WriteString("}")
	return b.String()
}

// randomValue is a JSON value of random shape, often larger than the bound.
func randomValue(r *rand.Rand, depth int) any {
	switch k := r.IntN(6); {
	case depth > 2 || k == 0:
		return strings.Repeat(string(rune('a'+r.IntN(26)))+"<\"é\n", r.IntN(300))
	case k == 1:
		return r.Float64() * 1e6
	case k == 2:
		list := make([]any, r.IntN(10))
		for i := range list {
			list[i] = randomValue(r, depth+1)
		}
		return list
	default:
		m := map[string]any{}
		for range r.IntN(10) {
			m[fmt.Sprintf("k%d-%s", r.IntN(1000), strings.Repeat("é", r.IntN(40)))] = randomValue(r, depth+1)
		}
		return m
	}
}

// TestReprFromBody: the resource a request without an id tried to create,
// bounded; nothing when the body does not name one.
func TestReprFromBody(t *testing.T) {
	cases := []struct {
		t    resource.Type
		body string
		want string
	}{
		{resource.TypeTrustMarkType, `{"tmtype":"https://tm.example/a"}`, "https://tm.example/a"},
		{resource.TypeTrustMark, `{"tmt":1,"domain":"https://rp.example"}`, "https://rp.example"},
		{resource.TypeSubordinate, `{"entityid":"https://op.example"}`, "https://op.example"},
		{resource.TypeTrustMarkType, `{"domain":"https://rp.example"}`, ""},
		{resource.TypeTrustMarkType, `{"tmtype":42}`, ""},
		{resource.TypeTrustMarkType, `not JSON`, ""},
		{resource.TypeTrustMarkType, ``, ""},
		{resource.TypeTrustMarkType, `{"tmtype":"` + strings.Repeat("é", MaxReprBytes) + `"}`, strings.Repeat("é", (MaxReprBytes-3)/2) + "…"},
	}
	for _, c := range cases {
		if got := reprFromBody(c.t, []byte(c.body)); got != c.want {
			t.Errorf("reprFromBody(%s, %.40s) = %.40q, want %.40q", c.t, c.body, got, c.want)
		}
	}
}

// TestJSONSize: the size bounding counts is the size EncodeJSON writes,
// and a limit stops the count only above it.
func TestJSONSize(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 300 {
		body, _ := json.Marshal(map[string]any{"v": randomValue(r, 1), "esc": "\x00\x1f\t\n\"\\<>&\u2028\u2029é😀"})
		v := bodyValue(body)
		encoded, err := audit.EncodeJSON(v)
		if err != nil {
			t.Fatal(err)
		}
		if got := jsonSize(v); got != len(encoded) {
			t.Fatalf("value #%d: size %d, encoded %d", i, got, len(encoded))
		}
		limit := r.IntN(len(encoded) + 10)
		got := jsonSizeUpTo(v, limit)
		if len(encoded) <= limit && got != len(encoded) || len(encoded) > limit && got <= limit {
			t.Fatalf("value #%d: size up to %d = %d, encoded %d", i, limit, got, len(encoded))
		}
	}
}
