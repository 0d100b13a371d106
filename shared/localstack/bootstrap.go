package localstack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"time"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/dynamo"
)

// Names of what Bootstrap creates.
const (
	DevAdminUsername = "admin"
	DevAPIKeyName    = "dev"
)

// Bootstrap makes sure the superuser admin and an API key named dev (tenant
// default, owned by admin) exist. The admin password is
// INMOR_DEV_ADMIN_PASSWORD, else generated and printed; the key is
// INMOR_DEV_API_KEY, else generated and printed once. Running it again
// creates nothing that exists. It returns the key's plaintext when it knows it.
func Bootstrap(ctx context.Context, store *dynamo.Auth, getenv func(string) string, out io.Writer) (string, error) {
	admin, err := store.UserByUsername(ctx, DevAdminUsername)
	if apperr.Is(apperr.NotFound, err) {
		password := getenv("INMOR_DEV_ADMIN_PASSWORD")
		generated := password == ""
		if generated {
			if password, err = randomSecret(18); err != nil {
				return "", err
			}
		}
		hash, err := auth.HashPassword(password)
		if err != nil {
			return "", err
		}
		admin, err = store.CreateUser(ctx, auth.User{
			Username: DevAdminUsername, Email: "admin@localhost", IsStaff: true, IsSuperuser: true,
			IsActive: true, PasswordHash: hash,
		})
		if err != nil {
			return "", fmt.Errorf("create user %s: %w", DevAdminUsername, err)
		}
		if generated {
			fmt.Fprintf(out, "superuser %s created, password: %s\n", DevAdminUsername, password)
		} else {
			fmt.Fprintf(out, "superuser %s created with the password from INMOR_DEV_ADMIN_PASSWORD\n", DevAdminUsername)
		}
	} else if err != nil {
		return "", err
	}

	plaintext := getenv("INMOR_DEV_API_KEY")
	generated := plaintext == ""
	if generated {
		if plaintext, err = randomSecret(32); err != nil {
			return "", err
		}
	}
	hash := auth.HashAPIKey(plaintext)
	if _, err := store.APIKeyByHash(ctx, hash); err == nil {
		return plaintext, nil // exists already
	} else if !apperr.Is(apperr.NotFound, err) {
		return "", err
	}
	prefix := plaintext
	if len(prefix) > auth.KeyPrefixLength {
		prefix = prefix[:auth.KeyPrefixLength]
	}
	err = store.CreateAPIKey(ctx, auth.APIKey{
		Hash: hash, Prefix: prefix, Name: DevAPIKeyName, Username: admin.Username, UserID: admin.ID,
		Tenant: auth.DefaultTenant, Scope: auth.ScopeAdmin, IsActive: true, CreatedAt: time.Now().UTC(),
	})
	if err != nil && !apperr.Is(apperr.Exists, err) {
		return "", fmt.Errorf("create API key %s: %w", DevAPIKeyName, err)
	}
	if generated {
		fmt.Fprintf(out, "API key %s created (shown once): %s\n", DevAPIKeyName, plaintext)
	} else {
		fmt.Fprintf(out, "API key %s created from INMOR_DEV_API_KEY\n", DevAPIKeyName)
	}
	return plaintext, nil
}

func randomSecret(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
