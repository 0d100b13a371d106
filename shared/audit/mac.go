package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/inmor/inmor-serverless/shared/resource"
	"github.com/inmor/inmor-serverless/shared/storage"
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
	mac, _, err := attributionMAC(key, pk, sk, version, content, attribution)
	return mac, err
}

// attributionMAC is AttributionMAC, which also returns the content's JSON
// when it is the content's stored form too (no number needed another form):
// then it is the snapshot's JSON, which Entry.Encode need not write again.
func attributionMAC(key []byte, pk, sk string, version int64, content, attribution map[string]any) (mac string, contentJSON []byte, err error) {
	contentJSON, renormalized, err := macForm(content)
	if err != nil {
		return "", nil, fmt.Errorf("attribution MAC of the content: %w", err)
	}
	contentHash := sha256.Sum256(contentJSON)
	claim := make(map[string]any, len(attribution))
	for k, v := range attribution {
		if k != AttrMAC {
			claim[k] = v
		}
	}
	claimJSON, _, err := macForm(claim)
	if err != nil {
		return "", nil, fmt.Errorf("attribution MAC of the attribution: %w", err)
	}
	claimHash := sha256.Sum256(claimJSON)
	requestID, _ := attribution["request_id"].(string)
	h := hmac.New(sha256.New, key)
	for _, part := range []string{"inmor-attribution-v1", pk, sk, strconv.FormatInt(version, 10), requestID,
		hex.EncodeToString(contentHash[:]), hex.EncodeToString(claimHash[:])} {
		fmt.Fprintf(h, "%d:%s\n", len(part), part)
	}
	if renormalized {
		contentJSON = nil
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)), contentJSON, nil
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
	ok, _ := attributionAuthentic(key, pk, sk, version, content, attribution)
	return ok
}

// attributionAuthentic is AttributionAuthentic, which also returns the
// content's JSON when attributionMAC does.
func attributionAuthentic(key []byte, pk, sk string, version int64, content, attribution map[string]any) (bool, []byte) {
	claimed, _ := attribution[AttrMAC].(string)
	if len(key) == 0 || claimed == "" {
		return false, nil
	}
	want, contentJSON, err := attributionMAC(key, pk, sk, version, content, attribution)
	if err != nil || !hmac.Equal([]byte(claimed), []byte(want)) {
		return false, nil
	}
	return true, contentJSON
}

// AttemptContent is the content an attempt item's MAC covers: every
// attribute of the item but its keys, attribution and expiry, as stored
// (an empty one is absent, so attempts written before they had an error,
// request and resource repr keep their MAC).
func AttemptContent(a resource.Attempt) map[string]any {
	content := map[string]any{storage.AttrAttemptResourceType: string(a.ResourceType)}
	if a.ResourceID != 0 {
		content[storage.AttrAttemptResourceID] = a.ResourceID
	}
	for k, v := range map[string]string{
		storage.AttrAttemptResourceRepr: a.ResourceRepr, storage.AttrAttemptError: a.Error, storage.AttrAttemptRequest: a.Request,
	} {
		if v != "" {
			content[k] = v
		}
	}
	return content
}

// macForm is a value's canonical JSON for the MAC (keys sorted, numbers
// in their normal form), written by the pooled encoder; renormalized
// reports whether a number was written in another form than it had.
func macForm(v map[string]any) (form []byte, renormalized bool, err error) {
	e := encoderPool.Get().(*encoder)
	defer e.release()
	e.normalize = true
	if err := e.object(v); err != nil {
		return nil, false, err
	}
	return bytes.Clone(e.buf), e.renormalized, nil
}

// maxPlainExponent bounds the decimal exponents normalNumber writes out
// in full; beyond it (far beyond DynamoDB's numbers) it writes an exponent,
// so a number cannot blow up into megabytes of zeros.
const maxPlainExponent = 400

// normalNumber writes a decimal number in one form per value: plain
// decimal digits, no leading zeros, no trailing zeros after a point
// ("1.50" and "15E-1" are "1.5", "1e2" is "100", "-0.0" is "0"), which is
// also how DynamoDB gives numbers back.
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
	var out string
	switch {
	case exponent > maxPlainExponent || exponent < -maxPlainExponent:
		out = significant + "e" + strconv.Itoa(exponent)
	case exponent >= 0:
		out = significant + strings.Repeat("0", exponent)
	case len(significant) > -exponent:
		point := len(significant) + exponent
		out = significant[:point] + "." + significant[point:]
	default:
		out = "0." + strings.Repeat("0", -exponent-len(significant)) + significant
	}
	if negative {
		out = "-" + out
	}
	return out, nil
}
