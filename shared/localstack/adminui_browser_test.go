//go:build browser

// The browser test of the admin view, run by `make browser-test` (and so by
// `make test`): it needs Node, Debian's chromium and the npm packages of
// shared/adminui/testdata/browser, which .ci/run installs.

package localstack_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestAdminUIInBrowser: headless chromium, driven by playwright-core, logs in
// on a local stack, filters by event type, searches, opens an entry, follows
// its links, logs out, sets up an authenticator app and logs in with a
// computed code, registers and uses a security key through Chromium's
// virtual authenticator, and saves full-page screenshots under
// build/screenshots/. Nothing is skipped: a missing tool fails the test.
func TestAdminUIInBrowser(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "shared", "adminui", "testdata", "browser")
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not on PATH: the browser test needs Node 20 or newer (.ci/run installs it)")
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("%s is missing: the browser test needs Debian's chromium (apt-get install -y chromium; .ci/run does): %v", chromium, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core", "package.json")); err != nil {
		t.Fatalf("playwright-core is not installed: run `make browser-test`, or `npm ci` in %s", dir)
	}

	s := startStack(t)
	seedAdminUI(t, s)
	screenshots := filepath.Join(root, "build", "screenshots")
	for _, name := range []string{"list.png", "detail.png", "mfa-enrol.png", "mfa-webauthn.png"} {
		_ = os.Remove(filepath.Join(screenshots, name))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "admin.test.mjs"), s.URL, "admin", "test-password")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium, "SCREENSHOT_DIR="+screenshots, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1")
	out, err := cmd.CombinedOutput()
	t.Logf("node admin.test.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("the browser test failed: %v", err)
	}
	for _, name := range []string{"list.png", "detail.png", "mfa-enrol.png", "mfa-webauthn.png"} {
		png, err := os.ReadFile(filepath.Join(screenshots, name))
		if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
			t.Errorf("screenshot %s: not a PNG (%v)", name, err)
		}
	}
}
