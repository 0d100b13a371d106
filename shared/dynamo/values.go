package dynamo

import (
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// toAttributeValue converts a JSON value (as decoded with UseNumber: nil,
// bool, string, json.Number, []any, map[string]any) to a DynamoDB value.
// JSON numbers stay numbers, unlike attributevalue's handling of json.Number.
func toAttributeValue(v any) (types.AttributeValue, error) {
	switch x := v.(type) {
	case nil:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case bool:
		return &types.AttributeValueMemberBOOL{Value: x}, nil
	case string:
		return &types.AttributeValueMemberS{Value: x}, nil
	case json.Number:
		return &types.AttributeValueMemberN{Value: string(x)}, nil
	case int64:
		return num(x), nil
	case []any:
		list := make([]types.AttributeValue, len(x))
		for i, item := range x {
			av, err := toAttributeValue(item)
			if err != nil {
				return nil, err
			}
			list[i] = av
		}
		return &types.AttributeValueMemberL{Value: list}, nil
	case map[string]any:
		m := make(map[string]types.AttributeValue, len(x))
		for k, item := range x {
			av, err := toAttributeValue(item)
			if err != nil {
				return nil, err
			}
			m[k] = av
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	}
	return nil, fmt.Errorf("cannot store %T", v)
}

// fromAttributeValue converts a DynamoDB value back to a plain value, as the
// stream decoder does: numbers as json.Number, binaries as []byte, sets as
// lists.
func fromAttributeValue(av types.AttributeValue) any {
	switch x := av.(type) {
	case *types.AttributeValueMemberNULL:
		return nil
	case *types.AttributeValueMemberBOOL:
		return x.Value
	case *types.AttributeValueMemberS:
		return x.Value
	case *types.AttributeValueMemberN:
		return json.Number(x.Value)
	case *types.AttributeValueMemberB:
		return x.Value
	case *types.AttributeValueMemberL:
		list := make([]any, len(x.Value))
		for i, item := range x.Value {
			list[i] = fromAttributeValue(item)
		}
		return list
	case *types.AttributeValueMemberM:
		return fromAttributeMap(x.Value)
	case *types.AttributeValueMemberSS:
		list := make([]any, len(x.Value))
		for i, s := range x.Value {
			list[i] = s
		}
		return list
	case *types.AttributeValueMemberNS:
		list := make([]any, len(x.Value))
		for i, s := range x.Value {
			list[i] = json.Number(s)
		}
		return list
	case *types.AttributeValueMemberBS:
		list := make([]any, len(x.Value))
		for i, b := range x.Value {
			list[i] = b
		}
		return list
	}
	return nil
}

// FromAttributeMap converts an item to plain values, as the stream decoder
// gives them to the audit function.
func FromAttributeMap(m map[string]types.AttributeValue) map[string]any {
	return fromAttributeMap(m)
}

func fromAttributeMap(m map[string]types.AttributeValue) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = fromAttributeValue(v)
	}
	return out
}
