package operator

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"net/mail"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/auth"
)

// PasswordVariable holds the password of `user create`.
const PasswordVariable = "INMOR_PASSWORD"

// validUsername is Django's username rule: up to 150 letters, digits and
// @ . + - _. It also keeps '#', the store's key separator, out of usernames.
var validUsername = regexp.MustCompile(`^[\p{L}\p{N}_.@+-]{1,150}$`)

func (c *cli) userCreate(ctx context.Context, args []string) error {
	f := c.flags("user", "create")
	username := f.String("username", "", "username of the new user (required)")
	email := f.String("email", "", "email address")
	superuser := f.Bool("superuser", false, "make the user a superuser (and staff)")
	staff := f.Bool("staff", false, "make the user staff")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.require("username", *username); err != nil {
		return err
	}
	if !validUsername.MatchString(*username) {
		return f.fail("invalid username %q: use up to 150 letters, digits and @ . + - _", *username)
	}
	normalizedEmail, err := normalizeEmail(*email)
	if err != nil {
		return f.fail("%v", err)
	}
	password, err := c.password()
	if err != nil {
		return err
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	store, err := c.store(ctx)
	if err != nil {
		return err
	}
	_, err = store.CreateUser(ctx, auth.User{
		Username: *username, Email: normalizedEmail, PasswordHash: hash, IsActive: true,
		IsStaff: *staff || *superuser, IsSuperuser: *superuser, DateJoined: time.Now().UTC(),
	})
	if apperr.Is(apperr.Exists, err) {
		return failure(fmt.Sprintf("User '%s' already exists", *username))
	}
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	fmt.Fprintf(c.stdout, "User '%s' created.\n", *username)
	return nil
}

func (c *cli) userSetPassword(ctx context.Context, args []string) error {
	f := c.flags("user", "set-password")
	username := f.String("username", "", "the user (required)")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.require("username", *username); err != nil {
		return err
	}
	password, err := c.password()
	if err != nil {
		return err
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	store, err := c.store(ctx)
	if err != nil {
		return err
	}
	err = store.SetPassword(ctx, *username, hash)
	if apperr.Is(apperr.NotFound, err) {
		return failure(fmt.Sprintf("User '%s' does not exist", *username))
	}
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	fmt.Fprintf(c.stdout, "Password of user '%s' changed.\n", *username)
	return nil
}

func (c *cli) userSetFlags(ctx context.Context, args []string) error {
	f := c.flags("user", "set-flags")
	username := f.String("username", "", "the user (required)")
	staffFlag := f.Bool("staff", false, "whether the user is staff")
	superuserFlag := f.Bool("superuser", false, "whether the user is a superuser (and so staff)")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.require("username", *username); err != nil {
		return err
	}
	var staff, superuser *bool
	if f.given("staff") {
		staff = staffFlag
	}
	if f.given("superuser") {
		superuser = superuserFlag
	}
	switch {
	case staff == nil && superuser == nil:
		return f.fail("give --staff or --superuser")
	case superuser != nil && *superuser && staff != nil && !*staff:
		return f.fail("a superuser is staff: --superuser=true needs --staff=true")
	case superuser != nil && *superuser:
		staff = superuserFlag // true
	}
	store, err := c.store(ctx)
	if err != nil {
		return err
	}
	u, err := user(ctx, store, *username)
	if err != nil {
		return err
	}
	if staff != nil && !*staff && u.IsSuperuser && (superuser == nil || *superuser) {
		return failure(fmt.Sprintf("User '%s' is a superuser: give --superuser=false to make them not staff", *username))
	}
	exists, err := store.SetUserFlags(ctx, *username, staff, superuser)
	if err != nil {
		return fmt.Errorf("set user flags: %w", err)
	}
	if !exists {
		return failure(fmt.Sprintf("User '%s' does not exist", *username))
	}
	fmt.Fprintf(c.stdout, "User '%s' updated.\n", *username)
	return nil
}

func (c *cli) userDeactivate(ctx context.Context, args []string) error {
	f := c.flags("user", "deactivate")
	username := f.String("username", "", "the user (required)")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.require("username", *username); err != nil {
		return err
	}
	store, err := c.store(ctx)
	if err != nil {
		return err
	}
	if _, err := user(ctx, store, *username); err != nil {
		return err
	}
	wasActive, err := store.DeactivateUser(ctx, *username)
	if err != nil {
		return fmt.Errorf("deactivate user: %w", err)
	}
	if !wasActive {
		return failure(fmt.Sprintf("User '%s' is not active", *username))
	}
	fmt.Fprintf(c.stdout, "User '%s' deactivated.\n", *username)
	return nil
}

// normalizeEmail checks an optional bare address and lowercases its domain,
// as Django does.
func normalizeEmail(email string) (string, error) {
	if email == "" {
		return "", nil
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Name != "" || addr.Address != email {
		return "", fmt.Errorf("invalid email address %q", email)
	}
	at := strings.LastIndex(email, "@")
	return email[:at] + strings.ToLower(email[at:]), nil
}

// password returns $INMOR_PASSWORD or else the first line of stdin. It
// refuses to read a terminal (or /dev/null): the password would echo.
func (c *cli) password() (string, error) {
	if p := c.getenv(PasswordVariable); p != "" {
		return p, nil
	}
	noPassword := usageError{msg: "no password: set " + PasswordVariable + " or pipe the password on standard input"}
	if f, ok := c.stdin.(interface{ Stat() (fs.FileInfo, error) }); ok {
		if info, err := f.Stat(); err == nil && info.Mode()&os.ModeCharDevice != 0 {
			return "", noPassword
		}
	}
	lines := bufio.NewScanner(c.stdin)
	if !lines.Scan() {
		if err := lines.Err(); err != nil {
			return "", fmt.Errorf("read password from standard input: %w", err)
		}
		return "", noPassword
	}
	if lines.Text() == "" {
		return "", noPassword
	}
	return lines.Text(), nil
}

func (c *cli) userList(ctx context.Context, args []string) error {
	f := c.flags("user", "list")
	if err := f.parse(args); err != nil {
		return err
	}
	store, err := c.store(ctx)
	if err != nil {
		return err
	}
	users, err := store.Users(ctx)
	if err != nil {
		return fmt.Errorf("list users: %w", err)
	}
	if len(users) == 0 {
		fmt.Fprintln(c.stdout, "No users found.")
		return nil
	}
	slices.SortStableFunc(users, func(a, b auth.User) int { return cmp.Compare(a.ID, b.ID) })
	w := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tUsername\tEmail\tStaff\tSuperuser\tActive")
	for _, u := range users {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", strconv.FormatInt(u.ID, 10), cell(u.Username), cell(u.Email),
			yesNo(u.IsStaff), yesNo(u.IsSuperuser), yesNo(u.IsActive))
	}
	return w.Flush()
}

// cell is a table cell: "-" when empty, control characters (tabs, escape
// sequences) replaced so stored text cannot break the table or the terminal.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '\uFFFD'
		}
		return r
	}, s)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
