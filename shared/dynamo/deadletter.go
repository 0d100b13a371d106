package dynamo

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/storage"
	"github.com/inmor/inmor-serverless/shared/tables"
)

// Lifetimes and bounds of the records the audit function could not handle
// (their items: package storage).
const (
	// failureLifetime keeps a failure count while the stream may deliver the
	// record again (streams keep records 24 hours).
	failureLifetime = 48 * time.Hour
	// maxPlainRecord is the largest record stored as text; a larger one (two
	// images of items near DynamoDB's 400 KB), or one that is not valid
	// UTF-8, is stored gzipped.
	maxPlainRecord = 300 << 10
	// maxStoredError and maxSummaryError bound the error text kept.
	maxStoredError  = 4 << 10
	maxSummaryError = 1 << 10
)

// DeadLetters keeps, in the audit table, the audit function's count of
// failed attempts per stream record and the records it set aside
// (audit.DeadLetters). Dead-letter records carry feed "dlq", so the
// by_feed index lists them newest first; they never expire.
type DeadLetters struct {
	Client *dynamodb.Client
	Table  string
	// Now returns the current time (failure counts expire from it); time.Now
	// when nil.
	Now func() time.Time
}

func deadLetterKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": str(storage.DeadLetterPrefix + id)}
}

func (s *DeadLetters) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// CountFailure implements audit.DeadLetters: one atomic ADD on
// failure#<id>, which expires after 48 hours. The update carries a random
// token and is conditional on the item not holding it yet, so a call counts
// once even when the SDK retries it after a lost response.
func (s *DeadLetters) CountFailure(ctx context.Context, id string) (int, error) {
	var token [16]byte
	if _, err := rand.Read(token[:]); err != nil {
		return 0, fmt.Errorf("count a failed audit record: %w", err)
	}
	out, err := s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.Table),
		Key:                      map[string]types.AttributeValue{"pk": str(storage.FailurePrefix + id)},
		UpdateExpression:         aws.String("ADD #a :one SET #x = :expires, #t = :token"),
		ConditionExpression:      aws.String("attribute_not_exists(#t) OR #t <> :token"),
		ExpressionAttributeNames: map[string]string{"#a": "attempts", "#x": "expires_at", "#t": "last_token"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":one": num(1), ":expires": num(s.now().Add(failureLifetime).Unix()), ":token": str(hex.EncodeToString(token[:])),
		},
		ReturnValues:                        types.ReturnValueUpdatedNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var attributes map[string]types.AttributeValue
	var counted *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &counted):
		attributes = counted.Item // a retry of this very call: it was counted
	case err != nil:
		return 0, fmt.Errorf("count a failed audit record: %w", err)
	default:
		attributes = out.Attributes
	}
	n, ok := attributes["attempts"].(*types.AttributeValueMemberN)
	if !ok {
		return 0, errors.New("count a failed audit record: no count returned")
	}
	attempts, err := strconv.Atoi(n.Value)
	if err != nil {
		return 0, fmt.Errorf("count a failed audit record: %w", err)
	}
	return attempts, nil
}

// SetAside implements audit.DeadLetters: one PutItem of dlq#<id>.
func (s *DeadLetters) SetAside(ctx context.Context, d audit.DeadLetter) error {
	item, err := deadLetterItem(d)
	if err != nil {
		return err
	}
	if _, err := s.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: item}); err != nil {
		return fmt.Errorf("store a dead-letter record: %w", err)
	}
	return nil
}

// ReplayFailed implements audit.DeadLetters: it updates the error,
// the attempts and the summary, unless the record is gone.
func (s *DeadLetters) ReplayFailed(ctx context.Context, d audit.DeadLetter) error {
	d.Error = truncate(d.Error, maxStoredError)
	summary, err := deadLetterSummary(d)
	if err != nil {
		return err
	}
	_, err = s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.Table),
		Key:                      deadLetterKey(d.ID),
		UpdateExpression:         aws.String("SET #e = :e, #a = :a, #s = :s"),
		ConditionExpression:      aws.String("attribute_exists(pk)"),
		ExpressionAttributeNames: map[string]string{"#e": "error", "#a": "attempts", "#s": tables.AuditSummaryAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":e": str(d.Error), ":a": num(int64(d.Attempts)), ":s": str(string(summary)),
		},
	})
	var conditionFailed *types.ConditionalCheckFailedException
	if errors.As(err, &conditionFailed) {
		return nil // replayed and deleted meanwhile
	}
	if err != nil {
		return fmt.Errorf("update a dead-letter record: %w", err)
	}
	return nil
}

// Delete implements audit.DeadLetters.
func (s *DeadLetters) Delete(ctx context.Context, id string) error {
	_, err := s.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.Table), Key: deadLetterKey(id)})
	if err != nil {
		return fmt.Errorf("delete a dead-letter record: %w", err)
	}
	return nil
}

// List returns every dead-letter record, newest first, from the by_feed
// index (summaries only: Record is left empty).
func (s *DeadLetters) List(ctx context.Context) ([]audit.DeadLetter, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.Table),
		IndexName:                 aws.String(tables.AuditFeed.Name),
		KeyConditionExpression:    aws.String("#f = :f"),
		ExpressionAttributeNames:  map[string]string{"#f": tables.AuditFeed.Attribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{":f": str(storage.FeedDeadLetters)},
		ScanIndexForward:          aws.Bool(false),
	}
	var out []audit.DeadLetter
	for {
		page, err := s.Client.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list dead-letter records: %w", err)
		}
		for _, item := range page.Items {
			d, err := deadLetterFromSummary(item)
			if err != nil {
				return nil, err
			}
			out = append(out, d)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// Get returns one dead-letter record with its raw record; a NotFound error
// when there is none with that id.
func (s *DeadLetters) Get(ctx context.Context, id string) (audit.DeadLetter, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: deadLetterKey(id), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return audit.DeadLetter{}, fmt.Errorf("read dead-letter record %s: %w", id, err)
	}
	if out.Item == nil {
		return audit.DeadLetter{}, apperr.E(apperr.Op("dynamo.DeadLetters"), apperr.NotFound)
	}
	return deadLetterFromItem(out.Item)
}

// deadLetterJSON is the summary of a dead-letter record (what the by_feed
// index projects and `inmorctl audit dlq list` shows).
type deadLetterJSON struct {
	ID             string `json:"id"`
	EventID        string `json:"event_id"`
	SequenceNumber string `json:"sequence_number"`
	Error          string `json:"error"`
	Attempts       int    `json:"attempts"`
	SetAsideAt     string `json:"set_aside_at"`
	ResourcePK     string `json:"resource_pk,omitempty"`
	ResourceSK     string `json:"resource_sk,omitempty"`
}

func deadLetterSummary(d audit.DeadLetter) ([]byte, error) {
	b, err := json.Marshal(deadLetterJSON{
		ID: d.ID, EventID: d.EventID, SequenceNumber: d.SequenceNumber, Error: truncate(d.Error, maxSummaryError),
		Attempts: d.Attempts, SetAsideAt: d.SetAsideAt.UTC().Format(audit.TimeFormat),
		ResourcePK: d.ResourcePK, ResourceSK: d.ResourceSK,
	})
	if err != nil {
		return nil, fmt.Errorf("dead-letter summary: %w", err)
	}
	return b, nil
}

// deadLetterItem is the stored form of a dead-letter record.
func deadLetterItem(d audit.DeadLetter) (map[string]types.AttributeValue, error) {
	d.Error = truncate(d.Error, maxStoredError)
	summary, err := deadLetterSummary(d)
	if err != nil {
		return nil, err
	}
	setAsideAt := d.SetAsideAt.UTC().Format(audit.TimeFormat)
	item := deadLetterKey(d.ID)
	item[tables.AuditFeed.Attribute] = str(storage.FeedDeadLetters)
	item[tables.AuditSortAttribute] = str(setAsideAt + "#" + d.ID)
	item[tables.AuditSummaryAttribute] = str(string(summary))
	item["event_id"] = str(d.EventID)
	item["sequence_number"] = str(d.SequenceNumber)
	item["event_source_arn"] = str(d.EventSourceARN)
	item["error"] = str(d.Error)
	item["attempts"] = num(int64(d.Attempts))
	item["set_aside_at"] = str(setAsideAt)
	if d.ResourcePK != "" {
		item["resource_pk"] = str(d.ResourcePK)
	}
	if d.ResourceSK != "" {
		item["resource_sk"] = str(d.ResourceSK)
	}
	if len(d.Record) <= maxPlainRecord && utf8.Valid(d.Record) {
		item["record"] = str(string(d.Record))
		return item, nil
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(d.Record); err != nil {
		return nil, fmt.Errorf("compress a dead-letter record: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compress a dead-letter record: %w", err)
	}
	item["record_gzip"] = &types.AttributeValueMemberB{Value: buf.Bytes()}
	return item, nil
}

func deadLetterFromSummary(item map[string]types.AttributeValue) (audit.DeadLetter, error) {
	s, _ := item[tables.AuditSummaryAttribute].(*types.AttributeValueMemberS)
	if s == nil {
		return audit.DeadLetter{}, fmt.Errorf("dead-letter record %v has no summary", item["pk"])
	}
	var j deadLetterJSON
	if err := json.Unmarshal([]byte(s.Value), &j); err != nil {
		return audit.DeadLetter{}, fmt.Errorf("dead-letter summary: %w", err)
	}
	at, err := time.Parse(audit.TimeFormat, j.SetAsideAt)
	if err != nil {
		return audit.DeadLetter{}, fmt.Errorf("dead-letter summary: %w", err)
	}
	return audit.DeadLetter{
		ID: j.ID, EventID: j.EventID, SequenceNumber: j.SequenceNumber, Error: j.Error, Attempts: j.Attempts,
		SetAsideAt: at, ResourcePK: j.ResourcePK, ResourceSK: j.ResourceSK,
	}, nil
}

func deadLetterFromItem(item map[string]types.AttributeValue) (audit.DeadLetter, error) {
	d, err := deadLetterFromSummary(item)
	if err != nil {
		return d, err
	}
	text := func(name string) string {
		if v, ok := item[name].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	d.EventSourceARN = text("event_source_arn")
	if e := text("error"); e != "" {
		d.Error = e // the summary's may be truncated further
	}
	if n, ok := item["attempts"].(*types.AttributeValueMemberN); ok {
		if d.Attempts, err = strconv.Atoi(n.Value); err != nil {
			return d, fmt.Errorf("dead-letter record %s: attempts: %w", d.ID, err)
		}
	}
	switch v := item["record_gzip"].(type) {
	case *types.AttributeValueMemberB:
		zr, err := gzip.NewReader(bytes.NewReader(v.Value))
		if err != nil {
			return d, fmt.Errorf("dead-letter record %s: %w", d.ID, err)
		}
		if d.Record, err = io.ReadAll(zr); err != nil {
			return d, fmt.Errorf("dead-letter record %s: %w", d.ID, err)
		}
	default:
		d.Record = []byte(text("record"))
	}
	return d, nil
}

// truncate makes s valid UTF-8 (as DynamoDB strings must be) and cuts it to
// at most n bytes, on a character boundary.
func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
