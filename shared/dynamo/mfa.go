package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/mfa"
	"github.com/inmor/inmor-serverless/shared/storage"
)

// The second factors of a user are one item, mfa#<username>: totp_secret,
// totp_last_step, totp_enrolled_at, recovery_hashes (a string set), one
// attribute webauthn:<credential id> per WebAuthn credential (JSON), and
// the last change of enrolment (mfa_event, mfa_event_factor,
// mfa_event_method, mfa_event_at and a fresh mfa_event_id). A login's use
// of a factor changes totp_last_step or recovery_hashes and never the
// mfa_event attributes.

func mfaKey(username string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": str(storage.MFAPrefix + username)}
}

func conditionFailed(err error) bool {
	var failed *types.ConditionalCheckFailedException
	return errors.As(err, &failed)
}

// eventUpdate returns the SET clauses and values that record ev.
func eventUpdate(ev mfa.Event, values map[string]types.AttributeValue) (string, error) {
	id, err := auth.NewSecret()
	if err != nil {
		return "", err
	}
	values[":ev"], values[":evf"], values[":evm"] = str(ev.Type), str(ev.Factor), str(ev.Method)
	values[":eva"], values[":evid"] = str(formatAuthTime(ev.At)), str(id)
	return "mfa_event = :ev, mfa_event_factor = :evf, mfa_event_method = :evm, mfa_event_at = :eva, mfa_event_id = :evid", nil
}

// MFAState implements mfa.Store.
func (a *Auth) MFAState(ctx context.Context, username string) (mfa.State, error) {
	r, err := a.get(ctx, storage.MFAPrefix+username)
	if apperr.Is(apperr.NotFound, err) {
		return mfa.State{}, nil
	}
	if err != nil {
		return mfa.State{}, err
	}
	s := mfa.State{}
	if v := r.optionalStr("totp_secret"); v != nil {
		s.TOTPSecret = *v
	}
	if _, ok := r.item["totp_last_step"]; ok {
		s.TOTPLastStep = r.int("totp_last_step")
	}
	if ss, ok := r.item["recovery_hashes"].(*types.AttributeValueMemberSS); ok {
		s.RecoveryHashes = ss.Value
	}
	for _, name := range webAuthnAttributes(r.item) {
		var c mfa.WebAuthnCredential
		if err := json.Unmarshal([]byte(r.str(name)), &c); err != nil {
			return s, fmt.Errorf("%s of %s: %w", name, username, err)
		}
		s.WebAuthn = append(s.WebAuthn, c)
	}
	slices.SortFunc(s.WebAuthn, func(a, b mfa.WebAuthnCredential) int { return a.AddedAt.Compare(b.AddedAt) })
	return s, r.err
}

// webAuthnPrefix starts the attribute of a WebAuthn credential, by id.
const webAuthnPrefix = "webauthn:"

// webAuthnAttributes are the names of an item's credential attributes.
func webAuthnAttributes(item map[string]types.AttributeValue) []string {
	var names []string
	for name := range item {
		if strings.HasPrefix(name, webAuthnPrefix) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// PutPendingWebAuthn implements mfa.Store.
func (a *Auth) PutPendingWebAuthn(ctx context.Context, username, session string, expires time.Time) error {
	_, err := a.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(a.Table),
		Item: map[string]types.AttributeValue{
			"pk": str(storage.MFAPendingPrefix + webAuthnPrefix + username), "session": str(session), "expires_at": num(expires.Unix()),
		},
	})
	return err
}

// TakePendingWebAuthn implements mfa.Store: a conditional delete, so a
// registration ceremony finishes once.
func (a *Auth) TakePendingWebAuthn(ctx context.Context, username string, now time.Time) (string, error) {
	out, err := a.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(a.Table), Key: map[string]types.AttributeValue{"pk": str(storage.MFAPendingPrefix + webAuthnPrefix + username)},
		ConditionExpression:       aws.String("attribute_exists(pk) AND expires_at > :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.Unix())},
		ReturnValues:              types.ReturnValueAllOld,
	})
	if conditionFailed(err) {
		return "", apperr.E(apperr.Op("dynamo.Auth.TakePendingWebAuthn"), apperr.NotFound)
	}
	if err != nil {
		return "", err
	}
	r := &itemReader{item: out.Attributes}
	return r.str("session"), r.err
}

// AddWebAuthnCredential implements mfa.Store.
func (a *Auth) AddWebAuthnCredential(ctx context.Context, user auth.User, c mfa.WebAuthnCredential, recoveryHashes []string, ev mfa.Event) error {
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	values := map[string]types.AttributeValue{":c": str(string(data)), ":u": str(user.Username), ":id": num(user.ID)}
	set, err := eventUpdate(ev, values)
	if err != nil {
		return err
	}
	update := "SET #c = :c, username = :u, user_id = :id, " + set
	if recoveryHashes != nil {
		update += ", recovery_hashes = :r"
		values[":r"] = &types.AttributeValueMemberSS{Value: recoveryHashes}
	}
	_, err = a.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(a.Table), Key: mfaKey(user.Username), UpdateExpression: aws.String(update),
		ExpressionAttributeNames: map[string]string{"#c": webAuthnPrefix + c.ID}, ExpressionAttributeValues: values,
	})
	return err
}

// UpdateWebAuthnCredential implements mfa.Store.
func (a *Auth) UpdateWebAuthnCredential(ctx context.Context, username string, c mfa.WebAuthnCredential) error {
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	_, err = a.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(a.Table), Key: mfaKey(username),
		UpdateExpression: aws.String("SET #c = :c"), ConditionExpression: aws.String("attribute_exists(#c)"),
		ExpressionAttributeNames: map[string]string{"#c": webAuthnPrefix + c.ID}, ExpressionAttributeValues: map[string]types.AttributeValue{":c": str(string(data))},
	})
	if conditionFailed(err) {
		return nil // removed meanwhile
	}
	return err
}

// RemoveWebAuthnCredential implements mfa.Store.
func (a *Auth) RemoveWebAuthnCredential(ctx context.Context, username, id string, removeRecovery bool, ev mfa.Event) error {
	values := map[string]types.AttributeValue{}
	set, err := eventUpdate(ev, values)
	if err != nil {
		return err
	}
	remove := " REMOVE #c"
	if removeRecovery {
		remove += ", recovery_hashes"
	}
	_, err = a.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(a.Table), Key: mfaKey(username),
		UpdateExpression: aws.String("SET " + set + remove), ConditionExpression: aws.String("attribute_exists(#c)"),
		ExpressionAttributeNames: map[string]string{"#c": webAuthnPrefix + id}, ExpressionAttributeValues: values,
	})
	if conditionFailed(err) {
		return apperr.E(apperr.Op("dynamo.Auth.RemoveWebAuthnCredential"), apperr.NotFound)
	}
	return err
}

// PutPendingTOTP implements mfa.Store.
func (a *Auth) PutPendingTOTP(ctx context.Context, username, secret string, expires time.Time) error {
	_, err := a.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(a.Table),
		Item: map[string]types.AttributeValue{
			"pk": str(storage.MFAPendingPrefix + username), "totp_secret": str(secret), "expires_at": num(expires.Unix()),
		},
	})
	return err
}

// PendingTOTP implements mfa.Store.
func (a *Auth) PendingTOTP(ctx context.Context, username string, now time.Time) (string, error) {
	r, err := a.get(ctx, storage.MFAPendingPrefix+username)
	if err != nil {
		return "", err
	}
	if r.int("expires_at") <= now.Unix() { // TTL deletion lags
		return "", apperr.E(apperr.Op("dynamo.Auth.PendingTOTP"), apperr.NotFound)
	}
	return r.str("totp_secret"), r.err
}

// EnrolTOTP implements mfa.Store.
func (a *Auth) EnrolTOTP(ctx context.Context, user auth.User, secret string, lastStep int64, recoveryHashes []string, ev mfa.Event) error {
	values := map[string]types.AttributeValue{
		":s": str(secret), ":step": num(lastStep), ":at": str(formatAuthTime(ev.At)), ":u": str(user.Username), ":id": num(user.ID),
	}
	set, err := eventUpdate(ev, values)
	if err != nil {
		return err
	}
	update := "SET totp_secret = :s, totp_last_step = :step, totp_enrolled_at = :at, username = :u, user_id = :id, " + set
	if recoveryHashes != nil {
		update += ", recovery_hashes = :r"
		values[":r"] = &types.AttributeValueMemberSS{Value: recoveryHashes}
	}
	_, err = a.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(a.Table), Key: mfaKey(user.Username),
		UpdateExpression: aws.String(update), ConditionExpression: aws.String("attribute_not_exists(totp_secret)"),
		ExpressionAttributeValues: values,
	})
	if conditionFailed(err) {
		return apperr.E(apperr.Op("dynamo.Auth.EnrolTOTP"), apperr.Exists)
	}
	if err != nil {
		return err
	}
	_, err = a.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(a.Table), Key: map[string]types.AttributeValue{"pk": str(storage.MFAPendingPrefix + user.Username)},
	})
	return err
}

// RemoveTOTP implements mfa.Store.
func (a *Auth) RemoveTOTP(ctx context.Context, username string, keepRecovery bool, ev mfa.Event) error {
	values := map[string]types.AttributeValue{}
	set, err := eventUpdate(ev, values)
	if err != nil {
		return err
	}
	remove := " REMOVE totp_secret, totp_last_step, totp_enrolled_at"
	if !keepRecovery {
		remove += ", recovery_hashes"
	}
	_, err = a.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(a.Table), Key: mfaKey(username),
		UpdateExpression:          aws.String("SET " + set + remove),
		ConditionExpression:       aws.String("attribute_exists(totp_secret)"),
		ExpressionAttributeValues: values,
	})
	if conditionFailed(err) {
		return apperr.E(apperr.Op("dynamo.Auth.RemoveTOTP"), apperr.NotFound)
	}
	return err
}

// SetRecoveryCodes implements mfa.Store.
func (a *Auth) SetRecoveryCodes(ctx context.Context, username string, hashes []string, ev mfa.Event) error {
	values := map[string]types.AttributeValue{":r": &types.AttributeValueMemberSS{Value: hashes}}
	set, err := eventUpdate(ev, values)
	if err != nil {
		return err
	}
	_, err = a.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(a.Table), Key: mfaKey(username),
		UpdateExpression:          aws.String("SET recovery_hashes = :r, " + set),
		ConditionExpression:       aws.String("attribute_exists(pk)"), // the service checked for a factor
		ExpressionAttributeValues: values,
	})
	if conditionFailed(err) {
		return apperr.E(apperr.Op("dynamo.Auth.SetRecoveryCodes"), apperr.NotFound)
	}
	return err
}

// AcceptTOTPStep implements mfa.Store: one conditional update, so that of
// two logins with the same code only one succeeds.
func (a *Auth) AcceptTOTPStep(ctx context.Context, username, secret string, step int64) (bool, error) {
	_, err := a.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(a.Table), Key: mfaKey(username),
		UpdateExpression:          aws.String("SET totp_last_step = :step"),
		ConditionExpression:       aws.String("totp_secret = :s AND (attribute_not_exists(totp_last_step) OR totp_last_step < :step)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": str(secret), ":step": num(step)},
	})
	if conditionFailed(err) {
		return false, nil
	}
	return err == nil, err
}

// UseRecoveryCode implements mfa.Store: the code's hash leaves the set in
// one conditional update, so it serves one login only.
func (a *Auth) UseRecoveryCode(ctx context.Context, username, hash string) (bool, error) {
	_, err := a.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(a.Table), Key: mfaKey(username),
		UpdateExpression:          aws.String("DELETE recovery_hashes :set"),
		ConditionExpression:       aws.String("contains(recovery_hashes, :h)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":set": &types.AttributeValueMemberSS{Value: []string{hash}}, ":h": str(hash)},
	})
	if conditionFailed(err) {
		return false, nil
	}
	return err == nil, err
}

// ResetMFA implements mfa.Store: the factors are removed and the item
// kept, with the reset as its last change.
func (a *Auth) ResetMFA(ctx context.Context, username string, ev mfa.Event) (bool, error) {
	r, err := a.get(ctx, storage.MFAPrefix+username)
	if apperr.Is(apperr.NotFound, err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	values := map[string]types.AttributeValue{}
	set, err := eventUpdate(ev, values)
	if err != nil {
		return false, err
	}
	names := map[string]string{}
	remove := []string{"totp_secret", "totp_last_step", "totp_enrolled_at", "recovery_hashes"}
	condition := []string{"attribute_exists(totp_secret)", "attribute_exists(recovery_hashes)"}
	for i, name := range webAuthnAttributes(r.item) {
		alias := fmt.Sprintf("#w%d", i)
		names[alias] = name
		remove = append(remove, alias)
		condition = append(condition, "attribute_exists("+alias+")")
	}
	in := &dynamodb.UpdateItemInput{
		TableName: aws.String(a.Table), Key: mfaKey(username),
		UpdateExpression:          aws.String("SET " + set + " REMOVE " + strings.Join(remove, ", ")),
		ConditionExpression:       aws.String(strings.Join(condition, " OR ")),
		ExpressionAttributeValues: values,
	}
	if len(names) > 0 {
		in.ExpressionAttributeNames = names
	}
	_, err = a.Client.UpdateItem(ctx, in)
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, err = a.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(a.Table), Key: map[string]types.AttributeValue{"pk": str(storage.MFAPendingPrefix + username)},
	})
	return true, err
}

// CreateMFAChallenge implements mfa.Store.
func (a *Auth) CreateMFAChallenge(ctx context.Context, c mfa.Challenge) error {
	w := newItemWriter()
	w.str("pk", storage.MFAChallengePrefix+c.Hash)
	w.str("username", c.Username)
	w.int("user_id", c.UserID)
	w.int("expires_at", c.ExpiresAt.Unix()) // TTL
	return a.putNew(ctx, w.item)
}

// MFAChallenge implements mfa.Store.
func (a *Auth) MFAChallenge(ctx context.Context, hash string, now time.Time) (mfa.Challenge, error) {
	r, err := a.get(ctx, storage.MFAChallengePrefix+hash)
	if err != nil {
		return mfa.Challenge{}, err
	}
	c := challengeOf(hash, r)
	if c.ExpiresAt.Unix() <= now.Unix() { // as the conditions on expires_at
		return mfa.Challenge{}, apperr.E(apperr.Op("dynamo.Auth.MFAChallenge"), apperr.NotFound)
	}
	return c, r.err
}

// SetMFAChallengeWebAuthn implements mfa.Store.
func (a *Auth) SetMFAChallengeWebAuthn(ctx context.Context, hash, session string, now time.Time) error {
	_, err := a.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(a.Table), Key: map[string]types.AttributeValue{"pk": str(storage.MFAChallengePrefix + hash)},
		UpdateExpression:          aws.String("SET webauthn_session = :s"),
		ConditionExpression:       aws.String("attribute_exists(pk) AND expires_at > :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": str(session), ":now": num(now.Unix())},
	})
	if conditionFailed(err) {
		return apperr.E(apperr.Op("dynamo.Auth.SetMFAChallengeWebAuthn"), apperr.NotFound)
	}
	return err
}

// challengeOf reads a challenge item.
func challengeOf(hash string, r *itemReader) mfa.Challenge {
	c := mfa.Challenge{Hash: hash, Username: r.str("username"), UserID: r.int("user_id"), ExpiresAt: time.Unix(r.int("expires_at"), 0)}
	if v := r.optionalStr("webauthn_session"); v != nil {
		c.WebAuthnSession = *v
	}
	return c
}

// TakeMFAChallenge implements mfa.Store: a conditional delete that
// returns the item, so a challenge serves one request only.
func (a *Auth) TakeMFAChallenge(ctx context.Context, hash string, now time.Time) (mfa.Challenge, error) {
	notFound := apperr.E(apperr.Op("dynamo.Auth.TakeMFAChallenge"), apperr.NotFound)
	out, err := a.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(a.Table), Key: map[string]types.AttributeValue{"pk": str(storage.MFAChallengePrefix + hash)},
		ConditionExpression:       aws.String("attribute_exists(pk) AND expires_at > :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.Unix())},
		ReturnValues:              types.ReturnValueAllOld,
	})
	if conditionFailed(err) {
		return mfa.Challenge{}, notFound
	}
	if err != nil {
		return mfa.Challenge{}, err
	}
	r := &itemReader{item: out.Attributes}
	c := challengeOf(hash, r)
	return c, r.err
}

var _ mfa.Store = (*Auth)(nil)
