package operator

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/inmor/inmor-serverless/shared/signing"

	"golang.org/x/mod/sumdb/note"

	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/integrity"
	"github.com/inmor/inmor-serverless/shared/reconcile"
	"github.com/inmor/inmor-serverless/shared/tables"
)

// verifyCommands are the commands that check the audit log.
func verifyCommands() []command {
	return []command{
		{"audit", "verify", "audit verify [--log-key KEY]",
			"Check the audit log ($AUDIT_TABLE, default inmor-audit) against the\n" +
				"resources ($RESOURCES_TABLE, default inmor-resources): each resource has\n" +
				"exactly one successful API entry per version; each entry's snapshot_before\n" +
				"is the previous one's snapshot_after (null for the CREATE); the last shows\n" +
				"the item as it is; a resource that is gone was deleted by its last entry.\n" +
				"Out-of-band entries are part of the chain; failed ones are ignored.\n" +
				"Then check the log's integrity: recompute every leaf of its Merkle tree\n" +
				"from the entries and the root of every checkpoint; name each entry that\n" +
				"was altered, removed, inserted or moved, and each checkpoint that is not\n" +
				"signed by the log key (--log-key: the verifier key `inmorctl audit log-key`\n" +
				"prints, or a file holding it or an Ed25519 public key in PEM) or whose\n" +
				"root the entries do not give. Prints a line per problem, then both\n" +
				"summaries; exits 1 when there is any problem. Changes are recorded a\n" +
				"moment after they are made: run it on a quiet log (no writes in flight,\n" +
				"the stream drained), or the newest changes show up as missing or stale.",
			(*cli).auditVerify},
		{"audit", "log-key", "audit log-key",
			"Print the audit log's verifier key (a signed-note verifier key: its name is\n" +
				"the checkpoints' origin): the public key of the KMS key $AUDIT_LOG_KMS_KEY_ID\n" +
				"(the stack's AuditLogKey), else read from $AUDIT_LOG_KEY_FILE (default\n" +
				".local/audit-log-key, the local stack's). Give it to auditors: `audit\n" +
				"verify --log-key` and `audit prove --log-key` check checkpoints with it.",
			(*cli).auditLogKey},
	}
}

func (c *cli) auditVerify(ctx context.Context, args []string) error {
	f := c.flags("audit", "verify")
	logKey := f.String("log-key", "", "the log's verifier key, or a file holding it (or an Ed25519 public key in PEM)")
	if err := f.parse(args); err != nil {
		return err
	}
	var verifier note.Verifier
	if *logKey != "" {
		var err error
		if verifier, err = readLogKey(*logKey); err != nil {
			return f.fail("--log-key: %v", err)
		}
	}
	client, err := c.openDynamoDB(ctx)
	if err != nil {
		return err
	}
	v := &reconcile.Verifier{
		Client:         client,
		ResourcesTable: tables.Resources.Name(c.getenv),
		AuditTable:     tables.Audit.Name(c.getenv),
	}
	sum, err := v.Run(ctx, func(p reconcile.Problem) { fmt.Fprintln(c.stdout, p) })
	if err != nil {
		return fmt.Errorf("audit verify: %w (after %d resources, %d problem(s) so far)", err, sum.Resources, sum.Problems)
	}
	inventory := &dynamo.Inventory{Client: client, AuditTable: tables.Audit.Name(c.getenv)}
	stored, err := inventory.StoredLog(ctx)
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	integritySum, findings := integrity.Check(stored, verifier)
	for _, finding := range findings {
		fmt.Fprintln(c.stdout, finding)
	}
	fmt.Fprintln(c.stdout, sum)
	line := integritySum.String()
	if verifier == nil {
		line += " Signatures not checked: no --log-key."
	}
	fmt.Fprintln(c.stdout, line)
	if problems := sum.Problems + integritySum.Findings; problems > 0 {
		return failure(fmt.Sprintf("The audit log is inconsistent: %d problem(s)", problems))
	}
	return nil
}

// readLogKey reads a log verifier key given as itself, or as a file
// holding it or an Ed25519 public key in PEM (named as the default origin).
func readLogKey(value string) (note.Verifier, error) {
	text := value
	if b, err := os.ReadFile(value); err == nil {
		text = string(b)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	text = strings.TrimSpace(text)
	if block, _ := pem.Decode([]byte(text)); block != nil {
		key, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		edKey, ok := key.(ed25519.PublicKey)
		if !ok {
			return nil, errors.New("the PEM key is not an Ed25519 public key")
		}
		vkey, err := note.NewEd25519VerifierKey(integrity.DefaultOrigin, edKey)
		if err != nil {
			return nil, err
		}
		text = vkey
	}
	return note.NewVerifier(text)
}

func (c *cli) auditLogKey(ctx context.Context, args []string) error {
	f := c.flags("audit", "log-key")
	if err := f.parse(args); err != nil {
		return err
	}
	if keyID := c.getenv(signing.EnvLogKMSKeyID); keyID != "" {
		cfg, err := loadAWSConfig(ctx, c.getenv)
		if err != nil {
			return fmt.Errorf("audit log-key: %w", err)
		}
		signer, err := signing.NewKMSNoteSigner(ctx, kms.NewFromConfig(cfg), keyID, integrity.DefaultOrigin)
		if err != nil {
			return fmt.Errorf("audit log-key: %w", err)
		}
		fmt.Fprintln(c.stdout, signer.VerifierKey)
		return nil
	}
	path := c.getenv(integrity.EnvKeyFile)
	if path == "" {
		path = integrity.DefaultKeyFile
	}
	k, err := integrity.LoadKeyFile(path)
	if err != nil {
		return fmt.Errorf("audit log-key: %w", err)
	}
	fmt.Fprintln(c.stdout, k.VerifierKey)
	return nil
}
