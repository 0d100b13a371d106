package localstack

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// State keeps the local stack's tables across restarts, since moto keeps
// everything in memory: Save writes every item of each table to Dir, one
// file per table of DynamoDB JSON lines (written to a temporary file and
// renamed, so a crash leaves the previous save whole); Restore writes them
// back into empty tables.
type State struct {
	Dir    string
	Client *dynamodb.Client
	// Tables are the names of the tables to keep.
	Tables []string
}

// stateFile is where a table's items are kept.
func (st State) stateFile(table string) string { return filepath.Join(st.Dir, table+".jsonl") }

// Save writes every item of every table.
func (st State) Save(ctx context.Context) error {
	if err := os.MkdirAll(st.Dir, 0o700); err != nil {
		return err
	}
	for _, table := range st.Tables {
		if err := st.saveTable(ctx, table); err != nil {
			return fmt.Errorf("save %s: %w", table, err)
		}
	}
	return nil
}

func (st State) saveTable(ctx context.Context, table string) error {
	tmp, err := os.CreateTemp(st.Dir, table+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // gone after the rename
	w := bufio.NewWriter(tmp)
	pages := dynamodb.NewScanPaginator(st.Client, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			tmp.Close()
			return err
		}
		for _, item := range page.Items {
			line, err := json.Marshal(itemJSON(item))
			if err != nil {
				tmp.Close()
				return err
			}
			w.Write(line)
			w.WriteByte('\n')
		}
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), st.stateFile(table))
}

// Restore writes the saved items back; it returns how many, 0 when nothing
// was saved.
func (st State) Restore(ctx context.Context) (int, error) {
	restored := 0
	for _, table := range st.Tables {
		n, err := st.restoreTable(ctx, table)
		restored += n
		if err != nil {
			return restored, fmt.Errorf("restore %s from %s: %w", table, st.stateFile(table), err)
		}
	}
	return restored, nil
}

// maxStateLine bounds one saved item (DynamoDB's item limit is 400 KB;
// base64 and JSON add to it).
const maxStateLine = 4 << 20

func (st State) restoreTable(ctx context.Context, table string) (int, error) {
	f, err := os.Open(st.stateFile(table))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 64<<10), maxStateLine)
	var batch []types.WriteRequest
	restored := 0
	flush := func() error {
		for len(batch) > 0 {
			out, err := st.Client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: batch}})
			if err != nil {
				return err
			}
			restored += len(batch) - len(out.UnprocessedItems[table])
			batch = out.UnprocessedItems[table]
		}
		return nil
	}
	for line := 1; scanner.Scan(); line++ {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(scanner.Bytes(), &raw); err != nil {
			return restored, fmt.Errorf("line %d: %w", line, err)
		}
		item, err := itemFromJSON(raw)
		if err != nil {
			return restored, fmt.Errorf("line %d: %w", line, err)
		}
		batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		if len(batch) == 25 { // BatchWriteItem's limit
			if err := flush(); err != nil {
				return restored, err
			}
		}
	}
	if err := scanner.Err(); err != nil {
		return restored, err
	}
	return restored, flush()
}

// itemJSON is an item in DynamoDB's JSON form ({"S": "..."}, {"N": "1"}, ...).
func itemJSON(item map[string]types.AttributeValue) map[string]any {
	out := make(map[string]any, len(item))
	for k, v := range item {
		out[k] = valueJSON(v)
	}
	return out
}

func valueJSON(v types.AttributeValue) map[string]any {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return map[string]any{"S": x.Value}
	case *types.AttributeValueMemberN:
		return map[string]any{"N": x.Value}
	case *types.AttributeValueMemberB:
		return map[string]any{"B": base64.StdEncoding.EncodeToString(x.Value)}
	case *types.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": x.Value}
	case *types.AttributeValueMemberNULL:
		return map[string]any{"NULL": true}
	case *types.AttributeValueMemberSS:
		return map[string]any{"SS": x.Value}
	case *types.AttributeValueMemberNS:
		return map[string]any{"NS": x.Value}
	case *types.AttributeValueMemberBS:
		list := make([]string, len(x.Value))
		for i, b := range x.Value {
			list[i] = base64.StdEncoding.EncodeToString(b)
		}
		return map[string]any{"BS": list}
	case *types.AttributeValueMemberL:
		list := make([]any, len(x.Value))
		for i, e := range x.Value {
			list[i] = valueJSON(e)
		}
		return map[string]any{"L": list}
	case *types.AttributeValueMemberM:
		return map[string]any{"M": itemJSON(x.Value)}
	}
	panic(fmt.Sprintf("localstack: attribute value of type %T", v))
}

func itemFromJSON(raw map[string]json.RawMessage) (map[string]types.AttributeValue, error) {
	item := make(map[string]types.AttributeValue, len(raw))
	for k, v := range raw {
		av, err := valueFromJSON(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		item[k] = av
	}
	return item, nil
}

func valueFromJSON(raw json.RawMessage) (types.AttributeValue, error) {
	var typed map[string]json.RawMessage
	if err := json.Unmarshal(raw, &typed); err != nil || len(typed) != 1 {
		return nil, fmt.Errorf("not a typed attribute value: %s", raw)
	}
	for kind, v := range typed {
		switch kind {
		case "S", "N":
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, err
			}
			if kind == "S" {
				return &types.AttributeValueMemberS{Value: s}, nil
			}
			return &types.AttributeValueMemberN{Value: s}, nil
		case "B":
			var b []byte // base64 in JSON
			err := json.Unmarshal(v, &b)
			return &types.AttributeValueMemberB{Value: b}, err
		case "BOOL":
			var b bool
			err := json.Unmarshal(v, &b)
			return &types.AttributeValueMemberBOOL{Value: b}, err
		case "NULL":
			return &types.AttributeValueMemberNULL{Value: true}, nil
		case "SS", "NS":
			var list []string
			if err := json.Unmarshal(v, &list); err != nil {
				return nil, err
			}
			if kind == "SS" {
				return &types.AttributeValueMemberSS{Value: list}, nil
			}
			return &types.AttributeValueMemberNS{Value: list}, nil
		case "BS":
			var list [][]byte
			err := json.Unmarshal(v, &list)
			return &types.AttributeValueMemberBS{Value: list}, err
		case "L":
			var list []json.RawMessage
			if err := json.Unmarshal(v, &list); err != nil {
				return nil, err
			}
			out := make([]types.AttributeValue, len(list))
			for i, e := range list {
				av, err := valueFromJSON(e)
				if err != nil {
					return nil, err
				}
				out[i] = av
			}
			return &types.AttributeValueMemberL{Value: out}, nil
		case "M":
			var m map[string]json.RawMessage
			if err := json.Unmarshal(v, &m); err != nil {
				return nil, err
			}
			item, err := itemFromJSON(m)
			return &types.AttributeValueMemberM{Value: item}, err
		}
		return nil, fmt.Errorf("unknown attribute type %q", kind)
	}
	return nil, fmt.Errorf("not a typed attribute value: %s", raw)
}
