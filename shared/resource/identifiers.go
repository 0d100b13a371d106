package resource

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/inmor/inmor-serverless/shared/apperr"
)

// HasControl reports whether s holds a control character (C0, DEL or C1;
// NUL included) or invalid UTF-8.
func HasControl(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if r < 0x20 || r >= 0x7f && r < 0xa0 {
			return true
		}
	}
	return false
}

// validHost reports whether host is a DNS name (labels of letters, digits
// and hyphens, not starting or ending with one) or an IP address.
func validHost(host string) bool {
	if net.ParseIP(host) != nil {
		return true
	}
	if host == "" || len(host) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(host, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// parseIdentifier reads an absolute URL of one of the schemes, with a
// valid host, no whitespace or control characters, at most MaxURLLength
// characters.
func parseIdentifier(s string, schemes ...string) (*url.URL, error) {
	if utf8.RuneCountInString(s) > MaxURLLength {
		return nil, fmt.Errorf("at most %d characters", MaxURLLength)
	}
	if HasControl(s) || strings.ContainsAny(s, " \u00a0") {
		return nil, fmt.Errorf("no spaces or control characters")
	}
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Opaque != "" {
		return nil, fmt.Errorf("an absolute URL")
	}
	scheme := strings.ToLower(u.Scheme)
	known := false
	for _, want := range schemes {
		known = known || scheme == want
	}
	if !known {
		return nil, fmt.Errorf("a URL of scheme %s", strings.Join(schemes, " or "))
	}
	if !validHost(u.Hostname()) {
		return nil, fmt.Errorf("a URL with a valid host")
	}
	return u, nil
}

// CheckEntityID checks an OpenID Federation Entity Identifier (entityid,
// trust mark domain): an https URL with a host, no userinfo, query or
// fragment. A refusal names the field (422).
func CheckEntityID(field, s string) error {
	u, err := parseIdentifier(s, "https")
	if err == nil && (u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(s, "#")) {
		err = fmt.Errorf("an https URL without userinfo, query or fragment")
	}
	if err != nil {
		return apperr.InvalidField(field, "Should be an Entity Identifier: "+err.Error())
	}
	return nil
}

// CheckTrustMarkTypeID checks a trust mark type identifier (tmtype): an
// absolute http or https URL with a host.
func CheckTrustMarkTypeID(s string) error {
	if _, err := parseIdentifier(s, "https", "http"); err != nil {
		return apperr.InvalidField("tmtype", "Should be a trust mark type identifier: "+err.Error())
	}
	return nil
}
