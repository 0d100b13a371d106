package adminapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/httpapi"
	"github.com/inmor/inmor-serverless/shared/resource"
)

// What a failed attempt records of its request (CloudTrail's
// requestParameters): the query and the JSON body, redacted and bounded.
//
// Redaction, applied to the query and, at every depth, to the body:
//   - a member whose name, lowercased with '-' read as '_', is one of
//     secretNames or ends with one of secretSuffixes has its value replaced
//     by Redacted (password, secret, token, key, api_key, private_key,
//     client_secret, access_token, ...);
//   - in an object with a "kty" member (a JWK, wherever it is: jwks.keys[*],
//     a key inside metadata or additional claims), the private members d,
//     p, q, dp, dq, qi, oth and k are replaced by Redacted;
//   - each claim of the body's additional_claims whose JSON is over
//     MaxClaimBytes is replaced by a note of its size (the whole value when
//     additional_claims is not an object).
//
// Then the request is bounded at MaxRequestBytes of JSON (boundJSON). A
// body that is not JSON (or not UTF-8) is recorded as a note of its size,
// never its text.
const (
	// Redacted replaces a secret value.
	Redacted = "[redacted]"
	// MaxClaimBytes bounds the JSON of one additional claim kept.
	MaxClaimBytes = 1 << 10
	// MaxRequestBytes bounds the JSON of a recorded request.
	MaxRequestBytes = 8 << 10
	// MaxErrorBytes bounds a recorded error message.
	MaxErrorBytes = 1 << 10
	// MaxReprBytes bounds a resource repr taken from a body (an identifier
	// is at most 2048 characters).
	MaxReprBytes = 2048
)

// secretNames are member names whose values are never recorded.
var secretNames = map[string]bool{
	"password": true, "passwd": true, "pwd": true, "secret": true, "token": true, "key": true,
	"apikey": true, "api_key": true, "x_api_key": true, "authorization": true, "cookie": true,
	"sessionid": true, "csrftoken": true, "csrfmiddlewaretoken": true, "csrf_token": true,
	"private_key": true, "client_secret": true, "access_token": true, "refresh_token": true,
	"id_token": true, "otp": true, "totp": true, "recovery_code": true, "recovery_codes": true,
}

// secretSuffixes mark member names whose values are never recorded
// (new_password, signing_key, webhook_secret, bearer_token).
var secretSuffixes = []string{"_password", "_secret", "_token", "_key"}

// privateJWKMembers are the members of a JWK that hold private key material
// (RFC 7518: EC and OKP d; RSA d, p, q, dp, dq, qi, oth; oct k).
var privateJWKMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// secretName reports whether a member of that name holds a secret.
func secretName(name string) bool {
	n := strings.ReplaceAll(strings.ToLower(name), "-", "_")
	if secretNames[n] {
		return true
	}
	for _, suffix := range secretSuffixes {
		if strings.HasSuffix(n, suffix) {
			return true
		}
	}
	return false
}

// redact returns v with the secrets described above replaced; it does not
// change v.
func redact(v any) any {
	switch t := v.(type) {
	case map[string]any:
		_, isJWK := t["kty"].(string)
		out := make(map[string]any, len(t))
		for k, member := range t {
			switch {
			case secretName(k), isJWK && slices.Contains(privateJWKMembers, k):
				out[k] = Redacted
			default:
				out[k] = redact(member)
			}
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, item := range t {
			out[i] = redact(item)
		}
		return out
	}
	return v
}

// redactBody is redact, and the body's additional claims bounded
// (boundClaims).
func redactBody(v any) any {
	v = redact(v)
	if m, ok := v.(map[string]any); ok {
		if claims, present := m["additional_claims"]; present {
			m["additional_claims"] = boundClaims(claims)
		}
	}
	return v
}

// boundClaims replaces each claim over MaxClaimBytes by a note of its size.
func boundClaims(v any) any {
	claims, ok := v.(map[string]any)
	if !ok {
		return boundClaim(v)
	}
	out := make(map[string]any, len(claims))
	for k, claim := range claims {
		out[k] = boundClaim(claim)
	}
	return out
}

func boundClaim(v any) any {
	if n := jsonSize(v); n > MaxClaimBytes {
		return fmt.Sprintf("[omitted: %d bytes]", n)
	}
	return v
}

// jsonSize is the length of v's JSON as audit.EncodeJSON writes it (the
// recorded request's encoder).
func jsonSize(v any) int { return jsonSizeUpTo(v, math.MaxInt) }

// jsonSizeUpTo is jsonSize when it is at most limit, else some size above
// limit: it stops counting there, so that bounding a large value costs
// the bound, not the value, at each level it cuts. v is decoded JSON
// (maps, lists, valid UTF-8 strings, json.Number, bools, nil).
func jsonSizeUpTo(v any, limit int) int {
	switch t := v.(type) {
	case map[string]any:
		n := 2 // {}
		for k, member := range t {
			if n > limit {
				break
			}
			n += stringSizeUpTo(k, limit-n) + 1
			n += jsonSizeUpTo(member, limit-n) // "k":v
		}
		if len(t) > 1 {
			n += len(t) - 1 // commas
		}
		return n
	case []any:
		n := 2 // []
		for _, item := range t {
			if n > limit {
				break
			}
			n += jsonSizeUpTo(item, limit-n)
		}
		if len(t) > 1 {
			n += len(t) - 1
		}
		return n
	case string:
		return stringSizeUpTo(t, limit)
	case json.Number:
		return len(t)
	case bool:
		if t {
			return 4
		}
		return 5
	}
	return 4 // null
}

// stringSizeUpTo is the length of s, valid UTF-8, as a JSON string (with
// <, > and & escaped, as audit.EncodeJSON writes them) when it is at most
// limit, else some size above limit.
func stringSizeUpTo(s string, limit int) int {
	n := 2
	for _, r := range s {
		if n > limit {
			break
		}
		switch {
		case r == '"' || r == '\\' || r == '\n' || r == '\r' || r == '\t' || r == '\b' || r == '\f':
			n += 2
		case r < 0x20 || r == '<' || r == '>' || r == '&' || r == '\u2028' || r == '\u2029':
			n += 6
		default:
			n += utf8.RuneLen(r)
		}
	}
	return n
}

// recordedRequest is the JSON object a failed attempt records of its
// request: "query" (each parameter's value, a list when repeated) and
// "body" (the JSON body, or a note when it is not JSON), each only when
// the request has one, redacted and bounded at MaxRequestBytes; "" when
// it has neither.
func recordedRequest(query url.Values, body []byte) string {
	request := map[string]any{}
	if len(query) > 0 {
		q := make(map[string]any, len(query))
		for k, values := range query {
			k = strings.ToValidUTF8(k, "\uFFFD")
			if len(values) == 1 {
				q[k] = strings.ToValidUTF8(values[0], "\uFFFD")
				continue
			}
			list := make([]any, len(values))
			for i, v := range values {
				list[i] = strings.ToValidUTF8(v, "\uFFFD")
			}
			q[k] = list
		}
		request["query"] = redact(q)
	}
	if len(bytes.TrimSpace(body)) > 0 {
		request["body"] = redactBody(bodyValue(body))
	}
	if len(request) == 0 {
		return ""
	}
	b, err := audit.EncodeJSON(boundJSON(request, MaxRequestBytes))
	if err != nil {
		return "" // not reached: the value is decoded JSON and strings
	}
	return string(b)
}

// bodyValue is the body's JSON value, or a note of its size when it is not
// one JSON value in UTF-8 (or is larger than the API reads).
func bodyValue(body []byte) any {
	if len(body) > httpapi.MaxBodyBytes {
		return fmt.Sprintf("[not recorded: over %d bytes]", httpapi.MaxBodyBytes)
	}
	if utf8.Valid(body) {
		d := json.NewDecoder(bytes.NewReader(body))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err == nil {
			if _, err := d.Token(); errors.Is(err, io.EOF) {
				return v
			}
		}
	}
	return fmt.Sprintf("[not JSON: %d bytes]", len(body))
}

// reprFromBody is the resource a request without an id tried to create:
// its body's tmtype, domain or entityid (resource.ReprField), bounded at
// MaxReprBytes; "" when the body has no such string.
func reprFromBody(t resource.Type, body []byte) string {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return ""
	}
	var repr string
	if json.Unmarshal(fields[resource.ReprField(t)], &repr) != nil {
		return ""
	}
	return truncateText(repr, MaxReprBytes)
}

// truncateText cuts s to at most max bytes, at a character boundary, ending
// with … when cut.
func truncateText(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= max {
		return s
	}
	const ellipsis = "…"
	cut := max - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

// Markers of what boundJSON left out.
const (
	// truncatedKey is the member that says how many members of an object
	// were left out.
	truncatedKey = "[truncated]"
	// markerRoom is kept free for a marker in each object or list cut.
	markerRoom = 48
	// minNestedRoom is the least room worth cutting a nested value into.
	minNestedRoom = 64
)

// boundJSON returns v (decoded JSON: maps, lists, strings, json.Number,
// bools, nil) cut so that its JSON is at most max bytes (max >=
// minNestedRoom), deterministically: an object keeps its members in key
// order while they fit, cuts the first one that does not (when there is
// room to) and ends with a "[truncated]" member counting the members left
// out; a list likewise, ending with a string counting the items left out;
// a string keeps a prefix ending with …. The result is always valid JSON.
func boundJSON(v any, max int) any {
	if jsonSizeUpTo(v, max) <= max {
		return v
	}
	switch t := v.(type) {
	case map[string]any:
		return boundObject(t, max)
	case []any:
		return boundList(t, max)
	case string:
		return boundString(t, max)
	}
	return "[truncated]" // a number that alone is longer than max
}

func boundObject(m map[string]any, max int) map[string]any {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the order EncodeJSON writes
	out := map[string]any{}
	used := 2 // {}
	for i, k := range keys {
		overhead := stringSizeUpTo(k, math.MaxInt) + 1 // "key":
		if i > 0 {
			overhead++ // ,
		}
		room := max - used - markerRoom - overhead
		size := jsonSizeUpTo(m[k], room)
		if size <= room {
			out[k] = m[k]
			used += overhead + size
			continue
		}
		if room >= minNestedRoom {
			out[k] = boundJSON(m[k], room)
			i++
		}
		if left := len(keys) - i; left > 0 {
			out[truncatedKey] = fmt.Sprintf("%d more members", left)
		}
		break
	}
	return out
}

func boundList(list []any, max int) []any {
	out := []any{}
	used := 2 // []
	for i, item := range list {
		overhead := 0
		if i > 0 {
			overhead = 1 // ,
		}
		room := max - used - markerRoom - overhead
		size := jsonSizeUpTo(item, room)
		if size <= room {
			out = append(out, item)
			used += overhead + size
			continue
		}
		if room >= minNestedRoom {
			out = append(out, boundJSON(item, room))
			i++
		}
		if left := len(list) - i; left > 0 {
			out = append(out, fmt.Sprintf("[%d more items]", left))
		}
		break
	}
	return out
}

// boundString keeps the longest prefix of s whose JSON, with … appended,
// is at most max bytes.
func boundString(s string, max int) string {
	const ellipsis = "…"
	used := 2 + len(ellipsis) // the quotes and the ellipsis
	end := 0
	for i, r := range s {
		n := stringSizeUpTo(string(r), math.MaxInt) - 2
		if used+n > max {
			break
		}
		used += n
		end = i + utf8.RuneLen(r)
	}
	return s[:end] + ellipsis
}
