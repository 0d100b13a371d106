package audit

import (
	"encoding/json"
	"testing"
)

// obj and list shorten attribute values in tables.
type (
	obj  = map[string]any
	list = []any
)

// num is a number attribute value, as the stream decoder produces it.
func num(s string) json.Number { return json.Number(s) }

func ptr[T any](v T) *T { return &v }

// mustJSON encodes v with encoding/json, for readable failure messages.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal(%#v): %v", v, err)
	}
	return string(b)
}

// summaryJSON is the summary Encode writes for e.
func summaryJSON(e *Entry) ([]byte, error) {
	encoded, err := e.Encode()
	return []byte(encoded.Summary), err
}
