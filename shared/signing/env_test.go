package signing

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestNewFromEnv(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "ta.jwk")
	local, err := GenerateLocalFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	fake := newFakeKMS(t)
	tests := []struct {
		name       string
		env        map[string]string
		clientErr  error
		wantType   string // "local", "kms" or "" for an error
		want       string // error substring
		wantClient bool   // kmsClient must be called
	}{
		{name: "KMS", env: map[string]string{EnvKMSKeyID: "alias/ta"}, wantType: "kms", wantClient: true},
		{name: "KMS wins over file", env: map[string]string{EnvKMSKeyID: "alias/ta", EnvKeyFile: keyFile}, wantType: "kms", wantClient: true},
		{name: "KMS client fails", env: map[string]string{EnvKMSKeyID: "alias/ta"}, clientErr: errors.New("no region"), want: "no region", wantClient: true},
		{name: "file", env: map[string]string{EnvKeyFile: keyFile}, wantType: "local"},
		{name: "missing file", env: map[string]string{EnvKeyFile: filepath.Join(dir, "nope.jwk")}, want: "nope.jwk"},
		{name: "nothing", env: map[string]string{}, want: "set SIGNING_KMS_KEY_ID (a KMS key id, ARN or alias) or SIGNING_KEY_FILE"},
		{name: "blank values", env: map[string]string{EnvKMSKeyID: " ", EnvKeyFile: ""}, want: "SIGNING_KEY_FILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			kmsClient := func() (KMSAPI, error) {
				called = true
				if tt.clientErr != nil {
					return nil, tt.clientErr
				}
				return fake, nil
			}
			signer, err := NewFromEnv(context.Background(), func(k string) string { return tt.env[k] }, kmsClient)
			if called != tt.wantClient {
				t.Fatalf("kmsClient called = %v, want %v", called, tt.wantClient)
			}
			if tt.wantType == "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			switch s := signer.(type) {
			case *Local:
				if tt.wantType != "local" || s.KeyID() != local.KeyID() {
					t.Fatalf("got a Local signer with kid %s", s.KeyID())
				}
			case *KMS:
				if tt.wantType != "kms" || s.keyID != "alias/ta" {
					t.Fatalf("got a KMS signer for %q", s.keyID)
				}
				if fake.gpk != 0 {
					t.Fatal("NewFromEnv fetched the KMS public key eagerly")
				}
			default:
				t.Fatalf("signer is %T", signer)
			}
		})
	}
}
