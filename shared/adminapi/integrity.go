package adminapi

import (
	"context"
	"net/http"
	"strconv"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/httpapi"
	"github.com/inmor/inmor-serverless/shared/integrity"
)

// proofHandlers serve the audit log's checkpoints and proofs. They reveal
// hashes and signed tree heads only: an inclusion proof is given for an
// entry the caller may read, and a tree head's hashes reveal no entry.
type proofHandlers struct {
	log    integrity.Log
	reader audit.Reader
}

const msgNoCheckpoint = "No checkpoint of that size."

// InclusionProof is the answer of GET /auditlog/{id}/proof: the entry's
// leaf hash and the hashes that lead from it to the root of the tree of
// TreeSize entries, whose signed checkpoint is given.
type InclusionProof struct {
	ID         int64    `json:"id"`
	LeafIndex  int64    `json:"leaf_index"`
	LeafHash   string   `json:"leaf_hash"`
	TreeSize   int64    `json:"tree_size"`
	Proof      []string `json:"proof"`
	Checkpoint string   `json:"checkpoint"`
}

// ConsistencyProof is the answer of GET /auditlog/consistency: the hashes
// proving that the tree of To entries extends the tree of From entries,
// and both signed checkpoints.
type ConsistencyProof struct {
	From           int64    `json:"from"`
	To             int64    `json:"to"`
	Proof          []string `json:"proof"`
	FromCheckpoint string   `json:"from_checkpoint,omitempty"`
	ToCheckpoint   string   `json:"to_checkpoint"`
}

func hashStrings(hashes []tlog.Hash) []string {
	out := make([]string, len(hashes))
	for i, h := range hashes {
		out[i] = h.String()
	}
	return out
}

// queryCount reads a positive integer query parameter; absent is 0.
func queryCount(r *http.Request, name string) (int64, error) {
	text := r.URL.Query().Get(name)
	if text == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n < 1 {
		return 0, &httpapi.ValidationError{Details: []httpapi.FieldError{{
			Loc: []any{"query", name}, Msg: "Input should be a valid positive integer", Type: "int_parsing",
		}}}
	}
	return n, nil
}

// checkpoint returns the signed checkpoint of a size, or the latest one
// and its size when size is 0.
func (h proofHandlers) checkpoint(ctx context.Context, size int64) (string, int64, error) {
	if h.log == nil {
		return "", 0, apperr.New(apperr.NotFound, 0, msgNoCheckpoint)
	}
	var signed string
	var err error
	if size == 0 {
		signed, err = h.log.LatestCheckpoint(ctx)
	} else {
		signed, err = h.log.CheckpointAt(ctx, size)
	}
	if apperr.Is(apperr.NotFound, err) {
		return "", 0, apperr.New(apperr.NotFound, 0, msgNoCheckpoint)
	}
	if err != nil {
		return "", 0, err
	}
	c, err := integrity.ParseCheckpoint(checkpointBody(signed))
	if err != nil {
		return "", 0, err
	}
	return signed, c.Size, nil
}

// checkpointBody is the text of a signed note, before its signatures.
func checkpointBody(signed string) string {
	for i := 0; i+1 < len(signed); i++ {
		if signed[i] == '\n' && signed[i+1] == '\n' {
			return signed[:i+1]
		}
	}
	return signed
}

func (h proofHandlers) latest(w http.ResponseWriter, r *http.Request) {
	signed, _, err := h.checkpoint(r.Context(), 0)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(signed))
}

func (h proofHandlers) inclusion(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	size, err := queryCount(r, "size")
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	// The entry must be one the caller may read.
	notFound := apperr.New(apperr.NotFound, id, msgAuditEntryNotFound)
	entry, err := h.reader.Get(r.Context(), id)
	if apperr.Is(apperr.NotFound, err) || err == nil && !audit.EntryVisible(entry, visibleTenant(r)) {
		httpapi.WriteError(w, r, notFound)
		return
	}
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	signed, size, err := h.checkpoint(r.Context(), size)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	if id > size {
		httpapi.WriteError(w, r, apperr.New(apperr.NotFound, id, "The entry is not in the tree of that size."))
		return
	}
	leaf, err := h.log.LeafHash(r.Context(), id)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	proof, err := h.log.ProveEntry(r.Context(), id, size)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, InclusionProof{
		ID: id, LeafIndex: integrity.LeafIndex(id), LeafHash: leaf.String(), TreeSize: size,
		Proof: hashStrings(proof), Checkpoint: signed,
	})
}

func (h proofHandlers) consistency(w http.ResponseWriter, r *http.Request) {
	from, err := queryCount(r, "from")
	if err == nil && from == 0 {
		err = &httpapi.ValidationError{Details: []httpapi.FieldError{{Loc: []any{"query", "from"}, Msg: "Field required", Type: "missing"}}}
	}
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	to, err := queryCount(r, "to")
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	toCheckpoint, to, err := h.checkpoint(r.Context(), to)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	if from > to {
		httpapi.WriteError(w, r, &httpapi.ValidationError{Details: []httpapi.FieldError{{
			Loc: []any{"query", "from"}, Msg: "Input should be at most to", Type: "less_than_equal",
		}}})
		return
	}
	// The auditor holds the older checkpoint; it is given when stored.
	fromCheckpoint, _, err := h.checkpoint(r.Context(), from)
	if err != nil && !apperr.Is(apperr.NotFound, err) {
		httpapi.WriteError(w, r, err)
		return
	}
	proof, err := h.log.ProveConsistency(r.Context(), from, to)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, ConsistencyProof{
		From: from, To: to, Proof: hashStrings(proof), FromCheckpoint: fromCheckpoint, ToCheckpoint: toCheckpoint,
	})
}
