package resource_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/memstore"
	"github.com/inmor/inmor-serverless/shared/resource"
	"github.com/inmor/inmor-serverless/shared/signing"
)

// TestSuspension: a subordinate deactivated with suspended=true is
// suspended (no statement); suspended on an active subordinate is a 422
// on the field; re-activation clears it.
func TestSuspension(t *testing.T) {
	ctx := context.Background()
	signer, err := signing.GenerateLocalFile(filepath.Join(t.TempDir(), "key.json"))
	if err != nil {
		t.Fatal(err)
	}
	svc := resource.Subordinates{Store: &memstore.Store{}, Signer: signer, EntityID: taID}
	jwks := map[string]any{"keys": []any{ed25519Key}}
	sub, err := svc.Create(ctx, resource.NewSubordinate{EntityID: "https://rp.example", SubordinateChanges: resource.SubordinateChanges{
		Metadata: map[string]any{}, ForcedMetadata: map[string]any{}, JWKS: jwks,
	}}, resource.Attribution{})
	if err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	change := func(active, suspended *bool) resource.SubordinateChanges {
		return resource.SubordinateChanges{Metadata: map[string]any{}, ForcedMetadata: map[string]any{}, JWKS: jwks, Active: active, Suspended: suspended}
	}

	_, err = svc.Update(ctx, sub.ID, change(nil, &yes), resource.Attribution{})
	var invalid *apperr.Error
	if !errors.As(err, &invalid) || invalid.Kind != apperr.Unprocessable || invalid.Field != "suspended" {
		t.Errorf("suspended on an active subordinate: %v, want a 422 on suspended", err)
	}
	suspended, err := svc.Update(ctx, sub.ID, change(&no, &yes), resource.Attribution{})
	if err != nil || !suspended.Suspended || suspended.Active || suspended.Statement != nil {
		t.Fatalf("suspend: %+v %v", suspended, err)
	}
	again, err := svc.Update(ctx, sub.ID, change(nil, nil), resource.Attribution{})
	if err != nil || !again.Suspended {
		t.Errorf("an update that does not mention suspended keeps it: %+v %v", again, err)
	}
	active, err := svc.Update(ctx, sub.ID, change(&yes, nil), resource.Attribution{})
	if err != nil || active.Suspended || !active.Active || active.Statement == nil {
		t.Errorf("re-activated: %+v %v, want active, signed and no longer suspended", active, err)
	}
}
