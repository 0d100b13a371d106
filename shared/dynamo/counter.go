package dynamo

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/inmor/inmor-serverless/shared/auth"
)

// counterUpdater is the part of the DynamoDB client a counter needs.
type counterUpdater interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// incrementCounter adds one to the counter item at key and returns its new
// value, once per call even when the SDK retries a request that was
// applied but whose answer was lost (a connection closed under load): the
// update also stores the call's random token and is conditional on the
// counter not holding it, so a retry is refused, and its refusal's old
// item (holding the token) is the value this call made.
func incrementCounter(ctx context.Context, client counterUpdater, table string, key map[string]types.AttributeValue) (int64, error) {
	token, err := auth.NewSecret()
	if err != nil {
		return 0, err
	}
	out, err := client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(table),
		Key:                                 key,
		UpdateExpression:                    aws.String("ADD #v :one SET #t = :token"),
		ConditionExpression:                 aws.String("attribute_not_exists(#t) OR #t <> :token"),
		ExpressionAttributeNames:            map[string]string{"#v": "value", "#t": "last_token"},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":one": num(1), ":token": str(token)},
		ReturnValues:                        types.ReturnValueUpdatedNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	item := map[string]types.AttributeValue(nil)
	var failed *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &failed):
		item = failed.Item // this call's increment, applied by an earlier attempt
	case err != nil:
		return 0, err
	default:
		item = out.Attributes
	}
	r := &itemReader{item: item}
	value := r.int("value")
	if r.err != nil {
		return 0, fmt.Errorf("counter: %w", r.err)
	}
	return value, nil
}
