package storage

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// AttrMAC is the attribution map's MAC (see AttributionMAC).
const AttrMAC = "mac"

// AttributionKeySize is the size of the attribution MAC key.
const AttributionKeySize = 32

// AttributionMAC is the HMAC-SHA256, under key, of a written item's claim
// of who wrote it: its keys, its version, the request id, a hash of its
// content (the item's attributes without bookkeeping: content) and a hash
// of the attribution map (without its MAC). Only the API functions and the
// audit function hold the key, so whoever can write the table but not run
// them cannot attribute a change to anyone. Numbers are hashed by value
// (DynamoDB stores 1.50 as 1.5), maps with their keys sorted.
func AttributionMAC(key []byte, pk, sk string, version int64, content, attribution map[string]any) (string, error) {
	contentHash, err := macHash(content)
	if err != nil {
		return "", fmt.Errorf("attribution MAC of the content: %w", err)
	}
	claim := make(map[string]any, len(attribution))
	for k, v := range attribution {
		if k != AttrMAC {
			claim[k] = v
		}
	}
	attributionHash, err := macHash(claim)
	if err != nil {
		return "", fmt.Errorf("attribution MAC of the attribution: %w", err)
	}
	requestID, _ := attribution[attrRequestID].(string)
	mac := hmac.New(sha256.New, key)
	for _, part := range []string{"inmor-attribution-v1", pk, sk, strconv.FormatInt(version, 10), requestID, contentHash, attributionHash} {
		fmt.Fprintf(mac, "%d:%s\n", len(part), part)
	}
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), nil
}

// SignAttribution sets the attribution map's MAC.
func SignAttribution(key []byte, pk, sk string, version int64, content, attribution map[string]any) error {
	mac, err := AttributionMAC(key, pk, sk, version, content, attribution)
	if err != nil {
		return err
	}
	attribution[AttrMAC] = mac
	return nil
}

// AttributionAuthentic reports whether the attribution map carries the MAC
// of this item under key (compared in constant time). Without a key no
// attribution is authentic.
func AttributionAuthentic(key []byte, pk, sk string, version int64, content, attribution map[string]any) bool {
	claimed, _ := attribution[AttrMAC].(string)
	if len(key) == 0 || claimed == "" {
		return false
	}
	want, err := AttributionMAC(key, pk, sk, version, content, attribution)
	return err == nil && hmac.Equal([]byte(claimed), []byte(want))
}

// AttemptContent is the content an attempt item's MAC covers.
func AttemptContent(resourceType string, resourceID int64) map[string]any {
	content := map[string]any{"resource_type": resourceType}
	if resourceID != 0 {
		content["resource_id"] = resourceID
	}
	return content
}

// macHash is the hex SHA-256 of a value's canonical JSON.
func macHash(v map[string]any) (string, error) {
	canonical, err := macValue(v)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(canonical) // map keys sorted
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return fmt.Sprintf("%x", sum), nil
}

// macValue returns v with every number in its normal form.
func macValue(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		n, err := normalNumber(string(x))
		return json.Number(n), err
	case int64:
		n, err := normalNumber(strconv.FormatInt(x, 10))
		return json.Number(n), err
	case int:
		n, err := normalNumber(strconv.Itoa(x))
		return json.Number(n), err
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			var err error
			if out[i], err = macValue(item); err != nil {
				return nil, err
			}
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, item := range x {
			var err error
			if out[k], err = macValue(item); err != nil {
				return nil, err
			}
		}
		return out, nil
	case nil, string, bool, []byte:
		return x, nil
	}
	return nil, fmt.Errorf("cannot hash %T", v)
}

// normalNumber writes a decimal number in one form per value: its
// significant digits and a decimal exponent ("1.50" and "15E-1" are
// "15e-1", "0.0" is "0").
func normalNumber(s string) (string, error) {
	negative := strings.HasPrefix(s, "-")
	mantissa, exponentText, hasExponent := strings.Cut(strings.ToLower(strings.TrimPrefix(s, "-")), "e")
	exponent := 0
	if hasExponent {
		var err error
		if exponent, err = strconv.Atoi(exponentText); err != nil {
			return "", fmt.Errorf("number %q", s)
		}
	}
	whole, fraction, _ := strings.Cut(mantissa, ".")
	digits := whole + fraction
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return "", fmt.Errorf("number %q", s)
	}
	exponent -= len(fraction)
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		return "0", nil
	}
	significant := strings.TrimRight(digits, "0")
	exponent += len(digits) - len(significant)
	out := significant
	if exponent != 0 {
		out += "e" + strconv.Itoa(exponent)
	}
	if negative {
		out = "-" + out
	}
	return out, nil
}
