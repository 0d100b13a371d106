package localstack_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// curlWrapper runs every curl of the README through the real curl and
// checks its status: 2xx, or the EXPECT status its comment announces.
const curlWrapper = `set -euo pipefail
curl() {
	local out code want
	out=$(command curl -sS -w '\n%{http_code}' "$@")
	code=${out##*$'\n'}
	out=${out%$'\n'*}
	printf '%s\n' "$out"
	want=${EXPECT:-2xx}
	if [[ $want == 2xx && $code == 2?? ]] || [[ $code == "$want" ]]; then
		printf 'STATUS %s curl %s\n' "$code" "$*" >&2
	else
		printf 'FAILED: curl %s answered %s, want %s: %s\n' "$*" "$code" "$want" "$out" >&2
		return 1
	fi
}
`

var (
	shellBlock = regexp.MustCompile("(?s)```sh\n(.*?)```")
	answers    = regexp.MustCompile(`#\s*answers (\d{3})\b`)
)

// readmeExamples returns the shell examples of the README's "Using the
// API" section as one script, each command whose comment says it
// "answers NNN" run with EXPECT=NNN, and the number of curl commands.
func readmeExamples(t *testing.T) (string, int) {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	start, end := strings.Index(readme, "## Using the API"), strings.Index(readme, "## The admin view")
	if start < 0 || end < start {
		t.Fatal("the README has no Using the API section")
	}
	var lines []string
	for _, block := range shellBlock.FindAllStringSubmatch(readme[start:end], -1) {
		lines = append(lines, strings.Split(block[1], "\n")...)
	}
	curls := 0
	for i, line := range lines {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "KEY=") || strings.HasPrefix(trimmed, "PASSWORD=") {
			lines[i] = "" // the test's own
			continue
		}
		if strings.HasPrefix(trimmed, "curl ") {
			curls++
		}
		if m := answers.FindStringSubmatch(line); m != nil {
			first := i // the command's first line, before any continuation
			for first > 0 && strings.HasSuffix(strings.TrimSpace(lines[first-1]), "\\") {
				first--
			}
			lines[first] = "EXPECT=" + m[1] + " " + lines[first]
		}
	}
	return strings.Join(lines, "\n"), curls
}

// TestREADMEExamples runs the README's API examples in order against a
// fresh local stack, as a newcomer would paste them: each answers what it
// says.
func TestREADMEExamples(t *testing.T) {
	script, curls := readmeExamples(t)
	if curls < 30 {
		t.Fatalf("found only %d curl examples in the README", curls)
	}
	s := startStack(t)
	script = strings.ReplaceAll(script, "http://127.0.0.1:8000", s.URL)
	cmd := exec.Command("bash", "-c", curlWrapper+script)
	cmd.Dir = t.TempDir() // the session examples keep a cookie jar
	cmd.Env = append(os.Environ(), "KEY="+testKey, "PASSWORD=test-password")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("the README's examples failed (%v):\n%s", err, stderr.String())
	}
	if ran := strings.Count(stderr.String(), "STATUS "); ran < curls {
		t.Errorf("%d of the %d curl examples ran:\n%s", ran, curls, stderr.String())
	}
}
