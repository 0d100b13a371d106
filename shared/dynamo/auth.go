package dynamo

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
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

type userRecord struct {
	PK           string `dynamodbav:"pk"`
	Kind         string `dynamodbav:"kind"`
	Sort         string `dynamodbav:"sort"`
	ID           int64  `dynamodbav:"id"`
	Username     string `dynamodbav:"username"`
	Email        string `dynamodbav:"email"`
	IsStaff      bool   `dynamodbav:"is_staff"`
	IsSuperuser  bool   `dynamodbav:"is_superuser"`
	IsActive     bool   `dynamodbav:"is_active"`
	PasswordHash string `dynamodbav:"password_hash"`
	DateJoined   string `dynamodbav:"date_joined"`
}

type apiKeyRecord struct {
	PK         string `dynamodbav:"pk"`
	Kind       string `dynamodbav:"kind"`
	Sort       string `dynamodbav:"sort"`
	Hash       string `dynamodbav:"hash"`
	Prefix     string `dynamodbav:"prefix"`
	Name       string `dynamodbav:"name"`
	Username   string `dynamodbav:"username"`
	UserID     int64  `dynamodbav:"user_id"`
	Tenant     string `dynamodbav:"tenant"`
	Scope      string `dynamodbav:"scope"`
	IsActive   bool   `dynamodbav:"is_active"`
	CreatedAt  string `dynamodbav:"created_at"`
	ExpiresAt  string `dynamodbav:"key_expires_at,omitempty"`
	LastUsedAt string `dynamodbav:"last_used_at,omitempty"`
}

func optionalTime(s string) *time.Time {
	if s == "" {
		return nil
	}
	t, err := time.Parse(timeFormatRFC3339, s)
	if err != nil {
		return nil
	}
	return &t
}

func (a *Auth) get(ctx context.Context, pk string, into any) error {
	out, err := a.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(a.Table), Key: map[string]types.AttributeValue{"pk": str(pk)}, ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return err
	}
	if out.Item == nil {
		return apperr.E(apperr.Op("dynamo.Auth"), apperr.NotFound)
	}
	return attributevalue.UnmarshalMap(out.Item, into)
}

// putNew stores a new item: Exists when its key is taken by another item.
// The very same item already stored is a put the SDK retried after it had
// been applied (its answer lost), so it succeeds.
func (a *Auth) putNew(ctx context.Context, record any) error {
	item, err := attributevalue.MarshalMap(record)
	if err != nil {
		return err
	}
	_, err = a.Client.PutItem(ctx, &dynamodb.PutItemInput{
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
	var r apiKeyRecord
	if err := a.get(ctx, storage.APIKeyPrefix+hash, &r); err != nil {
		return auth.APIKey{}, err
	}
	return r.apiKey(), nil
}

func (r apiKeyRecord) apiKey() auth.APIKey {
	return auth.APIKey{
		Hash: r.Hash, Prefix: r.Prefix, Name: r.Name, Username: r.Username, UserID: r.UserID,
		Tenant: r.Tenant, Scope: r.Scope, IsActive: r.IsActive, CreatedAt: *orNow(optionalTime(r.CreatedAt)),
		ExpiresAt: optionalTime(r.ExpiresAt), LastUsedAt: optionalTime(r.LastUsedAt),
	}
}

func (r userRecord) user() auth.User {
	return auth.User{
		ID: r.ID, Username: r.Username, Email: r.Email, IsStaff: r.IsStaff, IsSuperuser: r.IsSuperuser,
		IsActive: r.IsActive, PasswordHash: r.PasswordHash, DateJoined: *orNow(optionalTime(r.DateJoined)),
	}
}

func orNow(t *time.Time) *time.Time {
	if t == nil {
		now := time.Now()
		return &now
	}
	return t
}

// UserByUsername implements auth.KeyStore.
func (a *Auth) UserByUsername(ctx context.Context, username string) (auth.User, error) {
	var r userRecord
	if err := a.get(ctx, storage.UserPrefix+username, &r); err != nil {
		return auth.User{}, err
	}
	return r.user(), nil
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
	var counter struct {
		Value int64 `dynamodbav:"value"`
	}
	if err := attributevalue.UnmarshalMap(out.Attributes, &counter); err != nil {
		return u, err
	}
	u.ID = counter.Value
	if u.DateJoined.IsZero() {
		u.DateJoined = time.Now().UTC()
	}
	return u, a.putNew(ctx, userRecord{
		PK: storage.UserPrefix + u.Username, Kind: kindUser, Sort: u.Username, ID: u.ID, Username: u.Username, Email: u.Email, IsStaff: u.IsStaff,
		IsSuperuser: u.IsSuperuser, IsActive: u.IsActive, PasswordHash: u.PasswordHash,
		DateJoined: u.DateJoined.UTC().Format(timeFormatRFC3339),
	})
}

// CreateAPIKey stores a new key; an Exists error when its hash is stored already.
func (a *Auth) CreateAPIKey(ctx context.Context, k auth.APIKey) error {
	r := apiKeyRecord{
		PK: storage.APIKeyPrefix + k.Hash, Kind: kindAPIKey, Sort: k.Username + "#" + k.CreatedAt.UTC().Format(timeFormatRFC3339), Hash: k.Hash, Prefix: k.Prefix, Name: k.Name, Username: k.Username,
		UserID: k.UserID, Tenant: k.Tenant, Scope: k.Scope, IsActive: k.IsActive,
		CreatedAt: k.CreatedAt.UTC().Format(timeFormatRFC3339),
	}
	if k.ExpiresAt != nil {
		r.ExpiresAt = k.ExpiresAt.UTC().Format(timeFormatRFC3339)
	}
	return a.putNew(ctx, r)
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
		var r userRecord
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			return err
		}
		users = append(users, r.user())
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
		var r apiKeyRecord
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			return err
		}
		if username == "" || r.Username == username { // the prefix "alice#" also matches "alice#x"'s keys
			keys = append(keys, r.apiKey())
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

type sessionRecord struct {
	PK        string `dynamodbav:"pk"`
	Username  string `dynamodbav:"username"`
	UserID    int64  `dynamodbav:"user_id"`
	CreatedAt string `dynamodbav:"created_at"`
	ExpiresAt int64  `dynamodbav:"expires_at"` // TTL
}

// CreateSession implements auth.SessionStore.
//
// Session ids are 256-bit random, so an existing item with the same hash can
// only be this very session: the SDK retried a put whose answer was lost.
func (a *Auth) CreateSession(ctx context.Context, s auth.Session) error {
	err := a.putNew(ctx, sessionRecord{
		PK: storage.SessionPrefix + s.Hash, Username: s.Username, UserID: s.UserID,
		CreatedAt: s.CreatedAt.UTC().Format(timeFormatRFC3339), ExpiresAt: s.ExpiresAt.Unix(),
	})
	if apperr.Is(apperr.Exists, err) {
		return nil
	}
	return err
}

// SessionByHash implements auth.SessionStore.
func (a *Auth) SessionByHash(ctx context.Context, hash string) (auth.Session, error) {
	var r sessionRecord
	if err := a.get(ctx, storage.SessionPrefix+hash, &r); err != nil {
		return auth.Session{}, err
	}
	return auth.Session{
		Hash: hash, Username: r.Username, UserID: r.UserID, CreatedAt: *orNow(optionalTime(r.CreatedAt)),
		ExpiresAt: time.Unix(r.ExpiresAt, 0),
	}, nil
}

// DeleteSession implements auth.SessionStore.
func (a *Auth) DeleteSession(ctx context.Context, hash string) error {
	_, err := a.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(a.Table), Key: map[string]types.AttributeValue{"pk": str(storage.SessionPrefix + hash)},
	})
	return err
}

type loginFailRecord struct {
	Count     int   `dynamodbav:"count"`
	ExpiresAt int64 `dynamodbav:"expires_at"` // the window's end; TTL
}

// LoginFailures implements auth.LoginThrottle.
func (a *Auth) LoginFailures(ctx context.Context, username string) (int, time.Time, error) {
	var r loginFailRecord
	err := a.get(ctx, storage.LoginFailPrefix+username, &r)
	if apperr.Is(apperr.NotFound, err) {
		return 0, time.Time{}, nil
	}
	return r.Count, time.Unix(r.ExpiresAt, 0), err
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
