package localstack_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/localstack"
	"github.com/inmor/inmor-serverless/shared/storage"
)

// ageSession makes a session's login older than the reauthentication
// window, as if it had been opened long ago.
func ageSession(t *testing.T, s *localstack.Stack, sessionID string) {
	t.Helper()
	old := time.Now().Add(-auth.ReauthenticationWindow - time.Minute).UTC().Format(time.RFC3339)
	_, err := s.Client.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.Config.AuthTable),
		Key:                       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: storage.SessionPrefix + auth.HashSessionID(sessionID)}},
		UpdateExpression:          aws.String("SET created_at = :old"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":old": &types.AttributeValueMemberS{Value: old}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestReauthenticationIsRequiredAndAudited: a session whose login is older
// than the window cannot change second factors through the API or the
// admin view until the password is confirmed again; a wrong password is a
// failed login of the user, the right one a login (a new session).
func TestReauthenticationIsRequiredAndAudited(t *testing.T) {
	s := startStack(t)
	addStaff(t, s, "gail")
	b := newBrowser(t, s)
	mustStatus(t, b.do("POST", "/api/v1/auth/login", `{"username":"gail","password":"pw-gail"}`), 200)
	ageSession(t, s, b.cookie(auth.SessionCookie))
	for _, route := range []string{"/api/v1/auth/mfa/totp", "/api/v1/auth/mfa/recovery-codes", "/api/v1/auth/mfa/webauthn"} {
		if r := b.do("POST", route, "", auth.CSRFHeader, b.cookie(auth.CSRFCookie)); r.Status != 401 ||
			compactJSON(t, r.JSON(t)) != `{"message":"`+auth.ReauthenticationRequired+`"}` {
			t.Errorf("POST %s with an old login: %d %s", route, r.Status, r.Body)
		}
	}
	if r := b.do("GET", "/api/v1/auth/mfa", ""); r.Status != 200 {
		t.Errorf("reading the factors with an old login: %d", r.Status)
	}
	if r := b.do("POST", "/api/v1/auth/reauthenticate", `{"password":"pw-gail"}`); r.Status != 403 {
		t.Errorf("reauthenticate without the CSRF header: %d", r.Status)
	}
	if r := b.do("POST", "/api/v1/auth/reauthenticate", `{"password":"wrong"}`, auth.CSRFHeader, b.cookie(auth.CSRFCookie)); r.Status != 401 ||
		compactJSON(t, r.JSON(t)) != `{"message":"Invalid credentials"}` {
		t.Errorf("a wrong password: %d %s", r.Status, r.Body)
	}
	old := b.cookie(auth.SessionCookie)
	mustStatus(t, b.do("POST", "/api/v1/auth/reauthenticate", `{"password":"pw-gail"}`, auth.CSRFHeader, b.cookie(auth.CSRFCookie)), 200)
	if b.cookie(auth.SessionCookie) == old {
		t.Error("the session was not replaced")
	}
	enrolTOTP(t, b)

	// The admin view: the page asks for the password, then serves.
	addStaff(t, s, "hank")
	c := newAdminClient(t, s)
	mustStatus(t, c.login("hank", "pw-hank", "/admin/"), http.StatusFound)
	ageSession(t, s, c.cookie(auth.SessionCookie))
	if page := c.get("/admin/mfa/"); !strings.Contains(string(page.Body), `action="/admin/mfa/reauthenticate/"`) || strings.Contains(string(page.Body), `action="/admin/mfa/totp/"`) {
		t.Errorf("the page of an old login: %d", page.Status)
	}
	form := func(password string) url.Values {
		return url.Values{"csrfmiddlewaretoken": {c.cookie(auth.CSRFCookie)}, "password": {password}}
	}
	mustStatus(t, c.do(http.MethodPost, "/admin/mfa/reauthenticate/", form("wrong")), http.StatusOK)
	if r := c.do(http.MethodPost, "/admin/mfa/reauthenticate/", form("pw-hank")); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/admin/mfa/" {
		t.Errorf("the right password: %d %v", r.Status, r.Header)
	}
	if page := c.get("/admin/mfa/"); !strings.Contains(string(page.Body), `action="/admin/mfa/totp/"`) {
		t.Errorf("the page after the password: %d", page.Status)
	}

	settle(t, s)
	for who, want := range map[string]string{"gail": "login login_failed login", "hank": "login login_failed login"} {
		page := listAudit(t, s, "?resource_type=Session&q="+who+"&limit=20")
		var got []string
		for i := len(page.Items) - 1; i >= 0; i-- {
			got = append(got, page.Items[i]["event_type"].(string))
		}
		if strings.Join(got, " ") != want {
			t.Errorf("%s's session entries, oldest first: %v, want %s", who, got, want)
		}
	}
}
