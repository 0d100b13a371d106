package streamrecord

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Sample builders shared by the tests and benchmarks. They produce the same
// shapes the audit Lambda sees: a trust mark type item and a ~4.4 KB record
// with nested maps and lists.

type ddbItem = map[string]events.DynamoDBAttributeValue

var sampleTime = time.Date(2025, 3, 14, 15, 9, 26, 535000000, time.UTC)

const sampleARN = "arn:aws:dynamodb:eu-north-1:123456789012:table/inmor-main/stream/2025-01-01T00:00:00.000"

func attrS(v string) events.DynamoDBAttributeValue  { return events.NewStringAttribute(v) }
func attrN(v string) events.DynamoDBAttributeValue  { return events.NewNumberAttribute(v) }
func attrBool(v bool) events.DynamoDBAttributeValue { return events.NewBooleanAttribute(v) }
func attrM(v ddbItem) events.DynamoDBAttributeValue { return events.NewMapAttribute(v) }
func attrL(v ...events.DynamoDBAttributeValue) events.DynamoDBAttributeValue {
	return events.NewListAttribute(v)
}

// sampleRecord wraps images into a stream record with the usual envelope fields.
func sampleRecord(eventName string, seq int, keys, oldImage, newImage ddbItem) events.DynamoDBEventRecord {
	size := int64(len(mustJSON(keys)) + len(mustJSON(oldImage)) + len(mustJSON(newImage)))
	return events.DynamoDBEventRecord{
		AWSRegion:      "eu-north-1",
		EventID:        fmt.Sprintf("c81e728d9d4c2f636f067f89cc14%04x", seq),
		EventName:      eventName,
		EventSource:    "aws:dynamodb",
		EventVersion:   "1.1",
		EventSourceArn: sampleARN,
		Change: events.DynamoDBStreamRecord{
			ApproximateCreationDateTime: events.SecondsEpochTime{Time: sampleTime.Add(time.Duration(seq) * time.Second)},
			Keys:                        keys,
			OldImage:                    oldImage,
			NewImage:                    newImage,
			SequenceNumber:              fmt.Sprintf("4970000000000000000000%08d", seq),
			SizeBytes:                   size,
			StreamViewType:              "NEW_AND_OLD_IMAGES",
		},
	}
}

// trustMarkTypeItem is a trust mark type row; version varies the content.
func trustMarkTypeItem(version int) ddbItem {
	attribution := ddbItem{}
	for _, f := range []string{"name", "organization", "country", "locality", "email",
		"phone", "website", "policy_uri", "logo_uri", "contact", "department", "registry"} {
		attribution[f] = attrS(fmt.Sprintf("%s value for the trust mark issuer v%d", f, version))
	}
	return ddbItem{
		"pk":           attrS("TMTYPE#https://trust.example.org/tm/member"),
		"sk":           attrS("META"),
		"id":           attrS("01J9Y6M1K3X7Q2C4V8B5N0R6TZ"),
		"tmtype":       attrS("https://trust.example.org/tm/member"),
		"autorenew":    attrBool(version%2 == 0),
		"valid_for":    attrN("8760"),
		"renewal_time": attrN("48"),
		"active":       attrBool(true),
		"added":        attrN("1741964966"),
		"version":      attrN(strconv.Itoa(version)),
		"attribution":  attrM(attribution),
	}
}

func trustMarkTypeKeys() ddbItem {
	return ddbItem{"pk": attrS("TMTYPE#https://trust.example.org/tm/member"), "sk": attrS("META")}
}

// sampleTrustMarkTypeEvent is a MODIFY of a trust mark type ddbItem.
func sampleTrustMarkTypeEvent() events.DynamoDBEvent {
	return events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		sampleRecord("MODIFY", 1, trustMarkTypeKeys(), trustMarkTypeItem(3), trustMarkTypeItem(4)),
	}}
}

// nestedItem is an entity row whose image is ~2 KB of nested maps and lists
// of strings, numbers and bools.
func nestedItem(version int) ddbItem {
	contacts := make([]events.DynamoDBAttributeValue, 0, 3)
	for i := range 3 {
		contacts = append(contacts, attrM(ddbItem{
			"email":   attrS(fmt.Sprintf("contact%d@entity.example.org", i)),
			"phone":   attrS(fmt.Sprintf("+46 8 555 01%02d", i)),
			"primary": attrBool(i == 0),
			"weight":  attrN(strconv.Itoa(10 * (i + 1))),
		}))
	}
	policies := make([]events.DynamoDBAttributeValue, 0, 4)
	for i := range 4 {
		policies = append(policies, attrM(ddbItem{
			"id":    attrS(fmt.Sprintf("policy-%d", i)),
			"rules": attrL(attrS("metadata.openid_relying_party.grant_types"), attrS("subset_of"), attrS("authorization_code")),
			"limits": attrM(ddbItem{
				"max_path_length": attrN(strconv.Itoa(i + 1)),
				"ttl":             attrN("86400.5"),
				"enforced":        attrBool(i%2 == 1),
			}),
		}))
	}
	return ddbItem{
		"pk":      attrS("ENTITY#https://rp.example.org"),
		"sk":      attrS("CONFIG"),
		"version": attrN(strconv.Itoa(version)),
		"enabled": attrBool(version%2 == 0),
		"metadata": attrM(ddbItem{
			"organization": attrM(ddbItem{
				"name":     attrS("Example Relying Party Organisation"),
				"country":  attrS("SE"),
				"homepage": attrS("https://www.example.org/about"),
				"founded":  attrN("1998"),
			}),
			"contacts": attrL(contacts...),
			"policies": attrL(policies...),
			"tags":     attrL(attrS("federation"), attrS("openid"), attrS("relying-party"), attrS("production"), attrS("eu")),
			"jwks": attrM(ddbItem{
				"kid": attrS("2025-03-key-1"),
				"kty": attrS("EC"),
				"crv": attrS("P-256"),
				"x":   attrS("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"),
				"y":   attrS("x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"),
			}),
		}),
	}
}

func nestedKeys() ddbItem {
	return ddbItem{"pk": attrS("ENTITY#https://rp.example.org"), "sk": attrS("CONFIG")}
}

// sampleNested4KBEvent is a MODIFY whose two images are ~2 KB each, ~4.4 KB in all.
func sampleNested4KBEvent() events.DynamoDBEvent {
	return events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		sampleRecord("MODIFY", 2, nestedKeys(), nestedItem(7), nestedItem(8)),
	}}
}

func mustJSON(v any) []byte {
	out, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return out
}

func benchDecode(b *testing.B, payload []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		recs, err := Decode(payload)
		if err != nil || recs[0].Err != nil {
			b.Fatal(err, recs[0].Err)
		}
	}
}

func BenchmarkDecodeTrustMarkType(b *testing.B) {
	benchDecode(b, mustJSON(sampleTrustMarkTypeEvent()))
}

func BenchmarkDecodeNested4KB(b *testing.B) {
	benchDecode(b, mustJSON(sampleNested4KBEvent()))
}

// BenchmarkDecodeNested4KBBatch100 decodes 100 such records in one payload
// (ns/op / 100 is the amortised per-record cost).
func BenchmarkDecodeNested4KBBatch100(b *testing.B) {
	var ev events.DynamoDBEvent
	for i := range 100 {
		ev.Records = append(ev.Records, sampleRecord("MODIFY", i, nestedKeys(), nestedItem(i), nestedItem(i+1)))
	}
	benchDecode(b, mustJSON(ev))
}

func BenchmarkAWSLambdaGoBaseline(b *testing.B) {
	payload := mustJSON(sampleNested4KBEvent())
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		var ev events.DynamoDBEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			b.Fatal(err)
		}
	}
}
