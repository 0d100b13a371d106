package operator

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/inmor/inmor-serverless/shared/app"
	appaudit "github.com/inmor/inmor-serverless/shared/app/audit"
	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/audit"
	"github.com/inmor/inmor-serverless/shared/auditstream"
	"github.com/inmor/inmor-serverless/shared/dynamo"
	"github.com/inmor/inmor-serverless/shared/tables"
)

// Synopses of the dead-letter commands.
const (
	dlqSynopsis       = "audit dlq (list | replay (--event-id ID | --all))"
	dlqListSynopsis   = "audit dlq list"
	dlqReplaySynopsis = "audit dlq replay (--event-id ID | --all)"
)

// dlqCommands are the commands of the dead-letter records.
func dlqCommands() []command {
	return []command{
		{"audit", "dlq", dlqSynopsis,
			"list: show the stream records the audit function set aside after they failed\n" +
				"  " + strconv.Itoa(auditstream.DefaultMaxRecordAttempts) + " times (dead-letter records), newest first.\n" +
				"replay: handle one record (ID as listed) or all of them, oldest first, again\n" +
				"  with the audit function's own code, run in-process with your credentials.\n" +
				"  A record handled is deleted from the list; replaying one whose entry exists\n" +
				"  adds nothing. One that fails again stays, with its error and attempts\n" +
				"  updated, and the exit status is 1.\n" +
				"The audit table is $AUDIT_TABLE (default " + tables.Audit.DefaultName + ").",
			(*cli).auditDLQ},
	}
}

func (c *cli) auditDLQ(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError{msg: "audit dlq needs list or replay; run 'inmorctl help'"}
	}
	switch args[0] {
	case "list":
		return c.dlqList(ctx, args[1:])
	case "replay":
		return c.dlqReplay(ctx, args[1:])
	case "help", "-h", "-help", "--help":
		fmt.Fprintf(c.stderr, "usage: inmorctl %s\n", dlqSynopsis)
		return nil
	}
	return usageError{msg: fmt.Sprintf("unknown command %q; run 'inmorctl help'", "audit dlq "+args[0])}
}

// dlqFlags is the flag set of `audit dlq <sub>`.
func (c *cli) dlqFlags(sub, synopsis string) *flags {
	fs := flag.NewFlagSet("inmorctl audit dlq "+sub, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "usage: inmorctl %s\n", synopsis)
		fs.PrintDefaults()
	}
	return &flags{FlagSet: fs, c: c, cmd: "audit dlq " + sub, synopsis: synopsis}
}

// deadLetters opens the audit table's dead-letter records and the audit
// function's handler, as the function builds it.
func (c *cli) deadLetters(ctx context.Context) (*dynamo.DeadLetters, auditstream.Handler, error) {
	client, err := c.openDynamoDB(ctx)
	if err != nil {
		return nil, auditstream.Handler{}, fmt.Errorf("open DynamoDB: %w", err)
	}
	config := app.ConfigFromEnv(c.getenv)
	if config.AttributionKey, err = app.AttributionKey.FromEnv(c.getenv); err != nil {
		return nil, auditstream.Handler{}, fmt.Errorf("attribution key: %w", err)
	}
	d := app.Deps{Client: client, Config: config, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	// Checkpoints as the function makes them (its KMS key or key file, its
	// bucket), with the operator's AWS configuration.
	cfg, err := loadAWSConfig(ctx, c.getenv)
	if err != nil {
		return nil, auditstream.Handler{}, fmt.Errorf("AWS configuration: %w", err)
	}
	checkpoints, err := appaudit.CheckpointsFromEnv(ctx, cfg, c.getenv)
	if err != nil {
		return nil, auditstream.Handler{}, fmt.Errorf("audit log checkpoints: %w", err)
	}
	d.LogSigner, d.CheckpointArchive = checkpoints.Signer, checkpoints.Archive
	handler := appaudit.New(d)
	return &dynamo.DeadLetters{Client: client, Table: config.AuditTable}, handler, nil
}

func (c *cli) dlqList(ctx context.Context, args []string) error {
	f := c.dlqFlags("list", dlqListSynopsis)
	if err := f.parse(args); err != nil {
		return err
	}
	store, _, err := c.deadLetters(ctx)
	if err != nil {
		return err
	}
	letters, err := store.List(ctx)
	if err != nil {
		return err
	}
	if len(letters) == 0 {
		fmt.Fprintln(c.stdout, "No dead-letter records.")
		return nil
	}
	w := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "Event ID\tSequence\tSet aside at\tAttempts\tError")
	for _, d := range letters {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\n", cell(d.ID), cell(d.SequenceNumber),
			d.SetAsideAt.UTC().Format(time.RFC3339), d.Attempts, cell(d.Error))
	}
	return w.Flush()
}

func (c *cli) dlqReplay(ctx context.Context, args []string) error {
	f := c.dlqFlags("replay", dlqReplaySynopsis)
	id := f.String("event-id", "", "the dead-letter record to replay (its event id, as listed)")
	all := f.Bool("all", false, "replay every dead-letter record, oldest first")
	if err := f.parse(args); err != nil {
		return err
	}
	if (*id == "") == !*all {
		return f.fail("give either --event-id or --all")
	}
	store, handler, err := c.deadLetters(ctx)
	if err != nil {
		return err
	}
	var letters []audit.DeadLetter
	if *all {
		if letters, err = c.allDeadLetters(ctx, store); err != nil {
			return err
		}
		if len(letters) == 0 {
			fmt.Fprintln(c.stdout, "No dead-letter records.")
			return nil
		}
	} else {
		d, err := store.Get(ctx, *id)
		if apperr.Is(apperr.NotFound, err) {
			return failure(fmt.Sprintf("No dead-letter record with event id '%s'", *id))
		}
		if err != nil {
			return err
		}
		letters = []audit.DeadLetter{d}
	}
	outcomes, err := handler.Replay(ctx, letters)
	failed := 0
	for _, o := range outcomes {
		switch {
		case o.Err != nil:
			failed++
		case o.Appended:
			fmt.Fprintf(c.stdout, "Replayed %s: entry appended.\n", cell(o.ID))
		case o.Duplicate:
			fmt.Fprintf(c.stdout, "Replayed %s: already in the audit log; nothing added.\n", cell(o.ID))
		case o.Skipped:
			fmt.Fprintf(c.stdout, "Replayed %s: not a resource change; nothing to record.\n", cell(o.ID))
		}
	}
	if err != nil {
		return fmt.Errorf("%d of %d dead-letter records failed to replay:\n%w", max(failed, 1), len(letters), err)
	}
	return nil
}

// allDeadLetters reads every dead-letter record with its raw record, oldest
// first (the order their entries should take).
func (c *cli) allDeadLetters(ctx context.Context, store *dynamo.DeadLetters) ([]audit.DeadLetter, error) {
	listed, err := store.List(ctx)
	if err != nil {
		return nil, err
	}
	slices.Reverse(listed)
	letters := make([]audit.DeadLetter, 0, len(listed))
	for _, l := range listed {
		d, err := store.Get(ctx, l.ID)
		if apperr.Is(apperr.NotFound, err) {
			continue // replayed meanwhile
		}
		if err != nil {
			return nil, err
		}
		letters = append(letters, d)
	}
	return letters, nil
}
