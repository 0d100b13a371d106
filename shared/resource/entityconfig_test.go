package resource_test

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/memstore"
	"github.com/inmor/inmor-serverless/shared/resource"
	"github.com/inmor/inmor-serverless/shared/signing"
)

// fakeConfigurations answers Fetch with claims or err, recording the keys
// each call verified with.
type fakeConfigurations struct {
	claims map[string]any
	err    error
	calls  []map[string]any
}

func (f *fakeConfigurations) Fetch(_ context.Context, _ string, keys map[string]any) (map[string]any, error) {
	f.calls = append(f.calls, keys)
	return f.claims, f.err
}

var rotatedKey = map[string]any{"kty": "OKP", "crv": "Ed25519", "x": "Nt8VbxMqAvt_y4SgWZ1GkThhcIa5GYlvO0wjK5I7mbw"}

// TestEntityConfigurationIsChecked: create, update and renew check the
// configuration with the submitted (on renew the stored) keys and require
// the trust anchor in its authority_hints; a failure is 400 with its
// message and the id; revoking waits on no entity; renew stores the
// configuration's jwks and metadata and signs with them.
func TestEntityConfigurationIsChecked(t *testing.T) {
	ctx := context.Background()
	signer, err := signing.GenerateLocalFile(filepath.Join(t.TempDir(), "key.json"))
	if err != nil {
		t.Fatal(err)
	}
	configs := &fakeConfigurations{}
	svc := resource.Subordinates{Store: &memstore.Store{}, Signer: signer, EntityID: taID, Configurations: configs}
	jwks := map[string]any{"keys": []any{ed25519Key}}
	rotated := map[string]any{"keys": []any{rotatedKey}}
	good := map[string]any{"authority_hints": []any{"https://other.example", taID}, "jwks": rotated, "metadata": map[string]any{"openid_relying_party": map[string]any{"client_name": "new"}}}
	changes := resource.SubordinateChanges{Metadata: map[string]any{"m": "old"}, ForcedMetadata: map[string]any{}, JWKS: jwks}
	in := resource.NewSubordinate{EntityID: "https://rp.example", SubordinateChanges: changes}

	wantInvalid := func(err error, id int64, message string) {
		t.Helper()
		e, ok := err.(*apperr.Error)
		if !apperr.Is(apperr.Invalid, err) || !ok || e.ID != id || apperr.MessageOf(err) != message {
			t.Errorf("error %#v, want Invalid %q with id %d", err, message, id)
		}
	}
	configs.err = apperr.E(apperr.Invalid, "Entity configuration signature validation failed.")
	_, err = svc.Create(ctx, in, resource.Attribution{})
	wantInvalid(err, 0, "Entity configuration signature validation failed.")
	configs.err, configs.claims = nil, map[string]any{"authority_hints": []any{"https://other.example"}}
	_, err = svc.Create(ctx, in, resource.Attribution{})
	wantInvalid(err, 0, "TA domain https://ta.example is not in the authority_hints of the entity configuration.")
	configs.claims = map[string]any{}
	_, err = svc.Create(ctx, in, resource.Attribution{})
	wantInvalid(err, 0, "TA domain https://ta.example is not in the authority_hints of the entity configuration.")

	configs.claims, configs.calls = good, nil
	sub, err := svc.Create(ctx, in, resource.Attribution{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if len(configs.calls) != 1 || !reflect.DeepEqual(configs.calls[0], jwks) {
		t.Errorf("create verified with %v, want the submitted keys", configs.calls)
	}

	configs.err = apperr.E(apperr.Invalid, "Connection to https://rp.example timed out. Please try again.")
	_, err = svc.Update(ctx, sub.ID, changes, resource.Attribution{})
	wantInvalid(err, sub.ID, "Connection to https://rp.example timed out. Please try again.")
	_, err = svc.Renew(ctx, sub.ID, resource.Attribution{})
	wantInvalid(err, sub.ID, "Connection to https://rp.example timed out. Please try again.")

	// Revoked while the entity is unreachable; re-activating checks again.
	no, yes := false, true
	revoke := changes
	revoke.Active = &no
	configs.calls = nil
	if revoked, err := svc.Update(ctx, sub.ID, revoke, resource.Attribution{}); err != nil || revoked.Active || len(configs.calls) != 0 {
		t.Fatalf("revoke: %+v %v, %d fetches", revoked, err, len(configs.calls))
	}
	reactivate := changes
	reactivate.Active = &yes
	_, err = svc.Update(ctx, sub.ID, reactivate, resource.Attribution{})
	wantInvalid(err, sub.ID, "Connection to https://rp.example timed out. Please try again.")
	configs.err = nil
	if _, err := svc.Update(ctx, sub.ID, reactivate, resource.Attribution{}); err != nil {
		t.Fatalf("re-activate: %v", err)
	}

	// Renew: verified with the stored keys, then the configuration's jwks
	// and metadata are stored and signed.
	configs.calls = nil
	renewed, err := svc.Renew(ctx, sub.ID, resource.Attribution{})
	if err != nil {
		t.Fatalf("renew: %v", err)
	}
	if len(configs.calls) != 1 || !reflect.DeepEqual(configs.calls[0], jwks) {
		t.Errorf("renew verified with %v, want the stored keys", configs.calls)
	}
	if !reflect.DeepEqual(renewed.JWKS, rotated) || !reflect.DeepEqual(renewed.Metadata, good["metadata"]) {
		t.Errorf("renewed jwks %v metadata %v, want the configuration's", renewed.JWKS, renewed.Metadata)
	}
	_, claims, err := signing.Verify(*renewed.Statement, signer.PublicKey())
	if err != nil || !reflect.DeepEqual(claims["jwks"], rotated) {
		t.Errorf("renewed statement's jwks %v (%v), want the configuration's", claims["jwks"], err)
	}
	// A configuration whose keys the project refuses is not stored.
	configs.claims = map[string]any{"authority_hints": []any{taID}, "jwks": map[string]any{"keys": []any{}}}
	if _, err := svc.Renew(ctx, sub.ID, resource.Attribution{}); !apperr.Is(apperr.Unprocessable, err) {
		t.Errorf("renew with an empty key set: %v, want 422", err)
	}
}

// TestFetchConfiguration: the url is an entity id, the configuration is
// verified with its own keys, the answer has Inmor's fields; with the check
// off the route refuses.
func TestFetchConfiguration(t *testing.T) {
	ctx := context.Background()
	off := resource.Subordinates{}
	if _, err := off.FetchConfiguration(ctx, "https://rp.example"); !apperr.Is(apperr.Invalid, err) {
		t.Errorf("with the check off: %v, want 400", err)
	}
	configs := &fakeConfigurations{claims: map[string]any{"jwks": map[string]any{"keys": []any{ed25519Key}}, "jwks_uri": "https://rp.example/jwks", "trust_marks": []any{}}}
	svc := resource.Subordinates{Configurations: configs}
	if _, err := svc.FetchConfiguration(ctx, "http://rp.example"); !apperr.Is(apperr.Unprocessable, err) {
		t.Errorf("an http url: %v, want 422", err)
	}
	got, err := svc.FetchConfiguration(ctx, "https://rp.example")
	if err != nil {
		t.Fatal(err)
	}
	if len(configs.calls) != 1 || configs.calls[0] != nil {
		t.Errorf("verified with %v, want its own keys (nil)", configs.calls)
	}
	if got.Metadata == nil || len(got.Metadata) != 0 || got.JWKS == nil || *got.JWKSURI != "https://rp.example/jwks" || got.AuthorityHints != nil || got.TrustMarks == nil {
		t.Errorf("answer %+v", got)
	}
}
