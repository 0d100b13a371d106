package resource

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Limits of JSON values stored in resource items. DynamoDB nests maps at
// most 32 levels, keeps 38 significant digits of a number in 1e-130..1e126,
// refuses empty map keys, and caps an item at 400 KB; an audit entry holds a
// resource twice over plus a diff, so free-form fields stay well below that.
const (
	maxNesting       = 30
	maxNumberDigits  = 38
	minExponent      = -130
	maxExponent      = 125
	MaxFreeFormBytes = 32 << 10
)

// CheckStorable reports why a JSON value cannot be stored as is, or nil.
func CheckStorable(v any) error {
	return checkStorable(v, 0)
}

func checkStorable(v any, depth int) error {
	if depth > maxNesting {
		return fmt.Errorf("nested more than %d levels", maxNesting)
	}
	switch x := v.(type) {
	case json.Number:
		return checkNumber(string(x))
	case []any:
		for i, item := range x {
			if err := checkStorable(item, depth+1); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
	case map[string]any:
		for k, item := range x {
			if k == "" {
				return fmt.Errorf("empty member names are not supported")
			}
			if err := checkStorable(item, depth+1); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		}
	}
	return nil
}

// checkNumber accepts a JSON number DynamoDB can store exactly.
func checkNumber(s string) error {
	mantissa, exponent := strings.ToLower(s), 0
	if i := strings.IndexByte(mantissa, 'e'); i >= 0 {
		if _, err := fmt.Sscan(mantissa[i+1:], &exponent); err != nil {
			return fmt.Errorf("number %s: bad exponent", s)
		}
		mantissa = mantissa[:i]
	}
	mantissa = strings.TrimPrefix(mantissa, "-")
	intPart, fracPart, _ := strings.Cut(mantissa, ".")
	digits := strings.TrimLeft(intPart+fracPart, "0")
	if digits == "" {
		return nil // zero
	}
	// magnitude: the exponent of the leading significant digit
	magnitude := exponent + len(strings.TrimLeft(intPart, "0")) - 1
	if strings.TrimLeft(intPart, "0") == "" {
		magnitude = exponent - (len(fracPart) - len(strings.TrimLeft(fracPart, "0"))) - 1
	}
	digits = strings.TrimRight(digits, "0")
	switch {
	case len(digits) > maxNumberDigits:
		return fmt.Errorf("number %s has more than %d significant digits", s, maxNumberDigits)
	case magnitude > maxExponent || magnitude < minExponent:
		return fmt.Errorf("number %s is out of range", s)
	}
	return nil
}

// JSONSize is the size of v encoded as JSON.
func JSONSize(v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return 0
	}
	return len(b)
}

// jsonEqual compares two JSON values by their encoding (keys sorted).
func jsonEqual(a, b any) bool {
	x, errA := json.Marshal(a)
	y, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(x) == string(y)
}
