package operator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/inmor/inmor-serverless/shared/integrity"
)

// proveCommands are the auditor's commands: they use the API only.
func proveCommands() []command {
	return []command{
		{"audit", "prove", "audit prove --id N --log-key KEY [--size S]",
			"Check one audit entry through the API alone ($INMOR_API_URL, default\n" +
				"http://127.0.0.1:8000, with the key $INMOR_API_KEY; the audit:read scope\n" +
				"is enough): read the entry, hash it, read its inclusion proof in the tree\n" +
				"of the latest checkpoint (or of size S), check the checkpoint's signature\n" +
				"with --log-key and the proof with tlog. Prints `entry N is leaf N-1 of the\n" +
				"tree of S entries signed by <origin>` and exits 0, or says what failed\n" +
				"and exits 1. No table access is needed.",
			(*cli).auditProve},
	}
}

// maxAPIAnswer bounds what prove reads of one answer.
const maxAPIAnswer = 8 << 20

func (c *cli) auditProve(ctx context.Context, args []string) error {
	f := c.flags("audit", "prove")
	id := f.Int64("id", 0, "the entry to prove")
	size := f.Int64("size", 0, "the tree size of the checkpoint (default: the latest)")
	logKey := f.String("log-key", "", "the log's verifier key, or a file holding it (or an Ed25519 public key in PEM)")
	if err := f.parse(args); err != nil {
		return err
	}
	if *id < 1 {
		return f.fail("--id must be a positive entry id")
	}
	if *size < 0 {
		return f.fail("--size must be positive")
	}
	if err := f.require("log-key", *logKey); err != nil {
		return err
	}
	verifier, err := readLogKey(*logKey)
	if err != nil {
		return f.fail("--log-key: %v", err)
	}
	base := strings.TrimSuffix(c.getenv("INMOR_API_URL"), "/")
	if base == "" {
		base = "http://127.0.0.1:8000"
	}
	get := func(path string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1"+path, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("X-API-Key", c.getenv("INMOR_API_KEY"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIAnswer))
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s: %s", path, resp.Status, strings.TrimSpace(string(body)))
		}
		return body, nil
	}

	detail, err := get(fmt.Sprintf("/auditlog/%d", *id))
	if err != nil {
		return fmt.Errorf("audit prove: %w", err)
	}
	leaf, err := integrity.LeafHash(detail)
	if err != nil {
		return fmt.Errorf("audit prove: entry %d: %w", *id, err)
	}
	path := fmt.Sprintf("/auditlog/%d/proof", *id)
	if *size > 0 {
		path += fmt.Sprintf("?size=%d", *size)
	}
	body, err := get(path)
	if err != nil {
		return fmt.Errorf("audit prove: %w", err)
	}
	var answer struct {
		LeafHash   string   `json:"leaf_hash"`
		Proof      []string `json:"proof"`
		Checkpoint string   `json:"checkpoint"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return fmt.Errorf("audit prove: the proof is not JSON: %w", err)
	}
	checkpoint, err := integrity.Open([]byte(answer.Checkpoint), verifier)
	if err != nil {
		return failure(fmt.Sprintf("entry %d: the checkpoint is not the log's: %v", *id, err))
	}
	if *size > 0 && checkpoint.Size != *size {
		return failure(fmt.Sprintf("entry %d: asked for the tree of %d entries, got a checkpoint of %d", *id, *size, checkpoint.Size))
	}
	if stated, err := tlog.ParseHash(answer.LeafHash); err != nil || stated != leaf {
		return failure(fmt.Sprintf("entry %d: the entry as the API shows it does not hash to the leaf the proof is for", *id))
	}
	proof := make(tlog.RecordProof, len(answer.Proof))
	for i, s := range answer.Proof {
		if proof[i], err = tlog.ParseHash(s); err != nil {
			return failure(fmt.Sprintf("entry %d: proof hash %d is not a hash", *id, i))
		}
	}
	if err := tlog.CheckRecord(proof, checkpoint.Size, checkpoint.Root, integrity.LeafIndex(*id), leaf); err != nil {
		return failure(fmt.Sprintf("entry %d: the inclusion proof does not check: %v", *id, err))
	}
	fmt.Fprintf(c.stdout, "entry %d is leaf %d of the tree of %d entries signed by %s\n", *id, integrity.LeafIndex(*id), checkpoint.Size, checkpoint.Origin)
	return nil
}
