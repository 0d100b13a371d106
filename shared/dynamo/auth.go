package dynamo

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/storage"
	"github.com/inmor/inmor-serverless/shared/tables"
)

// Kinds of the auth table's items (its keys: package storage).
const (
	kindUser          = "user"
	kindAPIKey        = "apikey"
	timeFormatRFC3339 = time.RFC3339Nano
)

// Auth stores users and API keys in the auth table.
type Auth struct {
	Client *dynamodb.Client
	Table  string
}

// optionalTime reads a time attribute: nil when absent, NULL or unreadable.
func optionalTime(s *string) *time.Time {
	if s == nil {
		return nil
	}
	t, err := time.Parse(timeFormatRFC3339, *s)
	if err != nil {
		return nil
	}
	return &t
}

// get reads one item, or a NotFound error.
func (a *Auth) get(ctx context.Context, pk string) (*itemReader, error) {
	out, err := a.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(a.Table), Key: map[string]types.AttributeValue{"pk": str(pk)}, ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	if out.Item == nil {
		return nil, apperr.E(apperr.Op("dynamo.Auth"), apperr.NotFound)
	}
	return &itemReader{item: out.Item}, nil
}

// putNew stores a new item: Exists when its key is taken by another item.
// The very same item already stored is a put the SDK retried after it had
// been applied (its answer lost), so it succeeds.
func (a *Auth) putNew(ctx context.Context, item map[string]types.AttributeValue) error {
	_, err := a.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(a.Table), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)"),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		if reflect.DeepEqual(failed.Item, item) {
			return nil // the SDK retried a put that had been applied (its answer was lost)
		}
		return apperr.E(apperr.Op("dynamo.Auth"), apperr.Exists)
	}
	return err
}

// APIKeyByHash implements auth.KeyStore.
func (a *Auth) APIKeyByHash(ctx context.Context, hash string) (auth.APIKey, error) {
	r, err := a.get(ctx, storage.APIKeyPrefix+hash)
	if err != nil {
		return auth.APIKey{}, err
	}
	return apiKeyFromItem(r)
}

// apiKeyItem is a key as stored: its hash is the partition key; the kind
// index lists keys by owner and creation time.
func apiKeyItem(k auth.APIKey) map[string]types.AttributeValue {
	w := newItemWriter()
	w.str("pk", storage.APIKeyPrefix+k.Hash)
	w.str("kind", kindAPIKey)
	w.str("sort", k.Username+"#"+formatAuthTime(k.CreatedAt))
	w.str("hash", k.Hash)
	w.str("prefix", k.Prefix)
	w.str("name", k.Name)
	w.str("username", k.Username)
	w.int("user_id", k.UserID)
	w.str("tenant", k.Tenant)
	w.str("scope", k.Scope)
	w.bool("is_active", k.IsActive)
	w.str("created_at", formatAuthTime(k.CreatedAt))
	if k.ExpiresAt != nil {
		w.str("key_expires_at", formatAuthTime(*k.ExpiresAt))
	}
	return w.item
}

func apiKeyFromItem(r *itemReader) (auth.APIKey, error) {
	k := auth.APIKey{
		Hash: r.str("hash"), Prefix: r.str("prefix"), Name: r.str("name"), Username: r.str("username"), UserID: r.int("user_id"),
		Tenant: r.str("tenant"), Scope: r.str("scope"), IsActive: r.bool("is_active"), CreatedAt: *orNow(optionalTime(r.optionalStr("created_at"))),
		ExpiresAt: optionalTime(r.optionalStr("key_expires_at")), LastUsedAt: optionalTime(r.optionalStr("last_used_at")),
	}
	return k, r.err
}

// userItem is a user as stored: the username is the partition key; the
// kind index lists users by username.
func userItem(u auth.User) map[string]types.AttributeValue {
	w := newItemWriter()
	w.str("pk", storage.UserPrefix+u.Username)
	w.str("kind", kindUser)
	w.str("sort", u.Username)
	w.int("id", u.ID)
	w.str("username", u.Username)
	w.str("email", u.Email)
	w.bool("is_staff", u.IsStaff)
	w.bool("is_superuser", u.IsSuperuser)
	w.bool("is_active", u.IsActive)
	w.str("password_hash", u.PasswordHash)
	w.str("date_joined", formatAuthTime(u.DateJoined))
	return w.item
}

func userFromItem(r *itemReader) (auth.User, error) {
	u := auth.User{
		ID: r.int("id"), Username: r.str("username"), Email: r.str("email"), IsStaff: r.bool("is_staff"), IsSuperuser: r.bool("is_superuser"),
		IsActive: r.bool("is_active"), PasswordHash: r.str("password_hash"), DateJoined: *orNow(optionalTime(r.optionalStr("date_joined"))),
	}
	return u, r.err
}

func formatAuthTime(t time.Time) string { return t.UTC().Format(timeFormatRFC3339) }

func orNow(t *time.Time) *time.Time {
	if t == nil {
		now := time.Now()
		return &now
	}
	return t
}

// UserByUsername implements auth.KeyStore.
func (a *Auth) UserByUsername(ctx context.Context, username string) (auth.User, error) {
	r, err := a.get(ctx, storage.UserPrefix+username)
	if err != nil {
		return auth.User{}, err
	}
	return userFromItem(r)
}

// CreateUser stores a new user with a fresh id; an Exists error when the username
// is taken.
func (a *Auth) CreateUser(ctx context.Context, u auth.User) (auth.User, error) {
	out, err := a.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(a.Table),
		Key:                       map[string]types.AttributeValue{"pk": str(storage.UserCounterPK)},
		UpdateExpression:          aws.String("ADD #v :one"),
		ExpressionAttributeNames:  map[string]string{"#v": "value"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1)},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return u, fmt.Errorf("allocate user id: %w", err)
	}
	counter := &itemReader{item: out.Attributes}
	if u.ID = counter.int("value"); counter.err != nil {
		return u, fmt.Errorf("allocate user id: %w", counter.err)
	}
	if u.DateJoined.IsZero() {
		u.DateJoined = time.Now().UTC()
	}
	return u, a.putNew(ctx, userItem(u))
}

// CreateAPIKey stores a new key; an Exists error when its hash is stored already.
func (a *Auth) CreateAPIKey(ctx context.Context, k auth.APIKey) error {
	return a.putNew(ctx, apiKeyItem(k))
}

// queryKind reads every item of a kind from the kind index, optionally only
// those whose sort key starts with prefix, in sort order.
func (a *Auth) queryKind(ctx context.Context, kind, prefix string, each func(map[string]types.AttributeValue) error) error {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(a.Table),
		IndexName:                 aws.String(tables.AuthKindIndex),
		KeyConditionExpression:    aws.String("kind = :k"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":k": str(kind)},
	}
	if prefix != "" {
		in.KeyConditionExpression = aws.String("kind = :k AND begins_with(sort, :p)")
		in.ExpressionAttributeValues[":p"] = str(prefix)
	}
	paginator := dynamodb.NewQueryPaginator(a.Client, in)
	for paginator.HasMorePages() {
		page, err := paginator.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, item := range page.Items {
			if err := each(item); err != nil {
				return err
			}
		}
	}
	return nil
}

// Users returns every user, by username.
func (a *Auth) Users(ctx context.Context) ([]auth.User, error) {
	var users []auth.User
	err := a.queryKind(ctx, kindUser, "", func(item map[string]types.AttributeValue) error {
		u, err := userFromItem(&itemReader{item: item})
		if err != nil {
			return err
		}
		users = append(users, u)
		return nil
	})
	return users, err
}

// APIKeys returns the keys of one user ("" for every user's), by owner and
// creation time.
func (a *Auth) APIKeys(ctx context.Context, username string) ([]auth.APIKey, error) {
	prefix := ""
	if username != "" {
		prefix = username + "#"
	}
	var keys []auth.APIKey
	err := a.queryKind(ctx, kindAPIKey, prefix, func(item map[string]types.AttributeValue) error {
		k, err := apiKeyFromItem(&itemReader{item: item})
		if err != nil {
			return err
		}
		if username == "" || k.Username == username { // the prefix "alice#" also matches "alice#x"'s keys
			keys = append(keys, k)
		}
		return nil
	})
	return keys, err
}

// DeactivateAPIKey deactivates one key; it reports whether the key was active.
func (a *Auth) DeactivateAPIKey(ctx context.Context, hash string) (bool, error) {
	_, err := a.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(a.Table),
		Key:                       map[string]types.AttributeValue{"pk": str(storage.APIKeyPrefix + hash)},
		UpdateExpression:          aws.String("SET is_active = :false"),
		ConditionExpression:       aws.String("is_active = :true"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":false": boolean(false), ":true": boolean(true)},
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return false, nil
	}
	return err == nil, err
}

// TouchAPIKey implements auth.KeyToucher: one conditional update, skipped
// by DynamoDB when another instance touched the key since notBefore.
func (a *Auth) TouchAPIKey(ctx context.Context, hash string, now, notBefore time.Time) error {
	_, err := a.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(a.Table),
		Key:                       map[string]types.AttributeValue{"pk": str(storage.APIKeyPrefix + hash)},
		UpdateExpression:          aws.String("SET last_used_at = :now"),
		ConditionExpression:       aws.String("attribute_exists(pk) AND (attribute_not_exists(last_used_at) OR last_used_at < :notBefore)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": str(now.UTC().Format(timeFormatRFC3339)), ":notBefore": str(notBefore.UTC().Format(timeFormatRFC3339))},
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return nil
	}
	return err
}

// CreateSession implements auth.SessionStore.
//
// Session ids are 256-bit random, so an existing item with the same hash can
// only be this very session: the SDK retried a put whose answer was lost.
func (a *Auth) CreateSession(ctx context.Context, s auth.Session) error {
	w := newItemWriter()
	w.str("pk", storage.SessionPrefix+s.Hash)
	w.str("username", s.Username)
	w.int("user_id", s.UserID)
	w.str("created_at", formatAuthTime(s.CreatedAt))
	w.int("expires_at", s.ExpiresAt.Unix()) // TTL
	if s.SecondFactor {
		w.bool("second_factor", true)
	}
	err := a.putNew(ctx, w.item)
	if apperr.Is(apperr.Exists, err) {
		return nil
	}
	return err
}

// SessionByHash implements auth.SessionStore.
func (a *Auth) SessionByHash(ctx context.Context, hash string) (auth.Session, error) {
	r, err := a.get(ctx, storage.SessionPrefix+hash)
	if err != nil {
		return auth.Session{}, err
	}
	s := auth.Session{
		Hash: hash, Username: r.str("username"), UserID: r.int("user_id"), CreatedAt: *orNow(optionalTime(r.optionalStr("created_at"))),
		ExpiresAt: time.Unix(r.int("expires_at"), 0), SecondFactor: r.optionalBool("second_factor"),
	}
	return s, r.err
}

// DeleteSession implements auth.SessionStore.
func (a *Auth) DeleteSession(ctx context.Context, hash string) error {
	_, err := a.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(a.Table), Key: map[string]types.AttributeValue{"pk": str(storage.SessionPrefix + hash)},
	})
	return err
}

// LoginFailures implements auth.LoginThrottle.
func (a *Auth) LoginFailures(ctx context.Context, username string) (int, time.Time, error) {
	r, err := a.get(ctx, storage.LoginFailPrefix+username)
	if apperr.Is(apperr.NotFound, err) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, err
	}
	count, windowEnd := r.int("count"), r.int("expires_at") // the window's end; TTL
	return int(count), time.Unix(windowEnd, 0), r.err
}

// RecordLoginFailure implements auth.LoginThrottle: it counts within the
// open window, or opens a new one when the last has ended. Each call carries
// a random token kept on the item, so an SDK retry of an applied update
// (its answer lost) does not count the failure twice.
func (a *Auth) RecordLoginFailure(ctx context.Context, username string, now time.Time, window time.Duration) error {
	token, err := auth.NewSecret()
	if err != nil {
		return err
	}
	key := map[string]types.AttributeValue{"pk": str(storage.LoginFailPrefix + username)}
	_, err = a.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(a.Table),
		Key:                                 key,
		UpdateExpression:                    aws.String("ADD #c :one SET last_token = :token"),
		ConditionExpression:                 aws.String("expires_at > :now AND (attribute_not_exists(last_token) OR last_token <> :token)"),
		ExpressionAttributeNames:            map[string]string{"#c": "count"},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":one": num(1), ":now": num(now.Unix()), ":token": str(token)},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var failed *types.ConditionalCheckFailedException
	if !errors.As(err, &failed) {
		return err
	}
	if t, ok := failed.Item["last_token"].(*types.AttributeValueMemberS); ok && t.Value == token {
		return nil // counted by the first attempt
	}
	_, err = a.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(a.Table),
		Item: map[string]types.AttributeValue{
			"pk": key["pk"], "count": num(1), "expires_at": num(now.Add(window).Unix()), "last_token": str(token),
		},
	})
	return err
}

// ClearLoginFailures implements auth.LoginThrottle.
func (a *Auth) ClearLoginFailures(ctx context.Context, username string) error {
	_, err := a.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(a.Table), Key: map[string]types.AttributeValue{"pk": str(storage.LoginFailPrefix + username)},
	})
	return err
}
