package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/inmor/inmor-serverless/shared/apperr"
)

// validationDetails returns the details of a ValidationError, failing the
// test for any other error.
func validationDetails(t *testing.T, err error) []FieldError {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T) is not a *ValidationError", err, err)
	}
	if StatusOf(err) != http.StatusUnprocessableEntity {
		t.Errorf("StatusOf(validation error) = %d, want 422", StatusOf(err))
	}
	return ve.Details
}

// TestParseFields specifies how a body becomes Fields: a JSON object, or
// nothing at all; anything else is a 422.
func TestParseFields(t *testing.T) {
	cases := []struct {
		name     string
		body     string
		wantType string // "" for no error
	}{
		{name: "empty body is {}", body: ""},
		{name: "blank body is {}", body: " \n\t "},
		{name: "empty object", body: "{}"},
		{name: "object with fields", body: `{"tmtype": "https://x", "extra": [1, 2]}`},
		{name: "object with surrounding space", body: " {\"a\": 1}\n"},
		{name: "truncated JSON", body: `{"tmtype": `, wantType: "json_invalid"},
		{name: "not JSON", body: `tmtype=x`, wantType: "json_invalid"},
		{name: "single quotes", body: `{'a': 1}`, wantType: "json_invalid"},
		{name: "trailing comma", body: `{"a": 1,}`, wantType: "json_invalid"},
		{name: "two objects", body: `{} {}`, wantType: "json_invalid"},
		{name: "object then garbage", body: `{"a": 1} x`, wantType: "json_invalid"},
		{name: "object then a stray ]", body: `{"a": 1}]`, wantType: "json_invalid"},
		{name: "object then a stray }", body: `{"a": 1}}`, wantType: "json_invalid"},
		{name: "invalid UTF-8", body: "{\"a\": \"\xff\"}", wantType: "json_invalid"},
		{name: "a JSON array", body: `[{"tmtype": "x"}]`, wantType: "model_type"},
		{name: "a JSON string", body: `"x"`, wantType: "model_type"},
		{name: "a JSON number", body: `1`, wantType: "model_type"},
		{name: "a JSON bool", body: `true`, wantType: "model_type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := ParseFields([]byte(c.body))
			if c.wantType == "" {
				if err != nil || f == nil {
					t.Fatalf("ParseFields(%q) = %v, %v; want fields, no error", c.body, f, err)
				}
				if f.Err() != nil {
					t.Errorf("fresh Fields has errors: %v", f.Err())
				}
				return
			}
			if err == nil {
				t.Errorf("ParseFields(%q) gave no error; want 422 %s", c.body, c.wantType)
				return
			}
			d := validationDetails(t, err)
			if len(d) != 1 || d[0].Type != c.wantType || !reflect.DeepEqual(d[0].Loc, []any{"body"}) || d[0].Msg == "" {
				t.Errorf("ParseFields(%q) details = %+v; want one %s error at [body]", c.body, d, c.wantType)
			}
		})
	}
}

// fieldCase is one read of one field from a body.
type fieldCase struct {
	name string
	body string
	// read reads the field and returns its value (nil when absent/invalid).
	read func(f *Fields) any
	want any
	// wantErr is the expected error (Loc is always ["body", field]), nil for none.
	wantErr *FieldError
}

func runFieldCases(t *testing.T, cases []fieldCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := ParseFields([]byte(c.body))
			if err != nil {
				t.Fatalf("ParseFields(%s): %v", c.body, err)
			}
			got := c.read(f)
			if c.wantErr == nil {
				if f.Err() != nil {
					t.Errorf("%s: unexpected error %+v", c.body, validationDetails(t, f.Err()))
				}
			} else {
				if f.Err() == nil {
					t.Errorf("%s: no error, read %s; want %s", c.body, show(got), c.wantErr.Type)
					return
				}
				d := validationDetails(t, f.Err())
				if len(d) != 1 || !reflect.DeepEqual(d[0], *c.wantErr) {
					t.Errorf("%s: details %+v; want [%+v]", c.body, d, *c.wantErr)
				}
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s: read %s, want %s", c.body, show(got), show(c.want))
			}
		})
	}
}

// show prints a read value, dereferencing pointers.
func show(v any) string {
	switch p := v.(type) {
	case *int64:
		if p != nil {
			return fmt.Sprintf("&%d", *p)
		}
	case *bool:
		if p != nil {
			return fmt.Sprintf("&%v", *p)
		}
	}
	return fmt.Sprintf("%#v", v)
}

func fe(field, msg, typ string) *FieldError {
	return &FieldError{Loc: []any{"body", field}, Msg: msg, Type: typ}
}

// TestFieldsString: required strings must be present and non-empty; every
// string is bounded in characters; other JSON types are string_type.
func TestFieldsString(t *testing.T) {
	type result struct {
		S  string
		OK bool
	}
	req := func(maxLen int) func(f *Fields) any {
		return func(f *Fields) any { s, ok := f.String("tmtype", true, maxLen); return result{s, ok} }
	}
	opt := func(f *Fields) any { s, ok := f.String("tmtype", false, 10); return result{s, ok} }
	runFieldCases(t, []fieldCase{
		{name: "required present", body: `{"tmtype": "https://x"}`, read: req(100), want: result{"https://x", true}},
		{name: "required missing", body: `{}`, read: req(100), want: result{}, wantErr: fe("tmtype", "Field required", "missing")},
		{name: "required null counts as missing", body: `{"tmtype": null}`, read: req(100), want: result{}, wantErr: fe("tmtype", "Field required", "missing")},
		{name: "required empty", body: `{"tmtype": ""}`, read: req(100), want: result{},
			wantErr: fe("tmtype", "String should have at least 1 character", "string_too_short")},
		{name: "exactly max length", body: `{"tmtype": "abcde"}`, read: req(5), want: result{"abcde", true}},
		{name: "too long", body: `{"tmtype": "abcdef"}`, read: req(5), want: result{},
			wantErr: fe("tmtype", "String should have at most 5 characters", "string_too_long")},
		{name: "length counts characters, not bytes", body: `{"tmtype": "ééééé"}`, read: req(5), want: result{"ééééé", true}},
		{name: "number is not a string", body: `{"tmtype": 5}`, read: req(100), want: result{},
			wantErr: fe("tmtype", "Input should be a valid string", "string_type")},
		{name: "bool is not a string", body: `{"tmtype": true}`, read: req(100), want: result{},
			wantErr: fe("tmtype", "Input should be a valid string", "string_type")},
		{name: "object is not a string", body: `{"tmtype": {"a": "b"}}`, read: req(100), want: result{},
			wantErr: fe("tmtype", "Input should be a valid string", "string_type")},
		{name: "optional missing", body: `{}`, read: opt, want: result{}},
		{name: "optional empty is allowed", body: `{"tmtype": ""}`, read: opt, want: result{"", true}},
		{name: "optional too long", body: `{"tmtype": "12345678901"}`, read: opt, want: result{},
			wantErr: fe("tmtype", "String should have at most 10 characters", "string_too_long")},
		{name: "unknown fields are ignored", body: `{"tmtype": "x", "unknown": [1], "other": {"a": null}}`, read: req(100), want: result{"x", true}},
	})
}

// TestFieldsBool: booleans are JSON true/false only.
func TestFieldsBool(t *testing.T) {
	read := func(f *Fields) any { return f.Bool("active") }
	tru, fls := true, false
	boolErr := fe("active", "Input should be a valid boolean", "bool_type")
	runFieldCases(t, []fieldCase{
		{name: "true", body: `{"active": true}`, read: read, want: &tru},
		{name: "false", body: `{"active": false}`, read: read, want: &fls},
		{name: "absent", body: `{}`, read: read, want: (*bool)(nil)},
		{name: "null counts as absent", body: `{"active": null}`, read: read, want: (*bool)(nil)},
		{name: "string", body: `{"active": "true"}`, read: read, want: (*bool)(nil), wantErr: boolErr},
		{name: "number", body: `{"active": 1}`, read: read, want: (*bool)(nil), wantErr: boolErr},
		{name: "list", body: `{"active": [true]}`, read: read, want: (*bool)(nil), wantErr: boolErr},
	})
}

// TestFieldsInt: integers in [min, max]; an integral number written with a
// fraction is accepted (as pydantic does); anything else is int_type.
func TestFieldsInt(t *testing.T) {
	read := func(f *Fields) any { return f.Int("valid_for", 1, 8760) }
	i := func(n int64) *int64 { return &n }
	none := (*int64)(nil)
	intErr := fe("valid_for", "Input should be a valid integer", "int_type")
	runFieldCases(t, []fieldCase{
		{name: "5", body: `{"valid_for": 5}`, read: read, want: i(5)},
		{name: "5.0", body: `{"valid_for": 5.0}`, read: read, want: i(5)},
		{name: "1e2", body: `{"valid_for": 1e2}`, read: read, want: i(100)},
		{name: "minimum", body: `{"valid_for": 1}`, read: read, want: i(1)},
		{name: "maximum", body: `{"valid_for": 8760}`, read: read, want: i(8760)},
		{name: "absent", body: `{}`, read: read, want: none},
		{name: "null counts as absent", body: `{"valid_for": null}`, read: read, want: none},
		{name: "5.5", body: `{"valid_for": 5.5}`, read: read, want: none, wantErr: intErr},
		{name: "string \"5\"", body: `{"valid_for": "5"}`, read: read, want: none, wantErr: intErr},
		{name: "string \"5.0\"", body: `{"valid_for": "5.0"}`, read: read, want: none, wantErr: intErr},
		{name: "string \"abc\"", body: `{"valid_for": "abc"}`, read: read, want: none, wantErr: intErr},
		{name: "true", body: `{"valid_for": true}`, read: read, want: none, wantErr: intErr},
		{name: "object", body: `{"valid_for": {}}`, read: read, want: none, wantErr: intErr},
		{name: "below minimum", body: `{"valid_for": 0}`, read: read, want: none,
			wantErr: fe("valid_for", "Input should be greater than or equal to 1", "greater_than_equal")},
		{name: "negative", body: `{"valid_for": -3}`, read: read, want: none,
			wantErr: fe("valid_for", "Input should be greater than or equal to 1", "greater_than_equal")},
		{name: "above maximum", body: `{"valid_for": 8761}`, read: read, want: none,
			wantErr: fe("valid_for", "Input should be less than or equal to 8760", "less_than_equal")},
	})
}

// TestFieldsCollectsEveryError: all failures of a body are reported at once,
// in the order the fields were read.
func TestFieldsCollectsEveryError(t *testing.T) {
	f, err := ParseFields([]byte(`{"autorenew": "yes", "valid_for": 0, "renewal_time": 1.5, "active": true}`))
	if err != nil {
		t.Fatal(err)
	}
	f.String("tmtype", true, 10)
	f.Bool("autorenew")
	f.Int("valid_for", 1, 10)
	f.Int("renewal_time", 0, 10)
	if a := f.Bool("active"); a == nil || !*a {
		t.Errorf("a valid field next to invalid ones must still be read")
	}
	d := validationDetails(t, f.Err())
	var got []string
	for _, e := range d {
		got = append(got, e.Loc[1].(string)+":"+e.Type)
	}
	want := []string{"tmtype:missing", "autorenew:bool_type", "valid_for:greater_than_equal", "renewal_time:int_type"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors = %v, want %v", got, want)
	}
}

// TestReadBody: bodies are bounded by MaxBodyBytes (1 MiB).
func TestReadBody(t *testing.T) {
	for _, c := range []struct {
		name     string
		size     int
		tooLarge bool
	}{
		{"empty", 0, false},
		{"exactly the limit", MaxBodyBytes, false},
		{"one byte over the limit", MaxBodyBytes + 1, true},
		{"far over the limit", 3 * MaxBodyBytes, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := bytes.Repeat([]byte("a"), c.size)
			got, err := ReadBody(httptest.NewRequest("POST", "/", bytes.NewReader(body)))
			if (err != nil) != c.tooLarge || c.tooLarge && !apperr.Is(apperr.TooLarge, err) {
				t.Fatalf("ReadBody(%d bytes) error = %v, want too large: %v", c.size, err, c.tooLarge)
			}
			if !c.tooLarge && len(got) != c.size {
				t.Errorf("ReadBody read %d bytes, want %d", len(got), c.size)
			}
			if c.tooLarge && StatusOf(err) != http.StatusRequestEntityTooLarge {
				t.Errorf("StatusOf = %d, want 413", StatusOf(err))
			}
		})
	}
	t.Run("ReadFields passes the limit on", func(t *testing.T) {
		body := `{"a": "` + strings.Repeat("x", MaxBodyBytes) + `"}`
		if _, err := ReadFields(httptest.NewRequest("POST", "/", strings.NewReader(body))); !apperr.Is(apperr.TooLarge, err) {
			t.Errorf("ReadFields error = %v, want a TooLarge error", err)
		}
	})
	t.Run("ReadFields reads a body", func(t *testing.T) {
		f, err := ReadFields(httptest.NewRequest("POST", "/", strings.NewReader(`{"tmtype": "x"}`)))
		if err != nil {
			t.Fatal(err)
		}
		if s, ok := f.String("tmtype", true, 10); !ok || s != "x" {
			t.Errorf("tmtype = %q, %v", s, ok)
		}
	})
}

// TestQuery: query parameters are validated with errors located at
// ["query", name].
func TestQuery(t *testing.T) {
	qe := func(name, msg, typ string) []FieldError {
		return []FieldError{{Loc: []any{"query", name}, Msg: msg, Type: typ}}
	}
	actions := []string{"CREATE", "UPDATE", "DELETE"}
	cases := []struct {
		name       string
		query      string
		read       func(q *Query) any
		want       any
		wantErrors []FieldError
	}{
		{name: "Page defaults", query: "", read: func(q *Query) any { l, o := q.Page(); return [2]int{l, o} }, want: [2]int{DefaultLimit, 0}},
		{name: "Page values", query: "limit=5&offset=10", read: func(q *Query) any { l, o := q.Page(); return [2]int{l, o} }, want: [2]int{5, 10}},
		{name: "Page bounds", query: "limit=1000&offset=0", read: func(q *Query) any { l, o := q.Page(); return [2]int{l, o} }, want: [2]int{1000, 0}},
		{name: "limit 0", query: "limit=0", read: func(q *Query) any { l, _ := q.Page(); return l }, want: DefaultLimit,
			wantErrors: qe("limit", "Input should be greater than or equal to 1", "greater_than_equal")},
		{name: "limit over the maximum", query: "limit=1001", read: func(q *Query) any { l, _ := q.Page(); return l }, want: DefaultLimit,
			wantErrors: qe("limit", "Input should be less than or equal to 1000", "less_than_equal")},
		{name: "limit not a number", query: "limit=ten", read: func(q *Query) any { l, _ := q.Page(); return l }, want: DefaultLimit,
			wantErrors: qe("limit", "Input should be a valid integer, unable to parse string as an integer", "int_parsing")},
		{name: "limit with a fraction", query: "limit=5.5", read: func(q *Query) any { l, _ := q.Page(); return l }, want: DefaultLimit,
			wantErrors: qe("limit", "Input should be a valid integer, unable to parse string as an integer", "int_parsing")},
		{name: "negative offset", query: "offset=-1", read: func(q *Query) any { _, o := q.Page(); return o }, want: 0,
			wantErrors: qe("offset", "Input should be greater than or equal to 0", "greater_than_equal")},
		{name: "offset over the maximum", query: "offset=1000001", read: func(q *Query) any { _, o := q.Page(); return o }, want: 0,
			wantErrors: qe("offset", "Input should be less than or equal to 1000000", "less_than_equal")},
		{name: "both wrong", query: "limit=x&offset=-5", read: func(q *Query) any { l, o := q.Page(); return [2]int{l, o} }, want: [2]int{DefaultLimit, 0},
			wantErrors: append(qe("limit", "Input should be a valid integer, unable to parse string as an integer", "int_parsing"),
				qe("offset", "Input should be greater than or equal to 0", "greater_than_equal")...)},
		{name: "Int default", query: "", read: func(q *Query) any { return q.Int("n", 7, 0, 10) }, want: 7},
		{name: "Int value", query: "n=3", read: func(q *Query) any { return q.Int("n", 7, 0, 10) }, want: 3},
		{name: "Enum absent", query: "", read: func(q *Query) any { return q.Enum("action", actions) }, want: ""},
		{name: "Enum allowed", query: "action=UPDATE", read: func(q *Query) any { return q.Enum("action", actions) }, want: "UPDATE"},
		{name: "Enum is case-sensitive", query: "action=update", read: func(q *Query) any { return q.Enum("action", actions) }, want: "",
			wantErrors: qe("action", "Input should be one of [CREATE UPDATE DELETE]", "enum")},
		{name: "Enum unknown", query: "action=DROP", read: func(q *Query) any { return q.Enum("action", actions) }, want: "",
			wantErrors: qe("action", "Input should be one of [CREATE UPDATE DELETE]", "enum")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := NewQuery(httptest.NewRequest("GET", "/list?"+c.query, nil))
			if got := c.read(q); !reflect.DeepEqual(got, c.want) {
				t.Errorf("read %#v, want %#v", got, c.want)
			}
			if c.wantErrors == nil {
				if q.Err() != nil {
					t.Errorf("unexpected error %v", q.Err())
				}
				return
			}
			if d := validationDetails(t, q.Err()); !reflect.DeepEqual(d, c.wantErrors) {
				t.Errorf("details %+v\nwant %+v", d, c.wantErrors)
			}
		})
	}
}
