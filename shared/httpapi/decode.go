package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/inmor/inmor-serverless/shared/resource"

	"github.com/inmor/inmor-serverless/shared/apperr"
)

// MaxBodyBytes bounds request bodies (1 MiB).
const MaxBodyBytes = 1 << 20

// FieldError is one validation failure, in Inmor's (pydantic's) shape.
type FieldError struct {
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
	Type string `json:"type"`
}

// ValidationError is a request that failed validation (422).
type ValidationError struct {
	Details []FieldError
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("validation failed: %d error(s)", len(e.Details))
}

// ReadBody reads the request body, at most MaxBodyBytes.
func ReadBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > MaxBodyBytes {
		return nil, apperr.E(apperr.TooLarge)
	}
	return body, nil
}

// Fields is a JSON object body whose fields are read one by one, collecting
// validation errors. Unknown fields are ignored; null counts as absent.
type Fields struct {
	raw  map[string]json.RawMessage
	errs []FieldError
}

// ReadFields reads the body as a JSON object; an empty body is {}.
func ReadFields(r *http.Request) (*Fields, error) {
	body, err := ReadBody(r)
	if err != nil {
		return nil, err
	}
	return ParseFields(body)
}

// ParseFields parses a JSON object body; an empty body is {}.
func ParseFields(body []byte) (*Fields, error) {
	f := &Fields{raw: map[string]json.RawMessage{}}
	if len(bytes.TrimSpace(body)) == 0 {
		return f, nil
	}
	if !utf8.Valid(body) {
		return nil, invalidJSON("body is not UTF-8")
	}
	if err := json.Unmarshal(body, &f.raw); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return nil, &ValidationError{Details: []FieldError{{Loc: []any{"body"}, Msg: "Input should be an object", Type: "model_type"}}}
		}
		return nil, invalidJSON(err.Error())
	}
	if f.raw == nil { // the body was `null`
		f.raw = map[string]json.RawMessage{}
	}
	return f, nil
}

func invalidJSON(reason string) *ValidationError {
	return &ValidationError{Details: []FieldError{{Loc: []any{"body"}, Msg: "JSON decode error: " + reason, Type: "json_invalid"}}}
}

func (f *Fields) fail(name, msg, typ string) {
	f.errs = append(f.errs, FieldError{Loc: []any{"body", name}, Msg: msg, Type: typ})
}

func (f *Fields) get(name string) (json.RawMessage, bool) {
	v, ok := f.raw[name]
	if !ok || string(v) == "null" {
		return nil, false
	}
	return v, true
}

// String reads a string field of at most maxLen characters; required ones
// must be present and non-empty.
func (f *Fields) String(name string, required bool, maxLen int) (string, bool) {
	v, ok := f.get(name)
	if !ok {
		if required {
			f.fail(name, "Field required", "missing")
		}
		return "", false
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		f.fail(name, "Input should be a valid string", "string_type")
		return "", false
	}
	switch {
	case required && s == "":
		f.fail(name, "String should have at least 1 character", "string_too_short")
		return "", false
	case utf8.RuneCountInString(s) > maxLen:
		f.fail(name, fmt.Sprintf("String should have at most %d characters", maxLen), "string_too_long")
		return "", false
	case resource.HasControl(s):
		f.fail(name, "String should not contain control characters", "value_error")
		return "", false
	}
	return s, true
}

// Bool reads a boolean field; nil when absent.
func (f *Fields) Bool(name string) *bool {
	v, ok := f.get(name)
	if !ok {
		return nil
	}
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		f.fail(name, "Input should be a valid boolean", "bool_type")
		return nil
	}
	return &b
}

// Int reads an integer field in [min, max]; nil when absent. Integral
// numbers written with a fraction (8760.0) are accepted, as pydantic does;
// strings, booleans and fractions are not.
func (f *Fields) Int(name string, min, max int64) *int64 {
	v, ok := f.get(name)
	if !ok {
		return nil
	}
	n, err := parseInt(v)
	switch {
	case errors.Is(err, errTooLarge):
		n = max + 1 // reported as above the maximum
	case errors.Is(err, errTooSmall):
		n = min - 1
	case err != nil:
		f.fail(name, "Input should be a valid integer", "int_type")
		return nil
	}
	if !f.inRange(name, n, min, max) {
		return nil
	}
	return &n
}

func (f *Fields) inRange(name string, n, min, max int64) bool {
	switch {
	case n < min:
		f.fail(name, fmt.Sprintf("Input should be greater than or equal to %d", min), "greater_than_equal")
	case n > max:
		f.fail(name, fmt.Sprintf("Input should be less than or equal to %d", max), "less_than_equal")
	default:
		return true
	}
	return false
}

var (
	errNotInteger = errors.New("not an integer")
	errTooLarge   = errors.New("integer too large")
	errTooSmall   = errors.New("integer too small")
)

// parseInt reads a JSON number token that holds an integer (possibly
// written as 5.0 or 5e2). Out-of-range values are errTooLarge/errTooSmall,
// the same on every platform.
func parseInt(v json.RawMessage) (int64, error) {
	s := string(v)
	if s == "" || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		return 0, errNotInteger // a string, bool, object or array
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	fl, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil && !errors.Is(err, strconv.ErrRange):
		return 0, errNotInteger
	case fl != math.Trunc(fl):
		return 0, errNotInteger
	case fl >= math.MaxInt64:
		return 0, errTooLarge
	case fl <= math.MinInt64:
		return 0, errTooSmall
	}
	return int64(fl), nil
}

// Err returns the collected validation errors, or nil.
func (f *Fields) Err() error {
	if len(f.errs) == 0 {
		return nil
	}
	return &ValidationError{Details: f.errs}
}

// Query reads query parameters, collecting validation errors.
type Query struct {
	r    *http.Request
	errs []FieldError
}

// NewQuery starts reading r's query parameters.
func NewQuery(r *http.Request) *Query { return &Query{r: r} }

func (q *Query) fail(name, msg, typ string) {
	q.errs = append(q.errs, FieldError{Loc: []any{"query", name}, Msg: msg, Type: typ})
}

// Int reads an integer parameter in [min, max], def when absent.
func (q *Query) Int(name string, def, min, max int) int {
	s := q.r.URL.Query().Get(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	switch {
	case err != nil:
		q.fail(name, "Input should be a valid integer, unable to parse string as an integer", "int_parsing")
	case n < min:
		q.fail(name, fmt.Sprintf("Input should be greater than or equal to %d", min), "greater_than_equal")
	case n > max:
		q.fail(name, fmt.Sprintf("Input should be less than or equal to %d", max), "less_than_equal")
	default:
		return n
	}
	return def
}

// Enum reads a parameter that must be one of allowed, "" when absent.
func (q *Query) Enum(name string, allowed []string) string {
	s := q.r.URL.Query().Get(name)
	if s == "" {
		return ""
	}
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	q.fail(name, fmt.Sprintf("Input should be one of %v", allowed), "enum")
	return ""
}

// String reads a parameter of at most maxLen characters, "" when absent.
func (q *Query) String(name string, maxLen int) string {
	s := q.r.URL.Query().Get(name)
	if utf8.RuneCountInString(s) > maxLen {
		q.fail(name, fmt.Sprintf("String should have at most %d characters", maxLen), "string_too_long")
		return ""
	}
	return s
}

// Bool reads a boolean parameter ("true" or "false"); nil when absent.
func (q *Query) Bool(name string) *bool {
	switch q.r.URL.Query().Get(name) {
	case "":
		return nil
	case "true":
		b := true
		return &b
	case "false":
		b := false
		return &b
	}
	q.fail(name, "Input should be a valid boolean", "bool_parsing")
	return nil
}

// timeLayouts are the ISO 8601 forms a time parameter may take; a time
// without zone is UTC.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"}

// Time reads an ISO 8601 time parameter; the zero time when absent.
func (q *Query) Time(name string) time.Time {
	s := q.r.URL.Query().Get(name)
	if s == "" {
		return time.Time{}
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil && t.Year() >= 1 && t.Year() <= 9999 {
			return t.UTC()
		}
	}
	q.fail(name, "Input should be a valid datetime (ISO 8601)", "datetime_parsing")
	return time.Time{}
}

// Fail records a validation error about a parameter.
func (q *Query) Fail(name, msg, typ string) {
	q.fail(name, msg, typ)
}

// Err returns the collected validation errors, or nil.
func (q *Query) Err() error {
	if len(q.errs) == 0 {
		return nil
	}
	return &ValidationError{Details: q.errs}
}

// Pagination limits: Inmor's defaults, with a maximum (Lambda answers are capped at 6 MB).
const (
	DefaultLimit = 100
	MaxLimit     = 1000
	// MaxOffset bounds offset paging, whose cost grows with the offset.
	MaxOffset = 1_000_000
)

// Page reads limit and offset.
func (q *Query) Page() (limit, offset int) {
	return q.Int("limit", DefaultLimit, 1, MaxLimit), q.Int("offset", 0, 0, MaxOffset)
}

// PageBody is the body of list responses.
type PageBody[T any] struct {
	Items []T `json:"items"`
	Count int `json:"count"`
}

// Object reads a JSON object field, numbers kept exact (json.Number).
// present reports whether the field was sent at all: an explicit null gives
// (nil, true); required fields must be an object.
func (f *Fields) Object(name string, required bool) (obj map[string]any, present bool) {
	v, sent := f.raw[name]
	if !sent || (string(v) == "null" && !required) {
		if required {
			f.fail(name, "Field required", "missing")
		}
		return nil, sent
	}
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil || obj == nil {
		f.fail(name, "Input should be a valid dictionary", "dict_type")
		return nil, true
	}
	return obj, true
}

// OptionalString reads a string field that may be null; present reports
// whether it was sent at all.
func (f *Fields) OptionalString(name string, maxLen int) (value *string, present bool) {
	v, sent := f.raw[name]
	if !sent || string(v) == "null" {
		return nil, sent
	}
	s, ok := f.String(name, false, maxLen)
	if !ok {
		return nil, true
	}
	return &s, true
}

// Raw returns a field as sent, and whether it was sent (null included).
func (f *Fields) Raw(name string) (json.RawMessage, bool) {
	v, ok := f.raw[name]
	return v, ok
}

// Require records a missing required field that has no typed reader call.
func (f *Fields) Require(name string) {
	f.fail(name, "Field required", "missing")
}

// RequiredInt reads an integer field that must be present and not null.
func (f *Fields) RequiredInt(name string, min, max int64) int64 {
	if _, ok := f.get(name); !ok {
		f.Require(name)
		return 0
	}
	if n := f.Int(name, min, max); n != nil {
		return *n
	}
	return 0
}
