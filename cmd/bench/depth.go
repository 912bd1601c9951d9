package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"
	"github.com/onvera/deployments/pkg/app"
	"github.com/onvera/deployments/pkg/deployment"
	"github.com/onvera/deployments/pkg/dynamostore"
)

// storeWritePathN is how many deployments are created through the store's
// own write path (Store.CreateDeployment: GetItem META + TransactWriteItems);
// beyond that, seeding clones the item that path wrote (see seedClones).
const storeWritePathN = 1000

// depth: section 2, list cost at 1k/10k/100k deployments.
func (b *bench) depth(ctx context.Context) error {
	const sec = "2 depth"
	a, err := b.newApp(ctx, "depth")
	if err != nil {
		return err
	}
	h := a.Server.Handler()
	const perPage = 100
	for _, n := range b.o.depths {
		org := fmt.Sprintf("org_depth_%d", n)
		t0 := time.Now()
		written, how, err := b.seed(ctx, a, org, n)
		if err != nil {
			return fmt.Errorf("seeding %d: %w", n, err)
		}
		took := time.Since(t0)
		b.info(sec, fmt.Sprintf("seed %s deployments", thousands(n)), fmt.Sprintf("%s written in %s (%.0f/s) by %s",
			thousands(written), took.Round(100*time.Millisecond), float64(written)/took.Seconds(), how))
		if written < n {
			b.note("Seeding the %s-deployment organization stopped after %s (-seed-timeout) at %s deployments; its rows measure that depth.", thousands(n), b.o.seedTimeout, thousands(written))
		}
		secret, err := mintKey(ctx, a, org)
		if err != nil {
			return err
		}
		pages := (written + perPage - 1) / perPage
		// Warm the key cache: this section measures the list itself.
		if code, out, _ := serve(h, http.MethodGet, "/api/v1/deployments?per_page=1", secret, ""); code != http.StatusOK {
			return fmt.Errorf("list: %d %s", code, out)
		}
		for _, p := range []struct {
			name string
			page int
		}{{"first", 1}, {"middle", (pages + 1) / 2}, {"last", pages}} {
			path := fmt.Sprintf("/api/v1/deployments?page=%d&per_page=%d", p.page, perPage)
			t := time.Now()
			code, out, c := serve(h, http.MethodGet, path, secret, "")
			lat := time.Since(t)
			if code != http.StatusOK {
				return fmt.Errorf("%s: %d %s", path, code, out)
			}
			if err := checkPage(out, written, p.page, perPage); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			items := c.Items()
			b.add(sec, fmt.Sprintf("%s deps, %s page (%d of %d): items read, calls", thousands(written), p.name, p.page, pages),
				fmt.Sprintf("%d items, %d calls (%s); %s on the emulator", items, c.Calls(""), c, ms(lat)),
				fmt.Sprintf("≤ %d items, ≤ 2 calls", perPage+2), items <= perPage+2 && c.Calls("") <= 2)
		}
		// Totals: the only read that depends on the organization is one GetItem of META.
		code, out, c := serve(h, http.MethodGet, fmt.Sprintf("/api/v1/deployments?page=%d&per_page=%d", pages+1, perPage), secret, "")
		if code != http.StatusOK {
			return fmt.Errorf("list past the end: %d %s", code, out)
		}
		meta := c.Op("DynamoDB", "GetItem")
		b.add(sec, fmt.Sprintf("%s deps: total/pages (page past the end)", thousands(written)),
			fmt.Sprintf("%d call, %d item (%s)", c.Calls(""), c.Items(), c), "O(1): 1 GetItem, 1 item at any depth",
			c.Calls("") == 1 && meta.Calls == 1 && meta.Items == 1)
	}
	b.note("Items read is DynamoDB's own figure: ScannedCount of the Query (items read before any filter) plus 1 for the GetItem of the org counter, captured by the middleware from each output. MiniStack's Query sorts the whole index partition in Python, so its latency grows with depth while ScannedCount does not; on DynamoDB a key-range read costs what it returns.")
	b.note("Seeding: the first %d deployments of an organization go through Store.CreateDeployment (the API's write path: GetItem + TransactWriteItems each). Beyond that, BatchWriteItem writes clones of the exact item that path wrote for this organization (same attributes and types; new id, SK, seq, name), then sets the counter item to the total, as the create transaction would have.", storeWritePathN)
	return nil
}

func checkPage(body []byte, total, page, perPage int) error {
	var v struct {
		Data struct {
			Items []struct {
				Name string `json:"name"`
			} `json:"items"`
			Pagination struct {
				Total int64 `json:"total"`
				Pages int64 `json:"pages"`
			} `json:"pagination"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	want := min(perPage, total-(page-1)*perPage)
	if len(v.Data.Items) != want || v.Data.Pagination.Total != int64(total) {
		return fmt.Errorf("got %d items of total %d, want %d of %d", len(v.Data.Items), v.Data.Pagination.Total, want, total)
	}
	return nil
}

// seed fills org with n deployments and returns how many it wrote.
func (b *bench) seed(ctx context.Context, a *app.App, org string, n int) (int, string, error) {
	direct := min(n, storeWritePathN)
	for i := range direct {
		d := &deployment.Deployment{
			ID: uuid.NewString(), OrgID: org, Name: fmt.Sprintf("bench-%d", i+1), AppType: deployment.Superset,
			Status: deployment.Provisioning, EnvironmentID: deployment.EnvironmentDefault,
			CreatedAt: time.Now().UTC(), UpdatedAt: time.Now().UTC(),
		}
		op := deployment.Operation{
			ID: deployment.OperationPrefix + uuid.NewString(), OrgID: org, DeploymentID: d.ID,
			Type: deployment.OpCreate, Status: deployment.OpPending, CreatedAt: d.CreatedAt, UpdatedAt: d.CreatedAt,
		}
		d.OperationID = op.ID
		if err := a.Store.CreateDeployment(ctx, d, op, nil); err != nil {
			return i, "", err
		}
		if i == 0 {
			progress("seeding %s: the store's write path for the first %d", org, direct)
		}
	}
	how := "Store.CreateDeployment"
	if n <= direct {
		return n, how, nil
	}
	written, err := b.seedClones(ctx, a, org, direct, n)
	return written, fmt.Sprintf("%s ×%d + BatchWriteItem clones", how, direct), err
}

// seedClones writes deployments have+1..n as copies of the last item the
// store wrote, 25 per BatchWriteItem, in order, then moves the counter.
func (b *bench) seedClones(ctx context.Context, a *app.App, org string, have, n int) (int, error) {
	table := a.Config.Table
	tmpl, err := itemAtSeq(ctx, a, org, have)
	if err != nil {
		return have, fmt.Errorf("template item: %w", err)
	}
	progress("seeding %s: BatchWriteItem clones %d..%d", org, have+1, n)
	deadline := time.Now().Add(b.o.seedTimeout)
	type chunk struct{ lo, hi int }
	work := make(chan chunk)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		firstEr error
	)
	for range 4 {
		wg.Go(func() {
			for c := range work {
				reqs := make([]types.WriteRequest, 0, 25)
				for seq := c.lo; seq <= c.hi; seq++ {
					item := make(map[string]types.AttributeValue, len(tmpl))
					for k, v := range tmpl {
						item[k] = v
					}
					id := uuid.NewString()
					item["SK"] = &types.AttributeValueMemberS{Value: "DEP#" + id}
					item["id"] = &types.AttributeValueMemberS{Value: id}
					item["seq"] = &types.AttributeValueMemberN{Value: strconv.Itoa(seq)}
					item["name"] = &types.AttributeValueMemberS{Value: fmt.Sprintf("bench-%d", seq)}
					reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
				}
				if err := batchWrite(ctx, a.DynamoDB, table, reqs); err != nil {
					mu.Lock()
					firstEr = errors.Join(firstEr, err)
					mu.Unlock()
				}
			}
		})
	}
	// Chunks are handed out in order and every handed-out chunk completes, so
	// what is written when we stop early is still a dense prefix.
	last := have
	for lo := have + 1; lo <= n; lo += 25 {
		if time.Now().After(deadline) {
			break
		}
		hi := min(lo+24, n)
		work <- chunk{lo, hi}
		last = hi
		if hi%10000 == 0 {
			progress("seeding %s: %d", org, hi)
		}
	}
	close(work)
	wg.Wait()
	if firstEr != nil {
		return have, firstEr
	}
	_, err = a.DynamoDB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &table,
		Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "ORG#" + org}, "SK": &types.AttributeValueMemberS{Value: "META"},
		},
		UpdateExpression:          aws.String("SET deployments = :n"),
		ConditionExpression:       aws.String("deployments = :have"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": &types.AttributeValueMemberN{Value: strconv.Itoa(last)}, ":have": &types.AttributeValueMemberN{Value: strconv.Itoa(have)}},
	})
	return last, err
}

func batchWrite(ctx context.Context, db *dynamodb.Client, table string, reqs []types.WriteRequest) error {
	pending := map[string][]types.WriteRequest{table: reqs}
	for try := 0; len(pending[table]) > 0; try++ {
		if try > 10 {
			return errors.New("BatchWriteItem: unprocessed items after 10 tries")
		}
		out, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
		if err != nil {
			return err
		}
		pending = out.UnprocessedItems
		if len(pending[table]) > 0 {
			time.Sleep(time.Duration(try+1) * 20 * time.Millisecond)
		}
	}
	return nil
}

func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

// itemAtSeq reads the deployment item with sequence number seq of org from
// the BySeq index.
func itemAtSeq(ctx context.Context, a *app.App, org string, seq int) (map[string]types.AttributeValue, error) {
	q, err := a.DynamoDB.Query(ctx, &dynamodb.QueryInput{
		TableName: &a.Config.Table, IndexName: aws.String(dynamostore.IndexBySeq),
		KeyConditionExpression: aws.String("PK = :pk AND seq = :seq"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: "ORG#" + org}, ":seq": &types.AttributeValueMemberN{Value: strconv.Itoa(seq)},
		},
	})
	if err != nil {
		return nil, err
	}
	if len(q.Items) != 1 {
		return nil, fmt.Errorf("%d items at seq %d of %s", len(q.Items), seq, org)
	}
	return q.Items[0], nil
}
