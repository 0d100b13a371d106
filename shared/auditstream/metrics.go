package auditstream

import (
	"encoding/json"
	"io"
	"time"
)

// MetricsNamespace is the CloudWatch namespace of the audit function's metrics.
const MetricsNamespace = "Inmor/Audit"

type metricDefinition struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// batchMetrics are the metrics of one batch, in the order they are written.
var batchMetrics = []metricDefinition{
	{"Records", "Count"}, {"Appended", "Count"}, {"Duplicates", "Count"}, {"Skipped", "Count"},
	{"SetAside", "Count"}, {"Failed", "Count"}, {"Foreign", "Count"}, {"LagMilliseconds", "Milliseconds"},
}

// writeMetrics writes one batch's statistics as a CloudWatch Embedded Metric
// Format line: CloudWatch Logs turns it into metrics the CDK app alarms on,
// with no API call from the function.
func writeMetrics(w io.Writer, s Stats, now time.Time) error {
	line := map[string]any{
		"_aws": map[string]any{
			"Timestamp": now.UnixMilli(),
			"CloudWatchMetrics": []map[string]any{{
				"Namespace":  MetricsNamespace,
				"Dimensions": [][]string{{"Function"}},
				"Metrics":    batchMetrics,
			}},
		},
		"Function":        "audit",
		"Records":         s.Records,
		"Appended":        s.Appended,
		"Duplicates":      s.Duplicates,
		"Skipped":         s.Skipped,
		"SetAside":        s.SetAside,
		"Failed":          s.Failed,
		"Foreign":         s.Foreign,
		"LagMilliseconds": s.MaxLag.Milliseconds(),
	}
	b, err := json.Marshal(line)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
