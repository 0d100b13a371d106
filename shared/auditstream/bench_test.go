package auditstream

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/inmor/inmor-serverless/shared/audit"
)

// encodingJournal does what the DynamoDB journal does before its request
// but read the tree: it encodes the entry's summary and snapshots, and
// hashes its canonical form (the Merkle tree's leaf).
type encodingJournal struct {
	bytes      int
	leaf       [32]byte
	attributed int
}

func (j *encodingJournal) Append(_ context.Context, e *audit.Entry) (bool, error) {
	encoded, err := e.Encode()
	if err != nil {
		return false, err
	}
	j.bytes += len(encoded.Summary) + len(encoded.Before) + len(encoded.After)
	j.leaf = encoded.LeafHash
	if e.AuthMethod != audit.AuthOutOfBand {
		j.attributed++
	}
	return true, nil
}

// nestedSubordinateRecord is a Subordinate MODIFY whose images hold about
// 2 KB of nested objects each (metadata, forced metadata, keys).
func nestedSubordinateRecord() events.DynamoDBEventRecord {
	r := trustMarkTypeRecord(7, 2, false, "99")
	for _, img := range []map[string]events.DynamoDBAttributeValue{r.Change.OldImage, r.Change.NewImage} {
		img["pk"] = events.NewStringAttribute("Subordinate")
		img["entityid"] = events.NewStringAttribute("https://rp.example.org")
		delete(img, "tmtype")
		meta := map[string]events.DynamoDBAttributeValue{}
		for i := 0; i < 12; i++ {
			meta[fmt.Sprintf("claim_%02d", i)] = events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{
				"value":    events.NewStringAttribute(strings.Repeat("v", 60)),
				"required": events.NewBooleanAttribute(i%2 == 0),
				"weight":   events.NewNumberAttribute(fmt.Sprint(i * 7)),
				"values":   events.NewListAttribute([]events.DynamoDBAttributeValue{events.NewStringAttribute("a"), events.NewStringAttribute("b")}),
			})
		}
		img["metadata"] = events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{"openid_relying_party": events.NewMapAttribute(meta)})
	}
	r.Change.NewImage["metadata"].Map()["openid_relying_party"].Map()["claim_03"].Map()["value"] = events.NewStringAttribute("changed")
	return r
}

// benchKey is the attribution key of the benchmarks' records.
var benchKey = []byte("bench-attribution-key-0123456789")

// signed returns a record whose new image's attribution carries its MAC
// under benchKey, as the API functions write it.
func signed(b *testing.B, r events.DynamoDBEventRecord) events.DynamoDBEventRecord {
	b.Helper()
	img := r.Change.NewImage
	claim := naiveValue(img["attribution"]).(map[string]any)
	version, _ := strconv.ParseInt(img["version"].Number(), 10, 64)
	mac, err := audit.AttributionMAC(benchKey, img["pk"].String(), img["sk"].String(), version, naiveSnapshot(img), claim)
	if err != nil {
		b.Fatal(err)
	}
	img["attribution"].Map()[audit.AttrMAC] = events.NewStringAttribute(mac)
	return r
}

func benchmarkProcess(b *testing.B, record events.DynamoDBEventRecord) {
	p := payload(b, signed(b, record))
	h := Handler{Journal: &encodingJournal{}, AttributionKey: benchKey, Logger: quiet()}
	ctx := context.Background()
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, stats, err := h.Process(ctx, p); err != nil || stats.Appended != 1 {
			b.Fatal(err, stats)
		}
	}
	if j := h.Journal.(*encodingJournal); j.attributed == 0 {
		b.Fatal("no entry was attributed: the MAC did not verify")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkDeriveTrustMarkType measures one TrustMarkType MODIFY: decode,
// snapshots, diff, event type, and the encoding of the entry.
func BenchmarkDeriveTrustMarkType(b *testing.B) {
	benchmarkProcess(b, trustMarkTypeRecord(1, 2, false, "1"))
}

// BenchmarkDeriveNested4KB measures a record with about 4 KB of nested objects.
func BenchmarkDeriveNested4KB(b *testing.B) {
	benchmarkProcess(b, nestedSubordinateRecord())
}

// BenchmarkBatchOf100 measures one invocation with 100 records: a mix of
// TrustMarkType writes and 4 KB subordinate records, as a busy shard sends.
func BenchmarkBatchOf100(b *testing.B) {
	records := make([]events.DynamoDBEventRecord, 100)
	for i := range records {
		if i%4 == 0 {
			records[i] = nestedSubordinateRecord()
		} else {
			records[i] = trustMarkTypeRecord(i+1, 2, i%2 == 0, "1")
		}
		records[i].EventID = fmt.Sprintf("ev-%d", i)
		records[i].Change.SequenceNumber = fmt.Sprint(1000 + i)
		records[i] = signed(b, records[i])
	}
	p := payload(b, records...)
	h := Handler{Journal: &encodingJournal{}, AttributionKey: benchKey, Logger: quiet()}
	ctx := context.Background()
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if _, stats, err := h.Process(ctx, p); err != nil || stats.Appended != 100 {
			b.Fatal(err, stats)
		}
	}
}
