package auditstream

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"
)

// TestBatchMetricsAreEmbeddedMetricFormat: one EMF line per batch with the
// counts and the lag from the change to its entry.
func TestBatchMetricsAreEmbeddedMetricFormat(t *testing.T) {
	var out bytes.Buffer
	now := recordTime.Add(1500 * time.Millisecond)
	h := Handler{Journal: &memoryJournal{}, Logger: quiet(), Metrics: &out, Now: func() time.Time { return now }}
	p := payload(t, trustMarkTypeRecord(1, 1, true, "1"), trustMarkTypeRecord(1, 2, false, "2"))
	if _, _, err := h.Process(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	var line map[string]any
	if err := json.Unmarshal(out.Bytes(), &line); err != nil {
		t.Fatalf("metrics %q: %v", out.String(), err)
	}
	aws, _ := line["_aws"].(map[string]any)
	defs, _ := aws["CloudWatchMetrics"].([]any)
	if aws["Timestamp"] != float64(now.UnixMilli()) || len(defs) != 1 {
		t.Fatalf("_aws %v", aws)
	}
	def := defs[0].(map[string]any)
	if def["Namespace"] != MetricsNamespace || len(def["Metrics"].([]any)) != len(batchMetrics) {
		t.Errorf("definition %v", def)
	}
	for name, want := range map[string]float64{"Records": 2, "Appended": 2, "Failed": 0, "SetAside": 0, "Foreign": 0, "LagMilliseconds": 1500} {
		if line[name] != want {
			t.Errorf("%s = %v, want %v", name, line[name], want)
		}
	}
	if line["Function"] != "audit" {
		t.Errorf("dimension Function = %v", line["Function"])
	}
}
