package integrity

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// EnvKeyFile names the file of the log's signing key (a note private key
// and its verifier key, a line each), on the local stack and wherever no
// KMS key signs the checkpoints.
const EnvKeyFile = "AUDIT_LOG_KEY_FILE"

// DefaultKeyFile is the local stack's log key file when EnvKeyFile is
// unset (git-ignored).
const DefaultKeyFile = ".local/audit-log-key"

// KeyFile is a log key read from its file: the signer, and the verifier
// key an auditor checks checkpoints with (note.NewVerifier reads it).
type KeyFile struct {
	Signer      note.Signer
	VerifierKey string
}

// LoadKeyFile reads a log key file.
func LoadKeyFile(path string) (KeyFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return KeyFile{}, err
	}
	lines := strings.Fields(string(b))
	if len(lines) != 2 {
		return KeyFile{}, fmt.Errorf("log key file %s: want a private key and a verifier key", path)
	}
	signer, err := note.NewSigner(lines[0])
	if err != nil {
		return KeyFile{}, fmt.Errorf("log key file %s: %w", path, err)
	}
	verifier, err := note.NewVerifier(lines[1])
	if err != nil || verifier.Name() != signer.Name() || verifier.KeyHash() != signer.KeyHash() {
		return KeyFile{}, fmt.Errorf("log key file %s: the verifier key is not the private key's", path)
	}
	return KeyFile{Signer: signer, VerifierKey: lines[1]}, nil
}

// LoadOrGenerateKeyFile reads a log key file, first generating an Ed25519
// key named name there (mode 0600) when there is none; generated reports
// whether it did.
func LoadOrGenerateKeyFile(path, name string) (k KeyFile, generated bool, err error) {
	k, err = LoadKeyFile(path)
	if !errors.Is(err, os.ErrNotExist) {
		return k, false, err
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return KeyFile{}, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return KeyFile{}, false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return KeyFile{}, false, err
	}
	if _, err := f.WriteString(skey + "\n" + vkey + "\n"); err != nil {
		f.Close()
		return KeyFile{}, false, err
	}
	if err := f.Close(); err != nil {
		return KeyFile{}, false, err
	}
	k, err = LoadKeyFile(path)
	return k, err == nil, err
}
