package resource

import (
	"errors"
	"strings"
	"testing"

	"github.com/inmor/inmor-serverless/shared/apperr"
)

// TestIdentifiers: entity ids and trust mark domains are https Entity
// Identifiers (a host, no userinfo, query or fragment); trust mark types are
// http(s) URLs with a host; none holds spaces or control characters. A
// refusal is 422 about the field.
func TestIdentifiers(t *testing.T) {
	refused := []string{
		"javascript:alert(1)", "not a url", "http://-x", "https://-x", "https://x-", "ftp://files.example", "https://a b.example",
		"https://a.example/a b", "https://a.example/\x00", "https://a.example/\x7f", "https://a.example/\u0085", "", "https://",
		"https:///path", "https://a_b.example", "//a.example", "a.example", "https://a.example/" + strings.Repeat("x", MaxURLLength),
		"https://a.example\n", "\thttps://a.example",
	}
	entityOnly := []string{"http://rp.example", "https://user@rp.example", "https://rp.example/?q=1", "https://rp.example/#f", "https://rp.example?", "https://rp.example#"}
	accepted := []string{"https://rp.example", "https://rp.example:8443/fed", "https://localhost:8080", "https://127.0.0.1", "https://[::1]:8443", "https://RP.Example.ORG/a/b"}
	is422 := func(err error, field string) bool {
		var ae *apperr.Error
		return errors.As(err, &ae) && ae.Kind == apperr.Unprocessable && ae.Field == field
	}
	for _, s := range append(refused, entityOnly...) {
		if err := CheckEntityID("entityid", s); !is422(err, "entityid") {
			t.Errorf("entityid %q: %v, want a 422 about entityid", s, err)
		}
		if err := CheckEntityID("domain", s); !is422(err, "domain") {
			t.Errorf("domain %q: %v, want a 422 about domain", s, err)
		}
	}
	for _, s := range refused {
		if err := CheckTrustMarkTypeID(s); !is422(err, "tmtype") {
			t.Errorf("tmtype %q: %v, want a 422 about tmtype", s, err)
		}
	}
	for _, s := range accepted {
		if err := CheckEntityID("entityid", s); err != nil {
			t.Errorf("entityid %q refused: %v", s, err)
		}
		if err := CheckTrustMarkTypeID(s); err != nil {
			t.Errorf("tmtype %q refused: %v", s, err)
		}
	}
	for _, s := range []string{"http://tm.example/member", "https://tm.example/member?v=1", "https://tm.example/member#x"} {
		if err := CheckTrustMarkTypeID(s); err != nil {
			t.Errorf("tmtype %q refused: %v", s, err)
		}
	}
}
