// Package streamrecord decodes the JSON payload that AWS Lambda receives from a
// DynamoDB Streams event source straight into plain Go values, in one pass and
// without going through events.DynamoDBEvent; it is the audit Lambda's hot path.
package streamrecord

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Record is one stream record with its images converted to Go values.
//
// Attribute values are converted as follows: S → string, N → json.Number,
// BOOL → bool, NULL → nil, M → map[string]any, L → []any, SS → []any of
// string, NS → []any of json.Number, B → []byte, BS → []any of []byte.
type Record struct {
	// EventID is the record's eventID.
	EventID string
	// EventName is the record's eventName: INSERT, MODIFY or REMOVE.
	EventName string
	// SequenceNumber is dynamodb.SequenceNumber, the identifier to report in
	// batchItemFailures.
	SequenceNumber string
	// ApproximateCreationTime is dynamodb.ApproximateCreationDateTime (epoch
	// seconds, possibly fractional) in UTC; the zero time if absent or null.
	ApproximateCreationTime time.Time
	// EventSourceARN is the record's eventSourceARN.
	EventSourceARN string
	// Keys is dynamodb.Keys; nil when absent.
	Keys map[string]any
	// OldImage is dynamodb.OldImage; nil when absent.
	OldImage map[string]any
	// NewImage is dynamodb.NewImage; nil when absent.
	NewImage map[string]any
	// Err is non-nil when this record could not be decoded. The other fields
	// then hold whatever could be read (a field whose value was malformed is
	// left at its zero value), including SequenceNumber when it was readable.
	Err error
}

// Decode parses a whole event payload {"Records": [...]}.
//
// It returns an error only when the envelope itself is not valid JSON or has
// no Records array; a record whose body is malformed (bad attribute value,
// unknown type descriptor, bad number, bad base64...) is returned with Err set
// and does not stop the others.
//
// Field names are matched exactly (as AWS sends them); unknown fields are
// skipped whatever their JSON type. Image maps are nested at most 64 levels
// deep (counting the image itself). The returned values share no memory with
// payload: strings are slices of one copy of it. An attribute value whose bytes are the same in a record's old and
// new images (most of a MODIFY) is decoded once, and both images hold that
// one value: treat images as read-only.
func Decode(payload []byte) ([]Record, error) {
	d := decoderPool.Get().(*decoder)
	d.buf, d.pos, d.text = payload, 0, string(payload)
	recs, err := d.envelope()
	d.release()
	if err != nil {
		return nil, err
	}
	return recs, nil
}

const (
	// maxDepth bounds the nesting of M and L containers in an image
	// (the image map itself is level 1). DynamoDB allows 32.
	maxDepth = 64
	// maxJSONDepth bounds JSON nesting overall, as encoding/json does.
	maxJSONDepth = 10000
	// maxScratch is the largest unescape buffer kept in the pool.
	maxScratch = 64 << 10
	// maxNodes is the largest recorded image kept in the pool (in nodes).
	maxNodes = 16 << 10
)

// decodeError is the error type of both envelope (syntax) and record errors.
type decodeError struct {
	off  int    // byte offset in the payload
	path string // where in the record, e.g. dynamodb.NewImage.a.b[3]
	msg  string
}

func (e *decodeError) Error() string {
	if e.path != "" {
		return fmt.Sprintf("streamrecord: %s: %s (offset %d)", e.path, e.msg, e.off)
	}
	return fmt.Sprintf("streamrecord: %s (offset %d)", e.msg, e.off)
}

var errNoRecords = errors.New("streamrecord: payload has no Records array")

// withPath prefixes the error's path with seg (a field name or "[i]").
func withPath(err error, seg string) error {
	var de *decodeError
	if !errors.As(err, &de) {
		return err
	}
	switch {
	case de.path == "":
		de.path = seg
	case de.path[0] == '[':
		de.path = seg + de.path
	default:
		de.path = seg + "." + de.path
	}
	return err
}

type decoder struct {
	buf     []byte
	pos     int
	scratch []byte   // unescaped string bytes
	keys    []string // pending map keys (a stack shared by nested maps)
	vals    []any    // pending map/list values (shared stack)
	stack   []byte   // closers for skipValue
	// text is buf as one string: a string without escapes is a slice of
	// it, so decoding allocates no string (values hold the whole payload's
	// copy alive, for as long as a batch is handled).
	text string
	// escaped is whether the last string str read had escapes (or invalid
	// UTF-8), so its bytes are in scratch, not in buf.
	escaped bool

	// The first image of a record is recorded (see node) so that the other
	// image takes the values it has unchanged instead of decoding them.
	recording bool
	nodes     []node // recorded members, each map's members contiguous
	pending   []node // members of the maps being recorded (a shared stack)
	root      *span  // the first image's members in nodes; nil if none
	rootSpan  span
}

// node is a member of a map of the first image decoded in a record: its
// name, where its attribute value ({"T": ...}) lies in the payload, what it
// decoded to and, for an M value, its own members.
type node struct {
	key        string
	start, end int
	value      any
	members    span
}

// span designates the members nodes[first:first+n] of one map.
type span struct{ first, n int }

var decoderPool = sync.Pool{New: func() any {
	return &decoder{
		keys:    make([]string, 0, 64),
		vals:    make([]any, 0, 64),
		stack:   make([]byte, 0, 32),
		nodes:   make([]node, 0, 64),
		pending: make([]node, 0, 32),
	}
}}

func (d *decoder) release() {
	d.buf, d.text = nil, ""
	d.resetStacks()
	d.forgetImage()
	if cap(d.scratch) > maxScratch {
		d.scratch = nil
	}
	if cap(d.nodes) > maxNodes {
		d.nodes = make([]node, 0, 64)
	}
	decoderPool.Put(d)
}

// resetStacks drops pending map/list entries (after an error).
func (d *decoder) resetStacks() {
	clear(d.keys)
	clear(d.vals)
	clear(d.pending)
	d.keys, d.vals, d.pending = d.keys[:0], d.vals[:0], d.pending[:0]
}

// forgetImage drops the recorded image (at the start of each record).
func (d *decoder) forgetImage() {
	clear(d.nodes)
	d.nodes, d.root, d.recording = d.nodes[:0], nil, false
}

// ---------------------------------------------------------------------------
// Envelope and record structure.

func (d *decoder) envelope() ([]Record, error) {
	if err := d.expect('{', "looking for beginning of object"); err != nil {
		return nil, err
	}
	var (
		recs  []Record
		found bool
	)
	d.ws()
	if d.peek('}') {
		d.pos++
	} else {
		for {
			d.ws()
			key, err := d.str()
			if err != nil {
				return nil, err
			}
			isRecords := string(key) == "Records"
			if err := d.expect(':', "after object key"); err != nil {
				return nil, err
			}
			d.ws()
			switch {
			case isRecords && d.peek('['):
				if recs, err = d.records(); err != nil {
					return nil, err
				}
				found = true
			case isRecords:
				if err := d.skipValue(1); err != nil {
					return nil, err
				}
				recs, found = nil, false
			default:
				if err := d.skipValue(1); err != nil {
					return nil, err
				}
			}
			if done, err := d.next('}', "after object key:value pair"); err != nil {
				return nil, err
			} else if done {
				break
			}
		}
	}
	d.ws()
	if d.pos != len(d.buf) {
		return nil, d.unexpected("after top-level value")
	}
	if !found {
		return nil, errNoRecords
	}
	if recs == nil {
		recs = []Record{}
	}
	return recs, nil
}

// records decodes the Records array; d.pos is at '['.
func (d *decoder) records() ([]Record, error) {
	d.pos++
	d.ws()
	if d.peek(']') {
		d.pos++
		return nil, nil
	}
	recs := make([]Record, 0, 8)
	for {
		d.ws()
		start := d.pos
		recs = append(recs, Record{})
		r := &recs[len(recs)-1]
		if err := d.record(r); err != nil {
			if err := d.salvage(start, 2, err, r); err != nil {
				return nil, err
			}
		}
		if done, err := d.next(']', "after array element"); err != nil {
			return nil, err
		} else if done {
			return recs, nil
		}
	}
}

// salvage handles a failed decode of the value starting at start (at JSON
// nesting depth depth): it rewinds and skips that value with the validating
// skipper. If the value is not valid JSON the syntax error is returned (the
// whole payload is invalid); otherwise err is recorded on r.
func (d *decoder) salvage(start, depth int, err error, r *Record) error {
	d.resetStacks()
	d.pos = start
	if serr := d.skipValue(depth); serr != nil {
		return serr
	}
	if r.Err == nil {
		r.Err = err
	}
	return nil
}

const (
	fSkip = iota
	fEventID
	fEventName
	fEventSourceARN
	fDynamoDB
	fCreation
	fKeys
	fNewImage
	fOldImage
	fSequenceNumber
)

// record decodes one element of Records.
func (d *decoder) record(r *Record) error {
	if err := d.expect('{', "looking for beginning of record object"); err != nil {
		return err
	}
	d.ws()
	if d.peek('}') {
		d.pos++
		return nil
	}
	for {
		d.ws()
		key, err := d.str()
		if err != nil {
			return err
		}
		field, name := fSkip, ""
		switch string(key) {
		case "eventID":
			field, name = fEventID, "eventID"
		case "eventName":
			field, name = fEventName, "eventName"
		case "eventSourceARN":
			field, name = fEventSourceARN, "eventSourceARN"
		case "dynamodb":
			field, name = fDynamoDB, "dynamodb"
		}
		if err := d.expect(':', "after object key"); err != nil {
			return err
		}
		d.ws()
		start := d.pos
		switch field {
		case fEventID:
			r.EventID, err = d.stringField()
		case fEventName:
			r.EventName, err = d.stringField()
		case fEventSourceARN:
			r.EventSourceARN, err = d.stringField()
		case fDynamoDB:
			err = d.change(r)
		default:
			err = d.skipValue(3)
		}
		if err != nil {
			if err := d.salvage(start, 3, withPath(err, name), r); err != nil {
				return err
			}
		}
		if done, err := d.next('}', "after object key:value pair"); err != nil {
			return err
		} else if done {
			return nil
		}
	}
}

// change decodes the record's "dynamodb" object.
func (d *decoder) change(r *Record) error {
	d.forgetImage()
	defer d.forgetImage()
	if d.peek('n') {
		return d.literal("null")
	}
	if err := d.expect('{', "looking for beginning of dynamodb object"); err != nil {
		return err
	}
	d.ws()
	if d.peek('}') {
		d.pos++
		return nil
	}
	for {
		d.ws()
		key, err := d.str()
		if err != nil {
			return err
		}
		field, name := fSkip, ""
		switch string(key) {
		case "ApproximateCreationDateTime":
			field, name = fCreation, "ApproximateCreationDateTime"
		case "Keys":
			field, name = fKeys, "Keys"
		case "NewImage":
			field, name = fNewImage, "NewImage"
		case "OldImage":
			field, name = fOldImage, "OldImage"
		case "SequenceNumber":
			field, name = fSequenceNumber, "SequenceNumber"
		}
		if err := d.expect(':', "after object key"); err != nil {
			return err
		}
		d.ws()
		start := d.pos
		switch field {
		case fCreation:
			r.ApproximateCreationTime, err = d.epoch()
		case fKeys:
			r.Keys, err = d.image(false)
		case fNewImage:
			r.NewImage, err = d.image(true)
		case fOldImage:
			r.OldImage, err = d.image(true)
		case fSequenceNumber:
			r.SequenceNumber, err = d.stringField()
		default:
			err = d.skipValue(4)
		}
		if err != nil {
			if err := d.salvage(start, 4, withPath(err, "dynamodb."+name), r); err != nil {
				return err
			}
		}
		if done, err := d.next('}', "after object key:value pair"); err != nil {
			return err
		} else if done {
			return nil
		}
	}
}

// stringField reads a string (or null → "").
func (d *decoder) stringField() (string, error) {
	if d.peek('n') {
		return "", d.literal("null")
	}
	b, err := d.str()
	if err != nil {
		return "", err
	}
	return d.stringOf(b), nil
}

// image reads Keys/NewImage/OldImage (an attribute map, or null → nil).
// The first image of a record to share is recorded; a later one takes the
// values it has unchanged from it.
func (d *decoder) image(share bool) (map[string]any, error) {
	if d.peek('n') {
		return nil, d.literal("null")
	}
	if !share {
		m, _, err := d.attrMap(1, nil)
		return m, err
	}
	if d.root != nil {
		m, _, err := d.attrMap(1, d.root)
		return m, err
	}
	d.recording = true
	m, members, err := d.attrMap(1, nil)
	d.recording = false
	if err != nil {
		d.forgetImage()
		return nil, err
	}
	d.rootSpan = members
	d.root = &d.rootSpan
	return m, nil
}

// epoch reads ApproximateCreationDateTime.
func (d *decoder) epoch() (time.Time, error) {
	if d.peek('n') {
		return time.Time{}, d.literal("null")
	}
	start := d.pos
	end, ok := scanNumber(d.buf, start)
	if !ok || end == start {
		d.pos = end
		return time.Time{}, d.unexpected("looking for an epoch-seconds number")
	}
	d.pos = end
	t, ok := parseEpoch(d.buf[start:end])
	if !ok {
		return time.Time{}, &decodeError{off: start, msg: fmt.Sprintf("epoch seconds %s out of range", d.buf[start:end])}
	}
	return t, nil
}

// ---------------------------------------------------------------------------
// DynamoDB attribute values.

// attrMap reads {"name": <attribute value>, ...} at nesting level depth.
// When recording, it returns where its members were recorded. ref, when
// not nil, is the same map in the recorded image: a member whose attribute
// value has the same bytes there takes the recorded value.
func (d *decoder) attrMap(depth int, ref *span) (map[string]any, span, error) {
	if depth > maxDepth {
		return nil, span{}, &decodeError{off: d.pos, msg: fmt.Sprintf("attribute values nested more than %d levels", maxDepth)}
	}
	if err := d.expect('{', "looking for beginning of attribute map"); err != nil {
		return nil, span{}, err
	}
	d.ws()
	if d.peek('}') {
		d.pos++
		return map[string]any{}, span{}, nil
	}
	kbase, vbase, pbase := len(d.keys), len(d.vals), len(d.pending)
	cursor := 0 // where in ref the next member is looked for first
	for {
		d.ws()
		kb, err := d.str()
		if err != nil {
			return nil, span{}, err
		}
		var (
			key     string
			same    *node // the member of that name in ref
			v       any
			members span
		)
		switch {
		case ref != nil && cursor < ref.n && d.nodes[ref.first+cursor].key == string(kb):
			same = &d.nodes[ref.first+cursor] // the usual case: the same order
			key = same.key
			cursor++
		case ref != nil:
			key = d.stringOf(kb)
			same = d.recorded(*ref, key, &cursor)
		default:
			key = d.stringOf(kb)
		}
		if err := d.expect(':', "after object key"); err != nil {
			return nil, span{}, err
		}
		d.ws()
		start := d.pos
		if same != nil && bytes.HasPrefix(d.buf[d.pos:], d.buf[same.start:same.end]) {
			v = same.value
			d.pos += same.end - same.start
		} else {
			var sub *span
			if same != nil {
				sub = &same.members
			}
			if v, members, err = d.attr(depth, sub); err != nil {
				return nil, span{}, withPath(err, key)
			}
		}
		d.keys = append(d.keys, key)
		d.vals = append(d.vals, v)
		if d.recording {
			d.pending = append(d.pending, node{key: key, start: start, end: d.pos, value: v, members: members})
		}
		if done, err := d.next('}', "after object key:value pair"); err != nil {
			return nil, span{}, err
		} else if done {
			break
		}
	}
	keys, vals := d.keys[kbase:], d.vals[vbase:]
	m := make(map[string]any, len(keys))
	for i, k := range keys {
		m[k] = vals[i]
	}
	clear(keys)
	clear(vals)
	d.keys, d.vals = d.keys[:kbase], d.vals[:vbase]
	var recorded span
	if d.recording {
		pending := d.pending[pbase:]
		recorded = span{first: len(d.nodes), n: len(pending)}
		d.nodes = append(d.nodes, pending...)
		clear(pending)
		d.pending = d.pending[:pbase]
	}
	return m, recorded, nil
}

// recorded returns the member named key of the recorded map ref, or nil.
// Members mostly come in the same order in both images: the search starts
// at *cursor, just after the previous member found.
func (d *decoder) recorded(ref span, key string, cursor *int) *node {
	for i := range ref.n {
		j := *cursor + i
		if j >= ref.n {
			j -= ref.n
		}
		if n := &d.nodes[ref.first+j]; n.key == key {
			*cursor = j + 1
			return n
		}
	}
	return nil
}

// attrList reads [<attribute value>, ...] at nesting level depth.
func (d *decoder) attrList(depth int) ([]any, error) {
	if depth > maxDepth {
		return nil, &decodeError{off: d.pos, msg: fmt.Sprintf("attribute values nested more than %d levels", maxDepth)}
	}
	if err := d.expect('[', "looking for beginning of list"); err != nil {
		return nil, err
	}
	d.ws()
	if d.peek(']') {
		d.pos++
		return []any{}, nil
	}
	vbase := len(d.vals)
	// A list is shared whole or not at all: the maps in it are not recorded.
	recording := d.recording
	d.recording = false
	defer func() { d.recording = recording }()
	for {
		v, _, err := d.attr(depth, nil)
		if err != nil {
			return nil, withPath(err, fmt.Sprintf("[%d]", len(d.vals)-vbase))
		}
		d.vals = append(d.vals, v)
		if done, err := d.next(']', "after array element"); err != nil {
			return nil, err
		} else if done {
			break
		}
	}
	return d.popList(vbase), nil
}

// popList returns d.vals[vbase:] as a new exactly-sized slice and pops them.
func (d *decoder) popList(vbase int) []any {
	vals := d.vals[vbase:]
	out := make([]any, len(vals))
	copy(out, vals)
	clear(vals)
	d.vals = d.vals[:vbase]
	return out
}

const (
	setS = iota
	setN
	setB
)

// set reads the array of an SS, NS or BS attribute value.
func (d *decoder) set(kind int) ([]any, error) {
	if err := d.expect('[', "looking for beginning of set"); err != nil {
		return nil, err
	}
	d.ws()
	if d.peek(']') {
		d.pos++
		return []any{}, nil
	}
	vbase := len(d.vals)
	for {
		d.ws()
		start := d.pos
		b, err := d.str()
		if err != nil {
			return nil, err
		}
		var v any
		switch kind {
		case setS:
			v = d.stringOf(b)
		case setN:
			v, err = d.number(b, start)
		default:
			v, err = binary(b, start)
		}
		if err != nil {
			return nil, withPath(err, fmt.Sprintf("[%d]", len(d.vals)-vbase))
		}
		d.vals = append(d.vals, v)
		if done, err := d.next(']', "after array element"); err != nil {
			return nil, err
		} else if done {
			break
		}
	}
	return d.popList(vbase), nil
}

// attr reads one attribute value object, e.g. {"S":"x"}, whose containers
// (if any) are at nesting level depth+1. For an M value, members and ref
// are those of attrMap.
func (d *decoder) attr(depth int, ref *span) (v any, members span, err error) {
	if err := d.expect('{', "looking for beginning of attribute value"); err != nil {
		return nil, members, err
	}
	d.ws()
	tstart := d.pos
	if d.peek('}') {
		return nil, members, &decodeError{off: tstart, msg: "attribute value has no type descriptor"}
	}
	t, err := d.str()
	if err != nil {
		return nil, members, err
	}
	if err := d.expect(':', "after object key"); err != nil {
		return nil, members, err
	}
	d.ws()
	vstart := d.pos
	switch string(t) {
	case "S":
		var b []byte
		if b, err = d.str(); err == nil {
			v = d.stringOf(b)
		}
	case "N":
		var b []byte
		if b, err = d.str(); err == nil {
			v, err = d.number(b, vstart)
		}
	case "BOOL":
		v, err = d.boolean()
	case "NULL":
		_, err = d.boolean()
	case "M":
		v, members, err = d.attrMap(depth+1, ref)
	case "L":
		v, err = d.attrList(depth + 1)
	case "SS":
		v, err = d.set(setS)
	case "NS":
		v, err = d.set(setN)
	case "B":
		var b []byte
		if b, err = d.str(); err == nil {
			v, err = binary(b, vstart)
		}
	case "BS":
		v, err = d.set(setB)
	default:
		return nil, members, &decodeError{off: tstart, msg: fmt.Sprintf("unknown attribute type descriptor %q", t)}
	}
	if err != nil {
		return nil, members, err
	}
	d.ws()
	if d.peek('}') {
		d.pos++
		return v, members, nil
	}
	if d.peek(',') {
		return nil, members, &decodeError{off: d.pos, msg: "attribute value has more than one type descriptor"}
	}
	return nil, members, d.unexpected("after attribute value")
}

// number converts the content of an N attribute, b, just read by str.
func (d *decoder) number(b []byte, off int) (any, error) {
	if end, ok := scanNumber(b, 0); !ok || end != len(b) {
		return nil, &decodeError{off: off, msg: fmt.Sprintf("invalid number %q", b)}
	}
	return json.Number(d.stringOf(b)), nil
}

// binary converts the content of a B attribute (standard base64).
func binary(b []byte, off int) (any, error) {
	out := make([]byte, base64.StdEncoding.DecodedLen(len(b)))
	n, err := base64.StdEncoding.Decode(out, b)
	if err != nil {
		return nil, &decodeError{off: off, msg: "invalid base64: " + err.Error()}
	}
	return out[:n], nil
}

// boolean reads true or false.
func (d *decoder) boolean() (bool, error) {
	if d.hasPrefix("true") {
		d.pos += 4
		return true, nil
	}
	if d.hasPrefix("false") {
		d.pos += 5
		return false, nil
	}
	return false, d.unexpected("looking for a boolean")
}

// stringOf returns b, the string str has just read, as a string: a slice
// of d.text when it had no escapes, else a copy.
func (d *decoder) stringOf(b []byte) string {
	if d.escaped {
		return string(b)
	}
	end := d.pos - 1 // the closing quote
	return d.text[end-len(b) : end]
}

// ---------------------------------------------------------------------------
// JSON lexing.

func (d *decoder) ws() {
	for d.pos < len(d.buf) {
		switch d.buf[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *decoder) peek(c byte) bool {
	return d.pos < len(d.buf) && d.buf[d.pos] == c
}

func (d *decoder) hasPrefix(s string) bool {
	return len(d.buf)-d.pos >= len(s) && string(d.buf[d.pos:d.pos+len(s)]) == s
}

// expect skips whitespace and consumes c.
func (d *decoder) expect(c byte, context string) error {
	d.ws()
	if d.peek(c) {
		d.pos++
		return nil
	}
	return d.unexpected(context)
}

// next skips whitespace and consumes ',' (returning false) or closer
// (returning true).
func (d *decoder) next(closer byte, context string) (bool, error) {
	d.ws()
	if d.pos < len(d.buf) {
		switch d.buf[d.pos] {
		case ',':
			d.pos++
			return false, nil
		case closer:
			d.pos++
			return true, nil
		}
	}
	return false, d.unexpected(context)
}

func (d *decoder) literal(s string) error {
	if d.hasPrefix(s) {
		d.pos += len(s)
		return nil
	}
	return d.unexpected("in literal " + s)
}

func (d *decoder) unexpected(context string) error {
	if d.pos >= len(d.buf) {
		return &decodeError{off: d.pos, msg: "unexpected end of JSON input"}
	}
	return &decodeError{off: d.pos, msg: fmt.Sprintf("invalid character %q %s", d.buf[d.pos], context)}
}

// strSafe marks bytes that may appear verbatim in a JSON string and need no
// further attention: printable ASCII other than '"' and '\\'.
var strSafe = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str reads a JSON string at d.pos and returns its decoded bytes. When the
// string has no escapes (and valid UTF-8) the result aliases d.buf; otherwise
// it aliases d.scratch. Either way it is valid only until the next call.
func (d *decoder) str() ([]byte, error) {
	buf := d.buf
	i := d.pos
	if i >= len(buf) || buf[i] != '"' {
		return nil, d.unexpected("looking for beginning of string")
	}
	i++
	start := i
	d.escaped = false
	for {
		for i < len(buf) && strSafe[buf[i]] {
			i++
		}
		if i >= len(buf) {
			d.pos = i
			return nil, d.unexpected("in string literal")
		}
		c := buf[i]
		if c == '"' {
			d.pos = i + 1
			return buf[start:i], nil
		}
		if c >= utf8.RuneSelf {
			if r, size := utf8.DecodeRune(buf[i:]); r != utf8.RuneError || size > 1 {
				i += size
				continue
			}
		}
		return d.strSlow(start, i)
	}
}

// strSlow finishes a string that needs unescaping or UTF-8 repair (invalid
// bytes become U+FFFD, as with encoding/json); buf[start:i] is clean.
func (d *decoder) strSlow(start, i int) ([]byte, error) {
	buf := d.buf
	d.escaped = true
	s := append(d.scratch[:0], buf[start:i]...)
	for i < len(buf) {
		c := buf[i]
		switch {
		case c == '"':
			d.pos = i + 1
			d.scratch = s
			return s, nil
		case c == '\\':
			if i+1 >= len(buf) {
				d.pos = len(buf)
				return nil, d.unexpected("in string escape code")
			}
			switch e := buf[i+1]; e {
			case '"', '\\', '/':
				s = append(s, e)
			case 'b':
				s = append(s, '\b')
			case 'f':
				s = append(s, '\f')
			case 'n':
				s = append(s, '\n')
			case 'r':
				s = append(s, '\r')
			case 't':
				s = append(s, '\t')
			case 'u':
				r, ok := hex4(buf, i+2)
				if !ok {
					d.pos = i
					return nil, &decodeError{off: i, msg: "invalid \\u escape in string literal"}
				}
				i += 6
				if utf16.IsSurrogate(r) {
					// A valid pair combines; a lone surrogate becomes U+FFFD
					// and a following \u escape is decoded on its own.
					r2, ok := rune(0), false
					if i+1 < len(buf) && buf[i] == '\\' && buf[i+1] == 'u' {
						r2, ok = hex4(buf, i+2)
					}
					if dec := utf16.DecodeRune(r, r2); ok && dec != utf8.RuneError {
						r = dec
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				s = utf8.AppendRune(s, r)
				continue
			default:
				d.pos = i + 1
				return nil, d.unexpected("in string escape code")
			}
			i += 2
		case c < 0x20:
			d.pos = i
			return nil, d.unexpected("in string literal")
		case c < utf8.RuneSelf:
			s = append(s, c)
			i++
		default:
			r, size := utf8.DecodeRune(buf[i:])
			if r == utf8.RuneError && size == 1 {
				s = utf8.AppendRune(s, utf8.RuneError)
			} else {
				s = append(s, buf[i:i+size]...)
			}
			i += size
		}
	}
	d.scratch = s
	d.pos = len(buf)
	return nil, d.unexpected("in string literal")
}

// hex4 decodes the four hex digits at b[i:i+4].
func hex4(b []byte, i int) (rune, bool) {
	if i < 0 || len(b)-i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// scanNumber scans a JSON number starting at b[i] and returns where it ends;
// ok is false (and end is where scanning stopped) if it is malformed.
func scanNumber(b []byte, i int) (end int, ok bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return i, false
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		i++
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return i, false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return i, false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i, true
}

// parseEpoch converts a valid JSON number of epoch seconds to a UTC time,
// exactly from its decimal digits (sub-nanosecond digits are truncated).
func parseEpoch(b []byte) (time.Time, bool) {
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	i := 0
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	ip := b[:i]
	var fp []byte
	if i < len(b) && b[i] == '.' {
		j := i + 1
		for j < len(b) && isDigit(b[j]) {
			j++
		}
		fp, i = b[i+1:j], j
	}
	exp := 0
	if i < len(b) { // exponent
		i++
		eneg := b[i] == '-'
		if b[i] == '+' || b[i] == '-' {
			i++
		}
		for ; i < len(b); i++ {
			if exp < 1_000_000 {
				exp = exp*10 + int(b[i]-'0')
			}
		}
		if eneg {
			exp = -exp
		}
	}
	n := len(ip) + len(fp)
	digit := func(k int) int64 {
		switch {
		case k < 0 || k >= n:
			return 0
		case k < len(ip):
			return int64(ip[k] - '0')
		default:
			return int64(fp[k-len(ip)] - '0')
		}
	}
	first := 0
	for first < n && digit(first) == 0 {
		first++
	}
	if first == n {
		return time.Unix(0, 0).UTC(), true
	}
	point := len(ip) + exp // digits before the decimal point
	if point-first > 18 {
		return time.Time{}, false
	}
	var sec, nsec int64
	for k := first; k < point; k++ {
		sec = sec*10 + digit(k)
	}
	for k := point; k < point+9; k++ {
		nsec = nsec*10 + digit(k)
	}
	if neg {
		sec, nsec = -sec, -nsec
	}
	return time.Unix(sec, nsec).UTC(), true
}

// ---------------------------------------------------------------------------
// Validating skipper.

// skipValue skips one JSON value at d.pos, validating it exactly as
// encoding/json would (including its 10000-level nesting limit, counting the
// depth levels already open). It is iterative, so any nesting is safe.
func (d *decoder) skipValue(depth int) error {
	stack := d.stack[:0]
	defer func() { d.stack = stack[:0] }()
	for {
		d.ws()
		if d.pos >= len(d.buf) {
			return d.unexpected("looking for beginning of value")
		}
		switch c := d.buf[d.pos]; c {
		case '{', '[':
			if depth+len(stack) >= maxJSONDepth {
				return &decodeError{off: d.pos, msg: "exceeded max depth"}
			}
			d.pos++
			closer := byte('}')
			if c == '[' {
				closer = ']'
			}
			d.ws()
			if d.peek(closer) {
				d.pos++
				break
			}
			stack = append(stack, closer)
			if c == '{' {
				if err := d.skipKey(); err != nil {
					return err
				}
			}
			continue
		case '"':
			if err := d.skipString(); err != nil {
				return err
			}
		case 't':
			if err := d.literal("true"); err != nil {
				return err
			}
		case 'f':
			if err := d.literal("false"); err != nil {
				return err
			}
		case 'n':
			if err := d.literal("null"); err != nil {
				return err
			}
		default:
			end, ok := scanNumber(d.buf, d.pos)
			d.pos = end
			if !ok {
				return d.unexpected("in numeric literal")
			}
		}
		// A value is complete: close containers until another value is due.
		for {
			if len(stack) == 0 {
				return nil
			}
			d.ws()
			if d.pos >= len(d.buf) {
				return d.unexpected("")
			}
			c, top := d.buf[d.pos], stack[len(stack)-1]
			if c == top {
				d.pos++
				stack = stack[:len(stack)-1]
				continue
			}
			if c != ',' {
				if top == '}' {
					return d.unexpected("after object key:value pair")
				}
				return d.unexpected("after array element")
			}
			d.pos++
			if top == '}' {
				if err := d.skipKey(); err != nil {
					return err
				}
			}
			break
		}
	}
}

// skipKey skips `"key" :`.
func (d *decoder) skipKey() error {
	d.ws()
	if err := d.skipString(); err != nil {
		return err
	}
	return d.expect(':', "after object key")
}

// skipString validates and skips a JSON string at d.pos.
func (d *decoder) skipString() error {
	buf := d.buf
	i := d.pos
	if i >= len(buf) || buf[i] != '"' {
		return d.unexpected("looking for beginning of object key string")
	}
	i++
	for i < len(buf) {
		c := buf[i]
		switch {
		case c == '"':
			d.pos = i + 1
			return nil
		case c == '\\':
			if i+1 >= len(buf) {
				d.pos = len(buf)
				return d.unexpected("")
			}
			switch buf[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if _, ok := hex4(buf, i+2); !ok {
					return &decodeError{off: i, msg: "invalid \\u escape in string literal"}
				}
				i += 6
			default:
				d.pos = i + 1
				return d.unexpected("in string escape code")
			}
		case c < 0x20:
			d.pos = i
			return d.unexpected("in string literal")
		default:
			i++
		}
	}
	d.pos = len(buf)
	return d.unexpected("")
}
