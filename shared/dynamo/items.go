package dynamo

import (
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// itemReader reads typed attributes of an item, remembering the first
// attribute that has the wrong type.
type itemReader struct {
	item map[string]types.AttributeValue
	err  error
}

func (r *itemReader) fail(name, want string) {
	if r.err == nil {
		r.err = fmt.Errorf("attribute %s is not %s", name, want)
	}
}

func (r *itemReader) str(name string) string {
	v, ok := r.item[name].(*types.AttributeValueMemberS)
	if !ok {
		r.fail(name, "a string")
		return ""
	}
	return v.Value
}

// optionalStr returns nil when the attribute is absent or NULL.
func (r *itemReader) optionalStr(name string) *string {
	switch v := r.item[name].(type) {
	case nil, *types.AttributeValueMemberNULL:
		return nil
	case *types.AttributeValueMemberS:
		return &v.Value
	}
	r.fail(name, "a string or null")
	return nil
}

func (r *itemReader) int(name string) int64 {
	v, ok := r.item[name].(*types.AttributeValueMemberN)
	if !ok {
		r.fail(name, "a number")
		return 0
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		r.fail(name, "an integer")
	}
	return n
}

func (r *itemReader) bool(name string) bool {
	v, ok := r.item[name].(*types.AttributeValueMemberBOOL)
	if !ok {
		r.fail(name, "a boolean")
		return false
	}
	return v.Value
}

// optionalBool returns a boolean attribute; false when absent.
func (r *itemReader) optionalBool(name string) bool {
	if _, present := r.item[name]; !present {
		return false
	}
	return r.bool(name)
}

// object returns a map attribute; nil when absent or NULL.
func (r *itemReader) object(name string) map[string]any {
	switch v := r.item[name].(type) {
	case nil, *types.AttributeValueMemberNULL:
		return nil
	case *types.AttributeValueMemberM:
		return fromAttributeMap(v.Value)
	}
	r.fail(name, "a map or null")
	return nil
}

// list returns a list attribute; nil when absent or NULL.
func (r *itemReader) list(name string) []any {
	switch v := r.item[name].(type) {
	case nil, *types.AttributeValueMemberNULL:
		return nil
	case *types.AttributeValueMemberL:
		out, _ := fromAttributeValue(v).([]any)
		return out
	}
	r.fail(name, "a list or null")
	return nil
}

// itemWriter builds an item's attributes.
type itemWriter struct {
	item map[string]types.AttributeValue
	err  error
}

func newItemWriter() *itemWriter { return &itemWriter{item: map[string]types.AttributeValue{}} }

func (w *itemWriter) str(name, v string)       { w.item[name] = str(v) }
func (w *itemWriter) int(name string, v int64) { w.item[name] = num(v) }
func (w *itemWriter) bool(name string, v bool) { w.item[name] = boolean(v) }

func (w *itemWriter) optionalStr(name string, v *string) {
	if v == nil {
		w.item[name] = &types.AttributeValueMemberNULL{Value: true}
		return
	}
	w.item[name] = str(*v)
}

// object stores a JSON object (nil as NULL).
func (w *itemWriter) object(name string, v map[string]any) {
	if v == nil {
		w.item[name] = &types.AttributeValueMemberNULL{Value: true}
		return
	}
	av, err := toAttributeValue(v)
	if err != nil && w.err == nil {
		w.err = fmt.Errorf("%s: %w", name, err)
	}
	w.item[name] = av
}

// list stores a JSON array.
func (w *itemWriter) list(name string, v []any) {
	av, err := toAttributeValue(v)
	if err != nil && w.err == nil {
		w.err = fmt.Errorf("%s: %w", name, err)
	}
	w.item[name] = av
}
