package streamrecord

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// refValue is the reference conversion of an aws-lambda-go attribute value.
func refValue(av events.DynamoDBAttributeValue) any {
	switch av.DataType() {
	case events.DataTypeString:
		return av.String()
	case events.DataTypeNumber:
		return json.Number(av.Number())
	case events.DataTypeBoolean:
		return av.Boolean()
	case events.DataTypeNull:
		return nil
	case events.DataTypeBinary:
		return av.Binary()
	case events.DataTypeMap:
		return refMap(av.Map())
	case events.DataTypeList:
		out := make([]any, 0, len(av.List()))
		for _, v := range av.List() {
			out = append(out, refValue(v))
		}
		return out
	case events.DataTypeStringSet:
		out := make([]any, 0, len(av.StringSet()))
		for _, v := range av.StringSet() {
			out = append(out, v)
		}
		return out
	case events.DataTypeNumberSet:
		out := make([]any, 0, len(av.NumberSet()))
		for _, v := range av.NumberSet() {
			out = append(out, json.Number(v))
		}
		return out
	case events.DataTypeBinarySet:
		out := make([]any, 0, len(av.BinarySet()))
		for _, v := range av.BinarySet() {
			out = append(out, v)
		}
		return out
	}
	panic(fmt.Sprintf("unknown data type %v", av.DataType()))
}

func refMap(in map[string]events.DynamoDBAttributeValue) map[string]any {
	out := make(map[string]any, len(in))
	for k, v := range in {
		out[k] = refValue(v)
	}
	return out
}

// refImage mirrors the JSON round trip: an empty image is omitted (omitempty).
func refImage(in map[string]events.DynamoDBAttributeValue) map[string]any {
	if len(in) == 0 {
		return nil
	}
	return refMap(in)
}

func refRecord(r events.DynamoDBEventRecord) Record {
	return Record{
		EventID:                 r.EventID,
		EventName:               r.EventName,
		SequenceNumber:          r.Change.SequenceNumber,
		ApproximateCreationTime: r.Change.ApproximateCreationDateTime.UTC(),
		EventSourceARN:          r.EventSourceArn,
		Keys:                    refImage(r.Change.Keys),
		OldImage:                refImage(r.Change.OldImage),
		NewImage:                refImage(r.Change.NewImage),
	}
}

// compareRecords compares times within tol and everything else exactly.
func compareRecords(t *testing.T, got, want []Record, tol time.Duration) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Err != nil {
			t.Errorf("record %d: unexpected Err: %v", i, g.Err)
		}
		if d := g.ApproximateCreationTime.Sub(w.ApproximateCreationTime); d > tol || d < -tol ||
			g.ApproximateCreationTime.IsZero() != w.ApproximateCreationTime.IsZero() {
			t.Errorf("record %d: time %v, want %v", i, g.ApproximateCreationTime, w.ApproximateCreationTime)
		}
		if loc := g.ApproximateCreationTime.Location(); loc != time.UTC {
			t.Errorf("record %d: time location %v, want UTC", i, loc)
		}
		g.ApproximateCreationTime, w.ApproximateCreationTime = time.Time{}, time.Time{}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("record %d mismatch\n got: %#v\nwant: %#v", i, g, w)
		}
	}
}

func allTypesItem() ddbItem {
	bin := make([]byte, 256)
	for i := range bin {
		bin[i] = byte(i)
	}
	return ddbItem{
		"pk":                  attrS("USER#1"),
		"s_plain":             attrS("hello"),
		"s_empty":             attrS(""),
		"s_unicode":           attrS("héllo wörld — 日本語 😀 \u2028\u2029"),
		"s_escapes":           attrS("quote\" backslash\\ slash/ \b\f\n\r\t ctl\x01\x1f <tag>&amp;"),
		"n_int":               attrN("42"),
		"n_neg_float":         attrN("-1.5e10"),
		"n_big":               attrN("123456789012345678901234567890.000000001"),
		"n_zero":              attrN("0"),
		"bool_t":              attrBool(true),
		"bool_f":              attrBool(false),
		"null":                events.NewNullAttribute(),
		"bin":                 events.NewBinaryAttribute(bin),
		"bin_empty":           events.NewBinaryAttribute([]byte{}),
		"ss":                  events.NewStringSetAttribute([]string{"a", "b\"c", "ü"}),
		"ns":                  events.NewNumberSetAttribute([]string{"1", "2.5", "-3E-2"}),
		"bs":                  events.NewBinarySetAttribute([][]byte{{0}, {1, 2, 3}, []byte("xyz")}),
		"l_empty":             events.NewListAttribute([]events.DynamoDBAttributeValue{}), // attrL() marshals as {"L":null}
		"m_empty":             attrM(ddbItem{}),
		"weird \"key\" <é>\n": attrS("v"),
		"":                    attrS("empty attribute name"),
	}
}

func deepItem() ddbItem {
	v := attrS("bottom")
	for i := range 20 {
		if i%2 == 0 {
			v = attrM(ddbItem{fmt.Sprintf("level%d", i): v, "n": attrN(fmt.Sprint(i))})
		} else {
			v = attrL(v, attrBool(i%3 == 0), events.NewNullAttribute())
		}
	}
	return ddbItem{"pk": attrS("DEEP"), "deep": v}
}

func TestDecodeEquivalence(t *testing.T) {
	keys := ddbItem{"pk": attrS("USER#1")}
	tests := []struct {
		name string
		ev   events.DynamoDBEvent
	}{
		{"insert all types", events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
			sampleRecord("INSERT", 1, keys, nil, allTypesItem()),
		}}},
		{"modify all types", events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
			sampleRecord("MODIFY", 1, keys, allTypesItem(), allTypesItem()),
		}}},
		{"remove old image only", events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
			sampleRecord("REMOVE", 9, keys, allTypesItem(), nil),
		}}},
		{"keys only", events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
			sampleRecord("REMOVE", 10, keys, nil, nil),
		}}},
		{"deeply nested", events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
			sampleRecord("MODIFY", 3, ddbItem{"pk": attrS("DEEP")}, deepItem(), deepItem()),
		}}},
		{"trust mark type sample", sampleTrustMarkTypeEvent()},
		{"nested 4KB sample", sampleNested4KBEvent()},
		{"batch", events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
			sampleRecord("INSERT", 1, trustMarkTypeKeys(), nil, trustMarkTypeItem(1)),
			sampleRecord("MODIFY", 2, nestedKeys(), nestedItem(1), nestedItem(2)),
			sampleRecord("REMOVE", 3, keys, allTypesItem(), nil),
			sampleRecord("MODIFY", 4, ddbItem{"pk": attrS("DEEP")}, deepItem(), deepItem()),
		}}},
		{"empty batch", events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := make([]Record, 0, len(tt.ev.Records))
			for _, r := range tt.ev.Records {
				want = append(want, refRecord(r))
			}
			for _, indent := range []bool{false, true} {
				payload := mustJSON(tt.ev)
				if indent {
					var buf bytes.Buffer
					if err := json.Indent(&buf, payload, "\r\n", " \t"); err != nil {
						t.Fatal(err)
					}
					payload = buf.Bytes()
				}
				got, err := Decode(payload)
				if err != nil {
					t.Fatalf("Decode(indent=%v): %v", indent, err)
				}
				clear(payload) // the result must not alias the payload
				compareRecords(t, got, want, 0)
			}
		})
	}
}

// TestDecodeMatchesAWSLambdaGo decodes hand-written payloads both with Decode
// and with encoding/json into events.DynamoDBEvent and compares the results.
func TestDecodeMatchesAWSLambdaGo(t *testing.T) {
	tests := []struct {
		name    string
		payload string
	}{
		{"escapes", `{"Records":[{"eventID":"a\/b","eventName":"INSERT","dynamodb":{"SequenceNumber":"1",` +
			`"ApproximateCreationDateTime":1741964967,` +
			`"NewImage":{"k\u00e9y":{"S":"\u00e9\ud83d\ude00\/\"\\\b\f\n\r\t\u0000"},` +
			`"lone":{"S":"x\ud800y"},"lone2":{"S":"\udc00"},"pair_bad":{"S":"\ud800\u0041"},` +
			`"hi_hi":{"S":"\ud800\ud800\udc00"},"\u0053":{"\u0053":"escaped descriptor"},` +
			`"bin":{"B":"aGVs\/G8="},"ns":{"NS":["1","2e5"]}}}}]}`},
		{"whitespace everywhere", " \r\n\t{ \"Records\" :\n[ { \"eventName\" : \"MODIFY\" , \"dynamodb\" : { \"Keys\" : " +
			"{ \"pk\" : { \"S\" : \"x\" } } , \"NewImage\" : { \"l\" : { \"L\" : [ { \"N\" : \"1\" } , { \"BOOL\" : false } , " +
			"{ \"NULL\" : true } , { \"M\" : { } } , { \"L\" : [ ] } ] } , \"ss\" : { \"SS\" : [ \"a\" , \"b\" ] } } , " +
			"\"SequenceNumber\" : \"7\" } } ] } \n\t "},
		{"unknown fields of every type", `{"Records":[{"eventVersion":"1.1","awsRegion":"eu-north-1",` +
			`"userIdentity":{"type":"Service","principalId":"dynamodb.amazonaws.com","nested":[1,{"a":[null,true,false,-0.5e-3]}]},` +
			`"extraNum":12.5e+3,"extraNull":null,"extraBool":true,"extraArr":[[],{},"s\u0041"],` +
			`"dynamodb":{"SizeBytes":123,"StreamViewType":"NEW_AND_OLD_IMAGES","Other":{"x":[{"y":"z"}]},` +
			`"SequenceNumber":"99","OldImage":{"a":{"S":"b"}}},"eventSourceARN":"arn:x"}],` +
			`"other":{"Records":"not these"},"n":[1,2,3]}`},
		{"invalid utf8 becomes U+FFFD", "{\"Records\":[{\"dynamodb\":{\"NewImage\":{\"a\xff\":{\"S\":\"x\xc3\x28y\xed\xa0\x80z\"}},\"SequenceNumber\":\"1\"}}]}"},
		{"null images and fields", `{"Records":[{"eventID":null,"dynamodb":{"Keys":null,"NewImage":null,"OldImage":null,` +
			`"SequenceNumber":"3"}},{"dynamodb":null}]}`}, // ApproximateCreationDateTime null: see TestApproximateCreationTime
		{"field order reversed", `{"Records":[{"dynamodb":{"SequenceNumber":"5","NewImage":{"a":{"N":"-0.0"}},"Keys":{"a":{"N":"1"}}},"eventSourceARN":"arn","eventName":"INSERT","eventID":"id"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev events.DynamoDBEvent
			if err := json.Unmarshal([]byte(tt.payload), &ev); err != nil {
				t.Fatalf("reference unmarshal: %v", err)
			}
			want := make([]Record, 0, len(ev.Records))
			for _, r := range ev.Records {
				want = append(want, refRecord(r))
			}
			got, err := Decode([]byte(tt.payload))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			compareRecords(t, got, want, time.Microsecond)
		})
	}
}

func TestApproximateCreationTime(t *testing.T) {
	tests := []struct {
		json string
		want time.Time
	}{
		{``, time.Time{}},
		{`,"ApproximateCreationDateTime":null`, time.Time{}},
		{`,"ApproximateCreationDateTime":1741964967`, time.Unix(1741964967, 0)},
		{`,"ApproximateCreationDateTime":1741964967.535`, time.Unix(1741964967, 535000000)},
		{`,"ApproximateCreationDateTime":1.741964967535E9`, time.Unix(1741964967, 535000000)},
		{`,"ApproximateCreationDateTime":1.741964967535e+9`, time.Unix(1741964967, 535000000)},
		{`,"ApproximateCreationDateTime":174196496753.5e-2`, time.Unix(1741964967, 535000000)},
		{`,"ApproximateCreationDateTime":1741964967.1234567891`, time.Unix(1741964967, 123456789)},
		{`,"ApproximateCreationDateTime":0`, time.Unix(0, 0)},
		{`,"ApproximateCreationDateTime":0.0e5`, time.Unix(0, 0)},
		{`,"ApproximateCreationDateTime":-1.5`, time.Unix(-2, 500000000)},
		{`,"ApproximateCreationDateTime":5e-1`, time.Unix(0, 500000000)},
		{`,"ApproximateCreationDateTime":1e-300`, time.Unix(0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.json, func(t *testing.T) {
			recs, err := Decode([]byte(`{"Records":[{"dynamodb":{"SequenceNumber":"1"` + tt.json + `}}]}`))
			if err != nil {
				t.Fatal(err)
			}
			got := recs[0].ApproximateCreationTime
			if recs[0].Err != nil || !got.Equal(tt.want) || got.IsZero() != tt.want.IsZero() || got.Location() != time.UTC {
				t.Errorf("got %v (err %v), want %v", got, recs[0].Err, tt.want)
			}
		})
	}
}

func goodRecord(i int) string {
	return fmt.Sprintf(`{"eventID":"id%d","eventName":"INSERT","eventSourceARN":"arn",`+
		`"dynamodb":{"Keys":{"pk":{"S":"k%d"}},"NewImage":{"pk":{"S":"k%d"},"n":{"N":"%d"}},"SequenceNumber":"%d"}}`, i, i, i, i, i)
}

func goodWant(i int) Record {
	k := fmt.Sprintf("k%d", i)
	return Record{
		EventID: fmt.Sprintf("id%d", i), EventName: "INSERT", EventSourceARN: "arn", SequenceNumber: fmt.Sprint(i),
		Keys:     map[string]any{"pk": k},
		NewImage: map[string]any{"pk": k, "n": json.Number(fmt.Sprint(i))},
	}
}

// nest returns an image attribute nested levels M containers deep.
func nest(levels int) string {
	return strings.Repeat(`{"M":{"a":`, levels) + `{"S":"x"}` + strings.Repeat(`}}`, levels)
}

func TestMalformedRecord(t *testing.T) {
	image := func(attr string) string {
		return `{"eventID":"bad","dynamodb":{"SequenceNumber":"seq-bad","NewImage":{"pk":{"S":"p"},"a":` + attr + `}}}`
	}
	tests := []struct {
		name    string
		record  string
		wantSeq string
		errHas  string
	}{
		{"unknown type", image(`{"X":"1"}`), "seq-bad", `unknown attribute type descriptor "X"`},
		{"lowercase type", image(`{"s":"1"}`), "seq-bad", "unknown attribute type"},
		{"two types", image(`{"S":"x","N":"1"}`), "seq-bad", "more than one type"},
		{"two same types", image(`{"S":"x","S":"y"}`), "seq-bad", "more than one type"},
		{"no type", image(`{}`), "seq-bad", "no type descriptor"},
		{"bad number", image(`{"N":"1.2.3"}`), "seq-bad", "invalid number"},
		{"leading zero", image(`{"N":"01"}`), "seq-bad", "invalid number"},
		{"empty number", image(`{"N":""}`), "seq-bad", "invalid number"},
		{"space in number", image(`{"N":" 1"}`), "seq-bad", "invalid number"},
		{"NaN", image(`{"N":"NaN"}`), "seq-bad", "invalid number"},
		{"N not string", image(`{"N":1}`), "seq-bad", "beginning of string"},
		{"S not string", image(`{"S":1}`), "seq-bad", "beginning of string"},
		{"S null", image(`{"S":null}`), "seq-bad", "beginning of string"},
		{"BOOL string", image(`{"BOOL":"true"}`), "seq-bad", "boolean"},
		{"NULL string", image(`{"NULL":"x"}`), "seq-bad", "boolean"},
		{"bad base64", image(`{"B":"!!!!"}`), "seq-bad", "invalid base64"},
		{"truncated base64", image(`{"B":"aGVsbG8"}`), "seq-bad", "invalid base64"},
		{"bad BS element", image(`{"BS":["aGk=","@"]}`), "seq-bad", "a[1]: invalid base64"},
		{"SS number element", image(`{"SS":["a",1]}`), "seq-bad", "beginning of string"},
		{"NS bad element", image(`{"NS":["1","x"]}`), "seq-bad", "invalid number"},
		{"SS not array", image(`{"SS":"a"}`), "seq-bad", "beginning of set"},
		{"M not object", image(`{"M":[]}`), "seq-bad", "beginning of attribute map"},
		{"L not array", image(`{"L":{}}`), "seq-bad", "beginning of list"},
		{"L element not attr", image(`{"L":[{"S":"ok"},1]}`), "seq-bad", "a[1]: invalid character '1'"},
		{"nested bad", image(`{"M":{"b":{"L":[{"M":{"c":{"Q":1}}}]}}}`), "seq-bad", "dynamodb.NewImage.a.b[0].c: unknown"},
		{"attr not object", image(`"x"`), "seq-bad", "beginning of attribute value"},
		{"too deep", image(nest(maxDepth)), "seq-bad", "nested more than 64"},
		{"image not object", `{"dynamodb":{"NewImage":[],"SequenceNumber":"seq-bad"}}`, "seq-bad", "NewImage"},
		{"keys not object", `{"dynamodb":{"SequenceNumber":"seq-bad","Keys":"k"}}`, "seq-bad", "Keys"},
		{"eventID number", `{"eventID":5,"dynamodb":{"SequenceNumber":"seq-bad"}}`, "seq-bad", "eventID"},
		{"eventName object", `{"eventName":{},"dynamodb":{"SequenceNumber":"seq-bad"}}`, "seq-bad", "eventName"},
		{"time string", `{"dynamodb":{"SequenceNumber":"seq-bad","ApproximateCreationDateTime":"1741964967"}}`, "seq-bad", "epoch"},
		{"time out of range", `{"dynamodb":{"SequenceNumber":"seq-bad","ApproximateCreationDateTime":1e30}}`, "seq-bad", "out of range"},
		{"sequence number not string", `{"eventID":"x","dynamodb":{"SequenceNumber":12}}`, "", "SequenceNumber"},
		{"dynamodb not object", `{"eventID":"x","dynamodb":[1,2]}`, "", "dynamodb"},
		{"record is number", `42`, "", "record object"},
		{"record is string", `"x"`, "", "record object"},
		{"record is null", `null`, "", "record object"},
		{"record is array", `[{"dynamodb":{"SequenceNumber":"1"}}]`, "", "record object"},
		{"error after sequence number", `{"dynamodb":{"SequenceNumber":"seq-bad","OldImage":{"a":{"N":"x"}},"NewImage":{"a":{"S":"ok"}}}}`, "seq-bad", "OldImage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := `{"Records":[` + goodRecord(0) + "," + tt.record + "," + goodRecord(2) + `]}`
			recs, err := Decode([]byte(payload))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(recs) != 3 {
				t.Fatalf("got %d records", len(recs))
			}
			bad := recs[1]
			if bad.Err == nil {
				t.Fatalf("bad record has no Err: %#v", bad)
			}
			if !strings.Contains(bad.Err.Error(), tt.errHas) {
				t.Errorf("Err = %q, want it to contain %q", bad.Err, tt.errHas)
			}
			if bad.SequenceNumber != tt.wantSeq {
				t.Errorf("SequenceNumber = %q, want %q", bad.SequenceNumber, tt.wantSeq)
			}
			compareRecords(t, []Record{recs[0], recs[2]}, []Record{goodWant(0), goodWant(2)}, 0)
		})
	}

	// Whatever could be read is kept: here the NewImage after the bad OldImage.
	recs, err := Decode([]byte(`{"Records":[` + tests[len(tests)-1].record + `]}`))
	if err != nil || recs[0].OldImage != nil || !reflect.DeepEqual(recs[0].NewImage, map[string]any{"a": "ok"}) {
		t.Errorf("partial record: %v %#v", err, recs)
	}
}

func TestDepthLimit(t *testing.T) {
	// The image is level 1, so maxDepth-1 nested containers are allowed.
	recs, err := Decode([]byte(`{"Records":[{"dynamodb":{"NewImage":{"a":` + nest(maxDepth-1) + `}}}]}`))
	if err != nil || recs[0].Err != nil {
		t.Fatalf("depth %d: %v %v", maxDepth, err, recs[0].Err)
	}
	v := any(recs[0].NewImage)
	for range maxDepth {
		v = v.(map[string]any)["a"]
	}
	if v != "x" {
		t.Errorf("innermost value %#v", v)
	}
	list := strings.Repeat(`{"L":[`, maxDepth) + `{"S":"x"}` + strings.Repeat(`]}`, maxDepth)
	recs, err = Decode([]byte(`{"Records":[{"dynamodb":{"NewImage":{"a":` + list + `}}}]}`))
	if err != nil || recs[0].Err == nil {
		t.Errorf("list depth %d: want record error, got %v %v", maxDepth+1, err, recs)
	}
}

func TestMalformedEnvelope(t *testing.T) {
	tests := []struct {
		name    string
		payload string
	}{
		{"empty", ``},
		{"whitespace", " \n"},
		{"null", `null`},
		{"array", `[]`},
		{"no Records", `{}`},
		{"Records null", `{"Records":null}`},
		{"Records object", `{"Records":{}}`},
		{"Records string", `{"Records":"x"}`},
		{"lowercase records", `{"records":[]}`},
		{"unterminated", `{"Records":[]`},
		{"unterminated array", `{"Records":[`},
		{"trailing garbage", `{"Records":[]}x`},
		{"two values", `{"Records":[]}{}`},
		{"trailing comma object", `{"Records":[],}`},
		{"trailing comma array", `{"Records":[1,]}`},
		{"missing colon", `{"Records" []}`},
		{"invalid escape in record", `{"Records":[{"eventID":"\x"}]}`},
		{"bad unicode escape", `{"Records":[{"eventID":"\u12G4"}]}`},
		{"short unicode escape", `{"Records":[{"eventID":"\u12"}]}`},
		{"unterminated string", `{"Records":[{"eventID":"abc}]}`},
		{"raw control char", "{\"Records\":[{\"eventID\":\"a\nb\"}]}"},
		{"missing brace", `{"Records":[{"dynamodb":{"NewImage":{"a":{"S":"x"}}}]}`},
		{"bad literal", `{"Records":[{"a":tru}]}`},
		{"bad number", `{"Records":[{"a":01}]}`},
		{"bad number in image", `{"Records":[{"dynamodb":{"NewImage":{"a":{"N":1.}}}}]}`},
		{"bad literal in image", `{"Records":[{"dynamodb":{"NewImage":{"a":{"BOOL":nul}}}}]}`},
		{"record syntax after bad attr", `{"Records":[{"dynamodb":{"NewImage":{"a":{"X":1}} "x"}}]}`},
		{"too deep for encoding/json", `{"Records":[],"x":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`},
		{"too deep in a record", `{"Records":[{"x":` + strings.Repeat("[", 9998) + strings.Repeat("]", 9998) + `}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := Decode([]byte(tt.payload))
			if err == nil {
				t.Fatalf("Decode succeeded: %#v", recs)
			}
		})
	}

	// Just inside encoding/json's nesting limit is fine.
	ok := `{"Records":[{"x":` + strings.Repeat("[", 9997) + strings.Repeat("]", 9997) + `}]}`
	if !json.Valid([]byte(ok)) {
		t.Fatal("test payload should be valid")
	}
	if recs, err := Decode([]byte(ok)); err != nil || len(recs) != 1 || recs[0].Err != nil {
		t.Errorf("deep but valid: %v %v", err, recs)
	}
	if recs, err := Decode([]byte(` {"x":1, "Records" : [ ] } `)); err != nil || recs == nil || len(recs) != 0 {
		t.Errorf("empty Records: %v %#v", err, recs)
	}
}

// checkValue verifies that v only holds the types Decode documents.
func TestDecodeConcurrent(t *testing.T) {
	payload := mustJSON(sampleNested4KBEvent())
	want, err := Decode(payload)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			for range 200 {
				got, err := Decode(payload)
				if err != nil || !reflect.DeepEqual(got, want) {
					errs <- fmt.Errorf("concurrent decode differs: %v", err)
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func checkValue(t *testing.T, v any) {
	switch v := v.(type) {
	case nil, string, bool, json.Number, []byte:
	case map[string]any:
		for _, e := range v {
			checkValue(t, e)
		}
	case []any:
		for _, e := range v {
			checkValue(t, e)
		}
	default:
		t.Fatalf("unexpected value type %T", v)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(mustJSON(sampleTrustMarkTypeEvent()))
	f.Add(mustJSON(sampleNested4KBEvent()))
	f.Add(mustJSON(events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		sampleRecord("INSERT", 1, ddbItem{"pk": attrS("x")}, nil, allTypesItem()),
	}}))
	f.Add([]byte(`{"Records":[` + goodRecord(0) + `,42,{"dynamodb":{"NewImage":{"a":{"X":1}},"SequenceNumber":"1"}}]}`))
	f.Add([]byte(`{"Records":[{"eventID":"\ud83d\ude00\u00e9\n","dynamodb":{"ApproximateCreationDateTime":1.5e9,"NewImage":{"a":{"L":[{"NULL":true},{"BS":["AA=="]}]}}}}]}`))
	f.Add([]byte(`{"Records":[{"x":[[[{}]]]}],"y":null}`))
	f.Add([]byte(`{"Records":`))

	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := Decode(data)

		// Decode fails exactly when the payload is not valid JSON or has
		// no Records array.
		var envelope map[string]json.RawMessage
		var elems []json.RawMessage
		wantOK := json.Valid(data) && json.Unmarshal(data, &envelope) == nil &&
			json.Unmarshal(envelope["Records"], &elems) == nil && elems != nil
		if (err == nil) != wantOK {
			t.Fatalf("Decode error %v, but valid/has Records = %v", err, wantOK)
		}
		if err != nil {
			return
		}
		if len(recs) != len(elems) {
			t.Fatalf("got %d records, want %d", len(recs), len(elems))
		}
		for _, r := range recs {
			if r.Err != nil {
				continue
			}
			for _, img := range []map[string]any{r.Keys, r.OldImage, r.NewImage} {
				checkValue(t, img)
			}
		}
	})
}
