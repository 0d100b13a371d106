package httpapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestAccessLogWritesOneLinePerRequest with the status answered.
func TestAccessLogWritesOneLinePerRequest(t *testing.T) {
	var buf bytes.Buffer
	previous := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&buf, nil)))
	defer slog.SetDefault(previous)
	h := AccessLog(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusTeapot, map[string]string{"a": "b"})
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("PUT", "/api/v1/x", nil))
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log %q: %v", buf.String(), err)
	}
	if line["msg"] != "request" || line["method"] != "PUT" || line["path"] != "/api/v1/x" || line["status"] != 418.0 {
		t.Errorf("access line %v", line)
	}
	if _, ok := line["duration_ms"].(float64); !ok {
		t.Errorf("no duration in %v", line)
	}
}
