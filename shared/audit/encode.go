package audit

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// EncodeJSON writes a value made of attribute values (nil, string, bool,
// json.Number, []byte, []any, map[string]any) as JSON with object keys sorted.
// It is the hot path of the audit function, hence not encoding/json.
func EncodeJSON(v any) ([]byte, error) {
	return appendJSON(nil, v)
}

// appendJSON appends v as JSON to b. The value is written into a pooled
// encoder first, so b grows at most once.
func appendJSON(b []byte, v any) ([]byte, error) {
	e := encoderPool.Get().(*encoder)
	defer e.release()
	if err := e.value(v); err != nil {
		return nil, err
	}
	return append(b, e.buf...), nil
}

// Limits of what a pooled encoder keeps: its buffer's capacity, and its
// member stack's capacity and written objects.
const (
	maxPooledBuffer  = 256 << 10
	maxPooledMembers = 4096
)

// encoder holds the buffers reused from one encoding to the next.
type encoder struct {
	buf []byte
	// members holds the pending members of the objects being written: a
	// stack shared by nested objects, each sorting its own part.
	members []member
	// written locates in buf the objects already written, by address, when
	// memo is on or in the sides of a diff ({"new": {...}, "old": {...}}):
	// an object met again is copied, not encoded again. The stream decoder
	// shares the objects a change left alone between the old and new
	// images, so the unchanged parts of the sides are written once.
	written map[uintptr]written
	// memo is on while an entry is encoded (see Entry.Encode).
	memo bool
	// inSides is > 0 while the sides of a diff are written.
	inSides int
	// normalize writes numbers in their normal form (one per value), for
	// the attribution MAC; renormalized records that one had another form.
	normalize, renormalized bool
}

// written is where an object's JSON is in the encoder's buffer.
type written struct{ start, end int }

// member is one key and value of an object.
type member struct {
	key   string
	value any
}

var encoderPool = sync.Pool{New: func() any {
	return &encoder{buf: make([]byte, 0, 4096), members: make([]member, 0, 64), written: make(map[uintptr]written, 16)}
}}

// release returns e to the pool, empty.
func (e *encoder) release() {
	clear(e.members) // members left by an error
	e.buf, e.members, e.inSides, e.memo, e.normalize, e.renormalized = e.buf[:0], e.members[:0], 0, false, false, false
	if cap(e.buf) > maxPooledBuffer {
		e.buf = make([]byte, 0, 4096)
	}
	if cap(e.members) > maxPooledMembers {
		e.members = make([]member, 0, 64)
	}
	if len(e.written) > maxPooledMembers {
		e.written = make(map[uintptr]written, 16)
	} else {
		clear(e.written)
	}
	encoderPool.Put(e)
}

// value writes v.
func (e *encoder) value(v any) error {
	switch x := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case bool:
		e.buf = strconv.AppendBool(e.buf, x)
	case string:
		e.buf = appendString(e.buf, x)
	case json.Number:
		if e.normalize {
			return e.number(string(x))
		}
		if !validNumber(string(x)) {
			return fmt.Errorf("invalid number %q", string(x))
		}
		e.buf = append(e.buf, x...)
	case int64:
		if e.normalize {
			return e.number(strconv.FormatInt(x, 10))
		}
		e.buf = strconv.AppendInt(e.buf, x, 10)
	case int:
		if e.normalize {
			return e.number(strconv.Itoa(x))
		}
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case []byte:
		if x == nil {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		e.buf = append(e.buf, '"')
		e.buf = base64.StdEncoding.AppendEncode(e.buf, x)
		e.buf = append(e.buf, '"')
	case []any:
		if x == nil {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		e.buf = append(e.buf, '[')
		for i, item := range x {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			if err := e.value(item); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, ']')
	case map[string]any:
		if x == nil {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		return e.object(x)
	default:
		return fmt.Errorf("cannot encode %T", v)
	}
	return nil
}

// object writes m with its keys sorted. Its members are pushed on
// e.members, sorted there, written, and popped. In the sides of a diff, an
// object already written is copied.
func (e *encoder) object(m map[string]any) error {
	if len(m) == 0 {
		e.buf = append(e.buf, "{}"...)
		return nil
	}
	var addr uintptr
	if e.memo || e.inSides > 0 {
		// m is alive (and unchanged) for the whole encoding: its address is
		// not reused for another object meanwhile.
		addr = reflect.ValueOf(m).Pointer()
		if w, ok := e.written[addr]; ok {
			e.buf = append(e.buf, e.buf[w.start:w.end]...)
			return nil
		}
	}
	start := len(e.buf)
	base := len(e.members)
	for k, v := range m {
		e.members = append(e.members, member{k, v})
	}
	sortMembers(e.members[base:])
	sides := isSides(e.members[base:])
	if sides {
		e.inSides++
	}
	e.buf = append(e.buf, '{')
	for i := base; i < len(e.members); i++ {
		if i > base {
			e.buf = append(e.buf, ',')
		}
		e.buf = appendString(e.buf, e.members[i].key)
		e.buf = append(e.buf, ':')
		// Nested objects push above len(e.members) and pop before returning.
		if err := e.value(e.members[i].value); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	clear(e.members[base:])
	e.members = e.members[:base]
	if sides {
		e.inSides--
	}
	if addr != 0 {
		e.written[addr] = written{start, len(e.buf)}
	}
	return nil
}

// number writes a number in its normal form.
func (e *encoder) number(s string) error {
	n, err := normalNumber(s)
	if err != nil {
		return err
	}
	e.renormalized = e.renormalized || n != s
	e.buf = append(e.buf, n...)
	return nil
}

// isSides reports whether sorted members are the two objects of a changed
// object in a diff: {"new": {...}, "old": {...}}.
func isSides(members []member) bool {
	if len(members) != 2 || members[0].key != "new" || members[1].key != "old" {
		return false
	}
	_, newIsObject := members[0].value.(map[string]any)
	_, oldIsObject := members[1].value.(map[string]any)
	return newIsObject && oldIsObject
}

// sortMembers sorts members by key: by insertion for the small objects
// resources are made of, else with slices.SortFunc.
func sortMembers(members []member) {
	if len(members) > 12 {
		slices.SortFunc(members, func(a, b member) int { return strings.Compare(a.key, b.key) })
		return
	}
	for i := 1; i < len(members); i++ {
		for j := i; j > 0 && members[j].key < members[j-1].key; j-- {
			members[j], members[j-1] = members[j-1], members[j]
		}
	}
}

const hexDigits = "0123456789abcdef"

// plainASCII marks the bytes a JSON string holds as they are: ASCII but
// control characters, quote, backslash and the HTML characters.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// validNumber reports whether s is a JSON number.
func validNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - start
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// Byte masks of plainWord.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// plainWord reports whether the first 8 bytes of s are all plainASCII, 8 at
// a time: none has its high bit set, is below 0x20, or is one of "\<>&.
func plainWord(s string) bool {
	w := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	// (x - ones) &^ x & highs is non-zero iff a byte of x is zero (and
	// (x - n*ones) &^ x & highs iff one is below n, for n <= 0x80).
	zero := func(x uint64) uint64 { return (x - ones) &^ x & highs }
	bad := w&highs | (w-0x20*ones)&^w&highs |
		zero(w^('"'*ones)) | zero(w^('\\'*ones)) | zero(w^('<'*ones)) | zero(w^('>'*ones)) | zero(w^('&'*ones))
	return bad == 0
}

// appendString writes s as a JSON string, escaping what JSON requires plus
// <, > and & (as encoding/json does, so the output is safe inside HTML).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if len(s)-i >= 8 && plainWord(s[i:]) {
			i += 8
			continue
		}
		if plainASCII[s[i]] {
			i++
			continue
		}
		c := s[i]
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
