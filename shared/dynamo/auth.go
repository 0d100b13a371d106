package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/inmor/inmor-serverless/shared/auth"
)

// Item key prefixes of the auth table.
const (
	userPrefix        = "user#"
	apiKeyPrefix      = "apikey#"
	userCounterPK     = "counter#user"
	timeFormatRFC3339 = time.RFC3339Nano
)

// ErrExists is returned when creating a user or key that exists already.
var ErrExists = errors.New("exists already")

// Auth stores users and API keys in the auth table.
type Auth struct {
	Client *dynamodb.Client
	Table  string
}

type userRecord struct {
	PK           string `dynamodbav:"pk"`
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
		return auth.ErrNotFound
	}
	return attributevalue.UnmarshalMap(out.Item, into)
}

func (a *Auth) putNew(ctx context.Context, record any) error {
	item, err := attributevalue.MarshalMap(record)
	if err != nil {
		return err
	}
	_, err = a.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(a.Table), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return ErrExists
	}
	return err
}

// APIKeyByHash implements auth.KeyStore.
func (a *Auth) APIKeyByHash(ctx context.Context, hash string) (auth.APIKey, error) {
	var r apiKeyRecord
	if err := a.get(ctx, apiKeyPrefix+hash, &r); err != nil {
		return auth.APIKey{}, err
	}
	return auth.APIKey{
		Hash: r.Hash, Prefix: r.Prefix, Name: r.Name, Username: r.Username, UserID: r.UserID,
		Tenant: r.Tenant, Scope: r.Scope, IsActive: r.IsActive, CreatedAt: *orNow(optionalTime(r.CreatedAt)),
		ExpiresAt: optionalTime(r.ExpiresAt), LastUsedAt: optionalTime(r.LastUsedAt),
	}, nil
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
	if err := a.get(ctx, userPrefix+username, &r); err != nil {
		return auth.User{}, err
	}
	return auth.User{
		ID: r.ID, Username: r.Username, Email: r.Email, IsStaff: r.IsStaff, IsSuperuser: r.IsSuperuser,
		IsActive: r.IsActive, PasswordHash: r.PasswordHash, DateJoined: *orNow(optionalTime(r.DateJoined)),
	}, nil
}

// CreateUser stores a new user with a fresh id; ErrExists when the username
// is taken.
func (a *Auth) CreateUser(ctx context.Context, u auth.User) (auth.User, error) {
	out, err := a.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(a.Table),
		Key:                       map[string]types.AttributeValue{"pk": str(userCounterPK)},
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
		PK: userPrefix + u.Username, ID: u.ID, Username: u.Username, Email: u.Email, IsStaff: u.IsStaff,
		IsSuperuser: u.IsSuperuser, IsActive: u.IsActive, PasswordHash: u.PasswordHash,
		DateJoined: u.DateJoined.UTC().Format(timeFormatRFC3339),
	})
}

// CreateAPIKey stores a new key; ErrExists when its hash is stored already.
func (a *Auth) CreateAPIKey(ctx context.Context, k auth.APIKey) error {
	r := apiKeyRecord{
		PK: apiKeyPrefix + k.Hash, Hash: k.Hash, Prefix: k.Prefix, Name: k.Name, Username: k.Username,
		UserID: k.UserID, Tenant: k.Tenant, Scope: k.Scope, IsActive: k.IsActive,
		CreatedAt: k.CreatedAt.UTC().Format(timeFormatRFC3339),
	}
	if k.ExpiresAt != nil {
		r.ExpiresAt = k.ExpiresAt.UTC().Format(timeFormatRFC3339)
	}
	return a.putNew(ctx, r)
}
