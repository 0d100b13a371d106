package dynamo

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/resource"
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
	// AttributionKey signs the attribution of the writes that carry one
	// (audit.AttributionMAC): Operator's user and key writes, and session
	// events. Without it they are written unsigned, which the audit log
	// records as out-of-band.
	AttributionKey []byte
	// Operator, when set, is who makes this store's user and key writes
	// (inmorctl's operator): each write carries it as its attribution,
	// with a fresh request id, the operation and the time. When nil the
	// writes carry no attribution (out-of-band).
	Operator *resource.Attribution
}

// attribute adds the version and, when the store has an Operator, the
// signed attribution of a user or key write to item (version 1 for a
// create).
func (a *Auth) attribute(item map[string]types.AttributeValue, version int64, op resource.Operation) error {
	item[storage.AttrVersion] = num(version)
	if a.Operator == nil {
		return nil
	}
	claim, err := a.operatorClaim(item, version, op)
	if err != nil {
		return err
	}
	item[storage.AttrAttribution] = claim
	return nil
}

// operatorClaim is the attribution map of the operator's write of item as
// version, signed over the item's content.
func (a *Auth) operatorClaim(item map[string]types.AttributeValue, version int64, op resource.Operation) (types.AttributeValue, error) {
	requestID, err := auth.NewSecret()
	if err != nil {
		return nil, err
	}
	attribution := *a.Operator
	attribution.RequestID = "cli-" + requestID[:22]
	attribution.Operation, attribution.CommittedAt = op, time.Now().UTC()
	claim := storage.AttributionMap(attribution, version)
	if len(a.AttributionKey) > 0 {
		pk := item["pk"].(*types.AttributeValueMemberS).Value
		if err := audit.SignAttribution(a.AttributionKey, pk, "", version, storage.AuthContent(fromAttributeMap(item)), claim); err != nil {
			return nil, err
		}
	}
	return toAttributeValue(claim)
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
	id, err := incrementCounter(ctx, a.Client, a.Table, map[string]types.AttributeValue{"pk": str(storage.UserCounterPK)})
	if err != nil {
		return u, fmt.Errorf("allocate user id: %w", err)
	}
	u.ID = id
	if u.DateJoined.IsZero() {
		u.DateJoined = time.Now().UTC()
	}
	item := userItem(u)
	if err := a.attribute(item, 1, resource.OpCreate); err != nil {
		return u, err
	}
	return u, a.putNew(ctx, item)
}

// CreateAPIKey stores a new key; an Exists error when its hash is stored already.
func (a *Auth) CreateAPIKey(ctx context.Context, k auth.APIKey) error {
	item := apiKeyItem(k)
	if err := a.attribute(item, 1, resource.OpCreate); err != nil {
		return err
	}
	return a.putNew(ctx, item)
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

// DeactivateAPIKey deactivates one key; it reports whether the key was
// active.
func (a *Auth) DeactivateAPIKey(ctx context.Context, hash string) (bool, error) {
	return a.update(ctx, storage.APIKeyPrefix+hash, func(r *itemReader) (map[string]types.AttributeValue, error) {
		if !r.bool("is_active") {
			return nil, r.err
		}
		return map[string]types.AttributeValue{"is_active": boolean(false)}, nil
	})
}

// SetPassword stores a user's new password hash; a NotFound error when
// there is no such user.
func (a *Auth) SetPassword(ctx context.Context, username, hash string) error {
	changed, err := a.update(ctx, storage.UserPrefix+username, func(*itemReader) (map[string]types.AttributeValue, error) {
		return map[string]types.AttributeValue{storage.AttrPasswordHash: str(hash)}, nil
	})
	if err == nil && !changed {
		return apperr.E(apperr.Op("dynamo.Auth"), apperr.NotFound)
	}
	return err
}

// SetUserFlags sets a user's is_staff and is_superuser flags (each left as
// it is when nil); it reports whether the user exists.
func (a *Auth) SetUserFlags(ctx context.Context, username string, staff, superuser *bool) (bool, error) {
	return a.update(ctx, storage.UserPrefix+username, func(*itemReader) (map[string]types.AttributeValue, error) {
		set := map[string]types.AttributeValue{}
		if staff != nil {
			set["is_staff"] = boolean(*staff)
		}
		if superuser != nil {
			set["is_superuser"] = boolean(*superuser)
		}
		return set, nil
	})
}

// DeactivateUser deactivates a user; it reports whether the user was
// active (false also when there is no such user).
func (a *Auth) DeactivateUser(ctx context.Context, username string) (bool, error) {
	return a.update(ctx, storage.UserPrefix+username, func(r *itemReader) (map[string]types.AttributeValue, error) {
		if !r.bool("is_active") {
			return nil, r.err
		}
		return map[string]types.AttributeValue{"is_active": boolean(false)}, nil
	})
}

// update changes a user or key item: it reads the item, asks change for
// the attributes to set (none: nothing to do), and writes them as the
// next version, with the operator's attribution signed over the new
// content, conditional on the version it read (retried when another write
// came first). It reports whether it wrote; a missing item is not written.
// last_used_at, which the functions touch, is left as it is.
func (a *Auth) update(ctx context.Context, pk string, change func(r *itemReader) (map[string]types.AttributeValue, error)) (bool, error) {
	for range maxAuthUpdateAttempts {
		r, err := a.get(ctx, pk)
		if apperr.Is(apperr.NotFound, err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		set, err := change(r)
		if err != nil || len(set) == 0 {
			return false, err
		}
		version := int64(0)
		if _, versioned := r.item[storage.AttrVersion]; versioned {
			if version = r.int(storage.AttrVersion); r.err != nil {
				return false, r.err
			}
		}
		item := maps.Clone(r.item)
		names := map[string]string{"#v": storage.AttrVersion}
		values := map[string]types.AttributeValue{":version": num(version + 1)}
		expression := "SET #v = :version"
		for k, v := range set {
			item[k] = v
			names["#"+k], values[":"+k] = k, v
			expression += ", #" + k + " = :" + k
		}
		if a.Operator != nil {
			claim, err := a.operatorClaim(item, version+1, resource.OpUpdate)
			if err != nil {
				return false, err
			}
			names["#a"], values[":attribution"] = storage.AttrAttribution, claim
			expression += ", #a = :attribution"
		} else {
			names["#a"] = storage.AttrAttribution
			expression += " REMOVE #a"
		}
		condition := "attribute_exists(pk) AND attribute_not_exists(#v)"
		if version > 0 {
			condition, values[":read"] = "#v = :read", num(version)
		}
		_, err = a.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(a.Table), Key: map[string]types.AttributeValue{"pk": str(pk)},
			UpdateExpression: aws.String(expression), ConditionExpression: aws.String(condition),
			ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		})
		var failed *types.ConditionalCheckFailedException
		if !errors.As(err, &failed) {
			return err == nil, err
		}
	}
	return false, apperr.E(apperr.Op("dynamo.Auth"), apperr.Busy, "the item kept changing")
}

// maxAuthUpdateAttempts bounds the retries of a user or key update that
// lost a race.
const maxAuthUpdateAttempts = 3

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
		Hash: hash, Username: r.str("username"), UserID: r.int("user_id"),
		ExpiresAt: time.Unix(r.int("expires_at"), 0), SecondFactor: r.optionalBool("second_factor"),
	}
	if created := optionalTime(r.optionalStr("created_at")); created != nil {
		s.CreatedAt = *created // else zero: a session of unknown age is not a recent login
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

// sessionEventLifetime keeps a session event long enough for the stream.
const sessionEventLifetime = 48 * time.Hour

// RecordSessionEvent stores a login (event storage.SessionLogin, result
// storage.SessionResultSuccess or why it failed) or a logout
// (storage.SessionLogout) for the audit log: one item,
// sessionevent#<request id>, holding the event, its result, the username
// (tried) and user id (when known) of the attribution, and the attribution
// signed over them; it expires after 48 hours. The audit function turns
// its INSERT into a Session entry. A request records one event: a retried
// put finds it and succeeds.
func (a *Auth) RecordSessionEvent(ctx context.Context, event, result string, at resource.Attribution) error {
	return a.RecordUserEvent(ctx, event, result, at.Username, at.UserID, at)
}

// RecordUserEvent records a session event about the user username (id 0
// when unknown) made by whoever at names: an operator's reset of a user's
// second factors (storage.SessionMFAReset) is the user's event, made with
// inmorctl.
func (a *Auth) RecordUserEvent(ctx context.Context, event, result, username string, userID int64, at resource.Attribution) error {
	if at.RequestID == "" {
		id, err := auth.NewSecret()
		if err != nil {
			return err
		}
		at.RequestID = "local-" + id[:22]
	}
	pk := storage.SessionEventPrefix + at.RequestID
	w := newItemWriter()
	w.str(storage.AttrPK, pk)
	w.str(storage.AttrSessionEvent, event)
	w.str(storage.AttrSessionResult, result)
	w.str("username", username)
	if userID != 0 {
		w.int("user_id", userID)
	}
	claim := storage.AttributionMap(at, 0)
	if len(a.AttributionKey) > 0 {
		if err := audit.SignAttribution(a.AttributionKey, pk, "", 0, storage.SessionEventContent(fromAttributeMap(w.item)), claim); err != nil {
			return err
		}
	}
	attribution, err := toAttributeValue(claim)
	if err != nil {
		return err
	}
	w.item[storage.AttrAttribution] = attribution
	w.int(storage.AttrExpiresAt, at.CommittedAt.Add(sessionEventLifetime).Unix())
	_, err = a.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(a.Table), Item: w.item, ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	var exists *types.ConditionalCheckFailedException
	if errors.As(err, &exists) {
		return nil // recorded already (a retried invocation)
	}
	return err
}
