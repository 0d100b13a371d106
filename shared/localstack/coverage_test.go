package localstack_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inmor/inmor-serverless/shared/adminapi"
	"github.com/inmor/inmor-serverless/shared/operator"
)

// auditTests names, for every state-changing operation of the system (each
// route but GET, by operation id, and each inmorctl command that writes),
// the test that checks the audit entry it produces. docs/architecture.md
// ("Every change and its entry") lists the same operations.
var auditTests = map[string]string{
	"createTrustMarkType":  "TestCreateIsAuditedWithAttribution",
	"updateTrustMarkType":  "TestDeactivationIsAuditedWithDiffAndSnapshots",
	"createTrustMark":      "TestTrustMarkAuditEvents",
	"renewTrustMark":       "TestTrustMarkAuditEvents",
	"updateTrustMark":      "TestTrustMarkAuditEvents",
	"createSubordinate":    "TestSubordinateAuditEvents",
	"updateSubordinate":    "TestSubordinateAuditEvents",
	"renewSubordinate":     "TestSubordinateAuditEvents",
	"createServerEntity":   "TestServerStatementsAreSignedAndAudited",
	"createHistoricalKeys": "TestServerStatementsAreSignedAndAudited",
	"login":                "TestLoginsAndLogoutsAreAudited",
	"logout":               "TestLoginsAndLogoutsAreAudited",
	"adminLoginSubmit":     "TestAdminFormLoginsAreAudited",
	"adminLogout":          "TestAdminUI",

	"loginMFA":                "TestMFAChangesAreAudited",
	"confirmTOTP":             "TestMFAChangesAreAudited",
	"removeTOTP":              "TestMFAChangesAreAudited",
	"regenerateRecoveryCodes": "TestMFAChangesAreAudited",
	"adminLoginMFA":           "TestMFAChangesAreAudited",
	"adminMFAConfirmTOTP":     "TestMFAChangesAreAudited",
	"adminMFARemoveTOTP":      "TestMFAChangesAreAudited",
	"adminMFARecoveryCodes":   "TestMFAChangesAreAudited",
	"reauthenticate":          "TestReauthenticationIsRequiredAndAudited",
	"adminMFAReauthenticate":  "TestReauthenticationIsRequiredAndAudited",
	"finishWebAuthn":          "TestWebAuthnThroughTheAPI",
	"removeWebAuthn":          "TestWebAuthnThroughTheAPI",
	"adminMFARemoveWebAuthn":  "TestWebAuthnThroughTheAPI",

	"user create":       "TestInmorctlChangesAreAudited",
	"user set-password": "TestInmorctlChangesAreAudited",
	"user set-flags":    "TestInmorctlChangesAreAudited",
	"user deactivate":   "TestInmorctlChangesAreAudited",
	"apikey create":     "TestInmorctlChangesAreAudited",
	"apikey revoke":     "TestInmorctlChangesAreAudited",
	"signing retire":    "TestServerStatementsAreSignedAndAudited",
	"audit dlq":         "TestPoisonRecordIsSetAsideAndReplayed", // replay appends the entries of the records set aside
	"user mfa":          "TestMFAChangesAreAudited",
}

// changesNothing lists the operations that are not GET routes yet change
// no state, or the commands that only read, with why.
var changesNothing = map[string]string{
	"listTrustMarksByDomain": "a search: POST only because Inmor's clients send the domain in a body",
	"fetchSubordinateConfig": "fetches and verifies an entity configuration, stores nothing",
	"postSubordinateEvents":  "the Subordinate Events endpoint by POST: a read",
	"beginTOTP":              "a pending enrolment that expires in 10 minutes; only its confirmation enrols (mfa_enrolled)",
	"adminMFABeginTOTP":      "a pending enrolment that expires in 10 minutes; only its confirmation enrols (mfa_enrolled)",
	"beginWebAuthn":          "a pending registration that expires in 10 minutes; only its finish enrols (mfa_enrolled)",
	"loginWebAuthn":          "keeps the security key's ceremony with the login's challenge (5 minutes); the second step it serves is recorded (loginMFA)",
	"user list":              "reads",
	"apikey list":            "reads",
	"signing list":           "reads",
	"audit verify":           "reads the tables and the log",
	"audit log-key":          "prints the verifier key",
	"audit prove":            "reads through the API",
}

// testBodies returns the source of every Test function of the module's
// test files, by name.
func testBodies(t *testing.T) map[string]string {
	t.Helper()
	bodies := map[string]string{}
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, src, 0)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok && strings.HasPrefix(fn.Name.Name, "Test") {
				bodies[fn.Name.Name] = string(src[fn.Pos()-1 : fn.End()-1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return bodies
}

// TestEveryChangeIsAudited walks the route table and inmorctl's commands:
// every operation that may change state names a test of its audit entry
// (which exists and exercises it: its path, or its command's words) and
// is listed in docs/architecture.md; every other non-GET route or command
// says why it changes nothing.
func TestEveryChangeIsAudited(t *testing.T) {
	bodies := testBodies(t)
	docs, err := os.ReadFile(filepath.Join("..", "..", "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	section := string(docs)
	if i := strings.Index(section, "## Every change and its entry"); i >= 0 {
		section = section[i:]
		if j := strings.Index(section[3:], "\n## "); j >= 0 {
			section = section[:j+3]
		}
	} else {
		t.Fatal(`docs/architecture.md has no "Every change and its entry" section`)
	}
	check := func(operation string, mentions []string) {
		t.Helper()
		test, audited := auditTests[operation]
		_, reads := changesNothing[operation]
		switch {
		case audited && reads:
			t.Errorf("%s is both audited and said to change nothing", operation)
		case reads:
			return
		case !audited:
			t.Errorf("%s may change state but names no test of its audit entry (auditTests) nor why it changes nothing (changesNothing)", operation)
			return
		}
		body, ok := bodies[test]
		if !ok {
			t.Errorf("%s: no test %s", operation, test)
			return
		}
		for _, m := range mentions {
			if !strings.Contains(body, m) {
				t.Errorf("%s: %s does not exercise it (no %q in its body)", operation, test, m)
			}
		}
		if !strings.Contains(section, "`"+operation+"`") {
			t.Errorf("%s: not listed in docs/architecture.md, \"Every change and its entry\"", operation)
		}
	}
	seen := map[string]bool{}
	for _, r := range adminapi.Routes {
		if r.Method == "GET" {
			continue
		}
		seen[r.OperationID] = true
		// The path up to its first parameter, and what follows the last.
		mentions := []string{r.Path}
		if i := strings.Index(r.Path, "{"); i >= 0 {
			mentions = []string{r.Path[:i]}
			if j := strings.LastIndex(r.Path, "}"); j+1 < len(r.Path) {
				mentions = append(mentions, r.Path[j+1:])
			}
		}
		check(r.OperationID, mentions)
	}
	for _, name := range operator.CommandNames() {
		seen[name] = true
		words := strings.Fields(name)
		check(name, []string{`"` + words[0] + `", "` + words[1] + `"`})
	}
	for _, m := range []map[string]string{auditTests, changesNothing} {
		for operation := range m {
			if !seen[operation] {
				t.Errorf("%s is listed but is no route or command", operation)
			}
		}
	}
}
