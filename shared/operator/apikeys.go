package operator

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/auth"
)

// DefaultKeyName names keys created without --name.
const DefaultKeyName = "default"

// maxTextLength bounds key names and tenants (Inmor's column width).
const maxTextLength = 255

func (c *cli) apikeyCreate(ctx context.Context, args []string) error {
	f := c.flags("apikey", "create")
	username := f.String("username", "", "owner of the key (required)")
	var name string
	f.StringVar(&name, "name", DefaultKeyName, "name of the key, to tell keys apart and to revoke them")
	f.StringVar(&name, "key-name", DefaultKeyName, "same as --name (Inmor's spelling)")
	tenant := f.String("tenant", auth.DefaultTenant, "tenant the key acts for")
	expires := f.String("expires", "", "when the key stops working, RFC 3339 (2030-01-31T12:00:00Z); default never")
	scope := f.String("scope", auth.ScopeAdmin, auth.ScopeAdmin+" (full access) or "+auth.ScopeAuditRead+" (read the audit log only)")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.require("username", *username); err != nil {
		return err
	}
	if err := f.text("name", name); err != nil {
		return err
	}
	if err := f.text("tenant", *tenant); err != nil {
		return err
	}
	if *scope != auth.ScopeAdmin && *scope != auth.ScopeAuditRead {
		return f.fail("invalid --scope %q: want %s or %s", *scope, auth.ScopeAdmin, auth.ScopeAuditRead)
	}
	now := time.Now().UTC()
	var expiresAt *time.Time
	if *expires != "" {
		t, err := time.Parse(time.RFC3339, *expires)
		if err != nil {
			return f.fail("invalid --expires %q: want an RFC 3339 time such as 2030-01-31T12:00:00Z", *expires)
		}
		if !t.After(now) {
			return f.fail("invalid --expires %q: it is in the past", *expires)
		}
		t = t.UTC()
		expiresAt = &t
	}

	store, err := c.store(ctx)
	if err != nil {
		return err
	}
	owner, err := user(ctx, store, *username)
	if err != nil {
		return err
	}
	// As Inmor: a key of an inactive user could never authenticate.
	if !owner.IsActive {
		return failure(fmt.Sprintf("Cannot create an API key for inactive user '%s'", *username))
	}
	// Only staff may write: an admin key of anyone else could do nothing
	// but read the audit log, which is what audit:read says. Asked for, it
	// is refused; by default such a user's key is audit:read.
	if *scope == auth.ScopeAdmin && !owner.IsStaff && !owner.IsSuperuser {
		if f.given("scope") {
			return failure(fmt.Sprintf("User '%s' is not staff: an %s key needs a staff user; create an %s key, or make the user staff", *username, auth.ScopeAdmin, auth.ScopeAuditRead))
		}
		*scope = auth.ScopeAuditRead
	}
	plaintext, prefix, hash, err := auth.GenerateAPIKey()
	if err != nil {
		return fmt.Errorf("generate API key: %w", err)
	}
	err = store.CreateAPIKey(ctx, auth.APIKey{
		Hash: hash, Prefix: prefix, Name: name, Username: owner.Username, UserID: owner.ID,
		Tenant: *tenant, Scope: *scope, IsActive: true, CreatedAt: now, ExpiresAt: expiresAt,
	})
	if err != nil {
		return fmt.Errorf("create API key: %w", err)
	}
	// Only the key, so that scripts can capture it.
	fmt.Fprintln(c.stdout, plaintext)
	return nil
}

// text checks a free-text flag: present, not too long, printable.
func (f *flags) text(name, value string) error {
	if value == "" {
		return f.fail("--%s must not be empty", name)
	}
	if utf8.RuneCountInString(value) > maxTextLength {
		return f.fail("--%s is longer than %d characters", name, maxTextLength)
	}
	for _, r := range value {
		if !unicode.IsPrint(r) {
			return f.fail("--%s contains a control character", name)
		}
	}
	return nil
}

// user returns the user, or the error Inmor's commands give for a stranger.
func user(ctx context.Context, store Store, username string) (auth.User, error) {
	u, err := store.UserByUsername(ctx, username)
	if apperr.Is(apperr.NotFound, err) {
		return u, failure(fmt.Sprintf("User '%s' does not exist", username))
	}
	if err != nil {
		return u, fmt.Errorf("look up user '%s': %w", username, err)
	}
	return u, nil
}

// keysOf returns the keys of username. It checks the owner of each key too:
// the store selects them by a key prefix, which must not decide ownership.
func keysOf(ctx context.Context, store Store, username string) ([]auth.APIKey, error) {
	keys, err := store.APIKeys(ctx, username)
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	owned := keys[:0]
	for _, k := range keys {
		if username == "" || k.Username == username {
			owned = append(owned, k)
		}
	}
	return owned, nil
}

func (c *cli) apikeyList(ctx context.Context, args []string) error {
	f := c.flags("apikey", "list")
	username := f.String("username", "", "list the keys of this user")
	all := f.Bool("all", false, "list the keys of every user")
	if err := f.parse(args); err != nil {
		return err
	}
	if (*username != "") == *all {
		return f.fail("give either --username or --all")
	}
	store, err := c.store(ctx)
	if err != nil {
		return err
	}
	if !*all {
		if _, err := user(ctx, store, *username); err != nil {
			return err
		}
	}
	keys, err := keysOf(ctx, store, *username)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		fmt.Fprintln(c.stdout, "No API keys found.")
		return nil
	}
	w := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "Name\tPrefix\tUser\tTenant\tScope\tActive\tCreated\tExpires\tLast Used")
	for _, k := range keys {
		// Keys stored without tenant or scope act as default/admin (see auth).
		tenant, scope := k.Tenant, k.Scope
		if tenant == "" {
			tenant = auth.DefaultTenant
		}
		if scope == "" {
			scope = auth.ScopeAdmin
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cell(k.Name), cell(k.Prefix), cell(k.Username),
			cell(tenant), cell(scope), yesNo(k.IsActive), when(&k.CreatedAt), when(k.ExpiresAt), when(k.LastUsedAt))
	}
	return w.Flush()
}

// when is a time cell: RFC 3339 in UTC, "-" when none.
func when(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func (c *cli) apikeyRevoke(ctx context.Context, args []string) error {
	f := c.flags("apikey", "revoke")
	username := f.String("username", "", "owner of the keys (required)")
	var name string
	f.StringVar(&name, "name", "", "name of the keys to revoke (required)")
	f.StringVar(&name, "key-name", "", "same as --name (Inmor's spelling)")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.require("username", *username); err != nil {
		return err
	}
	if err := f.require("name", name); err != nil {
		return err
	}
	store, err := c.store(ctx)
	if err != nil {
		return err
	}
	if _, err := user(ctx, store, *username); err != nil {
		return err
	}
	keys, err := keysOf(ctx, store, *username)
	if err != nil {
		return err
	}
	revoked := 0
	for _, k := range keys {
		if k.Name != name || !k.IsActive {
			continue
		}
		// The store deactivates conditionally: a key revoked meanwhile by
		// someone else is not counted twice.
		wasActive, err := store.DeactivateAPIKey(ctx, k.Hash)
		if err != nil {
			return fmt.Errorf("revoke API key %s… (after revoking %d): %w", k.Prefix, revoked, err)
		}
		if wasActive {
			revoked++
		}
	}
	if revoked == 0 {
		return failure(fmt.Sprintf("No active API key named '%s' found for user '%s'", name, *username))
	}
	fmt.Fprintf(c.stdout, "Revoked %d key(s) named '%s' for user '%s'.\n", revoked, name, *username)
	return nil
}
